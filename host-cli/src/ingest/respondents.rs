//! Per-respondent survey files: one CSV row per respondent (docs/formats.md §3).
//!
//! Header: `trust`, `age` (or `year_of_birth` with `--survey-year`), `sex`, then one column per
//! question id holding the option code (blank = not answered). Other columns are ignored and
//! noted once; a column that looks like a question id (`Q` and a digit) but is not one of the
//! instrument's means the file is for another questionnaire, and the file is skipped.

use std::path::Path;

use surveybench_kernel::export::{SITE_LEN, is_plain};
use surveybench_kernel::{Cleaning, HostTally, Instrument, Response, TallyError};

use super::accounting::{InputKind, InputTotals};
use super::blocks::{Blocks, MAX_RECORD, Piece};
use super::records::{Record, RecordError, Records, Row, count_lines};
use super::{Problem, Trusts};

/// Response capacity on the host: as many questions as a [`HostTally`] holds.
pub type HostResponse<'i> = Response<'i, { surveybench_kernel::tally::HOST_QUESTIONS }>;

enum Column {
    Trust,
    Age,
    YearOfBirth,
    Sex,
    Question(usize),
    Ignored,
}

fn looks_like_question(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next() == Some('Q') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// What a cell says about one question.
enum Cell {
    Blank,
    Code(u8),
    Cleaned(Cleaning),
}

fn parse_cell(raw: &str) -> Cell {
    let raw = raw.trim();
    if raw.is_empty() {
        return Cell::Blank;
    }
    if raw.contains([';', '|', ',']) {
        return Cell::Cleaned(Cleaning::MultiTicked);
    }
    raw.parse::<u8>().map_or(Cell::Cleaned(Cleaning::OutOfRange), Cell::Code)
}

/// Reads the bytes of respondent file `path` (for tests and fuzzing; files are streamed by
/// [`read`]).
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    instrument: &'static Instrument<'static>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> (Trusts, InputTotals) {
    let mut blocks = Blocks::new(bytes);
    match blocks.header() {
        Ok(Ok((header, _))) => read(path, &header, &mut blocks, instrument, survey_year, problems)
            .unwrap_or_else(|e| {
                problems.push(Problem::error(path, None, format!("cannot read: {e}")));
                (Trusts::new(), InputTotals::new(path, InputKind::Respondents))
            }),
        Ok(Err(message)) => {
            problems.push(Problem::error(path, Some(1), format!("{message}; file skipped")));
            (Trusts::new(), refused(path, bytes, 1))
        }
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            (Trusts::new(), InputTotals::new(path, InputKind::Respondents))
        }
    }
}

