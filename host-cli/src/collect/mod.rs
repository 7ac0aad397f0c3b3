//! `surveybench collect`: device exports read from a kiosk's serial line (or a file, a FIFO,
//! standard input, a TCP server), verified, and filed one per file (docs/formats.md §2,
//! "Collecting exports from a kiosk").
//!
//! The line carries a staff console, so only whole lines starting with `{` are taken as exports;
//! every other line is counted and passed over. Each export is decoded by the kernel against the
//! instrument it names, exactly as `benchmark` would read it, and written as
//! `<device>-<sequence>.json` without ever replacing a file already there.

pub mod lines;
pub mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use surveybench_kernel::export::Header;

use crate::app::Outcome;
use crate::ingest::{Problem, export};
use crate::keyring::Keyring;
use crate::output::{self, NewFile};
use crate::terminal::inert;
use lines::{Line, Lines};
use source::{Idle, Source};

/// The longest line read as an export: more than any bundled instrument's export can take
/// (46,402 bytes for `cmh-2024`, `export::max_encoded_len`); a longer line is a bad record.
pub const MAX_LINE: usize = 1 << 20;

/// What `surveybench collect` is given.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to read.
    pub from: Source,
    /// The folder to file exports in (created if missing).
    pub out: PathBuf,
    /// Stop after this long without a byte.
    pub idle_timeout: Option<Duration>,
    /// Stop once this many exports are filed (written, or found already collected).
    pub max_exports: Option<u64>,
    /// When not empty, an export is filed only if it verifies against these keys (as
    /// `benchmark --keyring` checks it).
    pub keyring: Keyring,
}

/// What became of the lines read: `read = written + already + bad + other`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines read.
    pub read: u64,
    /// Exports written to a new file.
    pub written: u64,
    /// Exports whose file was already there with the same bytes.
    pub already: u64,
    /// Lines that could not be filed: too long, not a valid export, conflicting with the file
    /// already there, or not writable.
    pub bad: u64,
    /// Other lines: console text, prompts, blank lines.
    pub other: u64,
}

impl Counts {
    /// Exports filed: written, or found already collected.
    #[must_use]
    pub fn filed(&self) -> u64 {
        self.written + self.already
    }
}

/// Why collecting stopped.
#[derive(Debug)]
enum Ending {
    /// The end of the file, or the peer closed the connection.
    End,
    /// No byte came for the idle time.
    Idle(Duration),
    /// `--max-exports` exports were filed.
    Enough(u64),
    /// A read failed.
    Failed(std::io::Error),
}

/// The file name of an export: `<device>-<sequence>.json`, the device id spelled by
/// [`output::file_name_part`] and the sequence zero-padded to 10 digits, so that names sort by
/// device and then sequence, and no two devices or sequences share a name.
#[must_use]
pub fn file_name(header: &Header) -> String {
    format!("{}-{:010}.json", output::file_name_part(header.device.as_str()), header.sequence)
}

/// Runs `collect`: prints every error and note as it happens and one summary at the end.
///
/// # Errors
/// The folder cannot be created or the source cannot be opened: nothing was read.
pub fn run(options: &Options) -> Result<Outcome> {
    let out = &options.out;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let feed = options.from.open(options.idle_timeout)?;
    let mut collector = Collector {
        source: PathBuf::from(options.from.to_string()),
        out,
        keyring: &options.keyring,
        counts: Counts::default(),
    };
    let mut lines = Lines::new(feed, MAX_LINE);
    let mut ending = Ending::End;
    while let Some((number, line)) = lines.next_line() {
        collector.line(number, line);
        if let Some(n) = options.max_exports.filter(|&n| collector.counts.filed() >= n) {
            ending = Ending::Enough(n);
            break;
        }
    }
    if let Some(e) = lines.take_error() {
        ending = Idle::of(&e).map_or(Ending::Failed(e), Ending::Idle);
    }
    Ok(collector.finish(&ending))
}

/// Filing one source's lines into one folder.
struct Collector<'a> {
    source: PathBuf,
    out: &'a Path,
    keyring: &'a Keyring,
    counts: Counts,
}

