//! Device exports: the kernel's JSON tallies, one per line (docs/formats.md §2).

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument, bundled};

use sha2::{Digest, Sha256};

use super::Problem;
use super::accounting::{InputKind, InputTotals};
use super::records::count_lines;
use crate::keyring::Keyring;

/// Which device exports may count: signed ones whose signature the keyring verifies (and whose
/// device, site and period it allows), and unsigned ones only when allowed.
#[derive(Clone, Copy)]
pub struct Admission<'a> {
    /// The keys (`--keyring`).
    pub keyring: &'a Keyring,
    /// Whether unsigned exports count (`--allow-unsigned`).
    pub allow_unsigned: bool,
}

impl Admission<'_> {
    /// Whether the decoded export `bytes` with `header` may count: `Ok(true)` signed and
    /// verified, `Ok(false)` unsigned and allowed.
    ///
    /// # Errors
    /// Why it must not count.
    pub fn admit(&self, bytes: &[u8], header: &Header) -> Result<bool, String> {
        match (&header.key, self.keyring.is_empty()) {
            (Some(_), true) => {
                Err("signed export, but no keyring was given to check it against (--keyring FILE)".to_owned())
            }
            (Some(_), false) => self.keyring.verify(bytes, header).map(|()| true),
            (None, _) if self.allow_unsigned => Ok(false),
            (None, _) => Err(
                "unsigned export (format version 1): its origin cannot be checked; it counts only with --allow-unsigned"
                    .to_owned(),
            ),
        }
    }
}

/// One decoded device export.
pub struct DeviceExport {
    /// Where it came from.
    pub path: PathBuf,
    /// Line within the file (1-based).
    pub line: u64,
    /// Byte offset of the export in its file, and its length: where to read it again.
    pub span: (u64, usize),
    /// Its header: device, site, period, sequence.
    pub header: Header,
    /// SHA-256 of its bytes, to tell a repeated export from a conflicting one.
    pub hash: [u8; 32],
    /// Whether its signature was verified (`false`: unsigned, counted by `--allow-unsigned`).
    pub signed: bool,
    /// Its tally while [`KEEP`] allows; otherwise it is read again if it counts, so memory grows
    /// with the devices counted, not with the exports given.
    pub tally: Option<Box<HostTally<'static>>>,
}

/// How many decoded tallies (about 116 KB each on the host) one run keeps from the first read;
/// exports beyond are decoded again when counted.
pub const KEEP: usize = 512;

/// An export file read: its exports, its totals and the SHA-256 of its bytes.
pub struct ExportFile {
    /// Exports decoded, in file order.
    pub exports: Vec<DeviceExport>,
    /// Every non-blank line read, decoded or skipped.
    pub totals: InputTotals,
    /// The whole file's hash, to read a repeated file once.
    pub hash: Option<[u8; 32]>,
}

/// The `instrument` field of a document that failed to decode, for a clearer message: a plain
/// scan, so a huge line costs no parse.
fn instrument_named(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"instrument\":\"";
    let start = bytes.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = bytes.get(start..)?;
    let value = rest.get(..rest.iter().take(64).position(|&b| b == b'"')?)?;
    std::str::from_utf8(value).ok().map(str::to_owned)
}

