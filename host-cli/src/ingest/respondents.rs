//! Per-respondent survey files: one CSV row per respondent (docs/formats.md §3).
//!
//! Header: `trust`, `age` (or `year_of_birth` with `--survey-year`), `sex`, then one column per
//! question id holding the option code (blank = not answered). Other columns are ignored and
//! noted once; a column that looks like a question id (`Q` and a digit) but is not one of the
//! instrument's means the file is for another questionnaire, and the file is skipped.

use std::path::Path;

use rayon::prelude::*;
use surveybench_kernel::export::{SITE_LEN, is_plain};
use surveybench_kernel::{Cleaning, HostTally, Instrument, Response};

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

/// Reads one respondent file into per-trust tallies (see [`read_bytes`]).
pub fn read(
    path: &Path,
    instrument: &'static Instrument<'static>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Trusts {
    match std::fs::read(path) {
        Ok(bytes) => read_bytes(path, &bytes, instrument, survey_year, problems),
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            Trusts::new()
        }
    }
}

/// Reads the bytes of respondent file `path` into per-trust tallies. Rows that cannot be read
/// are reported and skipped; cleaned answers are counted in the tally and noted. A large file
/// is split at line ends and its parts are read in parallel (unless it quotes fields, which
/// may hold line ends).
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    instrument: &'static Instrument<'static>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Trusts {
    let header_end = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
    let (head, body) = bytes.split_at(header_end);
    let header = match csv::ReaderBuilder::new().has_headers(false).from_reader(head).records().next() {
        Some(Ok(h)) => h,
        _ => {
            problems.push(Problem::error(path, Some(1), "no header row".to_owned()));
            return Trusts::new();
        }
    };
    let Some(columns) = map_columns(path, &header, instrument, survey_year, problems) else {
        return Trusts::new();
    };
    if let Err(e) = HostResponse::new(instrument) {
        problems.push(Problem::error(path, None, format!("instrument too large: {e}")));
        return Trusts::new();
    }
    let parts = if body.contains(&b'"') {
        vec![(2, body)]
    } else {
        split_lines(body, 2, rayon::current_num_threads() * 4)
    };
    let chunk = Chunk { path, instrument, columns: &columns, survey_year };
    let results: Vec<(Trusts, Vec<Problem>, Cleaned)> =
        parts.par_iter().map(|&(line, part)| chunk.read(part, line)).collect();
    let mut trusts = Trusts::new();
    let mut cleaned = Cleaned::default();
    for (part, part_problems, part_cleaned) in results {
        problems.extend(part_problems);
        cleaned.merge(part_cleaned);
        for (code, tally) in part {
            match trusts.get_mut(&code) {
                Some(t) => {
                    if let Err(e) = t.merge(&*tally) {
                        problems.push(Problem::error(path, None, format!("trust {code}: {e}")));
                    }
                }
                None => {
                    trusts.insert(code, tally);
                }
            }
        }
    }
    if cleaned.count > 0 {
        let examples: Vec<String> =
            cleaned.examples.iter().map(|(line, what)| format!("line {line} {what}")).collect();
        problems.push(Problem::note(
            path,
            None,
            format!(
                "{} answers were invalid codes or multiple ticks: cleaned to not answered and counted (method §2); first: {}",
                cleaned.count,
                examples.join("; ")
            ),
        ));
    }
    trusts
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

    /// Adds a later part's count and examples (parts are merged in file order).
    fn merge(&mut self, other: Cleaned) {
        self.count += other.count;
        self.examples.extend(other.examples);
        self.examples.truncate(Self::SHOWN);
    }
}

