//! `cargo xtask`: the one command surface for people and CI.
//!
//! - `cargo xtask ci`: every check CI runs (format, lints, host tests, the kernel built alone
//!   for the Cortex-M4F target, then the firmware steps).
//! - `cargo xtask qemu [--script FILE] [--features fft]`: build the kiosk firmware and run a
//!   scripted session on QEMU (the compiled-in demo by default); the export JSON is on stderr.
//! - `cargo xtask size [--bless]`: check the firmware's flash and static RAM against
//!   `firmware/size-budget.txt` (`--bless` records the new figures).
//! - `cargo xtask fuzz-smoke [SECONDS]`: build the cargo-fuzz targets (nightly) and run each
//!   for SECONDS (default 15) from its committed corpus.

mod ci;
mod firmware;
mod fuzz;
mod run;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(args.get(1).is_some_and(|a| a == "firmware")),
        Some("qemu") => firmware::qemu(&args[1..]),
        Some("size") => firmware::size(&args[1..]),
        Some("fuzz-smoke") => fuzz::fuzz_smoke(&args[1..]),
        Some(other) => Err(format!("unknown task `{other}`; tasks: ci, qemu, size, fuzz-smoke")),
        None => {
            Err("usage: cargo xtask <ci [firmware] | qemu [--script FILE] [--features F] | size [--bless] | fuzz-smoke [SECONDS]>"
                .to_owned())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
