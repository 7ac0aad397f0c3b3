//! End-to-end tests of the `surveybench` command line: ingest, bad input, exit codes, the
//! equivalence of device exports and respondent files, and report snapshots.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

fn bin() -> Command {
    Command::cargo_bin("surveybench").expect("binary built")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small two-year simulation: 6 trusts, about 1,800 respondents a year.
fn simulated() -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let out = dir.path().join("sim");
    let o = run(&[
        "simulate",
        "--seed",
        "11",
        "--trusts",
        "6",
        "--respondents",
        "1800",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, out)
}

/// The benchmark JSON of a run without its per-input accounting (which names the files), so
/// runs over different files can be compared figure for figure.
fn figures(o: &Output) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("benchmark JSON");
    let national = &mut json["national"];
    national.as_object_mut().map(|n| n.remove("inputs"));
    if let Some(previous) = national.get_mut("previous").and_then(|p| p.as_object_mut()) {
        previous.remove("inputs");
    }
    json
}

/// `json` without its `cleaning` counts: a kiosk never asks a question its routing skips, so
/// it has nothing to remove, where the same respondents on paper answer some and have them
/// removed (method.md §2); the figures are the same.
fn without_cleaning(mut json: serde_json::Value) -> serde_json::Value {
    if let Some(o) = json.as_object_mut() {
        o.remove("cleaning");
        o.values_mut().for_each(|v| *v = without_cleaning(v.take()));
    } else if let Some(a) = json.as_array_mut() {
        a.iter_mut().for_each(|v| *v = without_cleaning(v.take()));
    }
    json
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The keyring `simulate` writes for `year`'s kiosks, whose signed exports count only with it
/// (`--keyring`).
fn keyring(sim: &Path, year: &str) -> String {
    s(&sim.join(year).join("keyring.toml")).to_owned()
}

#[test]
fn device_exports_and_respondent_csv_give_identical_benchmarks() {
    let (_dir, sim) = simulated();
    let from_devices = run(&[
        "benchmark",
        "--keyring",
        &keyring(&sim, "2024"),
        "--keyring",
        &keyring(&sim, "2023"),
        s(&sim.join("2024/devices")),
        "--previous",
        s(&sim.join("2023/devices")),
    ]);
    let from_csv = run(&[
        "benchmark",
        s(&sim.join("2024/respondents.csv")),
        "--previous",
        s(&sim.join("2023/respondents.csv")),
    ]);
    assert!(from_devices.status.success(), "{}", stderr(&from_devices));
    assert!(from_csv.status.success(), "{}", stderr(&from_csv));
    assert!(stdout(&from_devices).len() > 10_000);
    assert_eq!(without_cleaning(figures(&from_devices)), without_cleaning(figures(&from_csv)));
    // The CSV carries answers to questions routing excludes: removed, counted, and harmless.
    let json: serde_json::Value = serde_json::from_str(&stdout(&from_csv)).unwrap();
    assert_eq!(json["schema"], "surveybench-benchmark");
    assert_eq!(json["questions"].as_array().unwrap().len(), 36);
    assert_eq!(json["sections"].as_array().unwrap().len(), 13);
}

#[test]
fn an_export_given_twice_counts_once_and_is_reported() {
    let (dir, sim) = simulated();
    let devices = sim.join("2024/devices");
    let ring = keyring(&sim, "2024");
    let baseline = run(&["benchmark", "--keyring", &ring, s(&devices)]);
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    let copy = dir.path().join("copy.json");
    let first = std::fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !s(p).contains("seq1"))
        .unwrap();
    std::fs::copy(&first, &copy).unwrap();
    let twice = run(&["benchmark", "--keyring", &ring, s(&devices), s(&copy)]);
    assert!(twice.status.success(), "{}", stderr(&twice));
    assert_eq!(figures(&twice), figures(&baseline));
    assert!(stderr(&twice).contains("the same content as"), "{}", stderr(&twice));
    // The simulation leaves older snapshots beside newer ones: superseded, not added.
    assert!(stderr(&baseline).contains("superseded by sequence 2"), "{}", stderr(&baseline));
}