fn decode(bytes: &[u8], tally: &mut HostTally<'static>) -> Result<Header, String> {
    match export::decode_into(bytes, tally) {
        Ok(header) => Ok(header),
        Err(export::ExportError::Instrument) => Err(format!(
            "export is for instrument `{}`, not `{}`",
            instrument_named(bytes).unwrap_or_else(|| "?".to_owned()),
            tally.instrument().id
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Decodes `bytes` as an export of the bundled instrument it names in its `instrument` field
/// (when it names none that can be found, against the first bundled one, for the decoder's
/// reason), with the checks and messages of an export read for a benchmark.
///
/// # Errors
/// Why it is not a valid export: no bundled instrument has the id it names, or the decoder's
/// error.
pub fn decode_named(bytes: &[u8]) -> Result<(Header, Box<HostTally<'static>>), String> {
    let instrument = match instrument_named(bytes) {
        Some(id) => bundled::by_id(&id)
            .ok_or_else(|| format!("export is for instrument `{id}`, which this build does not bundle"))?,
        None => bundled::ALL[0],
    };
    let mut tally = super::new_tally(instrument).map_err(|e| e.to_string())?;
    let header = decode(bytes, &mut tally)?;
    Ok((header, tally))
}

/// The longest document or line read as an export: no valid export of `instrument` is longer
/// than its maximum encoded length; a pretty-printed one may have some white space more.
/// Worked out once a run for each instrument (a run reads many export files).
fn longest(instrument: &'static Instrument<'static>) -> usize {
    static KNOWN: std::sync::Mutex<Vec<(&'static Instrument<'static>, usize)>> =
        std::sync::Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, n)) = known.iter().find(|(i, _)| std::ptr::eq(*i, instrument)) {
        return *n;
    }
    let n = export::max_encoded_len(instrument).saturating_mul(8).saturating_add(4096);
    known.push((instrument, n));
    n
}

/// Reads a file of device exports: the whole file as one document if it is small enough to be
/// one, or else one export per line, streamed, so memory stays bounded whatever the file's
/// size. A line longer than any export can be is skipped unread. The file's hash is computed
/// when `hash` asks for it.
pub fn read(
    path: &Path,
    instrument: &'static Instrument<'static>,
    admission: Admission<'_>,
    kept: &AtomicUsize,
    hash: bool,
    problems: &mut Vec<Problem>,
) -> ExportFile {
    let mut totals = InputTotals::new(path, InputKind::DeviceExports);
    let scratch = match super::new_tally(instrument) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("instrument too large: {e}")));
            return ExportFile { exports: Vec::new(), totals, hash: None };
        }
    };
    let limit = longest(instrument);
    let opened = std::fs::File::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
    let (size, file) = match opened {
        Ok(x) => x,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            return ExportFile { exports: Vec::new(), totals, hash: None };
        }
    };
    let scratch = Some(scratch);
    let mut reader =
        Lines { path, limit, admission, scratch, instrument, kept, totals: &mut totals, problems };
    let result = if usize::try_from(size).is_ok_and(|s| s <= limit) {
        let mut bytes = Vec::new();
        std::io::BufReader::new(file).read_to_end(&mut bytes).map_err(|e| e.to_string()).map(|_| {
            let hash = hash.then(|| Sha256::digest(&bytes).into());
            (reader.whole_or_lines(&bytes), hash)
        })
    } else {
        let input = std::io::BufReader::with_capacity(1 << 20, file);
        reader.stream(input, hash).map_err(|e| e.to_string())
    };
    match result {
        Ok((exports, hash)) => {
            if totals.unsigned > 0 {
                let message = format!(
                    "{} unsigned export(s) admitted by --allow-unsigned: their origin cannot be checked",
                    totals.unsigned
                );
                problems.push(Problem::note(path, None, message));
            }
            ExportFile { exports, totals, hash }
        }
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}; file skipped")));
            totals.unuse(totals.used);
            ExportFile { exports: Vec::new(), totals, hash: None }
        }
    }
}

/// Reads an export again from its file (its tally was not kept) and checks it is the same.
///
/// # Errors
/// The file cannot be read, or no longer holds the same export there.
pub fn reread(
    e: &DeviceExport,
    instrument: &'static Instrument<'static>,
) -> Result<Box<HostTally<'static>>, String> {
    let mut file = std::fs::File::open(&e.path).map_err(|err| format!("cannot read again: {err}"))?;
    file.seek(SeekFrom::Start(e.span.0)).map_err(|err| format!("cannot read again: {err}"))?;
    let mut bytes = vec![0; e.span.1];
    file.read_exact(&mut bytes).map_err(|err| format!("cannot read again: {err}"))?;
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    let mut tally = super::new_tally(instrument).map_err(|err| err.to_string())?;
    if hash != e.hash || decode(&bytes, &mut tally).is_err() {
        return Err("the file changed while it was being read; export skipped".to_owned());
    }
    Ok(tally)
}

/// The line (1-based) that the byte at `start` of `bytes` is on.
fn trimmed_line(bytes: &[u8], start: usize) -> u64 {
    1 + bytes.iter().take(start).filter(|&&b| b == b'\n').count() as u64
}

/// Reading one file's exports.
struct Lines<'a> {
    path: &'a Path,
    limit: usize,
    admission: Admission<'a>,
    /// The tally the next export is decoded into; a kept export takes it with it.
    scratch: Option<Box<HostTally<'static>>>,
    instrument: &'static Instrument<'static>,
    kept: &'a AtomicUsize,
    totals: &'a mut InputTotals,
    problems: &'a mut Vec<Problem>,
}

