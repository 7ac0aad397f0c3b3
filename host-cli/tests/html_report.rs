//! The HTML report in a real browser: headless Chromium loads it (`--dump-dom`, `--screenshot`)
//! and the tests read what the browser built. They fail when Chromium is missing (run
//! `.ci/install-tools`), unless `SURVEYBENCH_SKIP_BROWSER=1`.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;
use surveybench::report::pdf;
use tempfile::TempDir;

/// Simulated data, its benchmark JSON, and one trust's HTML report, made once per test binary.
struct Fixture {
    dir: TempDir,
    json: Value,
    trust: String,
    html: PathBuf,
    /// The inputs every command here is given (see [`inputs`]).
    inputs: Vec<String>,
}

fn run(args: &[&str]) -> Output {
    let o = Command::cargo_bin("surveybench").expect("binary").args(args).output().expect("runs");
    assert!(o.status.success(), "surveybench {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `--keyring` for both simulated years: the simulation's kiosks sign their exports, which
/// count only with their keyring.
fn keyrings(sim: &Path) -> Vec<String> {
    ["2024", "2023"]
        .iter()
        .flat_map(|year| ["--keyring".to_owned(), sim.join(year).join("keyring.toml").display().to_string()])
        .collect()
}

/// `benchmark`/`report` inputs: both years' [`keyrings`], this year's devices and frame, last
/// year's devices and frame.
fn inputs(sim: &Path) -> Vec<String> {
    let files = [
        sim.join("2024/devices").display().to_string(),
        "--frame".into(),
        sim.join("2024/frame.csv").display().to_string(),
        "--previous".into(),
        sim.join("2023/devices").display().to_string(),
        "--previous".into(),
        sim.join("2023/frame.csv").display().to_string(),
    ];
    keyrings(sim).into_iter().chain(files).collect()
}

/// `report FLAGS...` followed by the fixture's inputs.
fn report_args<'a>(f: &'a Fixture, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["report"];
    args.extend_from_slice(flags);
    args.extend(f.inputs.iter().map(String::as_str));
    args
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = TempDir::new().expect("tempdir");
        let sim = dir.path().join("sim");
        run(&["simulate", "--seed", "11", "--trusts", "6", "--respondents", "1800", "--out", s(&sim)]);
        let args = inputs(&sim);
        let mut bench = vec!["benchmark", "--format", "json"];
        bench.extend(args.iter().map(String::as_str));
        let json: Value = serde_json::from_slice(&run(&bench).stdout).expect("benchmark JSON");
        let trust = json["trusts"][0]["trust"].as_str().expect("a trust").to_owned();
        let html = dir.path().join(format!("report-{trust}.html"));
        let mut report = vec!["report", "--trust", &trust, "--format", "html", "--out", s(&html)];
        report.extend(args.iter().map(String::as_str));
        run(&report);
        Fixture { dir, json, trust, html, inputs: args }
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
        panic!(
            "{e:#}\nRun .ci/install-tools (Debian chromium and chromium-driver), or set SURVEYBENCH_SKIP_BROWSER=1"
        );
    }
    true
}

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr).
fn chromium(page: &Path, extra: &[String]) -> (String, String) {
    let profile = TempDir::new().expect("tempdir");
    let mut args = pdf::headless_args(profile.path());
    args.extend(["--enable-logging=stderr".to_owned(), "--v=0".to_owned()]);
    args.extend(extra.iter().cloned());
    args.push(format!("file://{}", page.display()));
    let o = Process::new(pdf::chromium().expect("chromium")).args(&args).output().expect("chromium runs");
    let (out, err) =
        (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "chromium failed: {err}");
    (out, err)
}

fn dumped_dom() -> &'static (String, String) {
    static DOM: OnceLock<(String, String)> = OnceLock::new();
    DOM.get_or_init(|| chromium(&fixture().html, &["--dump-dom".to_owned()]))
}

/// The value of `name="..."` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag.get(start..)?.find('"')?;
    tag.get(start..start + len)
}

/// Every opening tag `<name ...>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .filter_map(|(i, _)| html.get(i..).and_then(|rest| rest.find('>').and_then(|end| rest.get(..=end))))
        .collect()
}

#[test]
fn the_page_loads_in_chromium_without_console_errors() {
    if !browser() {
        return;
    }
    let (dom, stderr) = dumped_dom();
    assert!(dom.contains("<html lang=\"en\">") && dom.contains("</html>"), "no page: {dom:.300}");
    // Chromium logs the page's console messages and uncaught errors as "CONSOLE" lines.
    let page_errors: Vec<&str> =
        stderr.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(page_errors.is_empty(), "console messages: {page_errors:#?}");
}

#[test]
fn every_section_of_the_published_report_is_present_with_headings_in_order() {
    if !browser() {
        return;
    }
    let (dom, _) = dumped_dom();
    for heading in [
        "Contents",
        "1. Background and method",
        "2. Headline results",
        "Who took part",
        "Summary of findings",
        "Best and worst performance relative to the national average",
        "3. Benchmarking by section",
        "4. Change over time",
        "5. Comparison to other trusts",
    ] {
        assert!(dom.contains(&format!(">{heading}</h")), "missing heading {heading}");
    }
    for section in fixture().json["sections"].as_array().expect("sections") {
        let id = section["id"].as_str().expect("id");
        assert!(dom.contains(&format!("id=\"bm-{id}\"")), "no benchmarking of {id}");
        assert!(dom.contains(&format!("id=\"ch-{id}\"")), "no change over time of {id}");
    }
    let levels: Vec<u8> = dom
        .match_indices("<h")
        .filter_map(|(i, _)| dom.as_bytes().get(i + 2).copied())
        .filter(u8::is_ascii_digit)
        .map(|d| d - b'0')
        .collect();
    assert_eq!(levels.first(), Some(&1), "starts with h1");
    for w in levels.windows(2) {
        assert!(w[1] <= w[0] + 1, "heading level skips from h{} to h{}", w[0], w[1]);
    }
}

