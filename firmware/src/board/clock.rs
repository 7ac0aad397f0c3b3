//! Time: a monotonic millisecond clock from CMSDK APB timer 0 (0x4000_0000), and SysTick to
//! wake the CPU from WFI every [`super::TICK_MS`] (docs/design.md, "Which peripherals of
//! mps2-an386 does the kiosk use, and why?").
//!
//! Timer 0 runs free at 25 MHz from `0xFFFF_FFFF` down, without interrupt; [`Clock`] sums its
//! ticks across wraps ([`crate::clock::Monotonic`]), so it must be read at least every 171 s
//! (the main loop reads it every few milliseconds). Under QEMU's `-icount shift=0` a tick is
//! 40 instructions. The defmt timestamps are this clock's milliseconds.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embedded_hal::delay::DelayNs;

use super::Reg;
use crate::clock::{Monotonic, millis, ticks_for_ns};

/// Timer 0's registers.
pub const TIMER0: usize = 0x4000_0000;
/// The timer's clock: mps2-an386's 25 MHz peripheral clock.
pub const HZ: u32 = 25_000_000;
/// Timer ticks a millisecond.
pub const TICKS_PER_MS: u32 = HZ / 1_000;

const CTRL: usize = 0x0;
const VALUE: usize = 0x4;
const RELOAD: usize = 0x8;
const CTRL_ENABLE: u32 = 1 << 0;

static TAKEN: AtomicBool = AtomicBool::new(false);
/// The clock's milliseconds at its last reading, and the counter then, for the log's
/// timestamps (which may be taken anywhere, the NMI handler included).
static READ_MS: AtomicU32 = AtomicU32::new(0);
static READ_RAW: AtomicU32 = AtomicU32::new(u32::MAX);
/// SysTick interrupts so far: one every [`super::TICK_MS`].
static WAKES: AtomicU32 = AtomicU32::new(0);

defmt::timestamp!("{=u32:ms}", peek_ms());

/// The kiosk's clock: milliseconds since [`Clock::start`].
pub struct Clock {
    ticks: Monotonic,
}

impl Clock {
    /// Starts timer 0 free-running from `0xFFFF_FFFF`, at 0 ms; `None` if already started.
    pub fn start() -> Option<Self> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        Reg::at(TIMER0, CTRL).write(0);
        // Writing RELOAD sets the count too; the timer reloads it after reaching 0.
        Reg::at(TIMER0, RELOAD).write(u32::MAX);
        Reg::at(TIMER0, VALUE).write(u32::MAX);
        Reg::at(TIMER0, CTRL).write(CTRL_ENABLE);
        let raw = raw();
        READ_RAW.store(raw, Ordering::Relaxed);
        READ_MS.store(0, Ordering::Relaxed);
        Some(Self { ticks: Monotonic::new(raw) })
    }

    /// Milliseconds since the start (wrapping after 49.7 days, as the kiosk's times do).
    pub fn now_ms(&mut self) -> u32 {
        let raw = raw();
        let ms = millis(self.ticks.advance(raw), TICKS_PER_MS);
        READ_RAW.store(raw, Ordering::Relaxed);
        READ_MS.store(ms, Ordering::Relaxed);
        ms
    }
}

impl DelayNs for Clock {
    /// Waits at least `ns` (up to 4.3 s; the watchdog is not fed meanwhile).
    fn delay_ns(&mut self, ns: u32) {
        let wait = ticks_for_ns(ns, HZ);
        let start = raw();
        while u64::from(start.wrapping_sub(raw())) < wait {
            core::hint::spin_loop();
        }
        self.now_ms();
    }
}

/// Timer 0's count now (it counts down, 25 per microsecond).
#[must_use]
pub fn raw() -> u32 {
    Reg::at(TIMER0, VALUE).read()
}

/// Timer ticks from `start` (an earlier [`raw`]) to now: exact for spans under 171 s.
#[must_use]
pub fn ticks_since(start: u32) -> u32 {
    start.wrapping_sub(raw())
}

/// The clock's milliseconds now, without updating it: the last reading plus the ticks since,
/// rounded down; 0 before the clock starts. (A log line in the NMI handler may come between
/// the two stores and be off by the milliseconds since the last reading.)
fn peek_ms() -> u32 {
    if !TAKEN.load(Ordering::Relaxed) {
        return 0;
    }
    let since = READ_RAW.load(Ordering::Relaxed).wrapping_sub(raw()) / TICKS_PER_MS;
    READ_MS.load(Ordering::Relaxed).wrapping_add(since)
}

/// Starts SysTick interrupting every `period_ms` on the 25 MHz processor clock. Its handler
/// only counts: it is there to end a WFI.
pub fn start_wakeups(mut syst: cortex_m::peripheral::SYST, period_ms: u32) {
    syst.set_clock_source(cortex_m::peripheral::syst::SystClkSource::Core);
    syst.set_reload(period_ms.saturating_mul(TICKS_PER_MS).saturating_sub(1).min(0x00FF_FFFF));
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// SysTick interrupts so far.
pub fn wakes() -> u32 {
    WAKES.load(Ordering::Relaxed)
}

#[cortex_m_rt::exception]
fn SysTick() {
    WAKES.fetch_add(1, Ordering::Relaxed);
}
