//! Device exports: the kernel's JSON tallies, one per line (docs/formats.md §2).

use std::path::{Path, PathBuf};

use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument};

use super::Problem;

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
    /// The raw bytes, to tell a repeated export from a conflicting one.
    pub bytes: Vec<u8>,
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

/// Reads a file of device exports: the whole file as one document, or else one per line.
pub fn read(
    path: &Path,
    instrument: &'static Instrument<'static>,
    problems: &mut Vec<Problem>,
) -> Vec<DeviceExport> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            return Vec::new();
        }
    };
    let trimmed = bytes.trim_ascii();
    if let Ok((header, tally)) = decode(trimmed, instrument) {
        return vec![DeviceExport { path: path.to_owned(), line: 1, header, tally, bytes: trimmed.to_vec() }];
    }
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match decode(line, instrument) {
            Ok((header, tally)) => {
                out.push(DeviceExport {
                    path: path.to_owned(),
                    line: line_no,
                    header,
                    tally,
                    bytes: line.to_vec(),
                });
            }
            Err(message) => problems.push(Problem::error(
                path,
                Some(line_no),
                format!("device export skipped: {message}"),
            )),
        }
    }
    out
}
