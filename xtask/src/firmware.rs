//! Firmware tasks: `cargo xtask qemu`, `cargo xtask size`, and the firmware steps of `ci`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ci::{Step, TARGET};
use crate::run::{cargo, cargo_env, root};

/// The firmware package.
pub const PACKAGE: &str = "surveybench-firmware";
/// The size budget file: limits, and the figures last blessed.
pub const BUDGET: &str = "firmware/size-budget.txt";
/// The kiosk's provisioning region (firmware/memory.x `PROVISION`): no section of the firmware
/// may lie in it.
const PROVISION: std::ops::Range<u64> = 0x003F_F000..0x0040_0000;

/// Writes the test kiosk's provisioning image (a test-only key, `surveybench_tests::provision`)
/// into target/provision and returns its path, for `KIOSK_PROVISION`.
///
/// # Errors
/// The file could not be written.
pub fn test_provision() -> Result<PathBuf, String> {
    surveybench_tests::provision::write_image(&root().join("target/provision"))
}

/// The firmware ELF of the `fw` profile.
#[must_use]
pub fn elf() -> PathBuf {
    root().join(format!("target/{TARGET}/fw/{PACKAGE}"))
}

/// Where [`build_as`] keeps the ELF of a build with other features, beside [`elf`].
#[must_use]
pub fn variant(name: &str) -> PathBuf {
    root().join(format!("target/{TARGET}/fw/{PACKAGE}-{name}"))
}

/// Builds the firmware with `features` and copies the ELF to [`variant`]`(name)`, so that the
/// default build, which writes the same file, does not replace it.
///
/// # Errors
/// The build or the copy failed.
pub fn build_as(features: &[&str], name: &str) -> Result<PathBuf, String> {
    let built = build(features)?;
    let kept = variant(name);
    std::fs::copy(&built, &kept).map_err(|e| format!("{}: {e}", kept.display()))?;
    Ok(kept)
}

/// Builds the firmware (`fw` profile: size-optimised, fat LTO) with `features`.
///
/// # Errors
/// The build failed.
pub fn build(features: &[&str]) -> Result<PathBuf, String> {
    let mut args = vec!["build", "-p", PACKAGE, "--target", TARGET, "--profile", "fw", "--locked"];
    if !features.is_empty() {
        args.push("--features");
        args.extend(features);
    }
    cargo(&args)?;
    Ok(elf())
}

/// How `cargo xtask qemu` provisions the kiosk.
enum Provisioning {
    /// The test kiosk's image ([`test_provision`]).
    Test,
    /// An image file (e.g. from `surveybench keys new`).
    Image(PathBuf),
    /// None: the kiosk collects responses but does not export.
    None,
}

