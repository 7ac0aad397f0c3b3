//! Never a silently wrong benchmark: every line of every input is accounted for, the same data
//! counts once, and conflicting or impossible input is an error (exit 2) that names the file.
//! Each test is a case that once gave a plausible benchmark and exit 0.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("surveybench").expect("binary built").args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A small simulated year: 4 trusts, about 600 respondents, as exports and as a CSV.
fn simulated() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("sim");
    let o = run(&["simulate", "--seed", "5", "--trusts", "4", "--respondents", "600", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, out.join("2024"))
}

/// The keyring `simulate` writes for the kiosks of the simulated `year` (a `<sim>/<year>`
/// folder): their signed exports count only with it (`--keyring`).
fn keyring(year: &Path) -> String {
    s(&year.join("keyring.toml")).to_owned()
}

/// `export`, a simulated (signed) export that a test changes, as the unsigned version 1
/// document it would have been: `version` 1, no `key`, no `signature`. A changed signed export
/// fails its signature, which is not what those tests are about; they read it with
/// `--allow-unsigned`.
fn unsigned(mut export: Value) -> Value {
    let doc = export.as_object_mut().expect("an export object");
    assert_eq!(doc.get("version"), Some(&Value::from(2)), "a signed export");
    assert!(doc.remove("key").is_some() && doc.remove("signature").is_some(), "a signed export");
    doc.insert("version".to_owned(), Value::from(1));
    export
}

/// The per-input totals of this year, with every file's `read = used + skipped + superseded`
/// checked.
fn inputs(json: &Value) -> Vec<Value> {
    let inputs = json["national"]["inputs"].as_array().expect("inputs").clone();
    for i in &inputs {
        let n = |k: &str| i[k].as_u64().unwrap();
        assert_eq!(n("read"), n("used") + n("skipped") + n("superseded"), "{i}");
    }
    inputs
}

fn respondents(json: &Value) -> u64 {
    json["national"]["respondents"].as_u64().unwrap()
}

/// Regression: a stray quote in the last cell of line 3 took the rest of the file into one
/// cell: 2 respondents counted, "0 inputs skipped", exit 0.
#[test]
fn an_unclosed_quote_is_an_error_and_every_line_after_it_is_counted_as_skipped() {
    let (dir, year) = simulated();
    let text = std::fs::read_to_string(year.join("respondents.csv")).unwrap();
    let rows = text.lines().count() as u64 - 1;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // The last cell of line 3 becomes a lone quote, which opens a quoted field.
    let last_comma = lines[2].rfind(',').unwrap();
    lines[2].truncate(last_comma + 1);
    lines[2].push('"');
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, lines.join("\n") + "\n").unwrap();
    let o = run(&["benchmark", s(&broken)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{}:3: unreadable row: the quote opened on line 3 is never closed",
            s(&broken)
        )),
        "{}",
        stderr(&o)
    );
    let json = json(&o);
    let file = &inputs(&json)[0];
    assert_eq!(file["read"].as_u64(), Some(2));
    assert_eq!(file["used"].as_u64(), Some(1));
    assert_eq!(file["lines"].as_u64(), Some(rows));
    assert_eq!(respondents(&json), 1);
}

/// Regression: a quote that opened in one row and closed rows later swallowed the rows between
/// into one cell; one row was reported skipped and the rest were lost without a word.
#[test]
fn a_stray_quote_that_closes_later_spoils_only_its_lines_and_says_which() {
    let csv = "trust,age,sex,FFT\nA,20,1,1\nA,30,\"2,1\nA,40,1,2\nA,50,2,\"3\nA,60,1,4\nA,70,2,5\n";
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("r.csv");
    std::fs::write(&path, csv).unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&path)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("lines 3-5 (3 lines) skipped"), "{}", stderr(&o));
    let json = json(&o);
    let file = &inputs(&json)[0];
    assert_eq!(
        (file["read"].as_u64(), file["used"].as_u64(), file["skipped"].as_u64()),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(file["lines"].as_u64(), Some(6));
    assert_eq!(respondents(&json), 3);
}