/// Reads the body of respondent file `path`, whose header is `header`, into per-trust tallies.
/// Rows that cannot be read are reported and skipped; cleaned answers are counted in the tally
/// and noted; every line is accounted for in the totals. The file streams through in blocks,
/// parsed on several threads, each keeping its own tallies until one merge at the end.
///
/// # Errors
/// The file cannot be read.
pub fn read<R: std::io::Read>(
    path: &Path,
    header: &[String],
    blocks: &mut Blocks<R>,
    instrument: &'static Instrument<'static>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> std::io::Result<(Trusts, InputTotals)> {
    let usable = map_columns(path, header, instrument, survey_year, problems);
    let columns = match (usable, HostResponse::new(instrument)) {
        (Some(columns), Ok(_)) => columns,
        (Some(_), Err(e)) => {
            problems.push(Problem::error(path, None, format!("instrument too large: {e}")));
            return Ok((Trusts::new(), refused_blocks(path, blocks)?));
        }
        (None, _) => return Ok((Trusts::new(), refused_blocks(path, blocks)?)),
    };
    let chunk = Chunk { path, instrument, columns: &columns, survey_year };
    let body_line = blocks.line();
    let (mut trusts, mut parts) = read_parallel(&chunk, blocks)?;
    parts.sort_by_key(|p| p.first_line);
    let mut totals = InputTotals::new(path, InputKind::Respondents);
    // The blocks' lines, counted once as they were cut (a part longer than a record can be
    // counts its own).
    totals.lines = blocks.line() - body_line;
    let (mut cleaned, mut spanning) = (Cleaned::default(), Spanning::default());
    for part in parts {
        problems.extend(part.problems);
        cleaned.merge(part.cleaned);
        spanning.merge(part.spanning);
        totals.add(&part.totals);
    }
    let mut merged = Trusts::new();
    for part_trusts in trusts.drain(..) {
        for (code, tally) in part_trusts {
            match merged.get_mut(&code) {
                Some(t) => {
                    if let Err(e) = t.merge(&*tally) {
                        let message = format!(
                            "trust {code}: {e}; {} of its rows are skipped",
                            tally.counters().completed
                        );
                        problems.push(Problem::error(path, None, message));
                        totals.unuse(u64::from(tally.counters().completed));
                    }
                }
                None => {
                    merged.insert(code, tally);
                }
            }
        }
    }
    cleaned.note(path, problems);
    spanning.note(path, problems);
    Ok((merged, totals))
}

/// Parses every piece of `blocks`: on this thread when the file is one block, else on worker
/// threads fed through a bounded channel (so memory stays a few blocks whatever the size).
/// Returns each worker's tallies and every piece's part, in no particular order.
fn read_parallel<R: std::io::Read>(
    chunk: &Chunk<'_>,
    blocks: &mut Blocks<R>,
) -> std::io::Result<(Vec<Trusts>, Vec<Part>)> {
    let first = blocks.next_piece()?;
    let second = match first {
        Some(_) => blocks.next_piece()?,
        None => None,
    };
    if second.is_none() {
        let mut tallies = Tallies::default();
        let parts = first.iter().map(|p| chunk.piece(p, &mut tallies)).collect();
        return Ok((vec![tallies.into_trusts()], parts));
    }
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Piece>(workers);
    let rx = std::sync::Mutex::new(rx);
    // Read blocks come back to be read into again.
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (spare, rx) = (spare_tx.clone(), &rx);
                scope.spawn(move || {
                    let (mut tallies, mut parts) = (Tallies::default(), Vec::new());
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        let Ok(Ok(piece)) = next else { break };
                        parts.push(chunk.piece(&piece, &mut tallies));
                        if let Piece::Block { bytes, .. } = piece {
                            let _ = spare.send(bytes);
                        }
                    }
                    (tallies.into_trusts(), parts)
                })
            })
            .collect();
        let mut sent = [first, second].into_iter().flatten().try_for_each(|p| tx.send(p)).is_ok();
        let mut read = Ok(());
        while sent {
            while let Ok(bytes) = spare_rx.try_recv() {
                blocks.recycle(bytes);
            }
            match blocks.next_piece() {
                Ok(Some(piece)) => sent = tx.send(piece).is_ok(),
                Ok(None) => break,
                Err(e) => {
                    read = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let (mut all_trusts, mut all_parts) = (Vec::new(), Vec::new());
        for h in handles {
            if let Ok((trusts, parts)) = h.join() {
                all_trusts.push(trusts);
                all_parts.extend(parts);
            }
        }
        read.map(|()| (all_trusts, all_parts))
    })
}

/// Totals of rows skipped whole: every row of `body` (starting on line `first`) skipped.
fn refused(path: &Path, body: &[u8], first: u64) -> InputTotals {
    let mut totals = InputTotals::new(path, InputKind::Respondents);
    let mut records = Records::new(body, first);
    let mut record = Record::default();
    while records.next_into(&mut record).is_some() {
        totals.read += 1;
        totals.skipped += 1;
    }
    totals.blank_lines = records.blank_lines;
    totals.lines = count_lines(body);
    totals
}

/// Totals of a file skipped whole: every row of the rest of `blocks` skipped.
fn refused_blocks<R: std::io::Read>(path: &Path, blocks: &mut Blocks<R>) -> std::io::Result<InputTotals> {
    let mut totals = InputTotals::new(path, InputKind::Respondents);
    while let Some(piece) = blocks.next_piece()? {
        match piece {
            Piece::Block { first_line, bytes } => totals.add(&refused(path, &bytes, first_line)),
            Piece::Oversized { lines, .. } => {
                totals.read += 1;
                totals.skipped += 1;
                totals.lines += lines;
            }
        }
    }
    Ok(totals)
}

