//! `cargo xtask fuzz-smoke [SECONDS]`: builds the cargo-fuzz targets in `fuzz/` with the nightly
//! toolchain and runs each for a bounded time from its committed corpus (docs/design.md).
//!
//! New inputs go to a scratch folder, never into `fuzz/corpus/`; a crash stops the run, and
//! libFuzzer leaves the input in `fuzz/artifacts/TARGET/`.

use std::path::PathBuf;
use std::process::Command;

use crate::run::root;

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 6] =
    ["export_decode", "tally_image", "respondent_csv", "instrument_json", "profile_toml", "reference_image"];

/// Seconds per target when none are given.
const DEFAULT_SECONDS: u32 = 15;

/// Runs `cargo +nightly ARGS` in the workspace root, without the stable toolchain's
/// environment that `cargo xtask` runs in. RUSTFLAGS is left out too: cargo-fuzz sets its own,
/// and a `-D warnings` meant for stable would fail the build on lints only nightly has.
fn nightly(args: &[&str]) -> Result<(), String> {
    let mut all = vec!["+nightly"];
    all.extend_from_slice(args);
    eprintln!("xtask: $ cargo {}", all.join(" "));
    let status = Command::new("cargo")
        .args(&all)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTFLAGS")
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`cargo {}` failed ({status})", all.join(" "))) }
}

/// Fails clearly unless the nightly toolchain and cargo-fuzz are there.
fn check_tools() -> Result<(), String> {
    let has = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .env_remove("RUSTUP_TOOLCHAIN")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has(&["+nightly", "--version"]) {
        return Err(
            "no nightly toolchain: cargo-fuzz needs one (`rustup toolchain install nightly`)".to_owned()
        );
    }
    if !has(&["+nightly", "fuzz", "--version"]) {
        return Err("cargo-fuzz is missing: run .ci/install-tools (or `cargo install cargo-fuzz --locked`)"
            .to_owned());
    }
    Ok(())
}

/// `cargo xtask fuzz-smoke [SECONDS]`.
pub fn fuzz_smoke(args: &[String]) -> Result<(), String> {
    let seconds = match args.first() {
        None => DEFAULT_SECONDS,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("SECONDS must be a positive whole number, not `{s}`"))?,
    };
    check_tools()?;
    // No sanitizer: every line of ours is safe Rust, and ASan halves the executions per second
    // (docs/design.md). Debug assertions and overflow checks stay on.
    nightly(&["fuzz", "build", "-s", "none"])?;
    let scratch = std::env::temp_dir().join(format!("surveybench-fuzz-smoke-{}", std::process::id()));
    let result = TARGETS.iter().try_for_each(|target| run_one(target, seconds, &scratch));
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    println!("xtask fuzz-smoke: {} targets, {seconds} s each, no crash", TARGETS.len());
    Ok(())
}

fn run_one(target: &str, seconds: u32, scratch: &std::path::Path) -> Result<(), String> {
    let corpus: PathBuf = root().join("fuzz/corpus").join(target);
    if !corpus.is_dir() {
        return Err(format!("no committed corpus at {}", corpus.display()));
    }
    let new = scratch.join(target);
    std::fs::create_dir_all(&new).map_err(|e| format!("cannot create {}: {e}", new.display()))?;
    let (new, corpus) = (new.to_string_lossy().into_owned(), corpus.to_string_lossy().into_owned());
    let time = format!("-max_total_time={seconds}");
    // libFuzzer writes new inputs to the first folder and only reads the others.
    nightly(&["fuzz", "run", "-s", "none", target, &new, &corpus, "--", &time, "-print_final_stats=1"])
        .map_err(|e| format!("{target}: {e}; the input is in fuzz/artifacts/{target}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_declared_in_the_fuzz_manifest() {
        let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        for target in TARGETS {
            assert!(manifest.contains(&format!("name = \"{target}\"")), "{target}");
        }
        let declared = manifest.matches("[[bin]]").count();
        assert_eq!(declared, TARGETS.len());
    }

    #[test]
    fn seconds_must_be_a_positive_number() {
        assert!(fuzz_smoke(&["0".to_owned()]).is_err());
        assert!(fuzz_smoke(&["soon".to_owned()]).is_err());
    }
}
