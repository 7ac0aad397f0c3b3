//! `surveybench simulate --weekly` and `--degrade`: a year of weekly cumulative kiosk exports
//! whose last week is the year's own tally, true scores that drop by the points asked for in
//! the degraded trusts only, and refusals naming what is wrong (docs/formats.md §13).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("surveybench").expect("binary built").args(args).output().expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

/// The small simulation of these tests (6 trusts, about 3,000 respondents a year) into
/// `dir/name`, with `extra` flags.
fn simulate(dir: &TempDir, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.path().join(name);
    let base = ["simulate", "--seed", "12", "--trusts", "6", "--respondents", "3000", "--out", s(&out)];
    let o = run(&[&base[..], extra].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// The benchmark of `inputs` with `keyring`: its questions, sections and trusts (its
/// `national.inputs` name the files, which differ between folders).
fn figures(keyring: &Path, inputs: &Path) -> Value {
    let o = run(&["benchmark", "--keyring", s(keyring), s(inputs)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    serde_json::json!([b["questions"], b["sections"], b["trusts"], b["national"]["respondents"]])
}

fn sequence(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).expect("read export");
    let export: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("export JSON");
    export["sequence"].as_u64().expect("a sequence")
}

#[test]
fn weekly_exports_end_with_the_years_own_tally_and_their_sequences_are_the_weeks() {
    let dir = TempDir::new().expect("tempdir");
    let weekly = simulate(&dir, "weekly", &["--weekly"]);
    let plain = simulate(&dir, "plain", &[]);
    // The year's own files are those simulate writes without --weekly, byte for byte.
    for year in ["2023", "2024"] {
        for file in ["respondents.csv", "frame.csv", "keyring.toml"] {
            let (a, b) = (weekly.join(year).join(file), plain.join(year).join(file));
            assert_eq!(std::fs::read(&a).expect("read"), std::fs::read(&b).expect("read"), "{}", a.display());
        }
    }
    assert!(!plain.join("2024/weeks").exists() && !plain.join("2024/truth.json").exists());
    assert!(!weekly.join("2023/weeks").exists(), "only the later year has weekly exports");
    let year = weekly.join("2024");
    let weeks: Vec<PathBuf> = (1..=52).map(|w| year.join(format!("weeks/{w:02}/devices"))).collect();
    assert!(!year.join("weeks/53").exists());
    let devices: Vec<String> = {
        let mut d: Vec<String> = std::fs::read_dir(&weeks[51])
            .expect("week 52")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        d.sort();
        d
    };
    assert!(!devices.is_empty());
    for device in &devices {
        let sequences: Vec<u64> = weeks.iter().map(|w| sequence(&w.join(device))).collect();
        assert_eq!(sequences, (1..=52).collect::<Vec<u64>>(), "{device}");
    }
    let keyring = year.join("keyring.toml");
    assert_eq!(figures(&keyring, &weeks[51]), figures(&keyring, &year.join("devices")));
    // Halfway through the year, about half the respondents are in.
    let half = figures(&keyring, &weeks[25])[3].as_u64().expect("n");
    let all = figures(&keyring, &weeks[51])[3].as_u64().expect("n");
    assert!((0.45..0.55).contains(&(half as f64 / all as f64)), "{half} of {all}");
}

#[test]
fn a_degraded_trusts_true_scores_drop_by_the_points_asked_and_no_others_change() {
    let dir = TempDir::new().expect("tempdir");
    let null = simulate(&dir, "null", &["--weekly"]);
    let truth = json(&null.join("2024/truth.json"));
    let code = truth["trusts"][1]["trust"].as_str().expect("a code").to_owned();
    let worse =
        simulate(&dir, "worse", &["--weekly", "--degrade", &code, "--from-week", "20", "--by", "1.5"]);
    let degraded = json(&worse.join("2024/truth.json"));
    assert_eq!(degraded["degrade"]["trusts"][0], code.as_str());
    assert_eq!(degraded["degrade"]["from_week"], 20);
    for (t, u) in truth["trusts"].as_array().unwrap().iter().zip(degraded["trusts"].as_array().unwrap()) {
        assert_eq!(t["trust"], u["trust"]);
        let is_degraded = u["trust"] == code.as_str();
        assert_eq!(u["degraded"], is_degraded);
        let items = u["items"].as_array().unwrap();
        assert!(items.len() > 30, "questions and sections");
        for (i, j) in t["items"].as_array().unwrap().iter().zip(items) {
            let (before, after) = (j["before"].as_f64().unwrap(), j["after"].as_f64().unwrap());
            assert_eq!(i["before"], j["before"], "the degradation leaves the scores before it");
            if is_degraded {
                assert!((before - after - 1.5).abs() < 0.01, "{}: {before} -> {after}", j["item"]);
            } else {
                assert_eq!(before, after);
            }
        }
    }
    // Last year is drawn before any degradation; this year's degraded trust answers worse.
    let read = |p: PathBuf| std::fs::read(p).expect("read");
    assert_eq!(read(null.join("2023/respondents.csv")), read(worse.join("2023/respondents.csv")));
    // Every other trust gets the respondents it gets without the degradation.
    let others = |sim: &Path| {
        let text = std::fs::read_to_string(sim.join("2024/respondents.csv")).expect("read");
        text.lines().filter(|l| !l.starts_with(&format!("{code},"))).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(others(&null), others(&worse));
    let keyring = null.join("2024/keyring.toml");
    // The trust's mean section score over the year: about 1.5 x 32/52 = 0.9 lower.
    let score = |sim: &Path| {
        let f = figures(&keyring, &sim.join("2024/weeks/52/devices"));
        let scores: Vec<f64> = f[1]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|section| {
                let r = section["results"].as_array()?.iter().find(|r| r["trust"] == code.as_str())?;
                r["score"].as_f64()
            })
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    let (was, now) = (score(&null), score(&worse));
    assert!(now < was - 0.5, "{now} vs {was}");
}

#[test]
fn unknown_trusts_weeks_outside_the_year_and_missing_flags_are_refused() {
    let dir = TempDir::new().expect("tempdir");
    let out = dir.path().join("never");
    let base = ["simulate", "--seed", "12", "--trusts", "6", "--respondents", "3000", "--out", s(&out)];
    let refused = |extra: &[&str], says: &str| {
        let o = run(&[&base[..], extra].concat());
        assert!(!o.status.success(), "{extra:?} was accepted");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?} wrote files");
    };
    let degrade = |code: &str, week: &str| {
        ["--weekly", "--degrade", code, "--from-week", week, "--by", "1"].map(str::to_owned)
    };
    let refused_owned = |extra: &[String], says: &str| {
        refused(&extra.iter().map(String::as_str).collect::<Vec<_>>(), says);
    };
    refused_owned(&degrade("RZZ9", "26"), "--degrade RZZ9: no simulated trust has that code");
    refused_owned(&degrade("RZZ9", "26"), "the trusts are R");
    let o = run(&[
        "simulate",
        "--seed",
        "12",
        "--trusts",
        "6",
        "--respondents",
        "3000",
        "--weekly",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let code = json(&out.join("2024/truth.json"))["trusts"][0]["trust"].as_str().unwrap().to_owned();
    std::fs::remove_dir_all(&out).expect("clean");
    let code = code.as_str();
    refused_owned(&degrade(code, "0"), "--from-week 0: the week must be 1 to 52");
    refused_owned(&degrade(code, "53"), "--from-week 53: the week must be 1 to 52");
    refused(&["--weekly", "--degrade", code, "--from-week", "5", "--by", "0"], "--by 0");
    refused(&["--weekly", "--degrade", code], "needs --from-week W (1 to 52) and --by POINTS");
    refused(&["--degrade", code, "--from-week", "5", "--by", "1"], "--weekly");
}
