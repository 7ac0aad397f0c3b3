//! Ingest: device exports, respondent files and sample frames, mixed freely, into one tally per
//! trust. Files are read in parallel; a bad file or record is reported and the rest goes on.

pub mod accounting;
pub mod blocks;
mod devices;
pub mod export;
pub mod frame;
pub mod records;
pub mod respondents;
mod walk;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use surveybench_kernel::{HostTally, Instrument, TallyError};

pub use accounting::{InputKind, InputTotals};
pub use frame::FrameRow;

/// One tally per trust code.
pub type Trusts = BTreeMap<String, Box<HostTally<'static>>>;

/// An empty host tally of `instrument`, made where it stays, on the heap: the memory of the
/// capacity the instrument does not use (most of a host tally's 116 KB) is never written, so the
/// system need not even provide it, and nothing is copied (a run makes one per trust and thread,
/// and one per device export). The instrument's checks and layout are worked out once a run,
/// in the first tally made of it, and copied from there.
///
/// # Errors
/// As [`HostTally::new`].
#[allow(unsafe_code, reason = "a zeroed allocation is what `Tally::init_zeroed_like` asks for")]
pub fn new_tally(instrument: &'static Instrument<'static>) -> Result<Box<HostTally<'static>>, TallyError> {
    let like = first_tally(instrument)?;
    let mut slot = Box::<HostTally<'static>>::new_zeroed();
    // SAFETY: `new_zeroed` gives a slot of all zero bytes.
    unsafe { HostTally::init_zeroed_like(&mut slot, like) };
    // SAFETY: `init_zeroed_like` initialised the slot.
    Ok(unsafe { slot.assume_init() })
}

/// The first tally made of `instrument` in this run, kept for [`new_tally`] to copy its layout.
#[allow(unsafe_code, reason = "a zeroed allocation is what `Tally::init_zeroed` asks for")]
fn first_tally(instrument: &'static Instrument<'static>) -> Result<&'static HostTally<'static>, TallyError> {
    static MADE: std::sync::Mutex<Vec<&'static HostTally<'static>>> = std::sync::Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(t) = made.iter().find(|t| std::ptr::eq(t.instrument(), instrument)) {
        return Ok(t);
    }
    let mut slot = Box::<HostTally<'static>>::new_zeroed();
    // SAFETY: `new_zeroed` gives a slot of all zero bytes.
    unsafe { HostTally::init_zeroed(&mut slot, instrument)? };
    // SAFETY: `init_zeroed` succeeded, so the slot holds a tally. It is kept for the run.
    let first: &'static HostTally<'static> = Box::leak(unsafe { slot.assume_init() });
    made.push(first);
    Ok(first)
}

/// Something wrong with, or worth saying about, an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// The line, when known (1-based).
    pub line: Option<u64>,
    /// What happened.
    pub message: String,
    /// Whether input was skipped (an error) or this is a note.
    pub skipped: bool,
}

impl Problem {
    /// Input was skipped.
    #[must_use]
    pub fn error(path: &Path, line: Option<u64>, message: String) -> Self {
        Self { path: path.to_owned(), line, message, skipped: true }
    }

    /// Counted, but the output may be wrong because of it (an export whose device lost data):
    /// an error, so the run exits 2 like one that skipped input.
    #[must_use]
    pub fn doubtful(path: &Path, line: Option<u64>, message: String) -> Self {
        Self::error(path, line, message)
    }

    /// Nothing was skipped; worth knowing.
    #[must_use]
    pub fn note(path: &Path, line: Option<u64>, message: String) -> Self {
        Self { path: path.to_owned(), line, message, skipped: false }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.skipped { "error" } else { "note" };
        match self.line {
            Some(line) => write!(f, "{kind}: {}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{kind}: {}: {}", self.path.display(), self.message),
        }
    }
}

/// What one survey year's inputs amount to.
#[derive(Default)]
pub struct Dataset {
    /// One merged tally per trust.
    pub trusts: Trusts,
    /// Sample frame rows per trust, for response rates.
    pub frame: BTreeMap<String, FrameRow>,
    /// Errors and notes, in input order.
    pub problems: Vec<Problem>,
    /// What became of every input file, in the order read.
    pub inputs: Vec<InputTotals>,
}

impl Dataset {
    /// Whether any input was skipped.
    #[must_use]
    pub fn skipped_any(&self) -> bool {
        self.problems.iter().any(|p| p.skipped)
    }
}

