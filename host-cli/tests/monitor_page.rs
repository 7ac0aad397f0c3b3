//! `monitor --format html` in a real browser: headless Chromium loads the page built from three
//! looks (two earlier ones as monitor JSON, `--history`) and the tests read what it built:
//! flagged trusts first, for every item flagged at any look a chart with a ring at each look it
//! was flagged and a table with a row per look, and nothing fetched. They fail when Chromium is
//! missing (run `.ci/install-tools`), unless `SURVEYBENCH_SKIP_BROWSER=1`.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;
use surveybench::report::pdf;
use tempfile::TempDir;

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("surveybench").expect("binary").args(args).output().expect("runs")
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "surveybench {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Three looks at simulated data against the earlier year's benchmark, and the page of them.
struct Fixture {
    _dir: TempDir,
    /// The looks' JSON, oldest first.
    looks: Vec<Value>,
    /// The JSON files of the first two, for `--history`.
    history: Vec<PathBuf>,
    /// `monitor` arguments before the inputs: reference and keyrings.
    args: Vec<String>,
    /// This year's inputs.
    inputs: Vec<String>,
    page: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = TempDir::new().expect("tempdir");
        let sim = dir.path().join("sim");
        ok(&["simulate", "--seed", "5", "--trusts", "8", "--respondents", "3000", "--out", s(&sim)]);
        let bench = dir.path().join("last.json");
        let (last, now) = (sim.join("2023"), sim.join("2024"));
        ok(&[
            "benchmark",
            "--keyring",
            s(&last.join("keyring.toml")),
            s(&last.join("devices")),
            "--out",
            s(&bench),
        ]);
        let args: Vec<String> = [
            "monitor",
            "--reference",
            s(&bench),
            "--keyring",
            s(&last.join("keyring.toml")),
            "--keyring",
            s(&now.join("keyring.toml")),
        ]
        .map(str::to_owned)
        .to_vec();
        // Look 1 is last year's own exports (in line with last year), looks 2 and 3 this year's.
        let inputs_of = |year: &Path| vec![year.join("devices").display().to_string()];
        let plans = [("first", inputs_of(&last)), ("second", inputs_of(&now)), ("third", inputs_of(&now))];
        let mut looks = Vec::new();
        let mut history = Vec::new();
        for (label, inputs) in &plans[..2] {
            let out = dir.path().join(format!("{label}.json"));
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend(["--format", "json", "--label", label, "--out", s(&out)]);
            a.extend(inputs.iter().map(String::as_str));
            ok(&a);
            looks.push(serde_json::from_str(&std::fs::read_to_string(&out).expect("look")).expect("JSON"));
            history.push(out);
        }
        let (label, inputs) = &plans[2];
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--format", "json", "--label", label]);
        a.extend(inputs.iter().map(String::as_str));
        looks.push(serde_json::from_slice(&ok(&a).stdout).expect("JSON"));
        let page = dir.path().join("page.html");
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--format", "html", "--label", label, "--out", s(&page)]);
        for h in &history {
            a.extend(["--history", s(h)]);
        }
        a.extend(inputs.iter().map(String::as_str));
        ok(&a);
        Fixture { _dir: dir, looks, history, args, inputs: inputs.clone(), page }
    })
}

/// Whether to run browser checks: false only with `SURVEYBENCH_SKIP_BROWSER=1`; panics when
/// Chromium is missing, so a machine without it fails rather than passing silently.
fn browser() -> bool {
    if std::env::var("SURVEYBENCH_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SURVEYBENCH_SKIP_BROWSER=1: browser checks skipped");
        return false;
    }
    if let Err(e) = pdf::chromium() {
        panic!("{e:#}\nRun .ci/install-tools (Debian chromium), or set SURVEYBENCH_SKIP_BROWSER=1");
    }
    true
}

/// The page as Chromium built it.
fn dom() -> &'static str {
    static DOM: OnceLock<String> = OnceLock::new();
    DOM.get_or_init(|| {
        let profile = TempDir::new().expect("tempdir");
        let mut args = pdf::headless_args(profile.path());
        args.push("--dump-dom".to_owned());
        args.push(format!("file://{}", fixture().page.display()));
        let o = Process::new(pdf::chromium().expect("chromium")).args(&args).output().expect("chromium runs");
        assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    })
}

/// Each trust's part of the page: (trust, its `data-flagged`, its markup).
fn trust_sections(dom: &str) -> Vec<(String, u32, &str)> {
    let mut out = Vec::new();
    let starts: Vec<usize> = dom.match_indices("<section class=\"trust\"").map(|(i, _)| i).collect();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(dom.len());
        let part = &dom[start..end];
        let attr = |name: &str| {
            let from = part.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
            part[from..from + part[from..].find('"').unwrap()].to_owned()
        };
        let trust = attr("id").trim_start_matches("trust-").to_owned();
        out.push((trust, attr("data-flagged").parse().expect("a count"), part));
    }
    out
}

