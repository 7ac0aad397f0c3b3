//! `cargo xtask bench`: surveybench beside the R pipeline and a byte scan, on the same
//! generated files, in one run (docs/benchmarks.md). Runs only when asked, never in `ci`.
//!
//! Cases: surveybench on the national respondent CSV, on the national device exports, and on
//! the national CSV repeated 10 and 100 times; `host-cli/tests/r/svymean.R` (R survey) on the
//! national CSV; and a one-thread byte scan of each CSV in Python (read the file, count its
//! commas with `bytes.count`, which runs in C) as the floor. Each is run several times as a
//! child process; the table gives medians.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::{Measured, binary, measure, surveybench};
use crate::run::{cargo, root};

#[path = "../../host-cli/tests/r/instrument_csv.rs"]
mod instrument_csv;

/// Runs of each surveybench and byte-scan case, and of R and the large simulation (slower).
const RUNS: usize = 5;
const R_RUNS: usize = 3;

/// Respondents a year in the national simulation (`simulate`'s default) and in the 100x one.
const SIMULATED: [(&str, usize); 2] = [("national", 14_600), ("100x", 1_460_000)];

/// The floor: read the file and count its commas, on one thread, in C (Python's `bytes.count`).
const BYTE_SCAN: &str = "import sys; print(open(sys.argv[1], 'rb').read().count(b','))";

/// The row of the floor's own start: the byte scan of an empty file.
const START: &str = "byte scan, empty file (the floor's process start)";

/// One row of the table.
struct Row {
    case: String,
    respondents: u64,
    runs: Vec<Measured>,
    /// The floor's median for the same file, when there is one.
    floor: Option<f64>,
}

impl Row {
    fn median(&self) -> f64 {
        let mut s: Vec<f64> = self.runs.iter().map(|m| m.seconds).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn peak_mb(&self) -> f64 {
        self.runs.iter().map(|m| m.peak_mb).fold(0.0, f64::max)
    }
}

fn runs(program: &str, args: &[&str], n: usize) -> Result<Vec<Measured>, String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let m = measure(program, args)?;
        if m.code != Some(0) {
            return Err(format!("{program} {} exited {:?}", args.join(" "), m.code));
        }
        out.push(m);
    }
    Ok(out)
}

