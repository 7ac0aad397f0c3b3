//! `cargo xtask stress`: memory and time of the host on hostile or huge inputs (issue "never a
//! silently wrong benchmark", section 7). A bench command that prints figures, run only when
//! asked; never part of `ci`. Each case runs the release `surveybench` as a child process and
//! reads its peak resident set size from `getrusage(RUSAGE_CHILDREN)`, beside a baseline run
//! (the national benchmark from device exports) in the same session.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::{binary, measure};
use crate::run::cargo;

fn surveybench(args: &[&str]) -> Result<(), String> {
    let status = Command::new(binary()).args(args).status().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("surveybench {} failed", args.join(" "))) }
}

/// The first export in `devices` (not an older snapshot) as an unsigned (version 1) export,
/// and its device id. The copies made of it differ in their device id, which no signature
/// would survive: the stress cases read them with `--allow-unsigned` (they measure memory;
/// signature checks are measured by `cargo xtask bench`).
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
    Ok((unsigned(text.trim())?, device))
}

/// `export` (signed, version 2) as version 1: no `key`, no `signature`.
fn unsigned(export: &str) -> Result<String, String> {
    let body = export.rsplit_once(",\"signature\":").ok_or("export is not signed")?.0;
    let key_at = body.find(",\"key\":\"").ok_or("no key field")?;
    let key_end = body[key_at + 8..].find('"').ok_or("no key field")? + key_at + 9;
    Ok(format!("{}{}}}", &body[..key_at], &body[key_end..]).replacen("\"version\":2,", "\"version\":1,", 1))
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
    let fft_args = |p: &Path| {
        vec!["benchmark".into(), "--instrument".into(), "fft".into(), "--allow-unsigned".into(), s(p)]
    };
    Ok(vec![
        (
            "national, device exports (baseline)".into(),
            "-",
            vec![
                "benchmark".into(),
                "--keyring".into(),
                s(&sim.join("2024/keyring.toml")),
                s(&sim.join("2024/devices")),
            ],
        ),
        ("100,000 small exports".into(), "<= 500 MB", fft_args(&many)),
        (
            format!("{:.2} GB .jsonl ({lines} exports)", jsonl_size(&jsonl)),
            "<= 1 GB",
            vec!["benchmark".into(), "--allow-unsigned".into(), s(&jsonl)],
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
            let m = measure(&binary().display().to_string(), &args)?;
            let code = m.code.map_or("-".to_owned(), |c| c.to_string());
            println!("| {name} | {goal} | {:.2} | {:.0} | {code} |", m.seconds, m.peak_mb);
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_signed_export_loses_its_key_and_signature() {
        let signed =
            r#"{"format":"f","version":2,"sequence":1,"key":"0a1b","strata":9,"pairs":[],"signature":"ff"}"#;
        let want = r#"{"format":"f","version":1,"sequence":1,"strata":9,"pairs":[]}"#;
        assert_eq!(super::unsigned(signed).unwrap(), want);
        assert!(super::unsigned(want).is_err());
    }
}
