//! `cargo xtask`: the one command surface for people and CI.
//!
//! - `cargo xtask ci`: every check CI runs (format, lints, host tests, the kernel built alone
//!   for the Cortex-M4F target, then the firmware steps).
//! - `cargo xtask size`, `cargo xtask qemu`: firmware budgets and a QEMU run (see README).

mod ci;
mod run;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(),
        Some(other) => Err(format!("unknown task `{other}`; tasks: ci")),
        None => Err("usage: cargo xtask <ci>".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
