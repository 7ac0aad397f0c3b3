//! A serial port for host tests: bytes "arrive" when the test says so, what the firmware
//! writes is kept, and the next call can be made to fail (an overrun).

use std::collections::VecDeque;
use std::vec::Vec;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

/// The mock's one error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockError;

impl embedded_io::Error for MockError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// A serial port with a receive queue the test fills and a transmit log it reads.
#[derive(Debug, Default)]
pub struct MockSerial {
    rx: VecDeque<u8>,
    /// Bytes written by the firmware.
    pub tx: Vec<u8>,
    closed: bool,
    fail: bool,
    /// Calls of `read` (a busy port is polled, not read, while nothing arrived).
    pub reads: usize,
}

impl MockSerial {
    /// A port with nothing received.
    pub fn new() -> Self {
        Self::default()
    }

    /// `bytes` arrive on the line.
    pub fn arrive(&mut self, bytes: &[u8]) {
        self.rx.extend(bytes);
    }

    /// Nothing more will arrive: reads return 0 once the queue is empty.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// The next `read_ready` or `read` fails.
    pub fn fail_next(&mut self) {
        self.fail = true;
    }

    /// Bytes received and not yet read.
    pub fn pending(&self) -> usize {
        self.rx.len()
    }

    fn check(&mut self) -> Result<(), MockError> {
        if core::mem::take(&mut self.fail) { Err(MockError) } else { Ok(()) }
    }
}

impl ErrorType for MockSerial {
    type Error = MockError;
}

impl ReadReady for MockSerial {
    fn read_ready(&mut self) -> Result<bool, MockError> {
        self.check()?;
        Ok(!self.rx.is_empty() || self.closed)
    }
}

impl Read for MockSerial {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, MockError> {
        self.check()?;
        self.reads += 1;
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.rx.pop_front() {
                Some(b) => *slot = b,
                None => break,
            }
            n += 1;
        }
        assert!(n > 0 || self.closed || buf.is_empty(), "a read with nothing received would block");
        Ok(n)
    }
}

impl WriteReady for MockSerial {
    fn write_ready(&mut self) -> Result<bool, MockError> {
        Ok(true)
    }
}

impl Write for MockSerial {
    fn write(&mut self, buf: &[u8]) -> Result<usize, MockError> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), MockError> {
        Ok(())
    }
}
