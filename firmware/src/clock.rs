//! The kiosk's monotonic clock as arithmetic: a free-running 32-bit down-counter (on
//! mps2-an386, CMSDK APB timer 0 at 25 MHz, `board::clock`) read now and then, its elapsed
//! ticks summed across wraps. It is kept apart from the register so that the wrap arithmetic
//! is tested on the host.
//!
//! The counter runs from `0xFFFF_FFFF` down to 0 and reloads, so it repeats every 2^32 ticks
//! (171.8 s at 25 MHz) and two readings less than that apart are `earlier - later`, wrapping.
//! The board reads it at every turn of its main loop (a few milliseconds apart).

/// Elapsed ticks of a wrapping 32-bit down-counter, summed across its wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Monotonic {
    last: u32,
    ticks: u64,
}

impl Monotonic {
    /// A clock at 0 ticks, `raw` being the counter's value now.
    #[must_use]
    pub const fn new(raw: u32) -> Self {
        Self { last: raw, ticks: 0 }
    }

    /// Feeds a reading of the counter; returns the ticks since [`Monotonic::new`]. Readings
    /// must be less than 2^32 ticks apart, or whole wraps are lost.
    pub fn advance(&mut self, raw: u32) -> u64 {
        self.ticks = self.ticks.wrapping_add(u64::from(self.last.wrapping_sub(raw)));
        self.last = raw;
        self.ticks
    }

    /// The ticks at the last reading.
    #[must_use]
    pub const fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The counter's value at the last reading.
    #[must_use]
    pub const fn last(&self) -> u32 {
        self.last
    }
}

/// Whole milliseconds in `ticks` at `per_ms` ticks a millisecond, wrapping at 2^32 ms (49.7
/// days) as the kiosk's `u32` times do (they are compared with `wrapping_sub`).
#[must_use]
pub const fn millis(ticks: u64, per_ms: u32) -> u32 {
    if per_ms == 0 {
        return 0;
    }
    // Truncation is the wrap at 2^32 ms.
    (ticks / per_ms as u64) as u32
}

/// Counter ticks in `ns` nanoseconds at `hz`, rounded up (a delay waits at least that long).
#[must_use]
pub const fn ticks_for_ns(ns: u32, hz: u32) -> u64 {
    (ns as u64 * hz as u64).div_ceil(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_sum_across_wraps() {
        let mut clock = Monotonic::new(100);
        assert_eq!(clock.advance(40), 60);
        // Through 0 to 0xFFFF_FFFF and on down: 40 + 1 + 0x10 ticks.
        assert_eq!(clock.advance(0xFFFF_FFF0), 60 + 41 + 15);
        assert_eq!(clock.last(), 0xFFFF_FFF0);
        // Many wraps, each read within one period.
        let mut clock = Monotonic::new(0xFFFF_FFFF);
        let mut raw = 0xFFFF_FFFFu32;
        for _ in 0..10 {
            raw = raw.wrapping_sub(0xC000_0000);
            clock.advance(raw);
        }
        assert_eq!(clock.ticks(), 10 * 0xC000_0000);
    }

    #[test]
    fn an_unchanged_reading_adds_nothing() {
        let mut clock = Monotonic::new(7);
        assert_eq!(clock.advance(7), 0);
        assert_eq!(clock.advance(7), 0);
    }

    #[test]
    fn milliseconds_truncate_and_wrap_like_the_kiosks_times() {
        assert_eq!(millis(24_999, 25_000), 0);
        assert_eq!(millis(25_000, 25_000), 1);
        assert_eq!(millis(3_325_000_000, 25_000), 133_000);
        assert_eq!(millis((1u64 << 32) * 25_000 + 50_000, 25_000), 2);
        assert_eq!(millis(5, 0), 0);
    }

    #[test]
    fn delays_round_up_to_whole_ticks() {
        assert_eq!(ticks_for_ns(0, 25_000_000), 0);
        assert_eq!(ticks_for_ns(1, 25_000_000), 1);
        assert_eq!(ticks_for_ns(40, 25_000_000), 1);
        assert_eq!(ticks_for_ns(41, 25_000_000), 2);
        assert_eq!(ticks_for_ns(1_000_000, 25_000_000), 25_000);
        assert_eq!(ticks_for_ns(u32::MAX, 25_000_000), 107_374_183);
    }
}
