//! `cargo xtask stress`: memory and time of the host on hostile or huge inputs (issue "never a
//! silently wrong benchmark", section 7). A bench command that prints figures, run only when
//! asked; never part of `ci`. Each case runs the release `surveybench` as a child process and
//! reads its peak resident set size from `getrusage(RUSAGE_CHILDREN)`, beside a baseline run
//! (the national benchmark from device exports) in the same session.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::run::{cargo, root};

/// One measured run.
struct Measured {
    seconds: f64,
    peak_mb: f64,
    code: Option<i32>,
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

/// Runs the release binary once with `args` in a fresh child of a fresh `xtask` (so the peak
/// is this run's alone).
fn measure(args: &[&str]) -> Result<Measured, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let out =
        Command::new(me).arg("stress-one").args(args).output().map_err(|e| format!("cannot run: {e}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let peak_mb =
        words.next().and_then(|w| w.parse().ok()).ok_or(format!("no figure from stress-one: {text}"))?;
    let code = words.next().and_then(|w| w.parse().ok());
    Ok(Measured { seconds, peak_mb, code })
}

/// `xtask stress-one ARGS`: runs `surveybench ARGS` (stdout and stderr discarded) and prints
/// its peak RSS in MB and its exit code.
pub fn one(args: &[String]) -> Result<(), String> {
    let status = Command::new(binary())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run surveybench: {e}"))?;
    println!("{:.1} {}", children_peak_mb(), status.code().unwrap_or(-1));
    Ok(())
}

fn binary() -> PathBuf {
    root().join("target/release/surveybench")
}

fn surveybench(args: &[&str]) -> Result<(), String> {
    let status = Command::new(binary()).args(args).status().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("surveybench {} failed", args.join(" "))) }
}

/// The first export in `devices` (not an older snapshot), and its device id.
fn template(devices: &Path) -> Result<(String, String), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(devices)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.to_string_lossy().contains("seq"))
        .collect();
    files.sort();
    let first = files.first().ok_or("no export simulated")?;
    let text = std::fs::read_to_string(first).map_err(|e| e.to_string())?;
    let device = text
        .split("\"device\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no device field")?
        .to_owned();
    Ok((text.trim().to_owned(), device))
}

/// A case: its name, the goal, and the `surveybench` arguments.
type Case = (String, &'static str, Vec<String>);

/// Generates the inputs under `dir` and returns the cases.
fn cases(dir: &Path) -> Result<Vec<Case>, String> {
    let s = |p: &Path| p.display().to_string();
    let sim = dir.join("sim");
    surveybench(&["simulate", "--seed", "1", "--out", &s(&sim)])?;
    let fft = dir.join("fft");
    surveybench(&[
        "simulate",
        "--instrument",
        "fft",
        "--trusts",
        "3",
        "--respondents",
        "60",
        "--out",
        &s(&fft),
    ])?;
    // 100,000 small exports: FFT kiosks, one file each.
    let (fft_export, fft_device) = template(&fft.join("2024/devices"))?;
    let many = dir.join("many");
    std::fs::create_dir_all(&many).map_err(|e| e.to_string())?;
    for i in 0..100_000 {
        let text =
            fft_export.replace(&format!("\"device\":\"{fft_device}\""), &format!("\"device\":\"k{i}\""));
        std::fs::write(many.join(format!("k{i}.json")), text).map_err(|e| e.to_string())?;
    }
    // About 1 GB of cmh-2024 exports in one .jsonl, a device a line.
    let (cmh_export, cmh_device) = template(&sim.join("2024/devices"))?;
    let mut big = String::new();
    let lines = 1_000_000_000 / (cmh_export.len() + 1) + 1;
    for i in 0..lines {
        let line =
            cmh_export.replace(&format!("\"device\":\"{cmh_device}\""), &format!("\"device\":\"d{i}\""));
        let _ = writeln!(big, "{line}");
    }
    let jsonl = dir.join("big.jsonl");
    std::fs::write(&jsonl, &big).map_err(|e| e.to_string())?;
    drop(big);
    // One 500 MB line that names another instrument.
    let mut bad =
        String::from("{\"format\":\"surveybench-tally\",\"version\":1,\"instrument\":\"other\",\"pad\":\"");
    bad.push_str(&"x".repeat(500_000_000));
    bad.push_str("\"}\n");
    let bad_line = dir.join("bad.jsonl");
    std::fs::write(&bad_line, bad).map_err(|e| e.to_string())?;
    // A header of a million columns.
    let mut wide = String::from("trust");
    for i in 0..1_000_000 {
        let _ = write!(wide, ",c{i}");
    }
    wide.push_str("\nRT5\n");
    let wide_csv = dir.join("wide.csv");
    std::fs::write(&wide_csv, wide).map_err(|e| e.to_string())?;
    let fft_args = |p: &Path| vec!["benchmark".into(), "--instrument".into(), "fft".into(), s(p)];
    Ok(vec![
        (
            "national, device exports (baseline)".into(),
            "-",
            vec!["benchmark".into(), s(&sim.join("2024/devices"))],
        ),
        ("100,000 small exports".into(), "<= 500 MB", fft_args(&many)),
        (
            format!("{:.2} GB .jsonl ({lines} exports)", jsonl_size(&jsonl)),
            "<= 1 GB",
            vec!["benchmark".into(), s(&jsonl)],
        ),
        ("500 MB line naming another instrument".into(), "<= 1 GB", vec!["benchmark".into(), s(&bad_line)]),
        ("header of 10^6 columns".into(), "refused in <= 2 s", fft_args(&wide_csv)),
    ])
}

fn jsonl_size(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e9)
}

/// `cargo xtask stress`: builds the release binary, generates the inputs in a temporary folder
/// (about 1.7 GB, removed after), and prints wall time, peak RSS and exit code per case.
pub fn stress() -> Result<(), String> {
    cargo(&["build", "--release", "-p", "surveybench", "--locked"])?;
    let dir = std::env::temp_dir().join(format!("surveybench-stress-{}", std::process::id()));
    let result = cases(&dir).and_then(|cases| {
        println!("| case | goal | wall s | peak RSS MB | exit |");
        println!("|---|---|---|---|---|");
        for (name, goal, args) in cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let m = measure(&args)?;
            let code = m.code.map_or("-".to_owned(), |c| c.to_string());
            println!("| {name} | {goal} | {:.2} | {:.0} | {code} |", m.seconds, m.peak_mb);
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