/// Answers cleaned in a file: how many, and where the first few were.
#[derive(Default)]
struct Cleaned {
    count: usize,
    examples: Vec<(u64, String)>,
}

impl Cleaned {
    /// How many examples a note shows.
    const SHOWN: usize = 5;

    fn add(&mut self, line: Option<u64>, cells: Vec<String>) {
        self.count += cells.len();
        for what in cells.into_iter().take(Self::SHOWN.saturating_sub(self.examples.len())) {
            self.examples.push((line.unwrap_or(0), what));
        }
    }

    /// The note on a file's cleaned answers, if any were cleaned.
    fn note(&self, path: &Path, problems: &mut Vec<Problem>) {
        if self.count == 0 {
            return;
        }
        let examples: Vec<String> =
            self.examples.iter().map(|(line, what)| format!("line {line} {what}")).collect();
        problems.push(Problem::note(
            path,
            None,
            format!(
                "{} answers were invalid codes or multiple ticks: cleaned to not answered and counted (method §2); first: {}",
                self.count,
                examples.join("; ")
            ),
        ));
    }

    /// Adds a later part's count and examples (parts are merged in file order).
    fn merge(&mut self, other: Cleaned) {
        self.count += other.count;
        self.examples.extend(other.examples);
        self.examples.truncate(Self::SHOWN);
    }
}

/// What reading any part of one file needs.
struct Chunk<'a> {
    path: &'a Path,
    instrument: &'static Instrument<'static>,
    columns: &'a [Column],
    survey_year: Option<u16>,
}

/// What one piece of a file gave, beside the rows it added to its thread's tallies.
struct Part {
    first_line: u64,
    problems: Vec<Problem>,
    cleaned: Cleaned,
    spanning: Spanning,
    totals: InputTotals,
}

impl Chunk<'_> {
    /// Reads one piece of the file into `trusts`.
    fn piece(&self, piece: &Piece, trusts: &mut Tallies) -> Part {
        match *piece {
            Piece::Block { first_line, ref bytes } => self.read(bytes, first_line, trusts),
            Piece::Oversized { first_line, lines } => {
                let mut totals = InputTotals::new(self.path, InputKind::Respondents);
                (totals.read, totals.skipped, totals.lines) = (1, 1, lines);
                let message = format!(
                    "a row longer than {} MiB (a stray quote?): lines {first_line}-{} ({lines} lines) skipped unread",
                    MAX_RECORD >> 20,
                    first_line + lines.saturating_sub(1)
                );
                let problems = vec![Problem::error(self.path, Some(first_line), message)];
                Part {
                    first_line,
                    problems,
                    cleaned: Cleaned::default(),
                    spanning: Spanning::default(),
                    totals,
                }
            }
        }
    }

    /// Reads the rows of `part`, whose first line is line `first` of the file, into `trusts`
    /// (its lines are counted where the file is cut).
    fn read(&self, part: &[u8], first: u64, trusts: &mut Tallies) -> Part {
        let mut out = Part {
            first_line: first,
            problems: Vec::new(),
            cleaned: Cleaned::default(),
            spanning: Spanning::default(),
            totals: InputTotals::new(self.path, InputKind::Respondents),
        };
        let Ok(mut response) = HostResponse::new(self.instrument) else {
            return out;
        };
        let mut records = Records::new(part, first);
        let mut record = Record::default();
        while let Some(row) = records.next_row(&mut record) {
            out.totals.read += 1;
            let (first_line, result) = match row {
                Row::Line { line, bytes } => (line, self.line(line, bytes, &mut response, trusts, &mut out)),
                Row::Read(read) => {
                    (record.first_line, self.row(&record, read, &mut response, trusts, &mut out))
                }
            };
            match result {
                Ok(()) => out.totals.used += 1,
                Err(message) => {
                    out.totals.skipped += 1;
                    out.problems.push(Problem::error(self.path, Some(first_line), message));
                }
            }
        }
        out.totals.blank_lines = records.blank_lines;
        out
    }

    /// Counts a row that is one line without quotes (nearly every row), or says why it is
    /// skipped: [`Chunk::row`] without the copy into a [`Record`].
    fn line(
        &self,
        line: u64,
        bytes: &[u8],
        response: &mut HostResponse<'static>,
        trusts: &mut Tallies,
        out: &mut Part,
    ) -> Result<(), String> {
        let fields = bytes.iter().fold(1, |n, &b| n + usize::from(b == b','));
        if fields != self.columns.len() {
            return Err(format!(
                "row has {fields} fields, the header {}; respondent skipped",
                self.columns.len()
            ));
        }
        response.reset();
        let cells = bytes.split(|&b| b == b',');
        let (trust, row_cleaned) = fill(response, cells, true, self.columns, self.survey_year)
            .map_err(|m| format!("{m}; respondent skipped"))?;
        trusts.commit(trust, response).map_err(|e| format!("respondent not counted: {e}"))?;
        out.cleaned.add(Some(line), row_cleaned);
        Ok(())
    }

    /// Counts one row, or says why it is skipped.
    fn row(
        &self,
        record: &Record,
        read: Result<(), RecordError>,
        response: &mut HostResponse<'static>,
        trusts: &mut Tallies,
        out: &mut Part,
    ) -> Result<(), String> {
        let lines = || match record.lines() {
            1 => "respondent skipped".to_owned(),
            n => format!("lines {}-{} ({n} lines) skipped", record.first_line, record.last_line),
        };
        read.map_err(|e| format!("unreadable row: {e}; {}", lines()))?;
        if record.len() != self.columns.len() {
            return Err(format!(
                "row has {} fields, the header {}; {}",
                record.len(),
                self.columns.len(),
                lines()
            ));
        }
        response.reset();
        let (trust, row_cleaned) =
            fill(response, record.iter(), record.lines() == 1, self.columns, self.survey_year)
                .map_err(|m| format!("{m}; {}", lines()))?;
        trusts.commit(trust, response).map_err(|e| format!("respondent not counted: {e}"))?;
        out.cleaned.add(Some(record.first_line), row_cleaned);
        if record.lines() > 1 {
            out.spanning.add(record.first_line, record.last_line);
        }
        Ok(())
    }
}

