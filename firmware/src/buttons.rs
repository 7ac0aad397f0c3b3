//! The kiosk's buttons: six answer buttons (a five-point scale plus "don't know"), back and
//! skip, each an embedded-hal [`InputPin`] wired active-low (pressed reads low), debounced.
//!
//! A gesture is reported when every button is released again, as the set of buttons held
//! during it (a chord). One button is a press; back and skip together are the staff command
//! (export); any other chord means nothing and is reported as such so the caller can log it.

use embedded_hal::digital::InputPin;

/// Answer buttons: option 1..6 of a question (more than six options are paged, see `flow`).
pub const ANSWERS: usize = 6;
/// All buttons, in pin order: the answers, then back, then skip.
pub const COUNT: usize = ANSWERS + 2;
/// Bit of the back button in a button set.
pub const BACK: u8 = 1 << ANSWERS;
/// Bit of the skip button in a button set.
pub const SKIP: u8 = 1 << (ANSWERS + 1);

/// One button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    /// Answer button `0..ANSWERS` (printed 1..6).
    Answer(u8),
    /// Back to the previous question.
    Back,
    /// Skip this question (leave it unanswered).
    Skip,
}

impl Button {
    /// The button's bit in a button set.
    #[must_use]
    pub const fn bit(self) -> u8 {
        match self {
            Button::Answer(i) => 1 << i,
            Button::Back => BACK,
            Button::Skip => SKIP,
        }
    }
}

/// What a finished gesture meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gesture {
    /// One button pressed and released.
    Press(Button),
    /// Back and skip held together: the staff command (export).
    Staff,
    /// Any other set of buttons held together: ignored.
    Chord(u8),
}

impl Gesture {
    /// The gesture of a chord of buttons (a non-empty set of bits).
    #[must_use]
    pub fn of_chord(chord: u8) -> Self {
        match chord {
            BACK => Gesture::Press(Button::Back),
            SKIP => Gesture::Press(Button::Skip),
            c if c == BACK | SKIP => Gesture::Staff,
            c if c.count_ones() == 1 => Gesture::Press(Button::Answer(c.trailing_zeros() as u8)),
            c => Gesture::Chord(c),
        }
    }
}

/// Debounces one input: a new level counts once it has been read `debounce_ms` unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Debouncer {
    stable: bool,
    candidate: bool,
    since: u32,
}

impl Debouncer {
    /// Feeds the level read at `now`; returns the debounced level.
    pub fn update(&mut self, level: bool, now: u32, debounce_ms: u32) -> bool {
        if level != self.candidate {
            self.candidate = level;
            self.since = now;
        }
        if self.candidate != self.stable && now.wrapping_sub(self.since) >= debounce_ms {
            self.stable = self.candidate;
        }
        self.stable
    }

    /// The debounced level.
    #[must_use]
    pub fn level(&self) -> bool {
        self.stable
    }
}

/// The button panel: [`COUNT`] active-low pins, debounced, turned into [`Gesture`]s.
pub struct Buttons<P> {
    pins: [P; COUNT],
    debouncers: [Debouncer; COUNT],
    debounce_ms: u32,
    chord: u8,
}

impl<P: InputPin> Buttons<P> {
    /// A panel of `pins` in the order answers 1..6, back, skip.
    pub fn new(pins: [P; COUNT], debounce_ms: u32) -> Self {
        Self { pins, debouncers: [Debouncer::default(); COUNT], debounce_ms, chord: 0 }
    }

    /// The set of buttons held down now (debounced).
    #[must_use]
    pub fn held(&self) -> u8 {
        self.debouncers.iter().enumerate().filter(|(_, d)| d.level()).fold(0, |m, (i, _)| m | (1 << i))
    }

    /// Samples every pin at `now` (call every few milliseconds); returns a gesture when the
    /// last button of one is released.
    ///
    /// # Errors
    /// A pin could not be read.
    pub fn poll(&mut self, now: u32) -> Result<Option<Gesture>, P::Error> {
        for (pin, d) in self.pins.iter_mut().zip(self.debouncers.iter_mut()) {
            let pressed = pin.is_low()?;
            d.update(pressed, now, self.debounce_ms);
        }
        let held = self.held();
        self.chord |= held;
        if held == 0 && self.chord != 0 {
            let chord = core::mem::take(&mut self.chord);
            return Ok(Some(Gesture::of_chord(chord)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_counts_only_after_the_debounce_time() {
        let mut d = Debouncer::default();
        assert!(!d.update(true, 0, 20));
        assert!(!d.update(false, 5, 20)); // bounce
        assert!(!d.update(true, 10, 20));
        assert!(!d.update(true, 25, 20));
        assert!(d.update(true, 30, 20));
    }

    #[test]
    fn chords_map_to_gestures() {
        assert_eq!(Gesture::of_chord(1), Gesture::Press(Button::Answer(0)));
        assert_eq!(Gesture::of_chord(1 << 5), Gesture::Press(Button::Answer(5)));
        assert_eq!(Gesture::of_chord(BACK), Gesture::Press(Button::Back));
        assert_eq!(Gesture::of_chord(SKIP), Gesture::Press(Button::Skip));
        assert_eq!(Gesture::of_chord(BACK | SKIP), Gesture::Staff);
        assert_eq!(Gesture::of_chord(0b11), Gesture::Chord(0b11));
    }
}
