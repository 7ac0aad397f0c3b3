//! `cargo xtask`: the one command surface for people and CI.
//!
//! - `cargo xtask ci`: every check CI runs (format, lints, host tests, the kernel built alone
//!   for the Cortex-M4F target, then the firmware steps).
//! - `cargo xtask qemu [--script FILE] [--flash FILE] [--provision FILE | --unprovisioned]
//!   [--features fft]`: build the kiosk firmware and run a session on QEMU in virtual time, FILE
//!   playing the button board (the compiled-in demo by default), the kiosk provisioned with the
//!   test-only key unless told otherwise; the staff console, with the signed export JSON, is on
//!   stderr.
//! - `cargo xtask size [--bless]`: check that no firmware section lies in the provisioning
//!   region, and the firmware's flash, and its static RAM plus the peak stack of the demo
//!   session under QEMU, against `firmware/size-budget.txt` (`--bless` records the new
//!   figures, with the instructions per committed response and per signed export).
//! - `cargo xtask stress`: peak memory and time of the host on huge and hostile inputs.
//! - `cargo xtask bench`: surveybench beside R and a byte scan on the same files, written to
//!   `docs/benchmarks.md`.
//! - `cargo xtask bench-monitor`: the in-year early warning's false alarms and delay to a
//!   flag, measured on simulation, written to `docs/monitor-benchmark.md`.
//! - `cargo xtask fuzz-smoke [SECONDS]`: build the cargo-fuzz targets (nightly) and run each
//!   for SECONDS (default 15) from its committed corpus.

mod bench;
mod bench_monitor;
mod ci;
mod firmware;
mod fuzz;
mod measure;
mod run;
mod stress;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(args.get(1).is_some_and(|a| a == "firmware")),
        Some("qemu") => firmware::qemu(&args[1..]),
        Some("size") => firmware::size(&args[1..]),
        Some("stress") => stress::stress(),
        Some("measure-one") => measure::one(&args[1..]),
        Some("bench") => bench::bench(),
        Some("bench-monitor") => bench_monitor::bench_monitor(),
        Some("fuzz-smoke") => fuzz::fuzz_smoke(&args[1..]),
        Some(other) => {
            Err(format!("unknown task `{other}`; tasks: ci, qemu, size, stress, bench, bench-monitor, fuzz-smoke"))
        }
        None => {
            Err("usage: cargo xtask <ci [firmware] | qemu [--script FILE] [--flash FILE] [--provision FILE | --unprovisioned] [--features F] | size [--bless] | fuzz-smoke [SECONDS]>"
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