/// How to ingest.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Stop at the first error.
    pub strict: bool,
    /// Survey year, for `year_of_birth` columns.
    pub survey_year: Option<u16>,
    /// The survey period device exports must report, when given (`--period`).
    pub period: Option<String>,
    /// The keys signed device exports are checked against (`--keyring`).
    pub keyring: std::sync::Arc<crate::keyring::Keyring>,
    /// Whether unsigned (version 1) device exports count (`--allow-unsigned`).
    pub allow_unsigned: bool,
}

enum Parsed {
    Exports(Vec<export::DeviceExport>),
    Respondents(Trusts),
    Frame(BTreeMap<String, FrameRow>),
    Nothing,
}

/// One file read: what it holds, what went wrong, its totals, and its content hash.
struct FileRead {
    parsed: Parsed,
    problems: Vec<Problem>,
    totals: InputTotals,
    hash: Option<[u8; 32]>,
}

/// Reads one file; `hash` says whether its content hash is needed to find repeats.
fn parse_file(
    path: &Path,
    instrument: &'static Instrument<'static>,
    options: &Options,
    kept: &AtomicUsize,
    hash: bool,
) -> FileRead {
    let mut problems = Vec::new();
    if path.extension().and_then(|e| e.to_str()) != Some("csv") {
        let admission =
            export::Admission { keyring: &options.keyring, allow_unsigned: options.allow_unsigned };
        let file = export::read(path, instrument, admission, kept, hash, &mut problems);
        return FileRead {
            parsed: Parsed::Exports(file.exports),
            problems,
            totals: file.totals,
            hash: file.hash,
        };
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            let totals = InputTotals::new(path, InputKind::Respondents);
            return FileRead { parsed: Parsed::Nothing, problems, totals, hash: None };
        }
    };
    // A file is cut into parts of at most a block, as many as a multiple of the cores, so
    // that the cores finish together (a file of less than a block a core: one part a core,
    // each making one tally per trust in it).
    let size = file.metadata().map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let parts = size.div_ceil(blocks::BLOCK).max(1).next_multiple_of(cores);
    let block = (size / parts).saturating_add(1).clamp(1 << 16, blocks::BLOCK);
    let mut blocks = blocks::Blocks::sized(file, block, blocks::MAX_RECORD);
    if !hash {
        blocks = blocks.without_hash();
    }
    match read_csv(path, &mut blocks, instrument, options, &mut problems) {
        Ok((parsed, totals)) => {
            let hash = blocks.hash().ok().flatten();
            FileRead { parsed, problems, totals, hash }
        }
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}; file skipped")));
            let totals = InputTotals::new(path, InputKind::Respondents);
            FileRead { parsed: Parsed::Nothing, problems, totals, hash: None }
        }
    }
}

/// A CSV input: a sample frame (recognised by its header) or a respondent file.
fn read_csv(
    path: &Path,
    blocks: &mut blocks::Blocks<std::fs::File>,
    instrument: &'static Instrument<'static>,
    options: &Options,
    problems: &mut Vec<Problem>,
) -> std::io::Result<(Parsed, InputTotals)> {
    let (header, first) = match blocks.header()? {
        Ok(h) => h,
        Err(message) => {
            problems.push(Problem::error(path, Some(1), format!("{message}; file skipped")));
            return Ok((Parsed::Nothing, InputTotals::new(path, InputKind::Respondents)));
        }
    };
    if frame::is_frame_header(&header) {
        let Some(body) = blocks.rest()? else {
            let message =
                format!("a sample frame larger than {} MiB; file skipped", blocks::MAX_RECORD >> 20);
            problems.push(Problem::error(path, None, message));
            return Ok((Parsed::Nothing, InputTotals::new(path, InputKind::SampleFrame)));
        };
        let (rows, totals) = frame::read(path, &header, &body, first, problems);
        return Ok((Parsed::Frame(rows), totals));
    }
    let (trusts, totals) =
        respondents::read(path, &header, blocks, instrument, options.survey_year, problems)?;
    Ok((Parsed::Respondents(trusts), totals))
}

fn progress(files: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} files") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("ingest");
    bar
}