/// `cargo xtask qemu [--script FILE] [--flash FILE] [--provision FILE | --unprovisioned]
/// [--features F]`: builds the firmware and runs a session on QEMU in virtual time: `--script`
/// plays FILE as the button board (UART0; the compiled-in demo without it), `--flash` backs the
/// kiosk's flash by FILE, `--provision` loads FILE as its provisioning image (by default the
/// test kiosk's, whose key is test-only; `--unprovisioned` for none). The staff console (UART1,
/// with the export JSON) goes to stderr, the defmt log to stdout.
///
/// # Errors
/// Bad arguments, a failed build, or a non-zero exit of the firmware.
pub fn qemu(args: &[String]) -> Result<(), String> {
    let mut script = None;
    let mut flash = None;
    let mut provisioning = Provisioning::Test;
    let mut features = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--script" => script = it.next().map(PathBuf::from),
            "--flash" => flash = it.next().map(PathBuf::from),
            "--provision" => {
                provisioning = Provisioning::Image(it.next().map(PathBuf::from).ok_or("--provision FILE")?);
            }
            "--unprovisioned" => provisioning = Provisioning::None,
            "--features" => features.extend(it.next().map(String::as_str)),
            other => return Err(format!("qemu: unknown argument `{other}`")),
        }
    }
    let elf = build(&features)?;
    let mut cmd = Command::new(root().join("firmware/qemu-run.sh"));
    cmd.arg(&elf).env_remove("KIOSK_PROVISION");
    match provisioning {
        Provisioning::Test => {
            cmd.env("KIOSK_PROVISION", test_provision()?);
        }
        Provisioning::Image(file) => {
            let file = std::fs::canonicalize(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            cmd.env("KIOSK_PROVISION", file);
        }
        Provisioning::None => {}
    }
    if let Some(s) = script {
        let s = std::fs::canonicalize(&s).map_err(|e| format!("{}: {e}", s.display()))?;
        cmd.env("KIOSK_SCRIPT", s);
    }
    if let Some(f) = flash {
        let f = if f.is_absolute() { f } else { std::env::current_dir().map_err(|e| e.to_string())?.join(f) };
        cmd.env("KIOSK_FLASH", f);
    }
    let status = cmd.status().map_err(|e| format!("cannot run QEMU: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("firmware exited with {status}")) }
}

/// Sections of an ELF, from `llvm-size -A`: name, size and address.
fn sections(elf: &Path) -> Result<Vec<(String, u64, u64)>, String> {
    let sysroot = capture("rustc", &["--print", "sysroot"])?;
    let host = capture("rustc", &["-vV"])?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or("rustc -vV names no host")?;
    let tool = PathBuf::from(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/llvm-size"));
    let out =
        capture(tool.to_str().ok_or("non-UTF-8 sysroot")?, &["-A", elf.to_str().ok_or("non-UTF-8 path")?])
            .map_err(|e| format!("{e} (llvm-size comes with `rustup component add llvm-tools`)"))?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name, size, addr) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            name.starts_with('.').then(|| (name.to_owned(), size, addr))
        })
        .collect())
}

fn capture(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {} failed", args.join(" ")));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// Flash (vector table, code, read-only data, initialised data) and static RAM (initialised
/// and zeroed data, `.uninit`) of an ELF. `.storage`, the RAM standing in for the kiosk's NOR
/// flash, is neither.
fn footprint(elf: &Path) -> Result<(u64, u64), String> {
    let s = sections(elf)?;
    let size = |names: &[&str]| {
        s.iter().filter(|(n, _, _)| names.contains(&n.as_str())).map(|(_, v, _)| v).sum::<u64>()
    };
    let flash = size(&[".vector_table", ".text", ".rodata", ".data"]);
    let ram = size(&[".data", ".bss", ".uninit"]);
    Ok((flash, ram))
}

/// The budget file's `key value` lines.
fn budget() -> Result<Vec<(String, u64)>, String> {
    let path = root().join(BUDGET);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(' ').ok_or(format!("{BUDGET}: bad line `{l}`"))?;
            let v = v.trim().parse().map_err(|_| format!("{BUDGET}: bad number in `{l}`"))?;
            Ok((k.to_owned(), v))
        })
        .collect()
}

/// The sections of `elf` that lie in the provisioning region: none may, or the firmware image
/// would hold (or overwrite) a kiosk's key.
fn in_provisioning(elf: &Path) -> Result<Vec<String>, String> {
    Ok(sections(elf)?
        .into_iter()
        .filter(|(_, size, addr)| *size > 0 && *addr < PROVISION.end && addr + size > PROVISION.start)
        .map(|(name, size, addr)| format!("{name} ({size} B at {addr:#x})"))
        .collect())
}

/// What one run of the demo session under QEMU measured.
struct Measured {
    /// The stack's high-water mark the firmware logged at the end of the session.
    stack: u64,
    /// Instructions to commit and save the first response (ticks of CMSDK APB timer 0 x 40
    /// under `-icount shift=0`), if the session committed one.
    instructions: Option<u64>,
    /// Instructions to sign the session's export and write it to the console (the same way),
    /// if it wrote one.
    export_instructions: Option<u64>,
}

