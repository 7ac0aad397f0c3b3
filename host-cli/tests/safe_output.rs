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

/// Regression: control characters from input files (a file name, a CSV header, a cell) reached
/// the terminal raw in problem messages and errors.
#[test]
fn terminal_control_characters_from_input_are_escaped_on_stderr() {
    let dir = TempDir::new().unwrap();
    let csv = dir.path().join("evil\u{1b}]0;title\u{7}.csv");
    let text = "trust,age,sex,FFT,note\u{1b}[2J\nRT5,\"\u{202e}3\n1\",1,1,x\nRT5,40,2,2,y\n";
    std::fs::write(&csv, text).unwrap();
    let o = run(&["benchmark", "--instrument", "fft", s(&csv)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!err.contains(raw), "raw {raw:?} on stderr: {err:?}");
    }
    assert!(err.contains(r"evil\x1b]0;title\x07.csv"), "{err}");
    assert!(err.contains(r"columns ignored: note\x1b[2J"), "{err}");
    assert!(err.contains(r"age `\u{202e}3\n1` is not a whole number"), "one line per message: {err}");
    // An error that stops the run is escaped too.
    let o = run(&["benchmark", &format!("{}/missing\u{1b}[31m", s(dir.path()))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains('\u{1b}') && stderr(&o).contains(r"missing\x1b[31m"), "{}", stderr(&o));
}
