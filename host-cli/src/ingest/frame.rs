//! Sample frames: how many were invited per trust, for response rates (method.md §10).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Problem;

/// One trust's sample: `trust,invited,undeliverable,deceased`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRow {
    /// Questionnaires sent.
    pub invited: u32,
    /// Returned undeliverable.
    pub undeliverable: u32,
    /// Recipient had died.
    pub deceased: u32,
}

impl FrameRow {
    /// invited - undeliverable - deceased (method.md §10).
    #[must_use]
    pub fn adjusted_base(&self) -> u32 {
        self.invited.saturating_sub(self.undeliverable).saturating_sub(self.deceased)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    trust: String,
    invited: u32,
    undeliverable: u32,
    deceased: u32,
}

/// The columns of a sample frame, in any order.
const COLUMNS: [&str; 4] = ["trust", "invited", "undeliverable", "deceased"];

/// Whether a CSV header is meant as a sample frame's: it has an `invited` column. (A frame with
/// missing or extra columns is then reported, not read as respondents.)
#[must_use]
pub fn is_frame_header(header: &csv::StringRecord) -> bool {
    header.iter().any(|h| h.trim() == "invited")
}

/// Reads a sample frame; bad rows are reported with their line and skipped. A header that is
/// not exactly the four frame columns skips the file.
pub fn read(path: &Path, problems: &mut Vec<Problem>) -> BTreeMap<String, FrameRow> {
    let mut out = BTreeMap::new();
    let mut reader = match csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            return out;
        }
    };
    let header: Vec<String> =
        reader.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
    let extra: Vec<&str> = header.iter().map(String::as_str).filter(|h| !COLUMNS.contains(h)).collect();
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect();
    if !extra.is_empty() || !missing.is_empty() || header.len() != COLUMNS.len() {
        let message = format!(
            "a sample frame has exactly the columns {}; extra: [{}], missing: [{}]; file skipped",
            COLUMNS.join(","),
            extra.join(","),
            missing.join(",")
        );
        problems.push(Problem::error(path, Some(1), message));
        return out;
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record.position().map(csv::Position::line),
            Err(e) => {
                problems.push(Problem::error(
                    path,
                    e.position().map(csv::Position::line),
                    format!("bad row: {e}"),
                ));
                continue;
            }
        };
        match record.deserialize::<Row>(Some(&csv::StringRecord::from(header.clone()))) {
            Ok(r) if r.undeliverable.saturating_add(r.deceased) > r.invited => {
                let message =
                    format!("trust {}: more undeliverable and deceased than invited; row skipped", r.trust);
                problems.push(Problem::error(path, line, message));
            }
            Ok(r) => {
                let row =
                    FrameRow { invited: r.invited, undeliverable: r.undeliverable, deceased: r.deceased };
                if out.insert(r.trust.clone(), row).is_some() {
                    problems.push(Problem::error(
                        path,
                        line,
                        format!("trust {} listed twice; this row is used", r.trust),
                    ));
                }
            }
            Err(e) => {
                problems.push(Problem::error(path, line, format!("bad sample-frame row, skipped: {e}")))
            }
        }
    }
    out
}
