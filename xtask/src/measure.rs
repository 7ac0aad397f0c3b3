//! Measuring one run of a program: wall time, peak resident set size and exit code. The run
//! happens in a fresh child `xtask measure-one`, which runs the program as its only child and
//! reads the peak from `getrusage(RUSAGE_CHILDREN)`, so every figure is that run's alone.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::run::root;

/// One measured run.
pub struct Measured {
    /// Wall-clock seconds, including process start.
    pub seconds: f64,
    /// Peak resident set size in megabytes.
    pub peak_mb: f64,
    /// Exit code.
    pub code: Option<i32>,
}

/// The release `surveybench` binary.
pub fn binary() -> PathBuf {
    root().join("target/release/surveybench")
}

/// Runs the release binary with `args`; its standard output, or an error with its stderr.
///
/// # Errors
/// It cannot start, or exits unsuccessfully.
pub fn surveybench(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new(binary()).args(args).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("surveybench {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)))
    }
}

/// Peak RSS of the largest child waited for so far, in megabytes.
#[allow(unsafe_code, reason = "getrusage has no safe wrapper in std")]
fn children_peak_mb() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable rusage; getrusage only writes into it.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } == 0;
    if !ok {
        return f64::NAN;
    }
    // SAFETY: getrusage succeeded, so it initialised the struct.
    let usage = unsafe { usage.assume_init() };
    // ru_maxrss is in kilobytes on Linux.
    usage.ru_maxrss as f64 / 1024.0
}

/// Runs `program args` once and measures it: the wall time is taken inside the child `xtask
/// measure-one`, around the program alone, so its own start is not counted.
pub fn measure(program: &str, args: &[&str]) -> Result<Measured, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(me)
        .arg("measure-one")
        .arg(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let mut figure = || words.next().and_then(|w| w.parse::<f64>().ok());
    let (peak_mb, code, seconds) = (figure(), figure(), figure());
    let (Some(peak_mb), Some(seconds)) = (peak_mb, seconds) else {
        return Err(format!("no figures from measure-one: {text}"));
    };
    #[allow(clippy::cast_possible_truncation, reason = "an exit code printed as an integer")]
    let code = code.map(|c| c as i32);
    Ok(Measured { seconds, peak_mb, code })
}

/// `xtask measure-one PROGRAM ARGS`: runs it (output discarded) and prints its peak RSS in MB,
/// its exit code and its wall time in seconds.
pub fn one(args: &[String]) -> Result<(), String> {
    let (program, rest) = args.split_first().ok_or("measure-one PROGRAM ARGS")?;
    let start = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let seconds = start.elapsed().as_secs_f64();
    println!("{:.1} {} {seconds:.6}", children_peak_mb(), status.code().unwrap_or(-1));
    Ok(())
}
