//! The staff console: a serial port (on mps2-an386, CMSDK UART1) that carries the export JSON
//! documents, one a line, and short console lines, and reads commands typed on it:
//!
//! - `export`: the same as the staff gesture (back and skip together): writes an export when
//!   the kiosk is idle;
//! - `status`: the counters (completed, rejected, abandoned) and the last export's sequence;
//! - `help`: the commands.
//!
//! Lines that start with `{` are export documents; no console line does. A test build may also
//! accept `hang` (see `src/bin/hang-on-command.rs`). Portable, so it is tested on the host.

use embedded_io::{Read, ReadReady, Write};
use surveybench_kernel::Counters;

use crate::line::{Line, LineReader};

/// Bytes of a command line.
pub const LINE: usize = 32;

/// The commands.
pub const HELP: &str = "commands: export, status, help";

/// A command typed on the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Write an export (as the staff gesture does).
    Export,
    /// Print the counters and the last export's sequence number.
    Status,
    /// Print the commands.
    Help,
    /// Stop feeding the watchdog (test builds only; others answer it as unknown).
    Hang,
    /// Anything else (or a line too long).
    Unknown,
}

/// The command of a `line` (surrounding blanks ignored); `None` for a blank line.
#[must_use]
pub fn parse(line: &[u8]) -> Option<Command> {
    let word = line.trim_ascii();
    Some(match word {
        b"" => return None,
        b"export" => Command::Export,
        b"status" => Command::Status,
        b"help" => Command::Help,
        b"hang" => Command::Hang,
        _ => Command::Unknown,
    })
}

/// The console on serial port `S`.
pub struct Console<S> {
    serial: S,
    lines: LineReader<LINE>,
}

impl<S: Read + ReadReady + Write> Console<S> {
    /// A console on `serial`.
    pub fn new(serial: S) -> Self {
        Self { serial, lines: LineReader::new() }
    }

    /// Reads what the port has ready, without waiting; returns a command once its line is in.
    ///
    /// # Errors
    /// The port failed; the partial line is dropped.
    pub fn poll(&mut self) -> Result<Option<Command>, S::Error> {
        loop {
            return match self.lines.poll(&mut self.serial) {
                Ok(None | Some(Line::End)) => Ok(None),
                Ok(Some(Line::TooLong)) => Ok(Some(Command::Unknown)),
                Ok(Some(Line::Text(text))) => match parse(text) {
                    None => continue,
                    command => Ok(command),
                },
                Err(e) => {
                    self.lines.discard();
                    Err(e)
                }
            };
        }
    }

    /// Writes `text` and a line end.
    ///
    /// # Errors
    /// The port failed.
    pub fn line(&mut self, text: &str) -> Result<(), S::Error> {
        self.serial.write_all(text.as_bytes())?;
        self.serial.write_all(b"\n")
    }

    /// Writes the status line: `status: completed C, rejected R, abandoned A, last export S`.
    ///
    /// # Errors
    /// The port failed.
    pub fn status(&mut self, counters: Counters, sequence: u32) -> Result<(), S::Error> {
        let fields = [
            ("status: completed ", counters.completed),
            (", rejected ", counters.rejected),
            (", abandoned ", counters.abandoned),
            (", last export ", sequence),
        ];
        for (label, value) in fields {
            self.serial.write_all(label.as_bytes())?;
            let mut digits = [0u8; 10];
            self.serial.write_all(decimal(value, &mut digits))?;
        }
        self.serial.write_all(b"\n")
    }

    /// The port, to write an export document to.
    pub fn serial_mut(&mut self) -> &mut S {
        &mut self.serial
    }

    /// Gives the port back.
    pub fn release(self) -> S {
        self.serial
    }
}

/// `n` in decimal, in the end of `out`.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut start = out.len();
    for slot in out.iter_mut().rev() {
        // A digit: always below 10.
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.get(start..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_serial::MockSerial;

    #[test]
    fn commands_parse() {
        assert_eq!(parse(b"export"), Some(Command::Export));
        assert_eq!(parse(b"  status \r"), Some(Command::Status));
        assert_eq!(parse(b"help"), Some(Command::Help));
        assert_eq!(parse(b"hang"), Some(Command::Hang));
        assert_eq!(parse(b"exp"), Some(Command::Unknown));
        assert_eq!(parse(b"   "), None);
    }

    #[test]
    fn a_command_is_read_as_it_is_typed() {
        let mut console = Console::new(MockSerial::new());
        console.serial_mut().arrive(b"\nsta");
        assert_eq!(console.poll(), Ok(None));
        console.serial_mut().arrive(b"tus\r\nexport\n");
        assert_eq!(console.poll(), Ok(Some(Command::Status)));
        assert_eq!(console.poll(), Ok(Some(Command::Export)));
        assert_eq!(console.poll(), Ok(None));
        console.serial_mut().arrive(&[b'x'; LINE + 3]);
        console.serial_mut().arrive(b"\n");
        assert_eq!(console.poll(), Ok(Some(Command::Unknown)));
    }

    #[test]
    fn the_status_line_names_every_counter() {
        let mut console = Console::new(MockSerial::new());
        let counters = Counters { started: 9, completed: 5, abandoned: 3, rejected: 1 };
        console.status(counters, 4_000_000_000).unwrap();
        console.line("ok").unwrap();
        let text = String::from_utf8(console.release().tx).unwrap();
        assert_eq!(text, "status: completed 5, rejected 1, abandoned 3, last export 4000000000\nok\n");
    }

    #[test]
    fn decimals() {
        let mut d = [0; 10];
        assert_eq!(decimal(0, &mut d), b"0");
        assert_eq!(decimal(7, &mut d), b"7");
        assert_eq!(decimal(1_234_567_890, &mut d), b"1234567890");
        assert_eq!(decimal(u32::MAX, &mut d), b"4294967295");
    }
}