/// National respondents of a benchmark with `args` (inputs and flags).
fn respondents(args: &[&str]) -> Result<u64, String> {
    let json: serde_json::Value =
        serde_json::from_slice(&surveybench(&[&["benchmark"], args].concat())?).map_err(|e| e.to_string())?;
    json["national"]["respondents"].as_u64().ok_or_else(|| "no respondents".to_owned())
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The national CSV's body repeated `times` times under one header.
fn repeat(csv: &Path, times: usize, out: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(csv).map_err(|e| e.to_string())?;
    let (header, body) = text.split_once('\n').ok_or("no header")?;
    let mut big = String::with_capacity(text.len() * times);
    big.push_str(header);
    big.push('\n');
    for _ in 0..times {
        big.push_str(body);
    }
    let path = out.join(format!("respondents-x{times}.csv"));
    std::fs::write(&path, big).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Measures every case into rows.
fn measure_all(dir: &Path) -> Result<Vec<Row>, String> {
    let sim = dir.join("sim");
    surveybench(&["simulate", "--seed", "2024", "--out", &s(&sim)])?;
    let national = sim.join("2024/respondents.csv");
    let devices = sim.join("2024/devices");
    let keyring = sim.join("2024/keyring.toml");
    let csvs = [
        ("national", national.clone()),
        ("10x", repeat(&national, 10, dir)?),
        ("100x", repeat(&national, 100, dir)?),
    ];
    let bin = s(&binary());
    let mut rows = Vec::new();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").map_err(|e| e.to_string())?;
    rows.push(Row {
        case: START.into(),
        respondents: 0,
        runs: runs("python3", &["-c", BYTE_SCAN, &s(&empty)], RUNS)?,
        floor: None,
    });
    let mut floors = Vec::new();
    for (name, csv) in &csvs {
        let floor = Row {
            case: format!("byte scan, {name} CSV (floor)"),
            respondents: respondents(&[&s(csv)])?,
            runs: runs("python3", &["-c", BYTE_SCAN, &s(csv)], RUNS)?,
            floor: None,
        };
        floors.push(floor.median());
        rows.push(floor);
    }
    rows.push(Row {
        case: "surveybench, national device exports".into(),
        respondents: respondents(&["--keyring", &s(&keyring), &s(&devices)])?,
        runs: runs(&bin, &["benchmark", "--keyring", &s(&keyring), &s(&devices)], RUNS)?,
        floor: None,
    });
    for ((name, csv), floor) in csvs.iter().zip(&floors) {
        rows.push(Row {
            case: format!("surveybench, {name} CSV"),
            respondents: respondents(&[&s(csv)])?,
            runs: runs(&bin, &["benchmark", &s(csv)], RUNS)?,
            floor: Some(*floor),
        });
    }
    for (name, per_year) in SIMULATED {
        let out = s(&dir.join(format!("sim-{name}")));
        let args = ["simulate", "--seed", "2024", "--respondents", &per_year.to_string(), "--out", &out];
        let runs = runs(&bin, &args, if per_year > 100_000 { R_RUNS } else { RUNS })?;
        let years = ["2024", "2023"].map(|y| format!("{out}/{y}/respondents.csv"));
        rows.push(Row {
            case: format!("surveybench simulate, {name} (two years of files)"),
            respondents: respondents(&[&years[0]])? + respondents(&[&years[1]])?,
            runs,
            floor: None,
        });
    }
    let doc: serde_json::Value = serde_json::from_slice(&surveybench(&["instrument", "show", "cmh-2024"])?)
        .map_err(|e| e.to_string())?;
    let instrument = dir.join("instrument.csv");
    std::fs::write(&instrument, instrument_csv::instrument_csv(&doc)).map_err(|e| e.to_string())?;
    let script = s(&root().join("host-cli/tests/r/svymean.R"));
    let (r_out, r_sections) = (s(&dir.join("r.csv")), s(&dir.join("r-sections.csv")));
    let r_args = [script.as_str(), &s(&instrument), &s(&national), &r_out, &r_sections];
    rows.push(Row {
        case: "R survey (svymean.R), national CSV".into(),
        respondents: respondents(&[&s(&national)])?,
        runs: runs("Rscript", &r_args, R_RUNS)?,
        floor: floors.first().copied(),
    });
    Ok(rows)
}

/// The machine, for the record.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map_or_else(|_| "?".to_owned(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    format!("{cpu}, {cores} cores, measured {date}")
}

fn table(rows: &[Row]) -> String {
    let r_median = rows.iter().find(|r| r.case.starts_with("R ")).map(Row::median);
    let mut t = String::from(
        "| case | respondents | median s | us per respondent | respondents/s | R's time / this | this / floor | peak RSS MB |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let m = r.median();
        if r.respondents == 0 {
            let _ = writeln!(t, "| {} | 0 | {m:.3} | - | - | - | - | {:.0} |", r.case, r.peak_mb());
            continue;
        }
        let per = m * 1e6 / r.respondents as f64;
        // R runs on the national CSV only: compare it with the national runs alone.
        let national = r.case.contains("national") && !r.case.starts_with("byte");
        let vs_r = r_median.filter(|_| national).map_or("-".to_owned(), |rm| format!("{:.0}x", rm / m));
        let vs_floor = r.floor.map_or("-".to_owned(), |f| format!("{:.1}x", m / f));
        let _ = writeln!(
            t,
            "| {} | {} | {m:.3} | {per:.3} | {:.0} | {vs_r} | {vs_floor} | {:.0} |",
            r.case,
            r.respondents,
            r.respondents as f64 / m,
            r.peak_mb()
        );
    }
    t
}

/// How the cost of a CSV benchmark grows with its size: the time each added respondent costs
/// from the national CSV to 10x and from 10x to 100x (the slope, without the fixed cost of
/// starting, allocating and writing the output), and the fixed cost the national run implies.
fn growth(rows: &[Row]) -> String {
    let csv: Vec<(f64, f64)> = ["national", "10x", "100x"]
        .iter()
        .filter_map(|n| rows.iter().find(|r| r.case == format!("surveybench, {n} CSV")))
        .map(|r| (r.respondents as f64, r.median()))
        .collect();
    let [(n1, t1), (n10, t10), (n100, t100)] = csv[..] else {
        return "Cost growth: not measured.\n".to_owned();
    };
    let (low, high) = ((t10 - t1) / (n10 - n1), (t100 - t10) / (n100 - n10));
    let fixed = t1 - n1 * low;
    format!(
        "Cost growth (CSV): each added respondent costs {:.3} us from the national file to 10x and \
         {:.3} us from 10x to 100x (ratio {:.2}; flat within 20% means 0.80 to 1.20). The national \
         run's fixed cost (process start, tallies, estimates, writing the JSON) is then about {:.1} ms \
         of its {:.1} ms.\n",
        low * 1e6,
        high * 1e6,
        high / low,
        fixed * 1e3,
        t1 * 1e3
    )
}

/// The 100x comparison with the floor once the floor's process start (Python's) is taken out
/// of it: the scan alone, and surveybench's time as a multiple of it.
fn floor_alone(rows: &[Row]) -> String {
    let median = |case: &str| rows.iter().find(|r| r.case == case).map(Row::median);
    let (Some(start), Some(scan), Some(ours)) =
        (median(START), median("byte scan, 100x CSV (floor)"), median("surveybench, 100x CSV"))
    else {
        return String::new();
    };
    format!(
        "The floor includes Python's start ({:.0} ms, the scan of an empty file): the 100x scan alone \
         takes {:.3} s, and surveybench on the 100x CSV {:.1}x that (its own figure includes its \
         process start).\n",
        start * 1e3,
        scan - start,
        ours / (scan - start)
    )
}

/// `cargo xtask bench`: builds the release binary, generates the files in a temporary folder,
/// measures every case, prints the table and writes it to docs/benchmarks.md.
pub fn bench() -> Result<(), String> {
    cargo(&["build", "--release", "-p", "surveybench", "--locked"])?;
    let dir = std::env::temp_dir().join(format!("surveybench-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let rows = measure_all(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let rows = rows?;
    let table = format!("{}\n{}\n{}", table(&rows), growth(&rows), floor_alone(&rows));
    println!("{table}");
    let doc = format!(
        "# Benchmarks\n\nWritten by `cargo xtask bench` (xtask/src/bench.rs); do not edit by hand. Machine: {}.\n\n\
         Every case runs as its own process on the same generated files (the national simulation,\n\
         seed 2024, and its respondent CSV repeated 10 and 100 times); the figure is the median of\n\
         {RUNS} runs ({R_RUNS} for R and the 100x simulation), wall time including process start. \"This / floor\" compares\n\
         with a one-thread byte scan of the same file (Python reads it and counts commas with\n\
         `bytes.count`, in C); \"R's time / this\"\n\
         with `host-cli/tests/r/svymean.R` (R survey: standardised means and SEs) on the national CSV.\n\
         Peak RSS is the largest of the runs.\n\n{table}",
        machine()
    );
    std::fs::write(root().join("docs/benchmarks.md"), doc).map_err(|e| e.to_string())?;
    println!("written to docs/benchmarks.md");
    Ok(())
}
