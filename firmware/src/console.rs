//! The staff console: a serial port (on mps2-an386, CMSDK UART1) that carries the export JSON
//! documents, one a line, and short console lines, and reads commands typed on it:
//!
//! - `export`: the same as the staff gesture (back and skip together): writes an export when
//!   the kiosk is idle;
//! - `status`: the counters (completed, rejected, abandoned), the last export's sequence, and
//!   the id of the key exports are signed with (or why the kiosk has none);
//! - `help`: the commands.
//!
//! Lines that start with `{` are export documents; no console line does. A test build may also
//! accept `hang` (see `src/bin/hang-on-command.rs`). Portable, so it is tested on the host.

use core::fmt;

use embedded_io::{Read, ReadReady, Write};
use surveybench_kernel::Counters;
use surveybench_kernel::provision::ProvisionError;

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

    /// Writes the line that says the console is ready: `surveybench kiosk DEVICE: console
    /// ready; commands: ...`, with `(not provisioned)` for a kiosk without an identity.
    ///
    /// # Errors
    /// The port failed.
    pub fn ready(&mut self, device: Option<&str>) -> Result<(), S::Error> {
        self.serial.write_all(b"surveybench kiosk ")?;
        self.serial.write_all(device.unwrap_or("(not provisioned)").as_bytes())?;
        self.serial.write_all(b": console ready; ")?;
        self.line(HELP)
    }

    /// Writes the status line: `status: completed C, rejected R, abandoned A, last export S,
    /// key K` for a kiosk whose exports key `K` signs, or with `not provisioned: REASON` in place
    /// of the key for a kiosk that has none (and so does not export).
    ///
    /// # Errors
    /// The port failed.
    pub fn status(
        &mut self,
        counters: Counters,
        sequence: u32,
        key: Result<&str, ProvisionError>,
    ) -> Result<(), S::Error> {
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
        match key {
            Ok(id) => {
                self.serial.write_all(b", key ")?;
                self.serial.write_all(id.as_bytes())?;
            }
            Err(e) => {
                self.serial.write_all(b", not provisioned: ")?;
                self.display(&e)?;
            }
        }
        self.serial.write_all(b"\n")
    }

    /// Writes the line that says an export was refused: `export refused: not provisioned:
    /// REASON`.
    ///
    /// # Errors
    /// The port failed.
    pub fn export_refused(&mut self, why: ProvisionError) -> Result<(), S::Error> {
        self.serial.write_all(b"export refused: not provisioned: ")?;
        self.display(&why)?;
        self.serial.write_all(b"\n")
    }

    /// Writes `value` as it displays.
    ///
    /// # Errors
    /// The port failed.
    pub fn display(&mut self, value: &dyn fmt::Display) -> Result<(), S::Error> {
        let mut out = FmtPort { serial: &mut self.serial, error: None };
        // An error here that is not the port's is a `Display` impl's own: nothing to report.
        let _ = fmt::write(&mut out, format_args!("{value}"));
        out.error.map_or(Ok(()), Err)
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

/// A port as a `fmt::Write`, keeping the port's error.
struct FmtPort<'a, S: Write> {
    serial: &'a mut S,
    error: Option<S::Error>,
}

impl<S: Write> fmt::Write for FmtPort<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.serial.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
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
    fn the_status_line_names_every_counter_and_the_key() {
        let mut console = Console::new(MockSerial::new());
        let counters = Counters { started: 9, completed: 5, abandoned: 3, rejected: 1 };
        console.status(counters, 4_000_000_000, Ok("0123456789abcdef")).unwrap();
        console.line("ok").unwrap();
        let text = String::from_utf8(console.release().tx).unwrap();
        assert_eq!(
            text,
            "status: completed 5, rejected 1, abandoned 3, last export 4000000000, key 0123456789abcdef\nok\n"
        );
    }

    #[test]
    fn the_status_line_of_a_kiosk_without_a_key_says_why() {
        let mut console = Console::new(MockSerial::new());
        console.status(Counters::default(), 0, Err(ProvisionError::Blank)).unwrap();
        console.status(Counters::default(), 2, Err(ProvisionError::KeyMismatch)).unwrap();
        let text = String::from_utf8(console.release().tx).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "status: completed 0, rejected 0, abandoned 0, last export 0, not provisioned: no provisioning image (the kiosk has no key)",
                "status: completed 0, rejected 0, abandoned 0, last export 2, not provisioned: provisioning image: public key is not the seed's",
            ]
        );
    }

    #[test]
    fn a_refused_export_says_why_and_is_no_export_line() {
        let mut console = Console::new(MockSerial::new());
        console.export_refused(ProvisionError::Checksum).unwrap();
        let text = String::from_utf8(console.release().tx).unwrap();
        assert_eq!(text, "export refused: not provisioned: provisioning image damaged (CRC mismatch)\n");
    }

    #[test]
    fn the_ready_line_names_the_device() {
        let mut console = Console::new(MockSerial::new());
        console.ready(Some("kiosk-07")).unwrap();
        console.ready(None).unwrap();
        let text = String::from_utf8(console.release().tx).unwrap();
        assert_eq!(
            text,
            "surveybench kiosk kiosk-07: console ready; commands: export, status, help\n\
             surveybench kiosk (not provisioned): console ready; commands: export, status, help\n"
        );
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