impl Collector<'_> {
    /// One line: an export to file, a bad line, or another line.
    fn line(&mut self, number: u64, line: Line<'_>) {
        self.counts.read += 1;
        match line {
            Line::TooLong(length) => self.bad(
                number,
                format!(
                    "line of {length} bytes, longer than any export can be ({MAX_LINE} bytes); skipped unread"
                ),
            ),
            Line::Text(text) if text.first() == Some(&b'{') => self.export(number, text),
            Line::Text(_) => self.counts.other += 1,
        }
    }

    /// A line that should be an export: verified, then filed unless its file is there.
    fn export(&mut self, number: u64, text: &[u8]) {
        let header = match export::decode_named(text) {
            Ok((header, _)) => header,
            Err(reason) => return self.bad(number, format!("not a valid export: {reason}; line skipped")),
        };
        if !self.keyring.is_empty()
            && let Err(reason) = self.keyring.verify(text, &header)
        {
            return self.bad(number, format!("export not verified: {reason}; line skipped"));
        }
        let path = self.out.join(file_name(&header));
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text);
        bytes.push(b'\n');
        let filed = output::write_new(&path, &bytes);
        self.filed(number, &header, &path, filed);
    }

    /// Counts and reports what became of the export of line `number`, to be filed at `path`.
    fn filed(&mut self, number: u64, header: &Header, path: &Path, filed: Result<NewFile>) {
        let (device, sequence, faults) = (header.device.as_str(), header.sequence, header.storage_faults);
        let place = path.display();
        match filed {
            Ok(NewFile::Written) => self.counts.written += 1,
            Ok(NewFile::Identical) => {
                self.counts.already += 1;
                let message = format!("device {device} sequence {sequence}: already collected in {place}");
                print(&Problem::note(&self.source, Some(number), message));
            }
            Ok(NewFile::Different) => {
                let message = format!(
                    "device {device} sequence {sequence} differs from the export already in {place}, which is left as it was; line skipped"
                );
                return self.bad(number, message);
            }
            Err(e) => {
                return self
                    .bad(number, format!("export of device {device} sequence {sequence} not filed: {e:#}"));
            }
        }
        if faults > 0 {
            let message = format!(
                "device {device} sequence {sequence}: the kiosk reports {faults} storage fault(s), so responses it acknowledged may be missing; filed in {place}"
            );
            print(&Problem::note(&self.source, Some(number), message));
        }
    }

    /// A line that could not be filed.
    fn bad(&mut self, number: u64, message: String) {
        self.counts.bad += 1;
        print(&Problem::error(&self.source, Some(number), message));
    }

    /// Prints the summary and says how the run went.
    fn finish(self, ending: &Ending) -> Outcome {
        let why = match ending {
            Ending::End => "end of input".to_owned(),
            Ending::Idle(idle) => format!("no byte for {} s, --idle-timeout", idle.as_secs_f64()),
            Ending::Enough(n) => format!("{n} exports filed, --max-exports"),
            Ending::Failed(e) => {
                print(&Problem::error(&self.source, None, format!("cannot read: {e}; collecting stopped")));
                "stopped by a read error".to_owned()
            }
        };
        let c = self.counts;
        let summary = format!(
            "surveybench: collect: {}: {} lines read = {} exports written + {} already collected + {} bad + {} other lines, into {} ({why})",
            self.source.display(),
            c.read,
            c.written,
            c.already,
            c.bad,
            c.other,
            self.out.display()
        );
        eprintln!("{}", inert(&summary));
        if c.bad > 0 || matches!(ending, Ending::Failed(_)) { Outcome::Skipped } else { Outcome::Clean }
    }
}

/// Prints one error or note, one line, input text made inert.
fn print(problem: &Problem) {
    eprintln!("{}", inert(&problem.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_bound_holds_the_largest_export_of_every_bundled_instrument() {
        for instrument in surveybench_kernel::bundled::ALL {
            let largest = surveybench_kernel::export::max_encoded_len(instrument);
            assert!(largest < MAX_LINE, "{}: {largest}", instrument.id);
        }
    }

    #[test]
    fn file_names_spell_the_device_safely_and_pad_the_sequence() {
        let header = |device: &str, sequence| Header::new(device, "RT5", "2024", sequence).unwrap();
        assert_eq!(file_name(&header("RT5-K1", 7)), "RT5-K1-0000000007.json");
        assert_eq!(file_name(&header("a/b:c", u32::MAX)), "_61_2f_62_3a_63-4294967295.json");
        assert_eq!(file_name(&header("..", 0)), "_2e_2e-0000000000.json");
    }
}
