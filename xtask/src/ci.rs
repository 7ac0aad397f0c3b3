//! `cargo xtask ci`: the checks that decide whether a change lands.

use crate::run::{cargo, run};

/// The thumb target the kiosk runs on.
pub const TARGET: &str = "thumbv7em-none-eabihf";

/// One named step of `ci`.
pub type Step = (&'static str, Box<dyn Fn() -> Result<(), String>>);

/// Runs every step in order and stops at the first failure; with `only_firmware`, only the
/// firmware steps (`cargo xtask ci firmware`).
pub fn ci(only_firmware: bool) -> Result<(), String> {
    let steps: Vec<Step> = vec![
        // Idempotent: installs only what is missing (QEMU, R, the thumb target, defmt-print,
        // cargo-fuzz), so the one test command works on a fresh machine too.
        ("tools", Box::new(|| run("bash", &[".ci/install-tools"], &[]))),
        ("format", Box::new(|| cargo(&["fmt", "--all", "--check"]))),
        (
            "clippy (host crates)",
            Box::new(|| {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--exclude",
                    "surveybench-firmware",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ])
            }),
        ),
        (
            "docs (rustdoc, intra-doc links checked)",
            Box::new(|| {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
                let args = ["doc", "--no-deps", "-p", "surveybench", "-p", "surveybench-kernel", "--locked"];
                run(&cargo, &args, &[("RUSTFLAGS", "-D warnings"), ("RUSTDOCFLAGS", "-D warnings")])
            }),
        ),
        (
            "host tests",
            Box::new(|| {
                // The firmware's own host tests and the QEMU end-to-end crate run in the
                // firmware steps below, after the firmware is built.
                cargo(&[
                    "test",
                    "--workspace",
                    "--exclude",
                    "surveybench-firmware",
                    "--exclude",
                    "surveybench-tests",
                    "--locked",
                ])
            }),
        ),
        (
            "kernel alone for the target",
            Box::new(|| cargo(&["build", "-p", "surveybench-kernel", "--target", TARGET, "--locked"])),
        ),
        (
            "kernel with defmt for the target",
            Box::new(|| {
                cargo(&[
                    "build",
                    "-p",
                    "surveybench-kernel",
                    "--features",
                    "defmt",
                    "--target",
                    TARGET,
                    "--locked",
                ])
            }),
        ),
        (
            "fuzz smoke (cargo-fuzz, nightly)",
            // Every decoder of outside input under libFuzzer for a few seconds from its
            // committed corpus: about three minutes, most of it the build.
            Box::new(|| crate::fuzz::fuzz_smoke(&[])),
        ),
    ];
    let mut steps = if only_firmware { steps.into_iter().take(1).collect() } else { steps };
    steps.extend(crate::firmware::ci_steps());
    let total = steps.len();
    for (i, (name, step)) in steps.iter().enumerate() {
        eprintln!("xtask ci: step {}/{total}: {name}", i + 1);
        step().map_err(|e| format!("step `{name}` failed: {e}"))?;
    }
    println!("xtask ci: {total} passed, 0 failed");
    Ok(())
}