/// Regression: a file with CR line ends lost every row silently; CRLF files gave error lines
/// one too low.
#[test]
fn cr_and_crlf_line_ends_read_like_lf_with_the_same_line_numbers() {
    let rows = ["trust,age,sex,FFT", "A,20,1,1", "A,30,2,2", "A,abc,1,1", "A,40,1,3"];
    let dir = TempDir::new().unwrap();
    let mut outputs = Vec::new();
    for (name, end) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, rows.join(end) + end).unwrap();
        let o = run(&["benchmark", "--instrument", "fft", s(&path)]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{}:4: age `abc`", s(&path))), "{name}: {}", stderr(&o));
        let mut json = json(&o);
        assert_eq!(respondents(&json), 3, "{name}");
        json["national"].as_object_mut().unwrap().remove("inputs");
        outputs.push(json);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn crlf_sample_frames_name_the_right_line() {
    let (dir, year) = simulated();
    let frame = std::fs::read_to_string(year.join("frame.csv")).unwrap();
    let mut lines: Vec<&str> = frame.lines().collect();
    lines[2] = "RXX,many,0,0";
    let path = dir.path().join("frame.csv");
    std::fs::write(&path, lines.join("\r\n") + "\r\n").unwrap();
    let o = run(&["benchmark", "--keyring", &keyring(&year), s(&year.join("devices")), "--frame", s(&path)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{}:3: invited `many`", s(&path))), "{}", stderr(&o));
}

/// Regression: `x.csv` and `./x.csv`, a link to it, or a copy, counted the same respondents
/// twice with no warning.
#[cfg(unix)]
#[test]
fn the_same_file_by_any_name_link_or_copy_counts_once() {
    let (dir, year) = simulated();
    let csv = year.join("respondents.csv");
    let once = json(&run(&["benchmark", s(&csv)]));
    let dotted = year.join(".").join("respondents.csv");
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&csv, &link).unwrap();
    let copy = dir.path().join("copy.csv");
    std::fs::copy(&csv, &copy).unwrap();
    // A link to a parent folder inside a folder given as input: neither a loop nor a repeat.
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sim").join("up")).unwrap();
    let o = run(&["benchmark", s(&csv), s(&dotted), s(&link), s(&copy)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the same file as"), "{err}");
    assert!(err.contains("the same content as"), "{err}");
    let twice = json(&o);
    assert_eq!(respondents(&twice), respondents(&once));
    assert_eq!(twice["questions"], once["questions"]);
    let repeats = inputs(&twice).iter().filter(|i| i["kind"] == "repeat").count();
    assert_eq!(repeats, 3);
    let walked = run(&[
        "benchmark",
        s(&dir.path().join("sim").join("2024").join("devices")),
        s(&dir.path().join("sim")),
    ]);
    assert!(walked.status.code().is_some(), "the walk ends");
}

/// Two exports of one device written as files in a fresh folder: `first`, the simulated signed
/// export as the kiosk wrote it, and `second`, its [`unsigned`] copy changed by `edit`; and the
/// simulated year's keyring. Read them with `--keyring` and `--allow-unsigned`.
fn two_exports(edit: impl Fn(&mut Value)) -> (TempDir, PathBuf, PathBuf, String) {
    let (dir, year) = simulated();
    let export = std::fs::read_to_string(year.join("devices").join("RD0-kiosk1.json")).unwrap();
    let mut second = unsigned(serde_json::from_str(&export).unwrap());
    edit(&mut second);
    let (a, b) = (dir.path().join("first.json"), dir.path().join("second.json"));
    std::fs::write(&a, export).unwrap();
    std::fs::write(&b, second.to_string()).unwrap();
    (dir, a, b, keyring(&year))
}

/// Regression: one device reporting two sites was a note, and path order decided which counted.
#[test]
fn one_device_with_two_sites_or_periods_is_an_error_naming_both_files() {
    for (field, value) in [("site", "RZZ"), ("period", "2023")] {
        let (_dir, a, b, ring) = two_exports(|e| {
            e[field] = Value::from(value);
            e["sequence"] = Value::from(e["sequence"].as_u64().unwrap() + 1);
        });
        let o = run(&["benchmark", "--keyring", &ring, "--allow-unsigned", s(&a), s(&b)]);
        assert_eq!(o.status.code(), Some(1), "{field}: nothing usable is left: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(s(&a)) && err.contains(s(&b)) && err.contains(&format!("reports {field}")),
            "{err}"
        );
    }
}

/// Regression: two different exports with one device and sequence: the first path won.
#[test]
fn one_sequence_with_two_contents_is_an_error_and_neither_counts() {
    let (dir, a, b, ring) = two_exports(|e| {
        e["responses"]["rejected"] = Value::from(e["responses"]["rejected"].as_u64().unwrap() + 1);
        e["responses"]["started"] = Value::from(e["responses"]["started"].as_u64().unwrap() + 1);
    });
    let other = std::fs::read_dir(dir.path().join("sim/2024/devices"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !s(p).contains("RD0-kiosk1") && !s(p).contains("seq"))
        .unwrap();
    let o = run(&["benchmark", "--keyring", &ring, "--allow-unsigned", s(&a), s(&b), s(&other)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("differs between"), "{}", stderr(&o));
    let json = json(&o);
    let used: u64 = inputs(&json).iter().map(|i| i["used"].as_u64().unwrap()).sum();
    assert_eq!(used, 1, "only the other kiosk counts");
}

#[test]
fn exports_for_another_period_than_period_are_errors() {
    let (_dir, year) = simulated();
    let (devices, ring) = (year.join("devices"), keyring(&year));
    let o = run(&["benchmark", "--keyring", &ring, "--period", "2024", s(&devices)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["benchmark", "--keyring", &ring, "--period", "2025", s(&devices)]);
    assert_eq!(o.status.code(), Some(1), "every export skipped: {}", stderr(&o));
    assert!(stderr(&o).contains("not the survey period 2025 (--period)"), "{}", stderr(&o));
}

/// Regression: answers removed by routing were counted but reported nowhere.
#[test]
fn answers_removed_by_routing_are_reported_with_cleaned_ones() {
    let (_dir, year) = simulated();
    let o = run(&["benchmark", s(&year.join("respondents.csv"))]);
    let json = json(&o);
    let national = json["national"]["cleaning"]["removed_by_routing"].as_u64().unwrap();
    let per_question: u64 = json["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["cleaning"]["removed_by_routing"].as_u64().unwrap())
        .sum();
    assert!(national > 0);
    assert!(national >= per_question, "scored questions are a subset of all");
    assert!(stderr(&o).contains(&format!("{national} removed by routing")), "{}", stderr(&o));
}

/// An FFT export whose counters are near 2^32, for device `device` ([`unsigned`]: read it with
/// `--allow-unsigned`).
fn huge_fft_export(dir: &Path, device: &str) -> PathBuf {
    let sim = dir.join("fft");
    if !sim.exists() {
        let o = run(&[
            "simulate",
            "--instrument",
            "fft",
            "--trusts",
            "1",
            "--respondents",
            "40",
            "--out",
            s(&sim),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let devices = sim.join("2024/devices");
    let first = std::fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !s(p).contains("seq"))
        .unwrap();
    let mut e = unsigned(serde_json::from_str(&std::fs::read_to_string(first).unwrap()).unwrap());
    let extra = 3_000_000_000u64;
    let r = &mut e["responses"];
    for k in ["started", "completed"] {
        r[k] = Value::from(r[k].as_u64().unwrap() + extra);
    }
    let unknown = r["by_stratum"].as_array().unwrap().len() - 1;
    r["by_stratum"][unknown] = Value::from(r["by_stratum"][unknown].as_u64().unwrap() + extra);
    e["device"] = Value::from(device);
    let path = dir.join(format!("{device}.json"));
    std::fs::write(&path, e.to_string()).unwrap();
    path
}

/// Regression: a count overflow while merging one trust stopped the whole run (exit 1) without
/// naming a file.
#[test]
fn a_merge_overflow_skips_that_file_names_it_and_the_run_goes_on() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (huge_fft_export(dir.path(), "big-1"), huge_fft_export(dir.path(), "big-2"));
    let o = run(&["benchmark", "--instrument", "fft", "--allow-unsigned", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let named = format!("error: {}: ", s(&b));
    let message = err.lines().find(|l| l.starts_with(&named)).unwrap_or_else(|| panic!("{err}"));
    assert!(message.contains("a count would overflow"), "{err}");
    let json = json(&o);
    assert!(respondents(&json) > 3_000_000_000);
}

/// Regression: national invited totals saturated at 2^32 - 1, and a response rate of 1550%
/// passed.
#[test]
fn frames_sum_in_64_bits_and_refuse_rates_above_100_percent() {
    let (dir, year) = simulated();
    let ring = keyring(&year);
    let json0 = json(&run(&["benchmark", "--keyring", &ring, s(&year.join("devices"))]));
    let trusts: Vec<(String, u64)> = json0["trusts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["trust"].as_str().unwrap().to_owned(), t["respondents"].as_u64().unwrap()))
        .collect();
    let mut frame = String::from("trust,invited,undeliverable,deceased\n");
    for (i, (code, n)) in trusts.iter().enumerate() {
        // The first trust claims far fewer invitations than it has respondents.
        let invited = if i == 0 { n / 15 } else { 4_000_000_000 };
        frame.push_str(&format!("{code},{invited},0,0\n"));
    }
    frame.push_str("R T5,10,0,0\n");
    let path = dir.path().join("frame.csv");
    std::fs::write(&path, frame).unwrap();
    let o = run(&["benchmark", "--keyring", &ring, s(&year.join("devices")), "--frame", s(&path)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "trust {}: {} completed responses but an adjusted base of",
            trusts[0].0, trusts[0].1
        )),
        "{err}"
    );
    assert!(err.contains("trust code `R T5`"), "{err}");
    let json = json(&o);
    let invited = json["national"]["response_rate"]["invited"].as_u64().unwrap();
    assert_eq!(invited, 4_000_000_000 * (trusts.len() as u64 - 1));
    assert!(json["trusts"][0]["response_rate"].is_null());
}

/// Regression: the duplicate-column check compared every pair of a million columns.
#[test]
fn a_header_of_a_million_columns_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("wide.csv");
    let header: Vec<String> =
        std::iter::once("trust".to_owned()).chain((0..1_000_000).map(|i| format!("c{i}"))).collect();
    std::fs::write(&path, header.join(",") + "\nA\n").unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&path)]);
    assert_eq!(o.status.code(), Some(1), "no usable input");
    assert!(stderr(&o).contains("the header has 1000001 columns, more than 10000"), "{}", stderr(&o));
}

/// Many exports in one large .jsonl are streamed a line at a time, and those whose tallies were
/// not kept (past `KEEP`) are read again when counted: the figures equal those of the same
/// exports one file each. Regression for memory that grew with every export given. (Each copy
/// has a new device id, so it is [`unsigned`].)
#[test]
fn streamed_and_reread_exports_count_like_files() {
    let dir = TempDir::new().unwrap();
    let sim = dir.path().join("fft");
    let o =
        run(&["simulate", "--instrument", "fft", "--trusts", "3", "--respondents", "90", "--out", s(&sim)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let devices = sim.join("2024/devices");
    let mut templates: Vec<Value> = std::fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !s(p).contains("seq"))
        .map(|p| unsigned(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()))
        .collect();
    templates.sort_by_key(|t| t["device"].as_str().unwrap().to_owned());
    let (files, mut jsonl) = (dir.path().join("files"), String::new());
    std::fs::create_dir(&files).unwrap();
    let count = surveybench::ingest::export::KEEP + 100;
    for i in 0..count {
        let mut e = templates[i % templates.len()].clone();
        e["device"] = Value::from(format!("k{i}"));
        std::fs::write(files.join(format!("k{i}.json")), e.to_string()).unwrap();
        jsonl.push_str(&e.to_string());
        jsonl.push('\n');
        if i == 7 {
            // A line longer than any export can be: skipped unread, and named.
            jsonl.push_str(&format!("{{\"pad\":\"{}\"}}\n", "x".repeat(1 << 20)));
        }
    }
    let path = dir.path().join("all.jsonl");
    std::fs::write(&path, jsonl).unwrap();
    let one_file = run(&["benchmark", "--instrument", "fft", "--allow-unsigned", s(&path)]);
    assert_eq!(one_file.status.code(), Some(2), "{}", stderr(&one_file));
    assert!(
        stderr(&one_file)
            .contains(&format!("{}:9: line of 1048587 bytes, longer than any `fft` export", s(&path))),
        "{}",
        stderr(&one_file)
    );
    let many_files = run(&["benchmark", "--instrument", "fft", "--allow-unsigned", s(&files)]);
    assert!(many_files.status.success(), "{}", stderr(&many_files));
    let (a, b) = (json(&one_file), json(&many_files));
    assert_eq!(a["questions"], b["questions"]);
    assert_eq!(respondents(&a), respondents(&b));
    let want: u64 =
        (0..count).map(|i| templates[i % templates.len()]["responses"]["completed"].as_u64().unwrap()).sum();
    assert_eq!(respondents(&a), want, "every export counted once, kept or read again");
    let totals = &inputs(&a)[0];
    assert_eq!(
        (totals["read"].as_u64(), totals["used"].as_u64(), totals["unsigned"].as_u64()),
        (Some(count as u64 + 1), Some(count as u64), Some(count as u64))
    );
    let unsigned: u64 = inputs(&b).iter().map(|i| i["unsigned"].as_u64().unwrap()).sum();
    assert_eq!(unsigned, count as u64, "every file's unsigned export recorded");
}

/// A file of several blocks (read on several threads) accounts for every line as one read in
/// memory would: the same respondents, and errors on the lines where they are.
#[test]
fn a_file_streamed_in_blocks_counts_every_line_exactly() {
    let (dir, year) = simulated();
    let text = std::fs::read_to_string(year.join("respondents.csv")).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let rows_per_copy = body.lines().count();
    let copies = 100;
    let mut big = format!("{header}\n");
    for _ in 0..copies {
        big.push_str(body);
    }
    let mut lines: Vec<&str> = big.lines().collect();
    // Two bad rows: one early, one near the end (in another block).
    let (early, late) = (10, lines.len() - 5);
    lines[early] = "R??,1,2";
    lines[late] = "R??,3,4";
    let path = dir.path().join("big.csv");
    std::fs::write(&path, lines.join("\r\n") + "\r\n").unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 4 << 20, "more than one block");
    let o = run(&["benchmark", s(&path)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for line in [early + 1, late + 1] {
        assert!(
            stderr(&o).contains(&format!("{}:{line}: row has 3 fields", s(&path))),
            "line {line}: {}",
            stderr(&o)
        );
    }
    let json = json(&o);
    let file = &inputs(&json)[0];
    let rows = (copies * rows_per_copy) as u64;
    assert_eq!(
        (file["read"].as_u64(), file["skipped"].as_u64(), file["lines"].as_u64()),
        (Some(rows), Some(2), Some(rows))
    );
    assert_eq!(respondents(&json), rows - 2);
}

/// A kiosk that recovered from damaged flash says so (`storage_faults`, issue 10): its export
/// still counts, but the run names it and exits 2, as the figures may miss responses.
#[test]
fn an_export_reporting_storage_faults_counts_and_exits_2_naming_it() {
    let (_dir, a, b, ring) = two_exports(|e| {
        e["sequence"] = Value::from(e["sequence"].as_u64().unwrap() + 1);
        e["storage_faults"] = Value::from(1);
    });
    let clean = run(&["benchmark", "--keyring", &ring, s(&a)]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let o = run(&["benchmark", "--keyring", &ring, "--allow-unsigned", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(s(&b)) && err.contains("1 storage fault(s)"), "{err}");
    assert_eq!(respondents(&json(&o)), respondents(&json(&clean)), "the newest export still counts");
}
