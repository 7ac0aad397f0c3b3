//! `surveybench reference` and `surveybench monitor` on simulated data: the reference files
//! carry last year's benchmark exactly, a benchmark of another schema or without shares is
//! refused, an unchanged trust is not flagged and a degraded one is (method.md §12).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use surveybench_kernel::reference::{Kind, Reference};
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

/// Two simulated years (6 trusts, about 1,800 respondents a year) and 2023's benchmark JSON.
fn last_year() -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let sim = dir.path().join("sim");
    let o = run(&["simulate", "--seed", "11", "--trusts", "6", "--respondents", "1800", "--out", s(&sim)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bench = dir.path().join("b2023.json");
    let y = sim.join("2023");
    let keyring = y.join("keyring.toml");
    let o = run(&["benchmark", "--keyring", s(&keyring), s(&y.join("devices")), "--out", s(&bench)]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, sim, bench)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

#[test]
fn the_reference_files_carry_last_years_figures_exactly() {
    let (dir, _, bench) = last_year();
    let out = dir.path().join("ref");
    let o = run(&["reference", "--from", s(&bench), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = json(&bench);
    let j = json(&out.join("reference.json"));
    let bytes = std::fs::read(out.join("reference.bin")).expect("bin");
    let image = Reference::parse(&bytes).expect("a valid SBRF image");
    let h = image.header();
    assert_eq!(format!("{:016x}", h.instrument_hash), b["instrument"]["content_hash"].as_str().unwrap());
    assert_eq!(j["instrument"]["content_hash"], b["instrument"]["content_hash"]);
    assert_eq!(h.weight_cap, 5.0);
    assert_eq!(h.min_respondents, 30);
    assert_eq!(h.z, [1.645, 1.96, 2.576]);
    let questions = b["questions"].as_array().unwrap();
    assert_eq!(usize::from(h.questions), questions.len());
    for (i, q) in questions.iter().enumerate() {
        let r = image.record(i).unwrap();
        assert_eq!(r.kind, Kind::Question);
        assert_eq!(r.id.as_str(), q["id"].as_str().unwrap());
        let national = &q["national"];
        let (mean, tau2) = r.national.expect("every simulated question has national figures");
        assert_eq!(mean, national["mean"].as_f64().unwrap(), "{}", r.id);
        assert_eq!(tau2, national["tau2"].as_f64().unwrap(), "{}", r.id);
        let shares: Vec<f64> =
            national["shares"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(shares.len(), 8, "2 x 4 age bands");
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12, "shares of the known strata add up to 1");
        assert_eq!(r.shares.as_slice(), shares.as_slice());
        assert_eq!(j["questions"][i]["shares"], national["shares"]);
        assert_eq!(j["questions"][i]["national"]["mean"], national["mean"]);
    }
    let sections = b["sections"].as_array().unwrap();
    for (i, sec) in sections.iter().enumerate() {
        let r = image.record(questions.len() + i).unwrap();
        assert_eq!((r.kind, r.id.as_str()), (Kind::Section, sec["id"].as_str().unwrap()));
        assert_eq!(r.national.map(|n| n.1), sec["national"]["tau2"].as_f64());
        assert!(sec["national"].get("shares").is_none(), "sections have no shares");
    }
}

#[test]
fn a_benchmark_of_another_schema_or_without_shares_is_refused() {
    let (dir, _, bench) = last_year();
    let text = std::fs::read_to_string(&bench).unwrap();
    let cases = [
        ("schema", text.replacen("\"surveybench-benchmark\"", "\"surveybench-monitor\"", 1), "schema"),
        ("version", text.replacen("\"version\": 1,", "\"version\": 2,", 1), "version 2"),
        ("shares", without_shares(&text), "national.shares missing"),
        ("tau2", text.replacen("\"tau2\":", "\"tau_2\":", 1), "missing field `tau2`"),
    ];
    for (name, doc, says) in cases {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, doc).unwrap();
        let out = dir.path().join(format!("ref-{name}"));
        let o = run(&["reference", "--from", s(&path), "--out", s(&out)]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says) && stderr(&o).contains(s(&path)), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: nothing written");
        let o = run(&["monitor", "--reference", s(&path), s(&bench)]);
        assert_eq!(o.status.code(), Some(1), "monitor, {name}: {}", stderr(&o));
    }
}

/// The benchmark JSON without its `shares` arrays, as a benchmark from before they existed.
fn without_shares(text: &str) -> String {
    let mut doc: Value = serde_json::from_str(text).unwrap();
    for q in doc["questions"].as_array_mut().unwrap() {
        q["national"].as_object_mut().map(|n| n.remove("shares"));
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

/// `rows` of trust `trust` in `csv` (header kept): the first `share` of them, each scored
/// answer moved to its question's lowest-scoring option when `degrade`.
fn trust_rows(csv: &Path, trust: &str, share: f64, degrade: bool) -> String {
    let instrument = surveybench_kernel::bundled::by_id("cmh-2024").unwrap();
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> =
        reader.records().map(Result::unwrap).filter(|r| r.get(0) == Some(trust)).collect();
    let keep = (rows.len() as f64 * share).round() as usize;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&header).unwrap();
    for row in rows.iter().take(keep) {
        let cells: Vec<String> = header
            .iter()
            .zip(row)
            .map(|(column, cell)| {
                let q = instrument.questions.iter().find(|q| q.id == column && q.is_scored());
                let worst =
                    q.and_then(|q| q.options.iter().filter(|o| o.score.is_some()).min_by_key(|o| o.score));
                let scored = q.is_some_and(|q| {
                    q.options.iter().any(|o| o.score.is_some() && o.code.to_string() == cell)
                });
                match worst {
                    Some(w) if degrade && scored => w.code.to_string(),
                    _ => cell.to_owned(),
                }
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

fn monitor(bench: &Path, input: &Path) -> Value {
    let o = run(&["monitor", "--reference", s(bench), "--format", "json", s(input)]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("monitor JSON")
}

fn flagged(look: &Value, trust: &str) -> Vec<(String, String)> {
    let t = look["trusts"].as_array().unwrap().iter().find(|t| t["trust"] == trust).expect("trust");
    t["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "heading_worse" || i["status"] == "heading_better")
        .map(|i| (i["item"].as_str().unwrap().to_owned(), i["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn an_unchanged_trust_is_not_flagged_and_a_degraded_one_is() {
    let (dir, sim, bench) = last_year();
    let csv = sim.join("2023").join("respondents.csv");
    // Last year's own respondents again: every z is last year's adjusted z, so the trusts
    // flagged at the full year are exactly those last year put beyond the boundary.
    let whole = monitor(&bench, &csv);
    let quiet: Vec<String> = whole["trusts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["flagged"] == 0)
        .map(|t| t["trust"].as_str().unwrap().to_owned())
        .collect();
    assert!(!quiet.is_empty(), "some trust is within the range on every item");
    let trust = &quiet[0];
    for (share, degrade, name) in [(0.5, false, "half-unchanged"), (1.0, false, "unchanged")] {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, trust_rows(&csv, trust, share, degrade)).unwrap();
        let look = monitor(&bench, &path);
        assert_eq!(flagged(&look, trust), vec![], "{name}: an unchanged trust is not flagged");
        let t = &look["trusts"][0];
        let within = t["items"].as_array().unwrap().iter().filter(|i| i["status"] == "within_range").count();
        assert!(within > 30, "{name}: most items are judged, {within}");
    }
    for share in [0.5, 1.0] {
        let path = dir.path().join(format!("degraded-{share}.csv"));
        std::fs::write(&path, trust_rows(&csv, trust, share, true)).unwrap();
        let look = monitor(&bench, &path);
        let flags = flagged(&look, trust);
        assert!(flags.len() > 20, "degraded ({share} of the year): {flags:?}");
        assert!(flags.iter().all(|(_, status)| status == "heading_worse"), "{flags:?}");
        let item = look["trusts"][0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["status"] == "heading_worse")
            .unwrap();
        assert!(item["band"] == "much_worse" || item["band"] == "worse", "{item}");
        // The text says so in the report's words.
        let o = run(&["monitor", "--reference", s(&bench), s(&path)]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("heading below the expected range (much worse than expected)"), "{text}");
    }
}
