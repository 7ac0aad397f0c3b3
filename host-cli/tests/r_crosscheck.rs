//! Cross-check of the standardised trust question scores and SEs (method.md §2-§5), and of the
//! section scores and their SEs with the covariance term C_jkl (§6), against an independent
//! implementation in R with `survey::svymean` and a respondent-level covariance
//! (tests/r/svymean.R).
//!
//! Needs `Rscript` with the `survey` package (install with `.ci/install-tools`). Without them
//! the test fails, unless `SURVEYBENCH_SKIP_R=1` is set, in which case it says it was skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[path = "r/instrument_csv.rs"]
mod instrument_csv;
use instrument_csv::instrument_csv;

/// Relative tolerance for score and SE.
const REL_TOL: f64 = 1e-9;
/// Fewest non-suppressed (trust, question) pairs for the check to mean anything.
const MIN_COMPARED: usize = 200;
/// Fewest non-suppressed (trust, section) pairs for the section check to mean anything.
const MIN_SECTIONS_COMPARED: usize = 40;

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `true` when R is usable; panics (or, with `SURVEYBENCH_SKIP_R=1`, returns `false`) if not.
fn rscript_available() -> bool {
    let skip = std::env::var("SURVEYBENCH_SKIP_R").is_ok_and(|v| v == "1");
    match Command::new("Rscript").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        other => {
            let why = match other {
                Ok(o) => format!("`Rscript --version` exited with {}", o.status),
                Err(e) => format!("`Rscript` not runnable: {e}"),
            };
            if skip {
                println!("r_crosscheck SKIPPED (SURVEYBENCH_SKIP_R=1): {why}");
                false
            } else {
                panic!(
                    "{why}. The R cross-check needs R and r-cran-survey: run .ci/install-tools \
                     (or set SURVEYBENCH_SKIP_R=1 to skip this test deliberately)"
                );
            }
        }
    }
}

/// R's figures for one trust and question.
struct RRow {
    n: u32,
    mean_se: Option<(f64, f64)>,
}

fn read_r_output(path: &Path) -> BTreeMap<(String, String), RRow> {
    let text = std::fs::read_to_string(path).expect("R output");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("trust,question,n,mean,se"), "R output header");
    let mut rows = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 5, "R output row {line:?}");
        let mean_se = match (f[3].trim(), f[4].trim()) {
            ("", "") => None,
            (m, s) => Some((m.parse().expect("R mean"), s.parse().expect("R se"))),
        };
        let row = RRow { n: f[2].trim().parse().expect("R n"), mean_se };
        assert!(rows.insert((f[0].to_owned(), f[1].to_owned()), row).is_none(), "duplicate {line:?}");
    }
    rows
}

/// R's figures for one trust and section: the smallest question n and, when no question is
/// suppressed, score and SE.
struct RSection {
    min_n: u32,
    score_se: Option<(f64, f64)>,
}

fn read_r_sections(path: &Path) -> BTreeMap<(String, String), RSection> {
    let text = std::fs::read_to_string(path).expect("R section output");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("trust,section,questions,min_n,score,se"), "R section header");
    let mut rows = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "R section row {line:?}");
        let score_se = match (f[4].trim(), f[5].trim()) {
            ("", "") => None,
            (m, s) => Some((m.parse().expect("R section score"), s.parse().expect("R section se"))),
        };
        let row = RSection { min_n: f[3].trim().parse().expect("R min_n"), score_se };
        assert!(rows.insert((f[0].to_owned(), f[1].to_owned()), row).is_none(), "duplicate {line:?}");
    }
    rows
}

