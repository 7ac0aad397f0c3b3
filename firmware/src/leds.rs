//! Acknowledgement LEDs as embedded-hal [`OutputPin`]s: green when a response is safely
//! stored (or an export written), red when a submission was rejected or storage failed.

use embedded_hal::digital::OutputPin;

/// The two kiosk LEDs.
pub struct Leds<G, R> {
    green: G,
    red: R,
}

impl<G: OutputPin, R: OutputPin> Leds<G, R> {
    /// The LEDs, both switched off.
    ///
    /// # Errors
    /// A pin could not be driven.
    pub fn new(mut green: G, mut red: R) -> Result<Self, LedError> {
        green.set_low().map_err(|_| LedError)?;
        red.set_low().map_err(|_| LedError)?;
        Ok(Self { green, red })
    }

    /// Shows `signal`.
    ///
    /// # Errors
    /// A pin could not be driven.
    pub fn show(&mut self, signal: Signal) -> Result<(), LedError> {
        let (g, r) = match signal {
            Signal::Off => (false, false),
            Signal::Ack => (true, false),
            Signal::Alert => (false, true),
        };
        self.green.set_state(g.into()).map_err(|_| LedError)?;
        self.red.set_state(r.into()).map_err(|_| LedError)
    }

    /// Gives the pins back (tests).
    pub fn release(self) -> (G, R) {
        (self.green, self.red)
    }
}

/// What the LEDs say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Both off.
    Off,
    /// Green: stored (or exported).
    Ack,
    /// Red: rejected as misuse, or storage failed.
    Alert,
}

/// An LED pin could not be driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedError;
