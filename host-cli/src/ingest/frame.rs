//! Sample frames: how many were invited per trust, for response rates (method.md §10).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use surveybench_kernel::export::{SITE_LEN, is_plain};

use super::Problem;
use super::accounting::{InputKind, InputTotals};
use super::records::{Record, Records, count_lines};

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

/// The columns of a sample frame, in any order.
const COLUMNS: [&str; 4] = ["trust", "invited", "undeliverable", "deceased"];

/// Whether a CSV header (trimmed column names) is meant as a sample frame's: it has an
/// `invited` column. (A frame with missing or extra columns is then reported, not read as
/// respondents.)
#[must_use]
pub fn is_frame_header(header: &[String]) -> bool {
    header.iter().any(|h| h == "invited")
}

/// Reads the body of a sample frame whose header is `header` and whose body starts on line
/// `first`; bad rows are reported with their line and skipped. A header that is not exactly
/// the four frame columns skips the file.
pub fn read(
    path: &Path,
    header: &[String],
    body: &[u8],
    first: u64,
    problems: &mut Vec<Problem>,
) -> (BTreeMap<String, FrameRow>, InputTotals) {
    let mut out = BTreeMap::new();
    let mut totals = InputTotals::new(path, InputKind::SampleFrame);
    totals.lines = count_lines(body);
    let extra: Vec<&str> = header.iter().map(String::as_str).filter(|h| !COLUMNS.contains(h)).collect();
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect();
    let columns_ok = extra.is_empty() && missing.is_empty() && header.len() == COLUMNS.len();
    if !columns_ok {
        let message = format!(
            "a sample frame has exactly the columns {}; extra: [{}], missing: [{}]; file skipped",
            COLUMNS.join(","),
            extra.join(","),
            missing.join(",")
        );
        problems.push(Problem::error(path, Some(1), message));
    }
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
    let order = [at("trust"), at("invited"), at("undeliverable"), at("deceased")];
    let mut records = Records::new(body, first);
    let mut record = Record::default();
    while let Some(result) = records.next_into(&mut record) {
        totals.read += 1;
        let line = Some(record.first_line);
        let row = result
            .map_err(|e| format!("unreadable row: {e}"))
            .and_then(|()| if columns_ok { row(&record, order) } else { Err(String::new()) });
        match row {
            Ok((trust, row)) => {
                totals.used += 1;
                if let Some(before) = out.insert(trust.clone(), row) {
                    totals.unuse(1);
                    let message = format!(
                        "trust {trust} listed twice; the first row ({before:?}) is replaced and counted as skipped"
                    );
                    problems.push(Problem::error(path, line, message));
                }
            }
            Err(message) => {
                totals.skipped += 1;
                if columns_ok {
                    problems.push(Problem::error(path, line, format!("{message}; row skipped")));
                }
            }
        }
    }
    totals.blank_lines = records.blank_lines;
    (out, totals)
}

/// One frame row from its fields, `order` giving the field of trust, invited, undeliverable
/// and deceased.
fn row(record: &Record, order: [usize; 4]) -> Result<(String, FrameRow), String> {
    if record.len() != COLUMNS.len() {
        return Err(format!("row has {} fields, a sample frame {}", record.len(), COLUMNS.len()));
    }
    let text = |i: usize| {
        let raw = record.get(order.get(i).copied().unwrap_or(usize::MAX)).unwrap_or_default();
        std::str::from_utf8(raw)
            .map(str::trim)
            .map_err(|_| format!("column {} is not UTF-8 text", COLUMNS.get(i).unwrap_or(&"?")))
    };
    let trust = text(0)?;
    if !is_plain(trust) || trust.len() > SITE_LEN {
        return Err(format!("trust code `{trust}` must be 1 to {SITE_LEN} letters, digits or - _ . : /"));
    }
    let count = |i: usize| -> Result<u32, String> {
        let raw = text(i)?;
        raw.parse::<u32>().map_err(|_| {
            format!("{} `{raw}` is not a whole number below 2^32", COLUMNS.get(i).unwrap_or(&"?"))
        })
    };
    let row = FrameRow { invited: count(1)?, undeliverable: count(2)?, deceased: count(3)? };
    if u64::from(row.undeliverable) + u64::from(row.deceased) > u64::from(row.invited) {
        return Err(format!("trust {trust}: more undeliverable and deceased than invited"));
    }
    Ok((trust.to_owned(), row))
}