/// Reads every input for one survey year. Every real file is read once (by canonical path and
/// by content); device exports are merged per site after keeping only the highest sequence of
/// each device; respondent files are tallied per trust; every file's rows are accounted for in
/// [`Dataset::inputs`].
///
/// # Errors
/// A missing input path; with `strict`, the first problem that skipped input.
pub fn ingest(
    instrument: &'static Instrument<'static>,
    inputs: &[PathBuf],
    options: &Options,
) -> Result<Dataset> {
    let files = walk::files(inputs)?;
    let bar = progress(files.unique.len());
    let kept = AtomicUsize::new(0);
    let hashed = same_sizes(&files.unique);
    let read: Vec<FileRead> = files
        .unique
        .par_iter()
        .zip(&hashed)
        .map(|(path, &hash)| {
            let r = parse_file(path, instrument, options, &kept, hash);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut data = Dataset::default();
    for (name, first) in &files.repeats {
        data.problems.push(Problem::note(
            name,
            None,
            format!("the same file as {}; read once", first.display()),
        ));
        data.inputs.push(repeat(name, first));
    }
    let mut merged = Merged::default();
    for (path, r) in files.unique.iter().zip(read) {
        if let Some(first) = r.hash.and_then(|h| merged.first_with(h, path)) {
            let message = format!("the same content as {}; read once", first.display());
            data.problems.push(Problem::note(path, None, message));
            data.inputs.push(repeat(path, &first));
            continue;
        }
        stop_if_strict(options, &r.problems)?;
        data.problems.extend(r.problems);
        let mut totals = r.totals;
        match r.parsed {
            Parsed::Exports(e) => merged.exports.extend(e.into_iter().map(|e| (data.inputs.len(), e))),
            Parsed::Respondents(trusts) => {
                merged.note_trusts(&trusts, path, &mut data.problems);
                merge_trusts(&mut data, trusts, path, &mut totals);
            }
            Parsed::Frame(rows) => merged.frame(&mut data, rows, path, &mut totals),
            Parsed::Nothing => {}
        }
        data.inputs.push(totals);
    }
    let exports = std::mem::take(&mut merged.exports);
    let latest = devices::latest(exports, options.period.as_deref(), &mut data);
    for (input, e) in latest {
        merged.note_site(&e, &mut data.problems);
        let tally = match e.tally {
            Some(t) => t,
            None => match export::reread(&e, instrument) {
                Ok(t) => t,
                Err(message) => {
                    data.problems.push(Problem::error(&e.path, Some(e.line), message));
                    if let Some(t) = data.inputs.get_mut(input) {
                        t.unuse(1);
                    }
                    continue;
                }
            },
        };
        let one = Trusts::from([(e.header.site.as_str().to_owned(), tally)]);
        if let Some(slot) = data.inputs.get_mut(input) {
            let mut totals = std::mem::take(slot);
            merge_trusts(&mut data, one, &e.path, &mut totals);
            if let Some(slot) = data.inputs.get_mut(input) {
                *slot = totals;
            }
        }
    }
    merged.check_frame(&mut data);
    stop_if_strict(options, &data.problems)?;
    Ok(data)
}

/// For each file, whether another has its size (or its size is unknown): only those can hold
/// the same bytes as another, so only they need a content hash to find repeats.
fn same_sizes(paths: &[PathBuf]) -> Vec<bool> {
    let sizes: Vec<Option<u64>> = paths.iter().map(|p| std::fs::metadata(p).ok().map(|m| m.len())).collect();
    let mut files_of_size = BTreeMap::<u64, usize>::new();
    for size in sizes.iter().flatten() {
        *files_of_size.entry(*size).or_default() += 1;
    }
    sizes.iter().map(|s| s.is_none_or(|s| files_of_size.get(&s).is_some_and(|&n| n > 1))).collect()
}

/// The totals of a file read once under another name.
fn repeat(path: &Path, first: &Path) -> InputTotals {
    let mut totals = InputTotals::new(path, InputKind::Repeat);
    totals.same_as = Some(first.display().to_string());
    totals
}

/// What the ingest of one year remembers across files.
#[derive(Default)]
struct Merged {
    /// Content hash -> the first file with that content.
    hashes: BTreeMap<[u8; 32], PathBuf>,
    /// Trust -> the respondent file its rows came from first.
    respondent_files: BTreeMap<String, PathBuf>,
    /// Trust -> the sample frame its row came from.
    frame_files: BTreeMap<String, PathBuf>,
    /// Decoded exports with the index of their file's totals.
    exports: Vec<(usize, export::DeviceExport)>,
}

impl Merged {
    /// The first file with content `hash`, or `None` after recording `path` as the first.
    fn first_with(&mut self, hash: [u8; 32], path: &Path) -> Option<PathBuf> {
        match self.hashes.get(&hash) {
            Some(first) => Some(first.clone()),
            None => {
                self.hashes.insert(hash, path.to_owned());
                None
            }
        }
    }

    /// Notes a trust with rows in more than one respondent file.
    fn note_trusts(&mut self, trusts: &Trusts, path: &Path, problems: &mut Vec<Problem>) {
        for code in trusts.keys() {
            if let Some(other) = self.respondent_files.get(code) {
                let message = format!(
                    "trust {code} also has rows in {}; both are counted: make sure they are not the same respondents",
                    other.display()
                );
                problems.push(Problem::note(path, None, message));
            } else {
                self.respondent_files.insert(code.clone(), path.to_owned());
            }
        }
    }

    /// The same trust from kiosks and from a respondent file is legitimate (two channels), but
    /// it is also what giving one survey twice looks like: says so, once per trust.
    fn note_site(&mut self, e: &export::DeviceExport, problems: &mut Vec<Problem>) {
        let site = e.header.site.as_str();
        if let Some(file) = self.respondent_files.remove(site) {
            let message = format!(
                "trust {site} has device exports and rows in {}; both are counted: make sure they are not the same respondents",
                file.display()
            );
            problems.push(Problem::note(&e.path, Some(e.line), message));
        }
    }

    /// Adds a sample frame's rows; a trust already in another frame keeps its first row.
    fn frame(
        &mut self,
        data: &mut Dataset,
        rows: BTreeMap<String, FrameRow>,
        path: &Path,
        totals: &mut InputTotals,
    ) {
        for (trust, row) in rows {
            if let Some(first) = self.frame_files.get(&trust) {
                let message =
                    format!("trust {trust} is already in sample frame {}; this row skipped", first.display());
                data.problems.push(Problem::error(path, None, message));
                totals.unuse(1);
                continue;
            }
            self.frame_files.insert(trust.clone(), path.to_owned());
            data.frame.insert(trust, row);
        }
    }

    /// Checks the frame against the data: more completed responses than the adjusted base is
    /// an error (the row is dropped, so no response rate is shown), and trusts without
    /// respondents are noted.
    fn check_frame(&self, data: &mut Dataset) {
        let mut impossible = Vec::new();
        for (trust, row) in &data.frame {
            let completed = data.trusts.get(trust).map_or(0, |t| t.counters().completed);
            if u64::from(completed) > u64::from(row.adjusted_base()) {
                impossible.push((trust.clone(), completed, row.adjusted_base()));
            }
        }
        for (trust, completed, base) in impossible {
            data.frame.remove(&trust);
            let path =
                self.frame_files.get(&trust).map_or_else(|| PathBuf::from("sample frame"), Clone::clone);
            let rate = 100.0 * f64::from(completed) / f64::from(base.max(1));
            let message = format!(
                "trust {trust}: {completed} completed responses but an adjusted base of {base} (a response rate of {rate:.0}%); frame row skipped"
            );
            data.problems.push(Problem::error(&path, None, message));
            if let Some(t) = data.inputs.iter_mut().find(|t| t.path == path.display().to_string()) {
                t.unuse(1);
            }
        }
        let unheard: Vec<&str> =
            data.frame.keys().filter(|t| !data.trusts.contains_key(*t)).map(String::as_str).collect();
        if !unheard.is_empty() {
            let message = format!(
                "sample-frame trusts with no respondents in the data (they count with 0 completed): {}",
                unheard.join(", ")
            );
            data.problems.push(Problem::note(Path::new("sample frame"), None, message));
        }
    }
}

/// With `--strict`, the first problem that skipped input ends the run.
fn stop_if_strict(options: &Options, problems: &[Problem]) -> Result<()> {
    match problems.iter().find(|p| p.skipped) {
        Some(first) if options.strict => bail!("{first} (--strict)"),
        _ => Ok(()),
    }
}

/// Adds one file's per-trust tallies. A trust whose counts would overflow is skipped with an
/// error naming the file, and its respondents move from used to skipped; the rest goes on.
fn merge_trusts(data: &mut Dataset, trusts: Trusts, path: &Path, totals: &mut InputTotals) {
    for (code, tally) in trusts {
        match data.trusts.get_mut(&code) {
            Some(existing) => {
                if let Err(e) = existing.merge(&*tally) {
                    let completed = tally.counters().completed;
                    let message = format!(
                        "trust {code}: {e} when added to the trust's other data; this file's {completed} responses for it are skipped"
                    );
                    data.problems.push(Problem::error(path, None, message));
                    let skipped =
                        if totals.kind == InputKind::DeviceExports { 1 } else { u64::from(completed) };
                    totals.unuse(skipped);
                }
            }
            None => {
                data.trusts.insert(code, tally);
            }
        }
    }
}
