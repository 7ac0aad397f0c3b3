#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "std")]
extern crate std;

pub mod bundled;
pub mod crc;
pub mod estimate;
pub mod export;
pub mod instrument;
pub mod provision;
pub mod reference;
pub mod response;
pub mod score;
pub mod stratum;
pub mod tally;

pub use estimate::{Estimate, Real};
pub use instrument::{AnswerOption, Filter, Instrument, InstrumentError, Question, QuestionKind, Section};
pub use response::{Cleaning, Outcome, Outcomes, Response, ResponseError};
pub use stratum::{Sex, Stratum};
pub use tally::{Cleaned, Counters, HostTally, PairSums, Tally, TallyError};