/// Compares bench.json `sections[].results[]` with R; returns the number compared and the
/// largest relative differences of score and SE, pushing disagreements onto `failures`.
fn compare_sections(
    bench: &Value,
    r_rows: &BTreeMap<(String, String), RSection>,
    failures: &mut Vec<String>,
) -> (usize, f64, f64) {
    let mut rust_pairs = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let (mut compared, mut max_score, mut max_se) = (0usize, 0.0f64, 0.0f64);
    for item in bench["sections"].as_array().expect("sections") {
        let sid = item["id"].as_str().expect("section id");
        for res in item["results"].as_array().expect("section results") {
            let trust = res["trust"].as_str().expect("trust").to_owned();
            let key = (trust.clone(), sid.to_owned());
            seen.insert(key.clone());
            if !r_rows.contains_key(&key) {
                failures.push(format!("{trust} section {sid}: in bench.json but not in R output"));
            }
            if res["suppressed"].as_bool().expect("suppressed") {
                continue;
            }
            rust_pairs.insert(key.clone());
            let (Some(score), Some(se)) = (res["score"].as_f64(), res["se"].as_f64()) else {
                failures.push(format!("{trust} section {sid}: not suppressed but score/se missing"));
                continue;
            };
            let Some((r_score, r_se)) = r_rows.get(&key).and_then(|r| r.score_se) else { continue };
            compared += 1;
            let (dm, ds) = (rel_diff(score, r_score), rel_diff(se, r_se));
            max_score = max_score.max(dm);
            max_se = max_se.max(ds);
            if dm > REL_TOL || ds > REL_TOL {
                failures.push(format!(
                    "{trust} section {sid}: score rust {score:.17} vs R {r_score:.17} (rel {dm:.3e}); \
                     se rust {se:.17} vs R {r_se:.17} (rel {ds:.3e})"
                ));
            }
        }
    }
    let r_pairs: BTreeSet<_> =
        r_rows.iter().filter(|(_, r)| r.score_se.is_some()).map(|(k, _)| k.clone()).collect();
    for k in r_pairs.symmetric_difference(&rust_pairs) {
        failures.push(format!(
            "{} section {}: no question under 30 in R (min n {}): {}, non-suppressed in bench.json: {}",
            k.0,
            k.1,
            r_rows.get(k).map_or(0, |r| r.min_n),
            r_pairs.contains(k),
            rust_pairs.contains(k)
        ));
    }
    for k in r_rows.keys().filter(|k| !seen.contains(*k)) {
        failures.push(format!("{} section {}: in R output but not in bench.json", k.0, k.1));
    }
    (compared, max_score, max_se)
}

fn rel_diff(a: f64, b: f64) -> f64 {
    let scale = a.abs().max(b.abs());
    if scale == 0.0 { 0.0 } else { (a - b).abs() / scale }
}

