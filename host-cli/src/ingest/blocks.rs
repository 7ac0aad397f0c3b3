//! A CSV file read in blocks cut at record ends (docs/formats.md §3): a large file streams
//! through bounded memory, and its blocks can be parsed on several threads with exact line
//! numbers, since each block starts on a known line at the start of a record.
//!
//! A block without quotes is cut after its last line end; one with quotes is cut where the
//! record splitter says its last complete record ends. A record longer than [`MAX_RECORD`]
//! (a stray quote, in practice) ends the reading: the rest of the file is counted, not read.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::records::{Record, Records, header};

/// Bytes read at a time, and the size a block is cut from.
pub const BLOCK: usize = 4 << 20;

/// The longest record read; a longer one is taken for a stray quote.
pub const MAX_RECORD: usize = 32 << 20;

/// What comes out of a file.
pub enum Piece {
    /// Whole records, starting on line `first_line`.
    Block {
        /// The line the block starts on.
        first_line: u64,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// From `first_line`, a record longer than [`MAX_RECORD`]: `lines` lines to the end of the
    /// file, not read.
    Oversized {
        /// The line the record starts on.
        first_line: u64,
        /// Lines from there to the end of the file.
        lines: u64,
    },
}

/// Counts lines across pieces of input: LF, CRLF and lone CR ends, and a last line without one.
#[derive(Default)]
pub struct LineCounter {
    lines: u64,
    prev_cr: bool,
    open: bool,
}

impl LineCounter {
    /// Counts the line ends in the next piece of input: LF and CR each end a line, and CRLF is
    /// one end (also across pieces), counted a whole slice at a time.
    pub fn feed(&mut self, bytes: &[u8]) {
        let count = |byte: u8| memchr::memchr_iter(byte, bytes).count() as u64;
        let (lf, cr) = (count(b'\n'), count(b'\r'));
        let crlf = if cr == 0 { 0 } else { memchr::memmem::find_iter(bytes, b"\r\n").count() as u64 };
        let joined = u64::from(self.prev_cr && bytes.first() == Some(&b'\n'));
        self.lines += lf + cr - crlf - joined;
        if let Some(&last) = bytes.last() {
            self.prev_cr = last == b'\r';
            self.open = last != b'\n' && last != b'\r';
        }
    }

    /// Lines in all the input fed.
    #[must_use]
    pub fn finish(&self) -> u64 {
        self.lines + u64::from(self.open)
    }
}

/// Blocks of one file.
pub struct Blocks<R> {
    input: R,
    /// Bytes read and not yet handed out; they start at the start of a record.
    buf: Vec<u8>,
    /// The line `buf` starts on.
    line: u64,
    eof: bool,
    /// SHA-256 of the bytes read, unless the caller needs none.
    hasher: Option<Sha256>,
    /// [`BLOCK`] and [`MAX_RECORD`], smaller in tests.
    block: usize,
    max_record: usize,
    /// Buffers of pieces given back ([`Blocks::recycle`]), to read the next pieces into.
    spare: Vec<Vec<u8>>,
}

impl<R: Read> Blocks<R> {
    /// Blocks of `input`, whose first line is line 1.
    pub fn new(input: R) -> Self {
        Self::sized(input, BLOCK, MAX_RECORD)
    }

    /// Blocks of about `block` bytes, taking records longer than `max_record` for stray quotes.
    pub fn sized(input: R, block: usize, max_record: usize) -> Self {
        let hasher = Some(Sha256::new());
        Self { input, buf: Vec::new(), line: 1, eof: false, hasher, block, max_record, spare: Vec::new() }
    }

    /// The same blocks without the SHA-256 of the file: [`Blocks::hash`] is then `None`.
    #[must_use]
    pub fn without_hash(mut self) -> Self {
        self.hasher = None;
        self
    }