/// Rows counted although they span several lines (a quoted field of an ignored column holds
/// line breaks): legal CSV, but worth a note, since a stray quote can look the same.
#[derive(Default)]
struct Spanning {
    count: u64,
    first: Option<(u64, u64)>,
}

impl Spanning {
    fn add(&mut self, first: u64, last: u64) {
        self.count += 1;
        self.first.get_or_insert((first, last));
    }

    fn merge(&mut self, other: Spanning) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }

    fn note(&self, path: &Path, problems: &mut Vec<Problem>) {
        if let Some((first, last)) = self.first {
            let message = format!(
                "{} rows span several lines (a quoted field holds line breaks), first lines {first}-{last}; each counted once",
                self.count
            );
            problems.push(Problem::note(path, Some(first), message));
        }
    }
}

/// One thread's tallies, one per trust. Rows come grouped by trust, so the tally of the last
/// row's trust is kept at hand, out of the map.
#[derive(Default)]
struct Tallies {
    trusts: Trusts,
    last: Option<(String, Box<HostTally<'static>>)>,
}

impl Tallies {
    /// Commits `response` to the tally of `trust`, made on its first respondent.
    fn commit(&mut self, trust: &str, response: &HostResponse<'static>) -> Result<(), TallyError> {
        let tally = match &mut self.last {
            Some((code, tally)) if code == trust => tally,
            _ => self.switch(trust, response)?,
        };
        tally.commit(response).map(|_| ())
    }

    /// Puts the last trust's tally back and takes out the tally of `trust`.
    fn switch(
        &mut self,
        trust: &str,
        response: &HostResponse<'static>,
    ) -> Result<&mut HostTally<'static>, TallyError> {
        if let Some((code, tally)) = self.last.take() {
            self.trusts.insert(code, tally);
        }
        let tally = match self.trusts.remove(trust) {
            Some(tally) => tally,
            None => super::new_tally(response.instrument())?,
        };
        Ok(&mut self.last.insert((trust.to_owned(), tally)).1)
    }

