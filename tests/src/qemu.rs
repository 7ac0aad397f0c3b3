//! Building the firmware and running a kiosk script on QEMU (mps2-an386), through the
//! firmware's cargo runner script, so tests run it exactly as `cargo fw` does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
#[must_use]
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), Path::to_path_buf)
}

/// The firmware ELF: `$SURVEYBENCH_FIRMWARE_ELF` if set (xtask sets it after building), else
/// built here with `cargo build --profile fw` (quick when it is up to date).
///
/// # Errors
/// The build failed.
pub fn firmware_elf() -> Result<PathBuf, String> {
    if let Some(elf) = std::env::var_os("SURVEYBENCH_FIRMWARE_ELF") {
        return Ok(PathBuf::from(elf));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "-p", "surveybench-firmware", "--target", "thumbv7em-none-eabihf", "--profile", "fw"])
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("firmware build failed ({status})"));
    }
    Ok(root().join("target/thumbv7em-none-eabihf/fw/surveybench-firmware"))
}

/// The stack overflow guard's demonstration, built beside the firmware (`src/bin/stack-overflow.rs`).
///
/// # Errors
/// The build failed.
pub fn stack_overflow_elf() -> Result<PathBuf, String> {
    Ok(firmware_elf()?.with_file_name("stack-overflow"))
}

/// The peak stack the firmware logged at the end of its session ("stack: peak N B of M B"):
/// bytes used and bytes reserved.
#[must_use]
pub fn stack_peak(log: &str) -> Option<(u32, u32)> {
    let rest = log.lines().find_map(|l| l.split_once("stack: peak ").map(|(_, r)| r))?;
    let mut words = rest.split_whitespace();
    let used = words.next()?.parse().ok()?;
    let reserved = words.nth(2)?.parse().ok()?;
    Some((used, reserved))
}

/// What a QEMU run gave.
#[derive(Debug)]
pub struct Run {
    /// The firmware's exit code.
    pub code: Option<i32>,
    /// The decoded defmt log.
    pub log: String,
    /// Semihosting stderr: one export JSON document per line.
    pub exports: Vec<String>,
}

/// Runs `elf` on QEMU with `script` as its session (hang guard: `QEMU_TIMEOUT`, default 300 s,
/// in the runner script).
///
/// # Errors
/// QEMU or the runner could not be started, or the script could not be written.
pub fn run(elf: &Path, script: &str, dir: &Path) -> Result<Run, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script_path = dir.join("kiosk-script.txt");
    std::fs::write(&script_path, script).map_err(|e| format!("{}: {e}", script_path.display()))?;
    let out = Command::new(root().join("firmware/qemu-run.sh"))
        .arg(elf)
        .env("KIOSK_SCRIPT", &script_path)
        .env("QEMU_TIMEOUT", std::env::var("QEMU_TIMEOUT").unwrap_or_else(|_| "300".to_owned()))
        .output()
        .map_err(|e| {
            format!("cannot run firmware/qemu-run.sh (QEMU and defmt-print: .ci/install-tools): {e}")
        })?;
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    let exports = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_owned)
        .collect();
    Ok(Run { code: out.status.code(), log, exports })
}
