//! Kiosk firmware for a feedback kiosk in a clinic waiting room (Cortex-M4F).
//!
//! Everything but the board glue is portable and tested on the host: the debounced
//! [`buttons`], the [`leds`], the question [`flow`], the power-cut-safe [`storage`], the
//! [`button_board`] that sends button levels over a serial line in the [`script`] notation,
//! the staff [`console`], the serial [`line`] reader and the [`clock`]'s wrap arithmetic, and
//! the signing [`key`] read from the kiosk's provisioning image; the export is the kernel's
//! streaming `export::stream_signed`. The board glue ([`board`], `target_os =
//! "none"` only) binds them to mps2-an386 under QEMU: its UARTs, APB timer, FPGAIO LEDs and
//! watchdog, a flash backed by a host file, defmt over semihosting. See docs/design.md, "Why
//! the firmware is laid out as it is" and "Which peripherals of mps2-an386 does the kiosk use,
//! and why?".
#![cfg_attr(not(test), no_std)]

#[cfg(target_os = "none")]
pub mod board;
pub mod button_board;
pub mod buttons;
pub mod clock;
pub mod config;
pub mod console;
pub mod display;
pub mod flow;
pub mod key;
pub mod leds;
pub mod line;
#[cfg(test)]
mod mock_serial;
pub mod script;
pub mod storage;

use surveybench_kernel::tally::capacity;
use surveybench_kernel::{Instrument, Response, Tally, bundled};

/// The instrument compiled into this build: `cmh-2024` by default, `fft` with feature `fft`.
#[cfg(not(feature = "fft"))]
pub const INSTRUMENT: &Instrument<'static> = &bundled::CMH_2024;
/// The instrument compiled into this build: `cmh-2024` by default, `fft` with feature `fft`.
#[cfg(feature = "fft")]
pub const INSTRUMENT: &Instrument<'static> = &bundled::FFT;

/// Question capacity, exact for [`INSTRUMENT`].
pub const QUESTIONS: usize = capacity::questions(INSTRUMENT);
/// Count-cell capacity, exact for [`INSTRUMENT`].
pub const CELLS: usize = capacity::cells(INSTRUMENT);
/// Pair-cell capacity, exact for [`INSTRUMENT`].
pub const PAIRS: usize = capacity::pairs(INSTRUMENT);

/// The tally this build keeps, sized exactly at compile time.
pub type KioskTally = Tally<'static, QUESTIONS, CELLS, PAIRS>;
/// A response in progress for this build's instrument.
pub type KioskResponse = Response<'static, QUESTIONS>;
