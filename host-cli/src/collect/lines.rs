//! A source's bytes cut into lines, in bounded memory: a line ends at LF (a CR before it is
//! dropped too), and a line longer than the bound is passed over without being kept, however
//! long it is (docs/formats.md §2, "Collecting exports from a kiosk").

use std::io::{self, BufRead};

/// One line, without its line end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line no longer than the bound.
    Text(&'a [u8]),
    /// A line longer than the bound: how many bytes it had, its line end included. Only the
    /// bound's worth of it was ever held.
    TooLong(u64),
}

/// The lines of `input`, numbered from 1. A read error ends them (after the part of a line
/// read before it); [`Lines::take_error`] then gives it.
pub struct Lines<R> {
    input: R,
    limit: usize,
    buf: Vec<u8>,
    number: u64,
    done: bool,
    error: Option<io::Error>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `input` of at most `limit` bytes each (line end not counted).
    pub fn new(input: R, limit: usize) -> Self {
        Self { input, limit, buf: Vec::new(), number: 0, done: false, error: None }
    }

    /// The next line and its number, or `None` at the end of the input or after a read error.
    /// A last line without a line end is a line.
    pub fn next_line(&mut self) -> Option<(u64, Line<'_>)> {
        if self.done {
            return None;
        }
        self.buf.clear();
        let mut length = 0u64;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok([]) => break,
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            };
            let (piece, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..=i], true),
                None => (chunk, false),
            };
            length += piece.len() as u64;
            // Room for a line of `limit` bytes and its CRLF; beyond that nothing is kept.
            if self.buf.len() + piece.len() <= self.limit.saturating_add(2) {
                self.buf.extend_from_slice(piece);
            }
            let used = piece.len();
            self.input.consume(used);
            if ends {
                return Some(self.finish(length));
            }
        }
        self.done = true;
        (length > 0).then(|| self.finish(length))
    }

    /// The error that ended the lines, if one did (once).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// The line of `length` bytes just read (of which `buf` holds up to the bound).
    fn finish(&mut self, length: u64) -> (u64, Line<'_>) {
        self.number += 1;
        let mut text = self.buf.as_slice();
        if usize::try_from(length).is_ok_and(|n| n == text.len()) {
            text = text.strip_suffix(b"\n").unwrap_or(text);
            text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.len() <= self.limit {
                return (self.number, Line::Text(text));
            }
        }
        (self.number, Line::TooLong(length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], limit: usize) -> Vec<(u64, String)> {
        let mut lines = Lines::new(input, limit);
        let mut out = Vec::new();
        while let Some((n, line)) = lines.next_line() {
            let shown = match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong(len) => format!("<{len} bytes>"),
            };
            out.push((n, shown));
        }
        assert!(lines.take_error().is_none());
        out
    }

    fn numbered(lines: &[&str]) -> Vec<(u64, String)> {
        lines.iter().zip(1..).map(|(l, n)| (n, (*l).to_owned())).collect()
    }

    #[test]
    fn lf_and_crlf_end_lines_and_a_last_line_needs_no_line_end() {
        let got = all(b"one\r\ntwo\n\nthree\r\n\rfour", 100);
        assert_eq!(got, numbered(&["one", "two", "", "three", "\rfour"]));
        assert_eq!(all(b"", 100), []);
        assert_eq!(all(b"\n", 100), numbered(&[""]));
    }

    #[test]
    fn lines_longer_than_the_bound_are_counted_not_kept() {
        let got = all(b"12345\r\n123456\n1234567\r\nok\n12345678", 6);
        assert_eq!(got, numbered(&["12345", "123456", "<9 bytes>", "ok", "<8 bytes>"]));
    }

    /// `left` bytes of `x` and a line end, handed out a chunk at a time.
    struct Endless {
        left: u64,
        chunk: Vec<u8>,
        newline: bool,
    }

    impl io::Read for Endless {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead")
        }
    }

    impl BufRead for Endless {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            let n = self.chunk.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
            Ok(if n > 0 {
                &self.chunk[..n]
            } else if self.newline {
                b"\n"
            } else {
                b""
            })
        }

        fn consume(&mut self, n: usize) {
            if self.left > 0 {
                self.left -= n as u64;
            } else {
                self.newline = false;
            }
        }
    }

    #[test]
    fn a_line_of_a_gigabyte_holds_no_more_than_the_bound() {
        let mut lines =
            Lines::new(Endless { left: 1 << 30, chunk: vec![b'x'; 1 << 16], newline: true }, 1000);
        assert_eq!(lines.next_line(), Some((1, Line::TooLong((1 << 30) + 1))));
        assert!(lines.buf.capacity() < 4096, "{}", lines.buf.capacity());
        assert_eq!(lines.next_line(), None);
    }

    struct Failing<'a>(&'a [u8]);

    impl io::Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("unplugged"));
            }
            let n = io::Read::read(&mut self.0, out)?;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_ends_the_lines_after_the_part_line_before_it() {
        let mut lines = Lines::new(io::BufReader::new(Failing(b"one\ntw")), 100);
        assert_eq!(lines.next_line(), Some((1, Line::Text(b"one"))));
        assert_eq!(lines.next_line(), Some((2, Line::Text(b"tw"))));
        assert_eq!(lines.next_line(), None);
        assert_eq!(lines.take_error().map(|e| e.to_string()), Some("unplugged".to_owned()));
        assert_eq!(lines.next_line(), None);
    }
}
