//! The CMSDK APB UART (Cortex-M System Design Kit, ARM DDI0479): a one-byte transmit and a
//! one-byte receive buffer, 8N1, a baud divider from the 25 MHz peripheral clock. mps2-an386
//! has five; the kiosk uses UART0 (0x4000_4000) for the button board and UART1 (0x4000_5000)
//! for the staff console (docs/design.md, "Which peripherals of mps2-an386 does the kiosk use,
//! and why?"). As embedded-io `Read` + `ReadReady` and `Write` + `WriteReady`: writes wait
//! while the transmit buffer is full, a read waits for its first byte only, and `read_ready`
//! says whether a byte is in, so a caller need never wait.

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

use super::Reg;

/// UART0's registers: the button board.
pub const UART0: usize = 0x4000_4000;
/// UART1's registers: the staff console.
pub const UART1: usize = 0x4000_5000;
/// The line speed the kiosk sets (QEMU's chardevs ignore it; a real line needs it).
pub const BAUD: u32 = 115_200;
/// The UARTs' peripheral clock on mps2-an386.
const PCLK_HZ: u32 = 25_000_000;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_RX_OVERRUN: u32 = 1 << 3;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

static TAKEN: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// Why a UART could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// A byte arrived while the last was still unread: at least one byte was lost.
    Overrun,
}

impl embedded_io::Error for UartError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// One CMSDK APB UART, transmitter and receiver enabled.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART0 (the button board) at [`BAUD`]; `None` if already taken.
    pub fn uart0() -> Option<Self> {
        Self::take(0, UART0)
    }

    /// UART1 (the staff console) at [`BAUD`]; `None` if already taken.
    pub fn uart1() -> Option<Self> {
        Self::take(1, UART1)
    }

    fn take(index: usize, base: usize) -> Option<Self> {
        if TAKEN.get(index)?.swap(true, Ordering::AcqRel) {
            return None;
        }
        let uart = Self { base };
        uart.reg(BAUDDIV).write(PCLK_HZ / BAUD);
        uart.reg(CTRL).write(CTRL_TX_EN | CTRL_RX_EN);
        Some(uart)
    }

    fn reg(&self, offset: usize) -> Reg {
        Reg::at(self.base, offset)
    }

    fn state(&self) -> u32 {
        self.reg(STATE).read()
    }

    fn tx_full(&self) -> bool {
        self.state() & STATE_TX_FULL != 0
    }

    /// Takes a received byte, if one is in.
    fn take_byte(&mut self) -> Option<u8> {
        if self.state() & STATE_RX_FULL == 0 {
            return None;
        }
        // DATA holds the byte in its low 8 bits.
        Some(self.reg(DATA).read() as u8)
    }
}

impl ErrorType for Uart {
    type Error = UartError;
}

impl ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, UartError> {
        let state = self.state();
        if state & STATE_RX_OVERRUN != 0 {
            // Write one to clear; the byte in the buffer is still read next.
            self.reg(STATE).write(STATE_RX_OVERRUN);
            return Err(UartError::Overrun);
        }
        Ok(state & STATE_RX_FULL != 0)
    }
}

impl Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.read_ready()? {
            core::hint::spin_loop();
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            let Some(byte) = self.take_byte() else { break };
            *slot = byte;
            n += 1;
        }
        Ok(n)
    }
}

impl WriteReady for Uart {
    fn write_ready(&mut self) -> Result<bool, UartError> {
        Ok(!self.tx_full())
    }
}

impl Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let mut n = 0;
        for &byte in buf {
            if n > 0 && self.tx_full() {
                break;
            }
            while self.tx_full() {
                core::hint::spin_loop();
            }
            self.reg(DATA).write(u32::from(byte));
            n += 1;
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), UartError> {
        while self.tx_full() {
            core::hint::spin_loop();
        }
        Ok(())
    }
}
