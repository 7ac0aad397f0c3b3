//! Issue 8, "never a silently wrong benchmark", on the output side: hostile trust codes never
//! leave the output folder, a killed run never truncates the last good file, `simulate` never
//! panics, input text stays inert on the terminal and in spreadsheets.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

fn bin() -> Command {
    let mut c = Command::cargo_bin("surveybench").expect("binary built");
    c.timeout(Duration::from_secs(120));
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A respondent CSV for the `fft` instrument (question column `question`): 40 respondents per
/// trust, later trusts answering over more of the scale, so that scores differ.
fn respondents(dir: &Path, question: &str, trusts: &[&str]) -> PathBuf {
    let mut text = format!("trust,age,sex,{question}\n");
    for (t, trust) in trusts.iter().enumerate() {
        for i in 0..40 {
            let answer = 1 + i % (3 + t % 3);
            text.push_str(&format!("{trust},{},{},{answer}\n", 20 + (i * 7) % 60, 1 + i % 2));
        }
    }
    let path = dir.join("respondents.csv");
    std::fs::write(&path, text).expect("write respondents");
    path
}

/// The bundled `fft` instrument as JSON, changed by `edit`, written to `dir/name`.
fn fft_with(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let o = run(&["instrument", "show", "fft"]);
    let mut doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("instrument JSON");
    edit(&mut doc);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write instrument");
    path
}

/// Names of the files (not folders) directly in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every `href="..."` value in `html`.
fn hrefs(html: &str) -> Vec<&str> {
    html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

/// Regression: `--all-trusts` joined raw trust codes into file names, so `a/../../pwn` wrote
/// outside the folder and `x:y` made an index link a browser reads as a URL scheme.
#[test]
fn all_trusts_file_names_stay_in_the_folder_and_index_links_are_relative() {
    let dir = TempDir::new().unwrap();
    let csv = respondents(dir.path(), "FFT", &["a/../../pwn", "x:y", "RT5", "rt5"]);
    let out = dir.path().join("out");
    // With this folder present, the raw name `report-a/../../pwn.html` resolves above `out`.
    std::fs::create_dir_all(out.join("report-a")).unwrap();
    let o = run(&[
        "report",
        "--all-trusts",
        "--instrument",
        "fft",
        "--format",
        "html",
        "--out",
        s(&out),
        s(&csv),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.path().join("pwn.html").exists(), "wrote outside the output folder");
    let names = file_names(&out);
    assert_eq!(names.len(), 5, "four reports and the index: {names:?}");
    let folded: std::collections::BTreeSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(folded.len(), names.len(), "names collide on a case-insensitive file system: {names:?}");
    assert!(names.contains(&"report-RT5.html".to_owned()), "ordinary codes stay readable: {names:?}");
    for n in &names {
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{n}");
    }
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let links = hrefs(&index);
    assert_eq!(links.len(), 4, "{links:?}");
    for link in links {
        assert!(link.starts_with("./report-"), "{link}");
        assert!(out.join(&link[2..]).is_file(), "{link} points at a report");
    }
}

/// Regression: the first report that could not be written stopped the run (exit 1) and left
/// the other trusts' reports and the index unwritten.
#[test]
fn a_report_that_cannot_be_written_is_named_and_the_rest_are_written() {
    let dir = TempDir::new().unwrap();
    let csv = respondents(dir.path(), "FFT", &["RT5", "RT6"]);
    let out = dir.path().join("out");
    let blocker = out.join("report-RT5.txt");
    std::fs::create_dir_all(blocker.join("occupied")).unwrap();
    let o = run(&["report", "--all-trusts", "--instrument", "fft", "--out", s(&out), s(&csv)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("RT5") && err.contains(s(&blocker)), "names the trust and the file: {err}");
    assert!(out.join("report-RT6.txt").is_file(), "{err}");
    assert!(out.join("index.html").is_file(), "{err}");
}

/// Regression: once failed reports no longer stopped `--all-trusts`, a missing Chromium failed
/// every trust's PDF in turn; it is a reason to stop before any work.
#[test]
fn all_trusts_pdf_without_chromium_stops_before_writing_anything() {
    let dir = TempDir::new().unwrap();
    let csv = respondents(dir.path(), "FFT", &["RT5", "RT6"]);
    let out = dir.path().join("out");
    let o = bin()
        .args(["report", "--all-trusts", "--format", "pdf", "--instrument", "fft", "--out", s(&out), s(&csv)])
        .env("PATH", "")
        .env_remove("SURVEYBENCH_CHROMIUM")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches("Chromium").count(), 1, "{}", stderr(&o));
    assert!(!out.exists());
}

/// Regression: outputs were written in place, so a run killed mid-write (here by the file size
/// limit, SIGXFSZ) left a truncated file where the last good one was.
#[cfg(unix)]
#[test]
fn a_run_killed_while_writing_leaves_the_previous_output_intact() {
    let dir = TempDir::new().unwrap();
    let csv = respondents(dir.path(), "FFT", &["RT5", "RT6", "RT7"]);
    let json = dir.path().join("benchmark.json");
    let o = run(&["benchmark", "--instrument", "fft", "--out", s(&json), s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let good = std::fs::read(&json).unwrap();
    assert!(good.len() > 4096, "large enough to be cut short: {} bytes", good.len());
    let program = assert_cmd::cargo::cargo_bin("surveybench");
    let o = std::process::Command::new("sh")
        .args(["-c", "ulimit -f 4 && exec \"$0\" \"$@\"", s(&program)])
        .args(["benchmark", "--instrument", "fft", "--out", s(&json), s(&csv)])
        .output()
        .expect("sh runs");
    assert!(!o.status.success(), "the file size limit stops the run");
    let after = std::fs::read(&json).unwrap();
    assert!(after == good, "the previous output is intact: {} bytes of {}", after.len(), good.len());
}

/// Regression: `simulate` hard-coded 90 as the top age, so a top age band starting above 90
/// panicked (exit 101).
#[test]
fn simulate_serves_a_top_age_band_above_90() {
    let dir = TempDir::new().unwrap();
    let instrument =
        fft_with(dir.path(), "fft95.json", |doc| doc["age_bands"] = serde_json::json!([16, 36, 51, 95]));
    let sim = dir.path().join("sim");
    let o = run(&[
        "simulate",
        "--instrument",
        s(&instrument),
        "--trusts",
        "3",
        "--respondents",
        "400",
        "--out",
        s(&sim),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Its exports and CSV still give one benchmark, so the old band was simulated right. A
    // benchmark needs a method profile with the instrument's age bands.
    let shown = run(&["method", "show"]);
    let mut profile: toml::Table = toml::from_str(&String::from_utf8_lossy(&shown.stdout)).expect("profile");
    profile
        .insert("age_bands".to_owned(), toml::Value::Array([16, 36, 51, 95].map(toml::Value::from).into()));
    let method = dir.path().join("npsp95.toml");
    std::fs::write(&method, toml::to_string(&profile).expect("toml")).expect("write profile");
    let keyring = sim.join("2024/keyring.toml");
    let now = |inputs: &[&str]| {
        let mut args = vec!["benchmark", "--instrument", s(&instrument), "--method", s(&method)];
        args.extend_from_slice(inputs);
        let o = run(&args);
        assert!(o.status.success(), "{inputs:?}: {}", stderr(&o));
        let mut json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("benchmark JSON");
        // Without the per-input accounting, which names the files.
        json["national"].as_object_mut().map(|n| n.remove("inputs"));
        json
    };
    let devices = now(&["--keyring", s(&keyring), s(&sim.join("2024/devices"))]);
    assert!(devices["national"]["respondents"].as_u64() > Some(0), "{devices}");
    assert_eq!(devices, now(&[s(&sim.join("2024/respondents.csv"))]));
}

/// Regression: an instrument without a sex question simulated silently, but its kiosk exports
/// could not place respondents in strata, so they disagreed with its CSV.
#[test]
fn simulate_refuses_an_instrument_it_cannot_serve() {
    let dir = TempDir::new().unwrap();
    let instrument = fft_with(dir.path(), "nosex.json", |doc| {
        doc["questions"].as_array_mut().unwrap().retain(|q| q["kind"] != "sex");
    });
    let o = run(&[
        "simulate",
        "--instrument",
        s(&instrument),
        "--trusts",
        "2",
        "--out",
        s(&dir.path().join("sim")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("sex question"), "{}", stderr(&o));
}

/// Regression: `simulate --trusts 61` looped for ever (the trust code generator makes only 60
/// distinct codes).
#[test]
fn simulate_makes_more_than_60_trusts_and_refuses_too_many() {
    let dir = TempDir::new().unwrap();
    let sim = dir.path().join("sim");
    let o =
        run(&["simulate", "--trusts", "61", "--respondents", "100", "--instrument", "fft", "--out", s(&sim)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let frame = std::fs::read_to_string(sim.join("2024/frame.csv")).unwrap();
    assert_eq!(frame.lines().count(), 62, "header and 61 trusts");
    let o = run(&["simulate", "--trusts", "100000", "--instrument", "fft", "--out", s(&sim)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("simulate makes 1 to 420 trusts, not 100000"), "{}", stderr(&o));
}

/// Regression: control characters from input files (a file name, a CSV header, a cell) reached
/// the terminal raw in problem messages and errors.
#[test]
fn terminal_control_characters_from_input_are_escaped_on_stderr() {
    let dir = TempDir::new().unwrap();
    let csv = dir.path().join("evil\u{1b}]0;title\u{7}.csv");
    let text = "trust,age,sex,FFT,note\u{1b}[2J\nRT5,\"\u{202e}3\t1\",1,1,x\nRT5,40,2,2,y\n";
    std::fs::write(&csv, text).unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&csv)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!err.contains(raw), "raw {raw:?} on stderr: {err:?}");
    }
    assert!(err.contains(r"evil\x1b]0;title\x07.csv"), "{err}");
    assert!(err.contains(r"columns ignored: note\x1b[2J"), "{err}");
    assert!(err.contains(r"age `\u{202e}3\t1` is not a whole number"), "one line per message: {err}");
    // An error that stops the run is escaped too.
    let o = run(&["benchmark", &format!("{}/missing\u{1b}[31m", s(dir.path()))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains('\u{1b}') && stderr(&o).contains(r"missing\x1b[31m"), "{}", stderr(&o));
}

/// Regression: CSV text cells were written raw, so a trust code or question id starting with
/// `-`, `=`, `+` or `@` was a formula when the file was opened in a spreadsheet.
#[test]
fn csv_text_cells_cannot_be_formulas_and_numbers_stay_numbers() {
    let dir = TempDir::new().unwrap();
    let instrument = fft_with(dir.path(), "formula.json", |doc| {
        doc["sections"][0]["id"] = "@S1".into();
        for q in doc["questions"].as_array_mut().unwrap() {
            if q["id"] == "FFT" {
                q["id"] = "=2+3".into();
                q["section"] = "@S1".into();
            }
        }
    });
    let csv = respondents(dir.path(), "=2+3", &["-RT5", "RT6", "RT7"]);
    let o = run(&["benchmark", "--format", "csv", "--instrument", s(&instrument), s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(r#""'-RT5""#) && text.contains(r#""'=2+3""#) && text.contains(r#""'@S1""#),
        "{text}"
    );
    let mut negative = false;
    for record in csv::Reader::from_reader(text.as_bytes()).records() {
        let record = record.unwrap();
        for (i, cell) in record.iter().enumerate() {
            let numeric = (4..=7).contains(&i) || (10..=14).contains(&i);
            if numeric && !cell.is_empty() {
                let v: f64 = cell.parse().unwrap_or_else(|_| panic!("number `{cell}` mangled"));
                negative |= v < 0.0;
            } else {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "formula cell `{cell}`");
            }
        }
    }
    assert!(negative, "a negative number is kept as a number: {text}");
}
