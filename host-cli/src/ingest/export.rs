//! Device exports: the kernel's JSON tallies, one per line (docs/formats.md §2).

use std::path::{Path, PathBuf};

use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument};

use sha2::{Digest, Sha256};

use super::Problem;
use super::accounting::{InputKind, InputTotals};
use super::records::count_lines;

/// One decoded device export.
pub struct DeviceExport {
    /// Where it came from.
    pub path: PathBuf,
    /// Line within the file (1-based).
    pub line: u64,
    /// Its header: device, site, period, sequence.
    pub header: Header,
    /// Its tally.
    pub tally: Box<HostTally<'static>>,
    /// SHA-256 of its bytes, to tell a repeated export from a conflicting one.
    pub hash: [u8; 32],
}

/// The `instrument` field of a document that failed to decode, for a clearer message.
fn instrument_named(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("instrument")?.as_str().map(str::to_owned)
}

fn decode(
    bytes: &[u8],
    instrument: &'static Instrument<'static>,
) -> Result<(Header, Box<HostTally<'static>>), String> {
    let mut tally = Box::new(HostTally::new(instrument).map_err(|e| e.to_string())?);
    match export::decode_into(bytes, &mut *tally) {
        Ok(header) => Ok((header, tally)),
        Err(export::ExportError::Instrument) => Err(format!(
            "export is for instrument `{}`, not `{}`",
            instrument_named(bytes).unwrap_or_else(|| "?".to_owned()),
            instrument.id
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads a file of device exports: the whole file as one document, or else one per line;
/// returns the exports and the file's totals (every non-blank line read, decoded or skipped).
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    instrument: &'static Instrument<'static>,
    problems: &mut Vec<Problem>,
) -> (Vec<DeviceExport>, InputTotals) {
    let mut totals = InputTotals::new(path, InputKind::DeviceExports);
    totals.lines = count_lines(bytes);
    let trimmed = bytes.trim_ascii();
    if let Ok((header, tally)) = decode(trimmed, instrument) {
        totals.read = 1;
        totals.used = 1;
        totals.blank_lines = totals.lines.saturating_sub(1);
        let hash = Sha256::digest(trimmed).into();
        return (vec![DeviceExport { path: path.to_owned(), line: 1, header, tally, hash }], totals);
    }
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        totals.read += 1;
        match decode(line, instrument) {
            Ok((header, tally)) => {
                totals.used += 1;
                let hash = Sha256::digest(line).into();
                out.push(DeviceExport { path: path.to_owned(), line: line_no, header, tally, hash });
            }
            Err(message) => {
                totals.skipped += 1;
                problems.push(Problem::error(
                    path,
                    Some(line_no),
                    format!("device export skipped: {message}"),
                ));
            }
        }
    }
    totals.blank_lines = totals.lines.saturating_sub(totals.read);
    (out, totals)
}
