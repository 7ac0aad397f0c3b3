//! What the kiosk shows. A real board renders screens on a display; under QEMU the board
//! logs them with defmt, and host tests record them.

use surveybench_kernel::Question;

/// One screen of the kiosk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen<'a> {
    /// Waiting for a respondent: "press any answer button to start".
    Welcome,
    /// Question `index`, with `page` of `pages` of its options on the answer buttons (when it
    /// has more options than buttons, the last button shows the next page).
    Question {
        /// Index in the instrument.
        index: usize,
        /// The question.
        question: &'a Question<'a>,
        /// Page of options on the buttons (0-based).
        page: u8,
        /// Pages of options.
        pages: u8,
    },
    /// The response was stored: thank you.
    Thanks,
    /// The submission was too fast to be plausible: counted as rejected, not as a response.
    Rejected,
    /// The respondent walked away: the response was discarded (counted as abandoned).
    TimedOut,
    /// An export with this sequence number was written.
    Exported(u32),
    /// Storage failed: the last action is not safely stored. Staff should be called.
    StorageFailed,
    /// An export was asked for, but the kiosk has no key (no valid provisioning image): it
    /// collects responses but cannot export them until staff provision it.
    NotProvisioned,
}

/// Something that shows screens.
pub trait Display {
    /// Shows `screen`.
    fn show(&mut self, screen: Screen<'_>);
}