#[test]
fn charts_render_with_a_size_and_a_text_alternative() {
    if !browser() {
        return;
    }
    let (dom, _) = dumped_dom();
    let svgs = tags(dom, "svg");
    // Section bars, question bars, change charts, and the four headline charts.
    let items = fixture().json["questions"].as_array().map_or(0, Vec::len);
    assert!(svgs.len() >= items + 4, "only {} charts", svgs.len());
    for svg in &svgs {
        for dim in ["width", "height"] {
            let v: f64 = attr(svg, dim).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            assert!(v > 0.0, "{dim} of {svg}");
        }
        assert_eq!(attr(svg, "role"), Some("img"), "{svg}");
        let ids = attr(svg, "aria-labelledby").expect("labelled");
        for id in ids.split(' ') {
            assert!(
                dom.contains(&format!("<title id=\"{id}\">")) || dom.contains(&format!("<desc id=\"{id}\">")),
                "{id}"
            );
        }
    }
    let png = fixture().dir.path().join("page.png");
    chromium(
        &fixture().html,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,4000".to_owned(),
            "--hide-scrollbars".to_owned(),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).expect("screenshot")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let pixels = buf.get(..info.buffer_size()).expect("pixels");
    let px = info.color_type.samples();
    let first = pixels.get(..px).expect("a pixel");
    let differing = pixels.chunks(px).filter(|p| *p != first).count();
    assert!(
        differing > pixels.len() / px / 50,
        "screenshot is nearly one colour ({differing} pixels differ)"
    );
}

#[test]
fn numbers_in_the_browser_equal_the_benchmark_json() {
    if !browser() {
        return;
    }
    let (dom, _) = dumped_dom();
    let f = fixture();
    let mut checked = 0;
    for (kind, list) in [("question", "questions"), ("section", "sections")] {
        for item in f.json[list].as_array().expect("items") {
            let id = item["id"].as_str().expect("id");
            let r = item["results"]
                .as_array()
                .expect("results")
                .iter()
                .find(|r| r["trust"] == f.trust.as_str())
                .expect("trust result");
            let want = r["score"].as_f64().map_or_else(
                || if kind == "question" { "suppressed".to_owned() } else { "n/a".to_owned() },
                // Halves away from zero, as the page promises (surveybench::report::one_dp).
                |v| format!("{:.1}", (v * 10.0).round() / 10.0),
            );
            let tag = tags(dom, "tr")
                .into_iter()
                .chain(tags(dom, "div"))
                .find(|t| attr(t, &format!("data-{kind}")) == Some(id))
                .unwrap_or_else(|| panic!("no element for {kind} {id}"));
            assert_eq!(attr(tag, "data-score"), Some(want.as_str()), "{kind} {id}");
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked}");
    let summary = f.json["trusts"]
        .as_array()
        .expect("trusts")
        .iter()
        .find(|t| t["trust"] == f.trust.as_str())
        .expect("summary");
    for band in ["much_better", "about_the_same", "much_worse"] {
        let row = dom.split(&format!("data-band=\"{band}\"")).nth(1).expect("band row");
        let count = summary["bands"][band].as_u64().expect("count");
        assert!(row.contains(&format!("<td>{count}</td>")), "band {band} count {count}");
    }
    let respondents = summary["respondents"].as_u64().expect("respondents");
    assert!(dom.contains(&format!("<strong>{respondents}</strong> completed")));
}

#[test]
fn the_page_is_self_contained() {
    let html = std::fs::read_to_string(&fixture().html).expect("html");
    assert!(!html.contains("<script"), "no scripts");
    for bad in ["http://", "https://", "src=\"", "@import", "url("] {
        assert!(!html.contains(bad), "external reference {bad}");
    }
}

#[test]
fn pdf_output_is_a_pdf() {
    if !browser() {
        return;
    }
    let f = fixture();
    let out = f.dir.path().join("report.pdf");
    run(&report_args(f, &["--trust", &f.trust, "--format", "pdf", "--out", s(&out)]));
    let bytes = std::fs::read(&out).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert!(bytes.len() > 50_000, "PDF of {} bytes", bytes.len());
}

#[test]
fn all_trusts_writes_every_report_and_an_index() {
    let f = fixture();
    let out = f.dir.path().join("all");
    run(&report_args(f, &["--all-trusts", "--format", "html", "--out", s(&out)]));
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    for t in f.json["trusts"].as_array().expect("trusts") {
        let code = t["trust"].as_str().expect("code");
        assert!(out.join(format!("report-{code}.html")).is_file(), "{code}");
        assert!(index.contains(&format!("href=\"./report-{code}.html\"")), "{code} linked");
        assert!(index.contains(&format!("<td>{}</td>", t["respondents"])), "{code} respondents");
    }
}

#[test]
fn pdf_without_chromium_says_how_to_install_it() {
    let f = fixture();
    let out = f.dir.path().join("none.pdf");
    let o = Command::cargo_bin("surveybench")
        .expect("binary")
        .args(report_args(f, &["--trust", &f.trust, "--format", "pdf", "--out", s(&out)]))
        .env("PATH", "")
        .env_remove("SURVEYBENCH_CHROMIUM")
        .output()
        .expect("runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Chromium") && err.contains(".ci/install-tools"), "{err}");
}
