//! The kiosk's two LEDs: bits 0 (green) and 1 (red) of the FPGAIO LED0 register
//! (0x4002_8000), which drive mps2-an386's user LEDs 0 and 1. Each is an embedded-hal
//! `OutputPin` that sets or clears its bit with a read-modify-write of the register, and logs
//! a change with defmt.

use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};

use super::Reg;

/// The FPGAIO block's registers.
pub const FPGAIO: usize = 0x4002_8000;
/// LED0: one bit per user LED, set is on.
const LED0: usize = 0x0;

/// One user LED of the FPGAIO block.
pub struct FpgaLed {
    name: &'static str,
    bit: u32,
}

impl FpgaLed {
    /// The green LED: user LED 0.
    #[must_use]
    pub const fn green() -> Self {
        Self { name: "green", bit: 1 << 0 }
    }

    /// The red LED: user LED 1.
    #[must_use]
    pub const fn red() -> Self {
        Self { name: "red", bit: 1 << 1 }
    }

    /// Whether the LED is on, as the register says.
    #[must_use]
    pub fn is_on(&self) -> bool {
        Reg::at(FPGAIO, LED0).read() & self.bit != 0
    }

    fn set(&mut self, on: bool) {
        let reg = Reg::at(FPGAIO, LED0);
        let was = reg.read();
        let now = if on { was | self.bit } else { was & !self.bit };
        // Written even when unchanged: QEMU 10 resets its LED models lit while LED0 reads 0,
        // so the first write is what puts them out.
        reg.write(now);
        if now != was {
            defmt::debug!("led {=str} {=bool}", self.name, on);
        }
    }
}

impl ErrorType for FpgaLed {
    type Error = Infallible;
}

impl OutputPin for FpgaLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }
}