    /// Every trust's tally; a trust whose first respondent could not be counted has none.
    fn into_trusts(mut self) -> Trusts {
        if let Some((code, tally)) = self.last.take() {
            self.trusts.insert(code, tally);
        }
        self.trusts.retain(|_, t| t.counters().started > 0);
        self.trusts
    }
}

fn map_columns(
    path: &Path,
    header: &[String],
    instrument: &Instrument<'_>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Column>> {
    let mut ignored = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    let mut seen = std::collections::HashSet::with_capacity(header.len());
    for name in header {
        if !seen.insert(name.as_str()) {
            let message = format!("column `{name}` appears twice; file skipped");
            problems.push(Problem::error(path, Some(1), message));
            return None;
        }
        let column = match name.as_str() {
            "trust" => Column::Trust,
            "age" => Column::Age,
            "year_of_birth" => Column::YearOfBirth,
            "sex" => Column::Sex,
            id => match instrument.question_index(id) {
                Some(k) => Column::Question(k),
                None if looks_like_question(id) => {
                    problems.push(Problem::error(
                        path,
                        Some(1),
                        format!(
                            "column `{id}` is not a question of instrument {}; file skipped",
                            instrument.id
                        ),
                    ));
                    return None;
                }
                None => {
                    ignored.push(id.to_owned());
                    Column::Ignored
                }
            },
        };
        columns.push(column);
    }
    if !columns.iter().any(|c| matches!(c, Column::Trust)) {
        problems.push(Problem::error(path, Some(1), "no `trust` column; file skipped".to_owned()));
        return None;
    }
    let has = |f: fn(&Column) -> bool| columns.iter().any(f);
    if !has(|c| matches!(c, Column::Question(_) | Column::Age | Column::YearOfBirth | Column::Sex)) {
        problems.push(Problem::error(
            path,
            Some(1),
            "no question, age or sex column: not a respondent file; file skipped".to_owned(),
        ));
        return None;
    }
    if has(|c| matches!(c, Column::Age)) && has(|c| matches!(c, Column::YearOfBirth)) {
        problems.push(Problem::error(
            path,
            Some(1),
            "both `age` and `year_of_birth`; file skipped".to_owned(),
        ));
        return None;
    }
    if columns.iter().any(|c| matches!(c, Column::YearOfBirth)) && survey_year.is_none() {
        problems.push(Problem::error(
            path,
            Some(1),
            "`year_of_birth` needs --survey-year; file skipped".to_owned(),
        ));
        return None;
    }
    if !ignored.is_empty() {
        let shown = ignored.iter().take(10).map(String::as_str).collect::<Vec<_>>().join(", ");
        let more = ignored.len().saturating_sub(10);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        problems.push(Problem::note(path, Some(1), format!("columns ignored: {shown}{more}")));
    }
    Some(columns)
}

/// A code of one to three ASCII digits that fits in a byte.
fn small_code(bytes: &[u8]) -> Option<u8> {
    if bytes.is_empty() || bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = bytes.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    u8::try_from(n).ok()
}

/// A whole number in ASCII digits alone (no sign or spaces) that fits in a `u16`.
fn whole(raw: &[u8]) -> Option<u16> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    raw.iter().try_fold(0u16, |n, &d| n.checked_mul(10)?.checked_add(u16::from(d - b'0')))
}

/// The trimmed text of a cell the file is read for: UTF-8 on one line.
fn cell_text<'r>(raw: &'r [u8], column: &Column, instrument: &Instrument<'_>) -> Result<&'r str, String> {
    let name = || match column {
        Column::Trust => "trust",
        Column::Age => "age",
        Column::YearOfBirth => "year_of_birth",
        Column::Sex => "sex",
        Column::Question(k) => instrument.question(*k).map_or("?", |q| q.id),
        Column::Ignored => "?",
    };
    let text = std::str::from_utf8(raw).map_err(|_| format!("column {} is not UTF-8 text", name()))?;
    if text.contains('\n') {
        // Only a quoted field can hold a line break: a stray quote, most likely.
        return Err(format!("column {} holds a line break (a stray quote?)", name()));
    }
    Ok(text.trim())
}