impl Lines<'_> {
    /// The tally to decode into, made anew after the last one was kept.
    fn scratch(&mut self) -> &mut HostTally<'static> {
        let instrument = self.instrument;
        // The instrument fits a host tally: checked when the file was opened.
        self.scratch.get_or_insert_with(|| {
            super::new_tally(instrument).unwrap_or_else(|_| unreachable!("checked on opening"))
        })
    }

    /// A small file: one document, or else one export per line.
    fn whole_or_lines(&mut self, bytes: &[u8]) -> Vec<DeviceExport> {
        self.totals.lines = count_lines(bytes);
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
        let trimmed = bytes.trim_ascii();
        if let Ok(header) = decode(trimmed, self.scratch()) {
            self.totals.read = 1;
            self.totals.blank_lines = self.totals.lines.saturating_sub(1);
            let line = trimmed_line(bytes, start);
            return self.admit(line, (start as u64, trimmed.len()), trimmed, header).into_iter().collect();
        }
        let mut out = Vec::new();
        let mut offset = 0u64;
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            self.line(i as u64 + 1, offset, line, &mut out);
            offset += line.len() as u64 + 1;
        }
        self.totals.blank_lines = self.totals.lines.saturating_sub(self.totals.read);
        out
    }

    /// A large file, streamed a line at a time; returns its exports and, when `hash` asks for
    /// it, its hash.
    fn stream(
        &mut self,
        mut input: impl BufRead,
        hash: bool,
    ) -> std::io::Result<(Vec<DeviceExport>, Option<[u8; 32]>)> {
        let (mut out, mut hasher, mut buf) = (Vec::new(), hash.then(Sha256::new), Vec::new());
        let (mut offset, mut line, mut length) = (0u64, 1u64, 0u64);
        loop {
            let chunk = input.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let (piece, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..=i], true),
                None => (chunk, false),
            };
            if let Some(hasher) = &mut hasher {
                hasher.update(piece);
            }
            length += piece.len() as u64;
            if buf.len() + piece.len() <= self.limit + 1 {
                buf.extend_from_slice(piece);
            }
            let used = piece.len();
            input.consume(used);
            if ends {
                self.finish_line(line, offset, &mut buf, length, &mut out);
                offset += length;
                (line, length) = (line + 1, 0);
            }
        }
        if length > 0 {
            self.finish_line(line, offset, &mut buf, length, &mut out);
            line += 1;
        }
        self.totals.lines = line - 1;
        self.totals.blank_lines = self.totals.lines.saturating_sub(self.totals.read);
        Ok((out, hasher.map(|h| h.finalize().into())))
    }

    /// One streamed line of `length` bytes (of which `buf` holds up to the limit).
    fn finish_line(
        &mut self,
        line: u64,
        offset: u64,
        buf: &mut Vec<u8>,
        length: u64,
        out: &mut Vec<DeviceExport>,
    ) {
        if length > self.limit as u64 + 1 {
            self.totals.read += 1;
            self.totals.skipped += 1;
            let message = format!(
                "line of {length} bytes, longer than any `{}` export can be ({} bytes); skipped unread",
                self.instrument.id, self.limit
            );
            self.problems.push(Problem::error(self.path, Some(line), message));
        } else {
            self.line(line, offset, buf, out);
        }
        buf.clear();
    }

    /// Decodes one line (blank lines are passed over).
    fn line(&mut self, line_no: u64, offset: u64, line: &[u8], out: &mut Vec<DeviceExport>) {
        let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        self.totals.read += 1;
        match decode(trimmed, self.scratch()) {
            Ok(header) => {
                let span = (offset + start as u64, trimmed.len());
                out.extend(self.admit(line_no, span, trimmed, header));
            }
            Err(message) => {
                self.totals.skipped += 1;
                let message = format!("device export skipped: {message}");
                self.problems.push(Problem::error(self.path, Some(line_no), message));
            }
        }
    }

    /// The export just decoded into the scratch tally, if it may count (signed and verified, or
    /// unsigned and allowed), keeping its tally while the run's budget lasts; else an error
    /// naming the line.
    fn admit(&mut self, line: u64, span: (u64, usize), bytes: &[u8], header: Header) -> Option<DeviceExport> {
        let signed = match self.admission.admit(bytes, &header) {
            Ok(signed) => signed,
            Err(why) => {
                self.totals.skipped += 1;
                let message = format!("device export skipped: {why}");
                self.problems.push(Problem::error(self.path, Some(line), message));
                return None;
            }
        };
        self.totals.used += 1;
        if !signed {
            self.totals.unsigned += 1;
        }
        let keep = self.kept.fetch_add(1, Ordering::Relaxed) < KEEP;
        let tally = if keep { self.scratch.take() } else { None };
        let hash = Sha256::digest(bytes).into();
        Some(DeviceExport { path: self.path.to_owned(), line, span, header, hash, signed, tally })
    }
}
