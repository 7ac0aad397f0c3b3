//! Scripted sessions: button levels over time, for QEMU runs and tests, and the button
//! board's protocol. A script is text, one step a line: `<ms> <buttons>` holds exactly
//! `<buttons>` down from time `<ms>` on, where `<buttons>` is `-` (none) or a string of
//! `1`..`6`, `B` (back), `S` (skip); `<ms> end` ends the session. Times never decrease. `#`
//! starts a comment line.
//!
//! The button board ([`crate::button_board`]) sends these lines over UART0, each a level change
//! stamped with its own clock. The host's end-to-end test writes such a file from seeded random
//! respondents (with contact bounce) and QEMU feeds it to UART0 (firmware/qemu-run.sh).

use core::cell::Cell;
use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, InputPin};

use crate::buttons::{ANSWERS, BACK, SKIP};

/// One step of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// From `at` on, exactly the buttons in `held` are down.
    Hold {
        /// Time in milliseconds.
        at: u32,
        /// Button set (see [`crate::buttons`]).
        held: u8,
    },
    /// The session ends at `at`.
    End {
        /// Time in milliseconds.
        at: u32,
    },
}

/// A line that is not a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptError;

/// Parses one line: `Ok(None)` for blank and comment lines.
///
/// # Errors
/// [`ScriptError`] for anything else that is not a step.
pub fn parse_line(line: &str) -> Result<Option<Step>, ScriptError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (time, what) = line.split_once(' ').ok_or(ScriptError)?;
    let at: u32 = time.parse().map_err(|_| ScriptError)?;
    let what = what.trim();
    if what == "end" {
        return Ok(Some(Step::End { at }));
    }
    if what == "-" {
        return Ok(Some(Step::Hold { at, held: 0 }));
    }
    let mut held = 0u8;
    for c in what.bytes() {
        held |= match c {
            b'1'..=b'6' => 1 << (c - b'1'),
            b'B' => BACK,
            b'S' => SKIP,
            _ => return Err(ScriptError),
        };
    }
    Ok(Some(Step::Hold { at, held }))
}

/// Writes the button set `held` in script notation into `out`; returns the used part.
#[must_use]
pub fn format_held(held: u8, out: &mut [u8; 8]) -> &str {
    if held == 0 {
        return "-";
    }
    let mut n = 0;
    for (bit, name) in (0..ANSWERS).map(|i| (1u8 << i, b'1' + i as u8)).chain([(BACK, b'B'), (SKIP, b'S')]) {
        if held & bit != 0 {
            out[n] = name;
            n += 1;
        }
    }
    core::str::from_utf8(&out[..n]).unwrap_or("-")
}

/// An input pin driven by a script: reads low (pressed) while its bit is in the shared set.
#[derive(Clone, Copy, Debug)]
pub struct ScriptPin<'a> {
    held: &'a Cell<u8>,
    bit: u8,
}

impl<'a> ScriptPin<'a> {
    /// The pin of button number `index` (pin order of [`crate::buttons::Buttons`]).
    #[must_use]
    pub fn new(held: &'a Cell<u8>, index: usize) -> Self {
        Self { held, bit: 1 << index }
    }

    /// One pin per button.
    #[must_use]
    pub fn panel(held: &'a Cell<u8>) -> [Self; crate::buttons::COUNT] {
        core::array::from_fn(|i| Self::new(held, i))
    }
}

impl ErrorType for ScriptPin<'_> {
    type Error = Infallible;
}

impl InputPin for ScriptPin<'_> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.held.get() & self.bit == 0)
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(self.held.get() & self.bit != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_to_steps() {
        assert_eq!(parse_line("  "), Ok(None));
        assert_eq!(parse_line("# hi"), Ok(None));
        assert_eq!(parse_line("10 -"), Ok(Some(Step::Hold { at: 10, held: 0 })));
        assert_eq!(parse_line("10 1"), Ok(Some(Step::Hold { at: 10, held: 1 })));
        assert_eq!(parse_line("7 BS"), Ok(Some(Step::Hold { at: 7, held: BACK | SKIP })));
        assert_eq!(parse_line("99 end"), Ok(Some(Step::End { at: 99 })));
        assert_eq!(parse_line("x 1"), Err(ScriptError));
        assert_eq!(parse_line("1 7"), Err(ScriptError));
    }

    #[test]
    fn format_held_round_trips() {
        for held in 0..=u8::MAX {
            let mut buf = [0; 8];
            let line = std::format!("5 {}", format_held(held, &mut buf));
            assert_eq!(parse_line(&line), Ok(Some(Step::Hold { at: 5, held })));
        }
    }
}

/// A seeded SplitMix64 for making reproducible random sessions (host tests and the end-to-end
/// test): no dependency, and the same sequence on every platform. Unused code in the firmware
/// image, so the linker drops it.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64().checked_rem(n).unwrap_or(0)).unwrap_or(0)
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        let span = hi.saturating_sub(lo).saturating_add(1);
        lo.saturating_add(u32::try_from(self.below(span as usize)).unwrap_or(0))
    }
}
