//! The CMSDK APB watchdog (0x4000_8000, ARM DDI0479), wired to the NMI on mps2-an386. Its
//! 32-bit counter runs down from LOAD at 25 MHz: the first time it reaches 0 it raises its
//! interrupt (the NMI) and reloads; if the interrupt is still not cleared the second time, it
//! asserts its reset, which resets the machine. Feeding (writing INTCLR) clears the interrupt
//! and reloads the counter. Writes need the lock open (0x1ACC_E551 in LOCK); the driver
//! closes it again after each.
//!
//! The kiosk starts it at boot with a [`TIMEOUT_MS`] timeout and feeds it once per turn of its
//! main loop. A kiosk that stops turning gets the NMI after [`TIMEOUT_MS`]; the handler logs
//! "watchdog: kiosk hung, resetting" and waits for the second expiry, another [`TIMEOUT_MS`]
//! later, to reset it. The rebooted kiosk recovers its tally from flash (docs/design.md,
//! "Which peripherals of mps2-an386 does the kiosk use, and why?").

use core::sync::atomic::{AtomicBool, Ordering};

use super::Reg;

/// The watchdog's registers.
pub const WATCHDOG: usize = 0x4000_8000;
/// The watchdog's clock (WDOGCLK): mps2-an386's 25 MHz.
pub const HZ: u32 = 25_000_000;
/// From the last feed to the NMI, and again from the NMI to the reset.
pub const TIMEOUT_MS: u32 = 2_000;

const LOAD: usize = 0x000;
const CONTROL: usize = 0x008;
const INTCLR: usize = 0x00C;
const LOCK: usize = 0xC00;
const UNLOCK: u32 = 0x1ACC_E551;
const CONTROL_INTEN: u32 = 1 << 0;
const CONTROL_RESEN: u32 = 1 << 1;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The running watchdog: feed it, or the machine resets.
pub struct Watchdog(());

impl Watchdog {
    /// Starts the watchdog with `timeout_ms` to the NMI (and as much again to the reset);
    /// `None` if already started.
    pub fn start(timeout_ms: u32) -> Option<Self> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        unlocked(|| {
            Reg::at(WATCHDOG, LOAD).write(timeout_ms.saturating_mul(HZ / 1_000));
            Reg::at(WATCHDOG, CONTROL).write(CONTROL_INTEN | CONTROL_RESEN);
        });
        Some(Self(()))
    }

    /// Clears the interrupt and reloads the counter: another full timeout from now.
    pub fn feed(&mut self) {
        feed();
    }
}

/// Feeds the watchdog (for long writes the main loop does not see, such as an export).
pub(super) fn feed() {
    unlocked(|| Reg::at(WATCHDOG, INTCLR).write(1));
}

/// Runs `write` with the watchdog's registers unlocked, and locks them again.
fn unlocked(write: impl FnOnce()) {
    Reg::at(WATCHDOG, LOCK).write(UNLOCK);
    write();
    // Any other value locks.
    Reg::at(WATCHDOG, LOCK).write(0);
}

/// The watchdog's first expiry. Nothing else raises the NMI on this board. The kiosk is hung:
/// log it and wait, without feeding, for the second expiry to reset the machine.
#[cortex_m_rt::exception]
unsafe fn NonMaskableInt() {
    defmt::error!("watchdog: kiosk hung, resetting");
    loop {
        cortex_m::asm::wfi();
    }
}