#[test]
fn standardised_scores_and_ses_match_r_survey_svymean() {
    if !rscript_available() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_surveybench");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/r/svymean.R");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    run(Command::new(bin)
        .args([
            "simulate",
            "--instrument",
            "cmh-2024",
            "--seed",
            "7",
            "--trusts",
            "8",
            "--respondents",
            "2400",
            "--out",
        ])
        .arg(dir));
    let shown = run(Command::new(bin).args(["instrument", "show", "cmh-2024"]));
    std::fs::write(dir.join("instrument.json"), &shown.stdout).expect("write instrument.json");
    let respondents = dir.join("2024/respondents.csv");
    let bench_path = dir.join("bench.json");
    run(Command::new(bin)
        .args(["benchmark", "--instrument", "cmh-2024"])
        .arg(&respondents)
        .args(["--format", "json", "--out"])
        .arg(&bench_path));

    // Instrument as a flat CSV for R (derived from the instrument definition only).
    let doc: Value = serde_json::from_slice(&shown.stdout).expect("instrument JSON");
    let instrument_path = dir.join("instrument.csv");
    std::fs::write(&instrument_path, instrument_csv(&doc)).expect("write instrument.csv");

    let r_out = dir.join("r.csv");
    let r_sections_out = dir.join("r_sections.csv");
    let r = Command::new("Rscript")
        .arg(&script)
        .arg(&instrument_path)
        .arg(&respondents)
        .arg(&r_out)
        .arg(&r_sections_out)
        .output();
    let r = r.unwrap_or_else(|e| panic!("cannot run Rscript: {e}; run .ci/install-tools"));
    assert!(
        r.status.success(),
        "Rscript {} failed ({}); if R or its survey package is missing, run .ci/install-tools\n{}",
        script.display(),
        r.status,
        String::from_utf8_lossy(&r.stderr)
    );
    let r_rows = read_r_output(&r_out);
    let r_sections = read_r_sections(&r_sections_out);

    let bench: Value =
        serde_json::from_slice(&std::fs::read(&bench_path).expect("bench.json")).expect("json");
    let mut rust_pairs = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let (mut compared, mut max_mean, mut max_se) = (0usize, 0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for item in bench["questions"].as_array().expect("questions") {
        let qid = item["id"].as_str().expect("question id");
        for res in item["results"].as_array().expect("results") {
            let trust = res["trust"].as_str().expect("trust").to_owned();
            let key = (trust.clone(), qid.to_owned());
            seen.insert(key.clone());
            let n = u32::try_from(res["n"].as_u64().expect("n")).expect("n fits");
            let Some(rr) = r_rows.get(&key) else {
                failures.push(format!("{trust} {qid}: in bench.json but not in R output"));
                continue;
            };
            if rr.n != n {
                failures.push(format!("{trust} {qid}: n rust {n} vs R {}", rr.n));
            }
            if res["suppressed"].as_bool().expect("suppressed") {
                continue;
            }
            rust_pairs.insert(key.clone());
            let (Some(score), Some(se)) = (res["score"].as_f64(), res["se"].as_f64()) else {
                failures.push(format!("{trust} {qid}: not suppressed but score/se missing"));
                continue;
            };
            let Some((r_mean, r_se)) = rr.mean_se else { continue };
            compared += 1;
            let (dm, ds) = (rel_diff(score, r_mean), rel_diff(se, r_se));
            max_mean = max_mean.max(dm);
            max_se = max_se.max(ds);
            if dm > REL_TOL || ds > REL_TOL {
                failures.push(format!(
                    "{trust} {qid} (n={n}): score rust {score:.17} vs R {r_mean:.17} (rel {dm:.3e}); \
                     se rust {se:.17} vs R {r_se:.17} (rel {ds:.3e})"
                ));
            }
        }
    }
    let r_pairs: BTreeSet<_> = r_rows.iter().filter(|(_, r)| r.n >= 30).map(|(k, _)| k.clone()).collect();
    for k in r_pairs.symmetric_difference(&rust_pairs) {
        failures.push(format!(
            "{} {}: n >= 30 in R: {}, non-suppressed in bench.json: {}",
            k.0,
            k.1,
            r_pairs.contains(k),
            rust_pairs.contains(k)
        ));
    }
    for k in r_rows.keys().filter(|k| !seen.contains(*k)) {
        failures.push(format!("{} {}: in R output but not in bench.json", k.0, k.1));
    }
    let (sec_compared, sec_max_score, sec_max_se) = compare_sections(&bench, &r_sections, &mut failures);
    println!(
        "r_crosscheck: {compared} trust x question pairs compared; max relative difference \
         score {max_mean:.3e}, se {max_se:.3e}"
    );
    println!(
        "r_crosscheck: {sec_compared} trust x section pairs compared; max relative difference \
         score {sec_max_score:.3e}, se {sec_max_se:.3e}"
    );
    assert!(failures.is_empty(), "{} disagreements with R:\n{}", failures.len(), failures.join("\n"));
    assert!(compared >= MIN_COMPARED, "only {compared} pairs compared (want >= {MIN_COMPARED})");
    assert!(
        sec_compared >= MIN_SECTIONS_COMPARED,
        "only {sec_compared} section pairs compared (want >= {MIN_SECTIONS_COMPARED})"
    );
}