/// Runs the compiled-in demo session on QEMU with `-icount shift=0,sleep=off` (one
/// instruction per ns of virtual time, so 40 per tick of the 25 MHz APB timer 0; idle time
/// skipped), a RAM-only flash, the test provisioning and the console discarded, and reads its
/// log.
fn measure(elf: &Path) -> Result<Measured, String> {
    let out = Command::new(root().join("firmware/qemu-run.sh"))
        .arg(elf)
        .env("KIOSK_PROVISION", test_provision()?)
        .env("QEMU_ICOUNT", "shift=0,sleep=off")
        .env("QEMU_TIMEOUT", "120")
        .env("KIOSK_CONSOLE", "null")
        .env_remove("QEMU_EXTRA")
        .env_remove("KIOSK_SCRIPT")
        .env_remove("KIOSK_BUTTONS")
        .env_remove("KIOSK_FLASH")
        .output()
        .map_err(|e| format!("cannot run QEMU: {e}"))?;
    let log = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("the demo session failed under QEMU ({}):\n{log}", out.status));
    }
    let number_after = |marker: &str| {
        log.lines().find_map(|l| l.split_once(marker)?.1.split_whitespace().next()?.parse::<u64>().ok())
    };
    let stack = number_after("stack: peak ").ok_or("the firmware logged no `stack: peak` line")?;
    let instructions = number_after("committed and saved in ").map(|ticks| ticks * 40);
    let export_instructions = number_after("to the console (UART1) in ").map(|ticks| ticks * 40);
    Ok(Measured { stack, instructions, export_instructions })
}

/// `cargo xtask size [--bless] [--no-build]`: builds the `cmh-2024` firmware, checks that no
/// section lies in the provisioning region, runs its demo session under QEMU (provisioned with
/// the test key), and checks flash, and static RAM plus the measured peak stack, against the
/// limits in [`BUDGET`]; `--bless` records the figures.
///
/// # Errors
/// A section in the provisioning region, over budget, or the build, the QEMU run or the budget
/// file failed.
pub fn size(args: &[String]) -> Result<(), String> {
    let bless = args.iter().any(|a| a == "--bless");
    let elf = if args.iter().any(|a| a == "--no-build") { elf() } else { build(&[])? };
    let trespassing = in_provisioning(&elf)?;
    if !trespassing.is_empty() {
        return Err(format!(
            "the firmware image has sections in the provisioning region {:#x}..{:#x}: {}",
            PROVISION.start,
            PROVISION.end,
            trespassing.join(", ")
        ));
    }
    let (flash, ram) = footprint(&elf)?;
    let measured = measure(&elf)?;
    let total = ram + measured.stack;
    let b = budget()?;
    let get = |k: &str| b.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let flash_limit = get("flash_limit").ok_or("budget has no flash_limit")?;
    let ram_limit = get("ram_limit").ok_or("budget has no ram_limit")?;
    let delta = |now: u64, k: &str| {
        get(k).map_or(String::new(), |was| format!(" ({:+} since blessed)", now as i64 - was as i64))
    };
    println!("size (cmh-2024, profile fw; stack from the demo session under QEMU):");
    println!("  flash        {flash} B of {flash_limit}{}", delta(flash, "flash"));
    println!("  static RAM   {ram} B{}", delta(ram, "static_ram"));
    println!("  peak stack   {} B{}", measured.stack, delta(measured.stack, "peak_stack"));
    println!("  RAM total    {total} B of {ram_limit}{}", delta(total, "ram_total"));
    if let Some(n) = measured.instructions {
        println!("  instructions {n} per committed and saved response{}", delta(n, "instructions"));
    }
    if let Some(n) = measured.export_instructions {
        println!("  instructions {n} per signed export{}", delta(n, "export_instructions"));
    }
    if bless {
        write_budget(
            flash_limit,
            ram_limit,
            &[
                ("flash", flash),
                ("static_ram", ram),
                ("peak_stack", measured.stack),
                ("ram_total", total),
                ("instructions", measured.instructions.unwrap_or(0)),
                ("export_instructions", measured.export_instructions.unwrap_or(0)),
            ],
        )?;
    }
    if flash > flash_limit || total > ram_limit {
        return Err(format!(
            "over budget: flash {flash}/{flash_limit} B, RAM {total}/{ram_limit} B (static {ram} + stack {})",
            measured.stack
        ));
    }
    Ok(())
}