    /// Reads until `buf` holds at least `want` bytes or the input ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.buf.len() >= want || self.eof {
            return Ok(());
        }
        let start = self.buf.len();
        let more = (want - start).max(1 << 12);
        self.buf.reserve_exact(more);
        // Into the buffer's spare room, which a file is read into without zeroing it first.
        let n = (&mut self.input).take(more as u64).read_to_end(&mut self.buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&self.buf[start..]);
        }
        self.eof = n < more;
        Ok(())
    }

    /// Gives back the bytes of a piece handed out, for later pieces to be read into: a long
    /// file then goes through a few buffers instead of new memory for every block.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < 4 {
            self.spare.push(bytes);
        }
    }

    /// The header: its column names, and the line the body starts on. A leading byte order
    /// mark is passed over.
    ///
    /// # Errors
    /// The file cannot be read; inside, why the header is unusable.
    pub fn header(&mut self) -> io::Result<Result<(Vec<String>, u64), String>> {
        self.fill(self.block)?;
        while first_record_end(&self.buf).is_none() && !self.eof {
            if self.buf.len() >= self.max_record {
                return Ok(Err(format!("no header row within the first {} bytes", self.max_record)));
            }
            self.fill(self.buf.len() + self.block)?;
        }
        let (names, rest, body_line) = match header(&self.buf) {
            Ok((names, rest, line)) => (names, rest.len(), line),
            Err(e) => return Ok(Err(e)),
        };
        let consumed = self.buf.len() - rest;
        self.buf.drain(..consumed);
        self.line = body_line;
        Ok(Ok((names, body_line)))
    }

    /// The line the next piece starts on: every line of the pieces handed out so far is
    /// counted, once, where the file was cut.
    #[must_use]
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next piece of the file, `None` at its end.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        self.fill(self.block)?;
        loop {
            if self.buf.is_empty() {
                return Ok(None);
            }
            let end = if self.eof { Some(self.buf.len()) } else { last_record_end(&self.buf) };
            if let Some(end) = end {
                let mut rest = self.spare.pop().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(self.buf.get(end..).unwrap_or_default());
                self.buf.truncate(end);
                let bytes = std::mem::replace(&mut self.buf, rest);
                let first_line = self.line;
                let mut counter = LineCounter::default();
                counter.feed(&bytes);
                self.line += counter.finish();
                return Ok(Some(Piece::Block { first_line, bytes }));
            }
            if self.buf.len() >= self.max_record {
                return self.oversized().map(Some);
            }
            self.fill(self.buf.len() + self.block)?;
        }
    }

    /// Counts the lines from here to the end without keeping them.
    fn oversized(&mut self) -> io::Result<Piece> {
        let first_line = self.line;
        let mut counter = LineCounter::default();
        counter.feed(&self.buf);
        while !self.eof {
            self.buf.clear();
            self.fill(self.block)?;
            counter.feed(&self.buf);
        }
        self.buf = Vec::new();
        Ok(Piece::Oversized { first_line, lines: counter.finish() })
    }

    /// The rest of the file in memory, for small inputs such as sample frames: `None` when it
    /// is larger than [`MAX_RECORD`].
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn rest(&mut self) -> io::Result<Option<Vec<u8>>> {
        while !self.eof {
            if self.buf.len() > self.max_record {
                return Ok(None);
            }
            self.fill(self.buf.len() + self.block)?;
        }
        Ok(Some(std::mem::take(&mut self.buf)))
    }

    /// SHA-256 of every byte of the file, read to its end for it; `None` when made
    /// [`Blocks::without_hash`].
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn hash(mut self) -> io::Result<Option<[u8; 32]>> {
        if self.hasher.is_none() {
            return Ok(None);
        }
        while !self.eof {
            self.buf.clear();
            self.fill(self.block)?;
        }
        Ok(self.hasher.map(|h| h.finalize().into()))
    }
}

/// Where the first record of `buf` ends, if it is complete.
fn first_record_end(buf: &[u8]) -> Option<usize> {
    let mut records = Records::new(buf, 1);
    records.next_into(&mut Record::default())?.ok()?;
    (!records.rest().is_empty()).then(|| buf.len() - records.rest().len())
}