/// Fills `response` from the cells of one row (`one_line` when the row is on one line); returns
/// the trust code and a description of each answer that was cleaned (usually none).
fn fill<'r>(
    response: &mut HostResponse<'_>,
    cells: impl Iterator<Item = &'r [u8]>,
    one_line: bool,
    columns: &[Column],
    survey_year: Option<u16>,
) -> Result<(&'r str, Vec<String>), String> {
    let mut trust = None;
    let (mut age, mut sex, mut cleaned) = (None, None, Vec::new());
    let instrument = response.instrument();
    let id = |k: usize| instrument.question(k).map_or("?", |q| q.id);
    // Only a quoted field can hold a line break, and then the record spans lines.
    for (column, raw) in columns.iter().zip(cells) {
        match column {
            Column::Ignored => continue,
            // The common cases, straight from the bytes: blank, or a valid option code (most
            // often one digit).
            Column::Question(k) if one_line => {
                let code = match raw {
                    [] => continue,
                    [digit @ b'0'..=b'9'] => Some(digit - b'0'),
                    _ => match raw.trim_ascii() {
                        [] => continue,
                        bytes => small_code(bytes),
                    },
                };
                if code.is_some_and(|c| response.answer(*k, c).is_ok()) {
                    continue;
                }
            }
            // A plain trust code, and ages and sexes in digits, need no trimming or checks.
            Column::Trust => {
                if let Some(code) =
                    std::str::from_utf8(raw).ok().filter(|c| is_plain(c) && c.len() <= SITE_LEN)
                {
                    trust = Some(code);
                    continue;
                }
            }
            Column::Age | Column::YearOfBirth | Column::Sex if raw.is_empty() => continue,
            Column::Age => {
                if let Some(years) = whole(raw) {
                    age = Some(years);
                    continue;
                }
            }
            Column::YearOfBirth => {
                if let Some(born) = whole(raw) {
                    age = survey_year.and_then(|y| y.checked_sub(born));
                    continue;
                }
            }
            Column::Sex => {
                if let Some(code) = whole(raw).and_then(|n| u8::try_from(n).ok()) {
                    sex = Some(code);
                    continue;
                }
            }
            _ => {}
        }
        let raw = cell_text(raw, column, instrument)?;
        match column {
            Column::Trust if !is_plain(raw) || raw.len() > SITE_LEN => {
                return Err(format!(
                    "trust code `{raw}` must be 1 to {SITE_LEN} letters, digits or - _ . : /"
                ));
            }
            Column::Trust => trust = Some(raw),
            Column::Age | Column::YearOfBirth if raw.is_empty() => {}
            Column::Age => {
                age = Some(raw.parse::<u16>().map_err(|_| format!("age `{raw}` is not a whole number"))?)
            }
            Column::YearOfBirth => {
                let born = raw.parse::<u16>().map_err(|_| format!("year_of_birth `{raw}` is not a year"))?;
                age = survey_year.and_then(|y| y.checked_sub(born));
            }
            Column::Sex if raw.is_empty() => {}
            Column::Sex => sex = Some(raw.parse::<u8>().map_err(|_| format!("sex `{raw}` is not a code"))?),
            Column::Question(k) => match parse_cell(raw) {
                Cell::Blank => {}
                Cell::Code(code) if response.answer(*k, code).is_ok() => {}
                Cell::Code(_) => {
                    cleaned.push(format!("column {}: `{raw}` is not an option", id(*k)));
                    response.clean(*k, Cleaning::OutOfRange).map_err(|e| e.to_string())?;
                }
                Cell::Cleaned(why) => {
                    let what =
                        if why == Cleaning::MultiTicked { "several options ticked" } else { "not a code" };
                    cleaned.push(format!("column {}: `{raw}`, {what}", id(*k)));
                    response.clean(*k, why).map_err(|e| e.to_string())?;
                }
            },
            Column::Ignored => {}
        }
    }
    // Age and sex columns, when the file has them, decide the stratum; otherwise the answers
    // to the instrument's own age-band and sex questions do, as on a kiosk.
    let demographic = columns.iter().any(|c| matches!(c, Column::Age | Column::YearOfBirth | Column::Sex));
    if demographic {
        response.set_age_sex(age, sex);
    }
    let trust = trust.ok_or("no trust code")?;
    Ok((trust, cleaned))
}
