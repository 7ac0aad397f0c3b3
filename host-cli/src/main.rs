//! `surveybench`: the analyst's command line. Exit codes: 0 success, 1 error, 2 output written
//! but some input skipped or some report of `--all-trusts` not written (see the README).

use std::process::ExitCode;

use clap::Parser;
use surveybench::app::{EXIT_SKIPPED, Outcome, run};
use surveybench::cli::Cli;
use surveybench::terminal::inert;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Skipped) => ExitCode::from(EXIT_SKIPPED),
        Err(e) => {
            eprintln!("surveybench: error: {}", inert(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
