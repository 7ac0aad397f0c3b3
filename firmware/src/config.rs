//! Kiosk behaviour settings (docs/design.md lists the defaults and why).

/// What an idle timeout does with the partial response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleAction {
    /// Discard it: counted as abandoned (`Tally::record_abandoned`).
    Discard,
    /// Submit what was answered, as if the respondent had finished (the plausibility check
    /// still applies). A response with no answer at all is counted as abandoned instead.
    Submit,
}

/// Timing and misuse settings. Times are milliseconds of the kiosk's monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// A button must read the same level this long before a change counts (contact bounce).
    pub debounce_ms: u32,
    /// No press for this long during a response resets the kiosk to the start.
    pub idle_timeout_ms: u32,
    /// What the idle timeout does with the partial response.
    pub idle_action: IdleAction,
    /// After a submission, presses are ignored this long (the thank-you screen), so that
    /// button mashing cannot start the next response at once.
    pub lockout_ms: u32,
    /// A response is plausible only if it took at least this long per question shown; faster
    /// ones are counted as rejected misuse (`Tally::record_rejected`), never as responses.
    pub min_ms_per_question: u32,
}

impl Config {
    /// The settings of this build: idle action `Discard`, or `Submit` with feature
    /// `idle-submit`.
    pub const BUILD: Config = Config {
        debounce_ms: 20,
        idle_timeout_ms: 60_000,
        idle_action: if cfg!(feature = "idle-submit") { IdleAction::Submit } else { IdleAction::Discard },
        lockout_ms: 3_000,
        min_ms_per_question: 400,
    };
}

impl Default for Config {
    fn default() -> Self {
        Self::BUILD
    }
}