#[test]
fn bad_inputs_are_named_skipped_and_signalled_by_exit_code_2() {
    let (dir, sim) = simulated();
    let devices = sim.join("2024/devices");
    let broken = dir.path().join("broken.json");
    let good = std::fs::read_dir(&devices).unwrap().map(|e| e.unwrap().path()).next().unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    // Line 1 valid, line 2 truncated, line 3 not JSON at all.
    std::fs::write(&broken, format!("{}\n{}\nnot json\n", text.trim(), &text[..text.len() / 2])).unwrap();
    let ring = keyring(&sim, "2024");
    let baseline = run(&["benchmark", "--keyring", &ring, s(&devices)]);
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    let o = run(&["benchmark", "--keyring", &ring, s(&devices), s(&broken)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    // Skipped as unreadable, not for their signatures: line 1 is the signed export unchanged.
    for line in [2, 3] {
        let skipped = format!("{}:{line}: device export skipped: ", broken.display());
        let message =
            err.lines().find(|l| l.contains(&skipped)).unwrap_or_else(|| panic!("line {line}: {err}"));
        assert!(message.ends_with(": malformed JSON or a value of the wrong type"), "{message}");
    }
    assert!(!err.contains("signature"), "{err}");
    // Line 1 repeats an export already read, so the figures are those of the clean run.
    assert_eq!(figures(&o), figures(&baseline));
    let strict = run(&["benchmark", "--keyring", &ring, "--strict", s(&devices), s(&broken)]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).contains("--strict"), "{}", stderr(&strict));
    assert!(strict.stdout.is_empty());
}

#[test]
fn an_export_for_another_instrument_is_named() {
    let dir = TempDir::new().unwrap();
    let sim = dir.path().join("fft");
    let o =
        run(&["simulate", "--instrument", "fft", "--trusts", "3", "--respondents", "300", "--out", s(&sim)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_d2, cmh) = simulated();
    let o = run(&[
        "benchmark",
        "--keyring",
        &keyring(&cmh, "2024"),
        "--keyring",
        &keyring(&sim, "2024"),
        s(&cmh.join("2024/devices")),
        s(&sim.join("2024/devices")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("export is for instrument `fft`, not `cmh-2024`"), "{}", stderr(&o));
}

#[test]
fn respondent_files_report_unknown_questions_bad_rows_and_cleaned_codes() {
    let dir = TempDir::new().unwrap();
    let csv = dir.path().join("r.csv");
    std::fs::write(
        &csv,
        "trust,age,sex,FFT,comment\nRA1,30,1,1,hello\nRA1,abc,2,2,\nRA1,40,2,9,\nRA1,50,1,1;2,\nRA1,60,2,\n",
    )
    .unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&csv)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3: age `abc` is not a whole number; respondent skipped", csv.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:6: row has 4 fields, the header 5; respondent skipped", csv.display())),
        "{err}"
    );
    assert!(err.contains("columns ignored: comment"), "{err}");
    assert!(err.contains("2 answers were invalid codes or multiple ticks"), "{err}");
    assert!(
        err.contains(
            "first: line 4 column FFT: `9` is not an option; line 5 column FFT: `1;2`, several options ticked"
        ),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["national"]["respondents"], 3, "rows 2, 4 and 5 are counted");

    let other = dir.path().join("other.csv");
    std::fs::write(&other, "trust,age,sex,Q6\nRA1,30,1,1\n").unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&csv), s(&other)]);
    assert!(
        stderr(&o).contains("column `Q6` is not a question of instrument fft; file skipped"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bundled_instrument_and_the_builtin_profile_load_back_from_files() {
    let (dir, sim) = simulated();
    let instrument = dir.path().join("cmh.json");
    let profile = dir.path().join("npsp.toml");
    let o = run(&["instrument", "show", "cmh-2024"]);
    std::fs::write(&instrument, &o.stdout).unwrap();
    let o = run(&["method", "show"]);
    std::fs::write(&profile, &o.stdout).unwrap();
    let input = sim.join("2024/devices");
    let ring = keyring(&sim, "2024");
    let builtin = run(&["benchmark", "--keyring", &ring, s(&input)]);
    assert!(builtin.status.success(), "{}", stderr(&builtin));
    let from_files = run(&[
        "benchmark",
        "--keyring",
        &ring,
        "--instrument",
        s(&instrument),
        "--method",
        s(&profile),
        s(&input),
    ]);
    assert!(from_files.status.success(), "{}", stderr(&from_files));
    assert_eq!(stdout(&builtin), stdout(&from_files));
    std::fs::write(&profile, "name = \"broken\"\n").unwrap();
    let o = run(&["benchmark", "--keyring", &ring, "--method", s(&profile), s(&input)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{}: not a method profile", profile.display())), "{}", stderr(&o));
}

/// `base/rel` as a string argument.
fn at(base: &Path, rel: &str) -> String {
    base.join(rel).to_str().expect("utf-8 path").to_owned()
}

#[test]
fn the_report_and_csv_of_a_seeded_simulation_are_stable() {
    let (_dir, sim) = simulated();
    let (now, before) = (at(&sim, "2024/devices"), at(&sim, "2023/devices"));
    let (ring_now, ring_before) = (keyring(&sim, "2024"), keyring(&sim, "2023"));
    let o = run(&["benchmark", "--keyring", &ring_now, &now]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let trust = json["trusts"][0]["trust"].as_str().unwrap().to_owned();
    // Frames ride along as inputs: a folder or file with a sample-frame header is one.
    let o = run(&[
        "report",
        "--keyring",
        &ring_now,
        "--keyring",
        &ring_before,
        "--trust",
        &trust,
        &now,
        "--frame",
        &at(&sim, "2024/frame.csv"),
        "--previous",
        &before,
        "--previous",
        &at(&sim, "2023/frame.csv"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("report_first_trust", stdout(&o));
    let o = run(&["benchmark", "--keyring", &ring_now, "--format", "csv", &now]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("benchmark_csv_head", stdout(&o).lines().take(12).collect::<Vec<_>>().join("\n"));
}

#[test]
fn an_unknown_trust_is_an_error_listing_the_trusts() {
    let (_dir, sim) = simulated();
    let o = run(&[
        "report",
        "--keyring",
        &keyring(&sim, "2024"),
        "--trust",
        "NOPE",
        s(&sim.join("2024/devices")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("trust `NOPE` is not in the data (trusts: "), "{}", stderr(&o));
}

#[test]
fn demo_writes_json_csv_and_a_report() {
    let dir = TempDir::new().unwrap();
    let o = bin().current_dir(dir.path()).arg("demo").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("surveybench-demo");
    assert!(out.join("benchmark.json").is_file());
    assert!(out.join("benchmark.csv").is_file());
    let report = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("report-"));
    assert!(report, "{}", stdout(&o));
    assert!(stdout(&o).contains("benchmark (JSON)"));
}

/// Regression: without `age`/`sex` columns every respondent fell into the unknown stratum,
/// although the instrument's own AGE and SEX answers (what a kiosk uses) were in the file.
#[test]
fn without_age_and_sex_columns_the_age_and_sex_answers_place_respondents() {
    let dir = TempDir::new().unwrap();
    let (columns, answers) = (dir.path().join("columns.csv"), dir.path().join("answers.csv"));
    let mut by_column = String::from("trust,age,sex,FFT\n");
    let mut by_answer = String::from("trust,FFT,AGE,SEX\n");
    for i in 0..60u32 {
        let (band, sex, fft) = (i % 4, 1 + i % 2, 1 + (i * 7) % 5);
        let age = [20, 40, 60, 70][band as usize];
        by_column.push_str(&format!("RA1,{age},{sex},{fft}\n"));
        by_answer.push_str(&format!("RA1,{fft},{},{sex}\n", band + 1));
    }
    std::fs::write(&columns, by_column).unwrap();
    std::fs::write(&answers, by_answer).unwrap();
    let a = run(&["benchmark", "--instrument", "fft", s(&columns)]);
    let b = run(&["benchmark", "--instrument", "fft", s(&answers)]);
    assert!(a.status.success() && b.status.success(), "{}{}", stderr(&a), stderr(&b));
    assert_eq!(figures(&a), figures(&b));
    let json: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(json["trusts"][0]["who_took_part"]["sex"][0]["respondents"], 30, "male");
}

/// Regression: any CSV with a `trust` column was read as respondents, so a benchmark CSV or a
/// frame with an extra column added empty respondents.
#[test]
fn csv_files_that_are_not_respondent_files_or_frames_are_refused() {
    let (dir, sim) = simulated();
    let devices = sim.join("2024/devices");
    let ring = keyring(&sim, "2024");
    let baseline = run(&["benchmark", "--keyring", &ring, s(&devices)]);
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    let bench_csv = dir.path().join("benchmark.csv");
    let csv = run(&["benchmark", "--keyring", &ring, "--format", "csv", s(&devices)]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    std::fs::write(&bench_csv, csv.stdout).unwrap();
    let frame = dir.path().join("frame-notes.csv");
    std::fs::write(&frame, "trust,invited,undeliverable,deceased,notes\nRA1,100,1,0,x\n").unwrap();
    let o = run(&["benchmark", "--keyring", &ring, s(&devices), s(&bench_csv), "--frame", s(&frame)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no question, age or sex column: not a respondent file; file skipped"), "{err}");
    assert!(err.contains("extra: [notes], missing: []; file skipped"), "{err}");
    assert_eq!(figures(&o), figures(&baseline), "nothing added");
}

#[test]
fn a_trust_with_both_device_exports_and_respondent_rows_is_pointed_out() {
    let (_dir, sim) = simulated();
    let o = run(&[
        "benchmark",
        "--keyring",
        &keyring(&sim, "2024"),
        s(&sim.join("2024/devices")),
        s(&sim.join("2024/respondents.csv")),
    ]);
    assert!(
        stderr(&o).contains("both are counted: make sure they are not the same respondents"),
        "{}",
        stderr(&o)
    );
}