/// Where the last complete record of `buf` ends (more input may follow `buf`).
fn last_record_end(buf: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', buf).is_none() {
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Some(i + 1);
        }
        // Lone CR line ends; a CR as the very last byte may be half of a CRLF.
        let before_last = buf.get(..buf.len().saturating_sub(1)).unwrap_or_default();
        return before_last.iter().rposition(|&b| b == b'\r').map(|i| i + 1);
    }
    let mut records = Records::new(buf, 1);
    let mut record = Record::default();
    let mut end = None;
    while records.next_into(&mut record).is_some() {
        if records.rest().is_empty() {
            break;
        }
        end = Some(buf.len() - records.rest().len());
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut blocks = Blocks::sized(text, 1 << 16, 1 << 20);
        let mut out = Vec::new();
        while let Some(piece) = blocks.next_piece().unwrap() {
            match piece {
                Piece::Block { first_line, bytes } => out.push((first_line, bytes)),
                Piece::Oversized { .. } => panic!("no record is that long"),
            }
        }
        out
    }

    #[test]
    fn the_line_counter_counts_crlf_once_across_pieces() {
        let mut c = LineCounter::default();
        c.feed(b"a\r");
        c.feed(b"\nb\rc");
        assert_eq!(c.finish(), 3);
    }

    #[test]
    fn cuts_fall_after_whole_records_only() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(last_record_end(b"a\rb\r"), Some(2), "a final CR may be half of CRLF");
        assert_eq!(last_record_end(b"a,\"x\ny\",b\nc,\"open"), Some(10));
        assert_eq!(last_record_end(b"a,\"never closed\n"), None);
    }

    #[test]
    fn a_small_file_is_one_block_from_the_line_after_its_header() {
        let mut blocks = Blocks::new(&b"h1,h2\r\n1,2\r\n3,4"[..]);
        let (names, line) = blocks.header().unwrap().unwrap();
        assert_eq!((names, line), (vec!["h1".to_owned(), "h2".to_owned()], 2));
        match blocks.next_piece().unwrap() {
            Some(Piece::Block { first_line, bytes }) => {
                assert_eq!((first_line, &bytes[..]), (2, &b"1,2\r\n3,4"[..]))
            }
            _ => panic!("one block"),
        }
        assert!(blocks.next_piece().unwrap().is_none());
    }

    #[test]
    fn a_large_file_is_cut_into_blocks_that_number_lines_exactly() {
        let mut text = Vec::new();
        for i in 0..40_000 {
            text.extend_from_slice(format!("{i},\"q{i}\"\r\n").as_bytes());
        }
        let blocks = pieces(&text);
        assert!(blocks.len() > 1);
        let mut line = 1;
        for (first, bytes) in &blocks {
            assert_eq!(*first, line);
            assert!(
                bytes.starts_with(format!("{}, ", line - 1).as_bytes())
                    || bytes.starts_with(format!("{},", line - 1).as_bytes())
            );
            let mut c = LineCounter::default();
            c.feed(bytes);
            line += c.finish();
        }
        assert_eq!(line, 40_001);
    }

    /// Regression for memory: a quote that never closes made the reader hold the rest of the
    /// file as one record; past the limit, the rest is counted and not kept.
    #[test]
    fn a_record_longer_than_the_limit_ends_reading_and_counts_the_rest() {
        let mut text = b"a,b\n1,2\n3,\"open\n".to_vec();
        for i in 0..100_000 {
            text.extend_from_slice(format!("{i},{i}\r\n").as_bytes());
        }
        let mut blocks = Blocks::sized(&text[..], 1 << 12, 1 << 16);
        let mut got = Vec::new();
        while let Some(piece) = blocks.next_piece().unwrap() {
            got.push(match piece {
                Piece::Block { first_line, .. } => ("block", first_line, 0),
                Piece::Oversized { first_line, lines } => ("oversized", first_line, lines),
            });
        }
        assert_eq!(got, vec![("block", 1, 0), ("oversized", 3, 100_001)]);
    }
}