/// The statuses of `trust`'s item `item` (type `kind`) at every look, `None` where absent.
fn statuses(looks: &[Value], trust: &str, item: &str, kind: &str) -> Vec<Option<String>> {
    looks
        .iter()
        .map(|l| {
            let t = l["trusts"].as_array()?.iter().find(|t| t["trust"] == trust)?;
            let i = t["items"].as_array()?.iter().find(|i| i["item"] == item && i["item_type"] == kind)?;
            i["status"].as_str().map(str::to_owned)
        })
        .collect()
}

fn flagged(status: &Option<String>) -> bool {
    matches!(status.as_deref(), Some("heading_worse" | "heading_better"))
}

#[test]
fn the_looks_have_flags_to_show() {
    let f = fixture();
    let now: u64 =
        f.looks[2]["trusts"].as_array().unwrap().iter().map(|t| t["flagged"].as_u64().unwrap()).sum();
    assert!(now > 0, "the simulated year drifts from the last: some trust-item is flagged");
    assert_eq!(f.looks[1]["label"], "second");
}

#[test]
fn flagged_trusts_come_first_with_the_counts_of_the_latest_look() {
    if !browser() {
        return;
    }
    let sections = trust_sections(dom());
    let latest = f_trusts(&fixture().looks[2]);
    assert_eq!(sections.len(), latest.len(), "one part per trust");
    let first_clean = sections.iter().position(|(_, n, _)| *n == 0).unwrap_or(sections.len());
    assert!(sections[first_clean..].iter().all(|(_, n, _)| *n == 0), "flagged trusts first");
    for (trust, n, _) in &sections {
        let want = latest.iter().find(|(t, _)| t == trust).expect("a trust of the look").1;
        assert_eq!(*n, want, "{trust}");
    }
}

fn f_trusts(look: &Value) -> Vec<(String, u32)> {
    look["trusts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (t["trust"].as_str().unwrap().to_owned(), u32::try_from(t["flagged"].as_u64().unwrap()).unwrap())
        })
        .collect()
}

#[test]
fn every_item_flagged_at_any_look_has_a_chart_ringed_where_flagged_and_a_row_per_look() {
    if !browser() {
        return;
    }
    let f = fixture();
    let mut charted = 0;
    for (trust, _, part) in trust_sections(dom()) {
        let t =
            f.looks[2]["trusts"].as_array().unwrap().iter().find(|t| t["trust"] == trust.as_str()).unwrap();
        for i in t["items"].as_array().unwrap() {
            let (item, kind) = (i["item"].as_str().unwrap(), i["item_type"].as_str().unwrap());
            let st = statuses(&f.looks, &trust, item, kind);
            let marker = format!("<div class=\"two item\" data-item=\"{item}\"");
            let block = part.find(&marker).map(|at| {
                let rest = &part[at + marker.len()..];
                &rest[..rest.find("<div class=\"two item\"").unwrap_or(rest.len())]
            });
            if !st.iter().any(flagged) {
                assert!(block.is_none(), "{trust} {kind} {item} was never flagged but is charted");
                continue;
            }
            let block = block.unwrap_or_else(|| panic!("{trust} {kind} {item} was flagged but has no chart"));
            charted += 1;
            assert!(block.contains("<svg "), "{trust} {item}: a chart");
            let rings = block.matches("class=\"flag\"").count();
            assert_eq!(
                rings,
                st.iter().filter(|s| flagged(s)).count(),
                "{trust} {item}: a ring per flagged look"
            );
            let rows: Vec<bool> = block
                .match_indices("<tr data-flagged=\"")
                .map(|(at, m)| block[at + m.len()..].starts_with("true"))
                .collect();
            assert_eq!(rows, st.iter().map(flagged).collect::<Vec<_>>(), "{trust} {item}: a row per look");
            for label in ["first", "second", "third"] {
                assert!(block.contains(&format!("<th>{label}</th>")), "{trust} {item}: look {label} named");
            }
        }
    }
    assert!(charted > 0);
}

#[test]
fn the_page_fetches_nothing_and_runs_no_script() {
    let html = std::fs::read_to_string(&fixture().page).expect("page");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in ["<script", "http://", "https://", "<link ", "src="] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }
}

#[test]
fn history_is_for_the_page_only_and_must_be_a_monitor_json() {
    let f = fixture();
    let mut a: Vec<&str> = f.args.iter().map(String::as_str).collect();
    a.extend(["--format", "json", "--history", s(&f.history[0])]);
    a.extend(f.inputs.iter().map(String::as_str));
    let o = run(&a);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--history is charted by --format html only"));
    let dir = TempDir::new().unwrap();
    let bogus = dir.path().join("bogus.json");
    std::fs::write(&bogus, "{\"schema\":\"surveybench-benchmark\"}").unwrap();
    let mut a: Vec<&str> = f.args.iter().map(String::as_str).collect();
    a.extend(["--format", "html", "--history", s(&bogus)]);
    a.extend(f.inputs.iter().map(String::as_str));
    let o = run(&a);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bogus.json") && err.contains("not a monitor JSON"), "{err}");
}