/// Splits `body` (whose first line is line `first`) into about `parts` pieces at line ends;
/// returns each piece with the line number it starts on.
fn split_lines(body: &[u8], first: u64, parts: usize) -> Vec<(u64, &[u8])> {
    let target = (body.len() / parts.max(1)).max(1 << 16);
    let mut out = Vec::new();
    let (mut start, mut line) = (0usize, first);
    while start < body.len() {
        let end = body
            .get(start + target..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(body.len(), |i| start + target + i + 1);
        let piece = &body[start..end];
        out.push((line, piece));
        line += piece.iter().filter(|&&b| b == b'\n').count() as u64;
        start = end;
    }
    out
}

/// What reading any part of one file needs.
struct Chunk<'a> {
    path: &'a Path,
    instrument: &'static Instrument<'static>,
    columns: &'a [Column],
    survey_year: Option<u16>,
}

impl Chunk<'_> {
    /// Reads the rows of `part`, whose first line is line `first` of the file.
    fn read(&self, part: &[u8], first: u64) -> (Trusts, Vec<Problem>, Cleaned) {
        let (mut trusts, mut problems, mut cleaned) = (Trusts::new(), Vec::new(), Cleaned::default());
        let Ok(mut response) = HostResponse::new(self.instrument) else {
            return (trusts, problems, cleaned);
        };
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(part);
        let mut record = csv::StringRecord::new();
        loop {
            let line_of = |p: Option<&csv::Position>| p.map(|p| first + p.line() - 1);
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    problems.push(Problem::error(
                        self.path,
                        line_of(e.position()),
                        format!("unreadable row, skipped: {e}"),
                    ));
                    continue;
                }
            }
            let line = line_of(record.position());
            if record.len() != self.columns.len() {
                let message = format!(
                    "row has {} fields, the header {}; respondent skipped",
                    record.len(),
                    self.columns.len()
                );
                problems.push(Problem::error(self.path, line, message));
                continue;
            }
            response.reset();
            match fill(&mut response, &record, self.columns, self.survey_year) {
                Ok((trust, row_cleaned)) => {
                    cleaned.add(line, row_cleaned);
                    if let Err(e) = commit(&mut trusts, trust, &response) {
                        problems.push(Problem::error(
                            self.path,
                            line,
                            format!("respondent not counted: {e}"),
                        ));
                    }
                }
                Err(message) => {
                    problems.push(Problem::error(self.path, line, format!("{message}; respondent skipped")))
                }
            }
        }
        (trusts, problems, cleaned)
    }
}

fn commit(
    trusts: &mut Trusts,
    trust: String,
    response: &HostResponse<'static>,
) -> Result<(), surveybench_kernel::TallyError> {
    let tally = match trusts.entry(trust) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(Box::new(HostTally::new(response.instrument())?))
        }
    };
    tally.commit(response).map(|_| ())
}

fn map_columns(
    path: &Path,
    header: &csv::StringRecord,
    instrument: &Instrument<'_>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Column>> {
    let mut ignored = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        if header.iter().take(i).any(|earlier| earlier.trim() == name.trim()) {
            let message = format!("column `{}` appears twice; file skipped", name.trim());
            problems.push(Problem::error(path, Some(1), message));
            return None;
        }
        let column = match name.trim() {
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
        problems.push(Problem::note(path, Some(1), format!("columns ignored: {}", ignored.join(", "))));
    }
    Some(columns)
}

/// Fills `response` from one row; returns the trust code and a description of each answer that
/// was cleaned (usually none).
fn fill(
    response: &mut HostResponse<'_>,
    record: &csv::StringRecord,
    columns: &[Column],
    survey_year: Option<u16>,
) -> Result<(String, Vec<String>), String> {
    let mut trust = None;
    let (mut age, mut sex, mut cleaned) = (None, None, Vec::new());
    let instrument = response.instrument();
    let id = |k: usize| instrument.question(k).map_or("?", |q| q.id);
    for (column, raw) in columns.iter().zip(record.iter()) {
        let raw = raw.trim();
        match column {
            Column::Trust if !is_plain(raw) || raw.len() > SITE_LEN => {
                return Err(format!(
                    "trust code `{raw}` must be 1 to {SITE_LEN} letters, digits or - _ . : /"
                ));
            }
            Column::Trust => trust = Some(raw.to_owned()),
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
