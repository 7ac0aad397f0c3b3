//! Issue 8, "never a silently wrong benchmark", on the output side: hostile trust codes never
//! leave the output folder, a killed run never truncates the last good file, `simulate` never
//! panics, input text stays inert on the terminal and in spreadsheets.

use std::path::Path;
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