/// Writes [`BUDGET`]: the limits, then the measured `figures`.
fn write_budget(flash_limit: u64, ram_limit: u64, figures: &[(&str, u64)]) -> Result<(), String> {
    let mut text = format!(
        "# Firmware size budget, checked by `cargo xtask size` (and `cargo xtask ci`) for the\n\
         # default build (cmh-2024, profile fw). Flash = .vector_table + .text + .rodata + .data;\n\
         # static RAM = .data + .bss + .uninit (the RAM-backed .storage stands in for NOR flash);\n\
         # peak stack = the high-water mark the firmware logs after its demo session under QEMU;\n\
         # RAM total = static RAM + peak stack, against ram_limit (memory.x gives the firmware\n\
         # that much RAM, so more faults anyway). Instructions per committed and saved response,\n\
         # and per signed export (signing included, written to the console), are counted under\n\
         # `-icount shift=0` in the same run, provisioned with the test key (reported, not limited).\n\
         flash_limit {flash_limit}\nram_limit {ram_limit}\n\
         # Last measured; `cargo xtask size --bless` updates these lines.\n"
    );
    for (key, value) in figures {
        text.push_str(&format!("{key} {value}\n"));
    }
    std::fs::write(root().join(BUDGET), text).map_err(|e| format!("{BUDGET}: {e}"))
}

/// Runs `cargo args` with `env`, killing it after `limit` (a hang guard, not a speed test).
fn cargo_with_timeout(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Result<(), String> {
    let mut child = cargo_env(args, env)?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("`cargo {}` failed ({status})", args.join(" ")))
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return Err(format!("`cargo {}` did not finish within {limit:?}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The firmware steps of `cargo xtask ci`, in order.
#[must_use]
pub fn ci_steps() -> Vec<Step> {
    vec![
        (
            "firmware logic on the host (flow, drivers, power cuts)",
            Box::new(|| cargo(&["test", "-p", PACKAGE, "--locked"])),
        ),
        (
            "clippy (firmware, host and target)",
            Box::new(|| {
                cargo(&["clippy", "-p", PACKAGE, "--all-targets", "--locked", "--", "-D", "warnings"])?;
                cargo(&[
                    "clippy",
                    "-p",
                    PACKAGE,
                    "--target",
                    TARGET,
                    "--lib",
                    "--bins",
                    "--test",
                    "on_target",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ])
            }),
        ),
        (
            "firmware build with fft, scripted session under QEMU",
            Box::new(|| {
                let elf = build_as(&["fft"], "fft")?;
                let (flash, ram) = footprint(&elf)?;
                let stack = measure(&elf)?.stack;
                println!("size (fft, profile fw): flash {flash} B, static RAM {ram} B, peak stack {stack} B");
                Ok(())
            }),
        ),
        (
            "firmware build with idle-submit, scripted session under QEMU",
            Box::new(|| {
                let elf = build_as(&["idle-submit"], "idle-submit")?;
                let stack = measure(&elf)?.stack;
                println!("idle-submit: the demo session ran clean, peak stack {stack} B");
                Ok(())
            }),
        ),
        ("firmware build (cmh-2024)", Box::new(|| build(&[]).map(|_| ()))),
        (
            "on-target tests (defmt-test under QEMU)",
            Box::new(|| {
                cargo_with_timeout(
                    &["test", "-p", PACKAGE, "--target", TARGET, "--test", "on_target", "--locked"],
                    &[("QEMU_TIMEOUT", "120")],
                    Duration::from_secs(900),
                )
            }),
        ),
        (
            "end-to-end under QEMU",
            Box::new(|| {
                let (elf, fft) = (elf(), variant("fft"));
                let elf = elf.to_str().ok_or("non-UTF-8 path")?;
                let fft = fft.to_str().ok_or("non-UTF-8 path")?;
                cargo_with_timeout(
                    &["test", "-p", "surveybench-tests", "--locked"],
                    &[
                        ("SURVEYBENCH_FIRMWARE_ELF", elf),
                        ("SURVEYBENCH_FIRMWARE_FFT_ELF", fft),
                        ("QEMU_TIMEOUT", "300"),
                    ],
                    Duration::from_secs(900),
                )
            }),
        ),
        ("firmware size budget", Box::new(|| size(&["--no-build".to_owned()]))),
    ]
}
