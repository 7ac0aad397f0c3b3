//! Building the firmware and running a kiosk script on QEMU (mps2-an386), through the
//! firmware's cargo runner script, so tests run it exactly as `cargo fw` does: the script is
//! the button board on UART0, the exports are read from the staff console on UART1, the
//! flash may be backed by a file that outlives the run, and the kiosk is provisioned with the
//! test key ([`crate::provision`]) unless a test asks for one that is not.

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
    elf_from("SURVEYBENCH_FIRMWARE_ELF", &[], "target")
}

/// The firmware built with feature `fft`: `$SURVEYBENCH_FIRMWARE_FFT_ELF` if set (xtask sets
/// it after building), else built here into its own target folder, so that it never replaces
/// the default build other tests are running.
///
/// # Errors
/// The build failed.
pub fn fft_elf() -> Result<PathBuf, String> {
    elf_from(
        "SURVEYBENCH_FIRMWARE_FFT_ELF",
        &["--features", "fft", "--target-dir", "target/fft"],
        "target/fft",
    )
}

/// The ELF named by `$var`, or built with `extra` cargo arguments into `target_dir`.
fn elf_from(var: &str, extra: &[&str], target_dir: &str) -> Result<PathBuf, String> {
    if let Some(elf) = std::env::var_os(var) {
        return Ok(PathBuf::from(elf));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "-p", "surveybench-firmware", "--target", "thumbv7em-none-eabihf", "--profile", "fw"])
        .args(extra)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("firmware build failed ({status})"));
    }
    Ok(root().join(target_dir).join("thumbv7em-none-eabihf/fw/surveybench-firmware"))
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

/// The kiosk firmware with its test hooks on (`src/bin/hang-on-command.rs`: the console
/// command `hang` stops feeding the watchdog), built beside the firmware.
///
/// # Errors
/// The build failed.
pub fn hang_on_command_elf() -> Result<PathBuf, String> {
    Ok(firmware_elf()?.with_file_name("hang-on-command"))
}

/// What a QEMU run gave.
#[derive(Debug)]
pub struct Run {
    /// The firmware's exit code.
    pub code: Option<i32>,
    /// The decoded defmt log.
    pub log: String,
    /// The staff console's output (UART1): console lines and the exports.
    pub console: String,
    /// The export JSON documents on the console, one a line, in order.
    pub exports: Vec<String>,
}

/// How to run the firmware, besides its button board script.
#[derive(Clone, Debug, Default)]
pub struct Options<'a> {
    /// The host file backing the kiosk's flash (`KIOSK_FLASH`); RAM only without one.
    pub flash: Option<&'a Path>,
    /// What is typed on the staff console (`KIOSK_CONSOLE_INPUT`).
    pub console_input: Option<&'a str>,
    /// The staff console as a QEMU chardev (`KIOSK_CONSOLE`, e.g. a TCP server for
    /// `surveybench collect`) instead of a file; [`Run::console`] is then empty.
    pub console: Option<&'a str>,
    /// Run a kiosk that was never provisioned: no image in its provisioning region. By default
    /// the test kiosk's image is loaded there (`KIOSK_PROVISION`).
    pub unprovisioned: bool,
    /// Load this provisioning image (e.g. from `surveybench keys new`) instead of the test
    /// kiosk's.
    pub provision: Option<&'a Path>,
}

/// Runs `elf` on QEMU with `script` as its button board (UART0), a RAM-only flash and nothing
/// typed on its console; see [`run_with`].
///
/// # Errors
/// QEMU or the runner could not be started, or a file could not be written.
pub fn run(elf: &Path, script: &str, dir: &Path) -> Result<Run, String> {
    run_with(elf, script, dir, &Options::default())
}

/// Runs `elf` on QEMU through firmware/qemu-run.sh with `script` fed to UART0 (the button
/// board), the test provisioning image (written to `dir`) in its provisioning region, and UART1
/// (the staff console) written to a file in `dir`, whose export lines are returned (hang guard:
/// `QEMU_TIMEOUT`, default 300 s).
///
/// # Errors
/// QEMU or the runner could not be started, or a file could not be written or read.
pub fn run_with(elf: &Path, script: &str, dir: &Path, options: &Options<'_>) -> Result<Run, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display())).map(|()| path)
    };
    let script_path = write("kiosk-script.txt", script)?;
    let console_path = dir.join("console.txt");
    let mut cmd = Command::new(root().join("firmware/qemu-run.sh"));
    cmd.arg(elf)
        .env("KIOSK_SCRIPT", &script_path)
        .env("KIOSK_CONSOLE_FILE", &console_path)
        .env_remove("KIOSK_BUTTONS")
        .env_remove("KIOSK_CONSOLE")
        .env_remove("KIOSK_CONSOLE_INPUT")
        .env_remove("KIOSK_FLASH")
        .env_remove("KIOSK_PROVISION")
        .env("QEMU_TIMEOUT", std::env::var("QEMU_TIMEOUT").unwrap_or_else(|_| "300".to_owned()));
    match (options.provision, options.unprovisioned) {
        (_, true) => {}
        (Some(image), false) => {
            cmd.env("KIOSK_PROVISION", image);
        }
        (None, false) => {
            cmd.env("KIOSK_PROVISION", crate::provision::write_image(dir)?);
        }
    }
    if let Some(input) = options.console_input {
        cmd.env("KIOSK_CONSOLE_INPUT", write("console-input.txt", input)?);
    }
    if let Some(flash) = options.flash {
        cmd.env("KIOSK_FLASH", flash);
    }
    if let Some(chardev) = options.console {
        cmd.env("KIOSK_CONSOLE", chardev);
    }
    let out = cmd.output().map_err(|e| {
        format!("cannot run firmware/qemu-run.sh (QEMU and defmt-print: .ci/install-tools): {e}")
    })?;
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    let console = std::fs::read_to_string(&console_path).unwrap_or_default();
    let exports = console.lines().filter(|l| l.starts_with('{')).map(str::to_owned).collect();
    Ok(Run { code: out.status.code(), log, console, exports })
}
