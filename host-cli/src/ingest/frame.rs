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

/// Whether a CSV header is a sample frame's.
#[must_use]
pub fn is_frame_header(header: &csv::StringRecord) -> bool {
    let mut names: Vec<&str> = header.iter().map(str::trim).collect();
    names.sort_unstable();
    names == ["deceased", "invited", "trust", "undeliverable"]
}

/// Reads a sample frame; bad rows are reported and skipped.
pub fn read(path: &Path, problems: &mut Vec<Problem>) -> BTreeMap<String, FrameRow> {
    let mut out = BTreeMap::new();
    let mut reader = match csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            return out;
        }
    };
    for row in reader.deserialize::<Row>() {
        match row {
            Ok(r) if r.undeliverable.saturating_add(r.deceased) > r.invited => {
                problems.push(Problem::error(
                    path,
                    None,
                    format!("trust {}: more undeliverable and deceased than invited", r.trust),
                ));
            }
            Ok(r) => {
                let row =
                    FrameRow { invited: r.invited, undeliverable: r.undeliverable, deceased: r.deceased };
                if out.insert(r.trust.clone(), row).is_some() {
                    problems.push(Problem::error(
                        path,
                        None,
                        format!("trust {} listed twice; the later row is used", r.trust),
                    ));
                }
            }
            Err(e) => {
                let line = e.position().map(csv::Position::line);
                problems.push(Problem::error(path, line, format!("bad sample-frame row: {e}")));
            }
        }
    }
    out
}
