//! Every input accounted for: what became of each file's rows or exports (docs/formats.md §4,
//! `inputs`). A reader checks `read = used + skipped + superseded` for every file.

use std::fmt;
use std::path::Path;

use serde::Serialize;

/// What kind of input a file was read as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A respondent CSV: one row per respondent.
    #[default]
    Respondents,
    /// Device exports: one per line, or one document per file.
    DeviceExports,
    /// A sample frame CSV.
    SampleFrame,
    /// A file given again (by another name, or with the same content): read once.
    Repeat,
}

/// One input file's totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InputTotals {
    /// The file, as named on the command line or found in a folder.
    pub path: String,
    /// How it was read.
    pub kind: InputKind,
    /// Physical lines after the header (CSV) or in the file (exports).
    pub lines: u64,
    /// Blank lines among them.
    pub blank_lines: u64,
    /// Rows (CSV records, which may span lines) or exports read.
    pub read: u64,
    /// Respondents counted, exports counted, or frame rows used.
    pub used: u64,
    /// Rows or exports skipped, each reported with its line.
    pub skipped: u64,
    /// Exports counted once elsewhere: older snapshots and repeated copies of a device's export.
    pub superseded: u64,
    /// Device exports read without a signature and admitted by `--allow-unsigned`, whatever
    /// became of them next (counted, superseded or skipped in a conflict); 0 for other files.
    pub unsigned: u64,
    /// For a repeat, the file whose content it repeats.
    pub same_as: Option<String>,
}

impl InputTotals {
    /// Empty totals for `path` read as `kind`.
    #[must_use]
    pub fn new(path: &Path, kind: InputKind) -> Self {
        Self { path: path.display().to_string(), kind, ..Self::default() }
    }

    /// Adds a later part's counts (a file read in parts).
    pub fn add(&mut self, other: &InputTotals) {
        self.lines += other.lines;
        self.blank_lines += other.blank_lines;
        self.read += other.read;
        self.used += other.used;
        self.skipped += other.skipped;
        self.superseded += other.superseded;
        self.unsigned += other.unsigned;
    }

    /// Moves `n` used rows or exports to skipped (their data could not be merged).
    pub fn unuse(&mut self, n: u64) {
        let n = n.min(self.used);
        self.used -= n;
        self.skipped += n;
    }

    /// Whether the totals add up: everything read was used, skipped or superseded.
    #[must_use]
    pub fn balanced(&self) -> bool {
        self.read == self.used + self.skipped + self.superseded
    }
}

impl fmt::Display for InputTotals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, used) = match self.kind {
            InputKind::Respondents => ("rows", "respondents counted"),
            InputKind::DeviceExports => ("exports", "counted"),
            InputKind::SampleFrame => ("rows", "used"),
            InputKind::Repeat => {
                let first = self.same_as.as_deref().unwrap_or("?");
                return write!(f, "{}: the same file as {first}; read once", self.path);
            }
        };
        write!(
            f,
            "{}: {} {what} read = {} {used} + {} skipped",
            self.path, self.read, self.used, self.skipped
        )?;
        if self.kind == InputKind::DeviceExports {
            write!(f, " + {} superseded", self.superseded)?;
            if self.unsigned > 0 {
                write!(f, "; {} unsigned", self.unsigned)?;
            }
        }
        write!(f, " ({} lines, {} blank)", self.lines, self.blank_lines)
    }
}
