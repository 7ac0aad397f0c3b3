//! Lines of text from a serial port, read as the bytes arrive and never waited for: the button
//! board's steps and the staff console's commands (docs/design.md, "Which peripherals of
//! mps2-an386 does the kiosk use, and why?").
//!
//! [`LineReader::poll`] takes the bytes the port has ready (`embedded_io::ReadReady`), one at
//! a time, into a fixed buffer, and returns a line once its `\n` has arrived. A port that
//! reads 0 bytes is at its end (EOF, as `embedded_io::Read` defines it); a last line without
//! `\n` is returned then.

use embedded_io::{Read, ReadReady};

/// What [`LineReader::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A whole line, without its `\n` (and without a `\r` before it).
    Text(&'a [u8]),
    /// A line longer than the buffer: its bytes were dropped up to its `\n`.
    TooLong,
    /// The port is at its end, and every line before it was returned.
    End,
}

/// A line buffer of `N` bytes over a serial port.
#[derive(Clone, Debug)]
pub struct LineReader<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// The last call returned the line in `buf`: start a new one.
    returned: bool,
    /// The line being read is longer than `N`.
    overlong: bool,
    /// The port read 0 bytes: nothing more will come.
    eof: bool,
}

impl<const N: usize> Default for LineReader<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LineReader<N> {
    /// An empty buffer.
    #[must_use]
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0, returned: false, overlong: false, eof: false }
    }

    /// Whether a line has been begun and not yet ended.
    #[must_use]
    pub fn partial(&self) -> bool {
        !self.returned && (self.len > 0 || self.overlong)
    }

    /// Drops the line being read (after the port lost bytes of it).
    pub fn discard(&mut self) {
        self.len = 0;
        self.overlong = false;
        self.returned = false;
    }

    /// Reads what `serial` has ready, up to the end of a line, without waiting for more.
    /// Returns `None` while no line is complete.
    ///
    /// # Errors
    /// The port's error; the bytes of the line read so far are kept.
    pub fn poll<S: Read + ReadReady>(&mut self, serial: &mut S) -> Result<Option<Line<'_>>, S::Error> {
        if core::mem::take(&mut self.returned) {
            self.len = 0;
        }
        while !self.eof && serial.read_ready()? {
            let mut byte = [0u8; 1];
            if serial.read(&mut byte)? == 0 {
                self.eof = true;
                break;
            }
            match byte {
                [b'\n'] => return Ok(Some(self.finish())),
                [b] => self.push(b),
            }
        }
        if self.eof {
            return Ok(Some(if self.len > 0 || self.overlong { self.finish() } else { Line::End }));
        }
        Ok(None)
    }

    fn push(&mut self, byte: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
            }
            None => self.overlong = true,
        }
    }

    /// Ends the line in the buffer: it is returned, and the next poll starts a new one.
    fn finish(&mut self) -> Line<'_> {
        self.returned = true;
        if core::mem::take(&mut self.overlong) {
            return Line::TooLong;
        }
        let text = self.buf.get(..self.len).unwrap_or(&[]);
        Line::Text(text.strip_suffix(b"\r").unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_serial::MockSerial;

    #[test]
    fn a_line_is_returned_once_its_newline_has_arrived() {
        let mut port = MockSerial::new();
        let mut lines = LineReader::<16>::new();
        port.arrive(b"10 1");
        assert_eq!(lines.poll(&mut port), Ok(None));
        assert!(lines.partial());
        port.arrive(b"\r\n20 -\n");
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"10 1"))));
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"20 -"))));
        assert_eq!(lines.poll(&mut port), Ok(None));
        assert!(!lines.partial());
    }

    #[test]
    fn an_overlong_line_is_dropped_whole() {
        let mut port = MockSerial::new();
        let mut lines = LineReader::<4>::new();
        port.arrive(b"123456789\nok\n");
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::TooLong)));
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"ok"))));
    }

    #[test]
    fn the_end_returns_the_last_line_then_end() {
        let mut port = MockSerial::new();
        let mut lines = LineReader::<8>::new();
        port.arrive(b"a\nlast");
        port.close();
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"a"))));
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"last"))));
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::End)));
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::End)));
    }

    #[test]
    fn an_error_keeps_the_bytes_read_and_discard_drops_them() {
        let mut port = MockSerial::new();
        let mut lines = LineReader::<8>::new();
        port.arrive(b"ab");
        assert_eq!(lines.poll(&mut port), Ok(None));
        port.fail_next();
        assert!(lines.poll(&mut port).is_err());
        port.arrive(b"c\n");
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"abc"))));
        port.arrive(b"xy");
        assert_eq!(lines.poll(&mut port), Ok(None));
        lines.discard();
        port.arrive(b"z\n");
        assert_eq!(lines.poll(&mut port), Ok(Some(Line::Text(b"z"))));
    }
}
