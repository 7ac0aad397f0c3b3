//! Ingest: device exports, respondent files and sample frames, mixed freely, into one tally per
//! trust. Files are read in parallel; a bad file or record is reported and the rest goes on.

pub mod export;
pub mod frame;
pub mod respondents;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use surveybench_kernel::{HostTally, Instrument};

pub use frame::FrameRow;

/// One tally per trust code.
pub type Trusts = BTreeMap<String, Box<HostTally<'static>>>;

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
}

impl Dataset {
    /// Whether any input was skipped.
    #[must_use]
    pub fn skipped_any(&self) -> bool {
        self.problems.iter().any(|p| p.skipped)
    }
}

/// How to ingest.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Stop at the first error.
    pub strict: bool,
    /// Survey year, for `year_of_birth` columns.
    pub survey_year: Option<u16>,
}

enum Parsed {
    Exports(Vec<export::DeviceExport>),
    Respondents(Trusts),
    Frame(BTreeMap<String, FrameRow>),
}

/// Files and folders (recursively) to read, sorted so the order of results never depends on
/// the file system.
fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                for entry in
                    std::fs::read_dir(&dir).with_context(|| format!("{}: cannot list", dir.display()))?
                {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if matches!(
                        path.extension().and_then(|e| e.to_str()),
                        Some("json" | "jsonl" | "csv")
                    ) {
                        files.push(path);
                    }
                }
            }
        } else if input.exists() {
            files.push(input.clone());
        } else {
            bail!("{}: no such file or folder", input.display());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn parse_file(
    path: &Path,
    instrument: &'static Instrument<'static>,
    options: Options,
) -> (Parsed, Vec<Problem>) {
    let mut problems = Vec::new();
    let is_csv = path.extension().and_then(|e| e.to_str()) == Some("csv");
    let parsed = if !is_csv {
        Parsed::Exports(export::read(path, instrument, &mut problems))
    } else {
        let frame_header = csv::Reader::from_path(path)
            .and_then(|mut r| r.headers().map(frame::is_frame_header))
            .unwrap_or(false);
        if frame_header {
            Parsed::Frame(frame::read(path, &mut problems))
        } else {
            Parsed::Respondents(respondents::read(path, instrument, options.survey_year, &mut problems))
        }
    };
    (parsed, problems)
}

fn progress(files: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} files") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("ingest");
    bar
}

/// Reads every input for one survey year. Device exports are merged per site after keeping
/// only the highest sequence of each device; respondent files are tallied per trust.
///
/// # Errors
/// A missing input path; with `strict`, the first problem that skipped input.
pub fn ingest(
    instrument: &'static Instrument<'static>,
    inputs: &[PathBuf],
    options: Options,
) -> Result<Dataset> {
    let files = expand(inputs)?;
    let bar = progress(files.len());
    let parsed: Vec<(Parsed, Vec<Problem>)> = files
        .par_iter()
        .map(|path| {
            let r = parse_file(path, instrument, options);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut data = Dataset::default();
    let mut exports = Vec::new();
    let mut from_files = std::collections::BTreeSet::new();
    for (path, (p, problems)) in files.iter().zip(parsed) {
        stop_if_strict(options, &problems)?;
        data.problems.extend(problems);
        match p {
            Parsed::Exports(e) => exports.extend(e),
            Parsed::Respondents(trusts) => {
                from_files.extend(trusts.keys().map(|k| (k.clone(), path.clone())));
                merge_trusts(&mut data, trusts)?;
            }
            Parsed::Frame(rows) => {
                for (trust, row) in rows {
                    if data.frame.insert(trust.clone(), row).is_some() {
                        let message = format!(
                            "trust {trust} is in more than one sample frame; this file's row is used"
                        );
                        data.problems.push(Problem::error(path, None, message));
                    }
                }
            }
        }
    }
    let latest = latest_per_device(exports, &mut data.problems);
    // The same trust from kiosks and from a respondent file is legitimate (two channels), but
    // it is also what giving one survey twice looks like: say so.
    for e in &latest {
        let site = e.header.site.as_str();
        if let Some((_, file)) = from_files.iter().find(|(code, _)| code == site) {
            let message = format!(
                "trust {site} has device exports and rows in {}; both are counted: make sure they are not the same respondents",
                file.display()
            );
            data.problems.push(Problem::note(&e.path, Some(e.line), message));
            from_files.retain(|(code, _)| code != site);
        }
    }
    for e in latest {
        let mut one = Trusts::new();
        one.insert(e.header.site.as_str().to_owned(), e.tally);
        merge_trusts(&mut data, one)?;
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
    stop_if_strict(options, &data.problems)?;
    Ok(data)
}

/// With `--strict`, the first problem that skipped input ends the run.
fn stop_if_strict(options: Options, problems: &[Problem]) -> Result<()> {
    match problems.iter().find(|p| p.skipped) {
        Some(first) if options.strict => bail!("{first} (--strict)"),
        _ => Ok(()),
    }
}

fn merge_trusts(data: &mut Dataset, trusts: Trusts) -> Result<()> {
    for (code, tally) in trusts {
        match data.trusts.get_mut(&code) {
            Some(existing) => existing.merge(&*tally).with_context(|| format!("merging trust {code}"))?,
            None => {
                data.trusts.insert(code, tally);
            }
        }
    }
    Ok(())
}

/// Keeps the highest sequence of every device: an export given twice, or an older snapshot
/// beside a newer one, counts once, and each drop is reported as a note. Two different
/// exports with the same device and sequence are a conflict: both are reported, the first
/// (in file order) is kept.
fn latest_per_device(
    exports: Vec<export::DeviceExport>,
    problems: &mut Vec<Problem>,
) -> Vec<export::DeviceExport> {
    let mut best: BTreeMap<String, export::DeviceExport> = BTreeMap::new();
    for e in exports {
        let device = e.header.device.as_str().to_owned();
        let Some(kept) = best.get(&device) else {
            best.insert(device, e);
            continue;
        };
        let (old, new) = (kept.header.sequence, e.header.sequence);
        let where_ = |x: &export::DeviceExport| format!("{}:{}", x.path.display(), x.line);
        if new == old && e.bytes != kept.bytes {
            problems.push(Problem::error(
                &e.path,
                Some(e.line),
                format!("device {device} sequence {new} differs from {}; this copy skipped", where_(kept)),
            ));
        } else if new <= old {
            let why = if new == old { "the same export was given twice" } else { "an older snapshot" };
            problems.push(Problem::note(
                &e.path,
                Some(e.line),
                format!(
                    "device {device} sequence {new}: {why}; counted once, from {} (sequence {old})",
                    where_(kept)
                ),
            ));
        } else {
            problems.push(Problem::note(
                &kept.path,
                Some(kept.line),
                format!("device {device} sequence {old}: superseded by sequence {new} in {}", where_(&e)),
            ));
            best.insert(device, e);
        }
    }
    best.into_values().collect()
}
