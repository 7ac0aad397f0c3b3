//! The HTML report printed to PDF by headless Chromium (Debian packages `chromium` and
//! `chromium-driver`, installed by `.ci/install-tools`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Chromium's program: `$SURVEYBENCH_CHROMIUM`, else the first of `chromium`,
/// `chromium-browser`, `google-chrome` on the `PATH`.
///
/// # Errors
/// None of them is installed.
pub fn chromium() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SURVEYBENCH_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "headless Chromium is needed for PDF output but was not found on the PATH \
         (install the Debian packages chromium and chromium-driver, e.g. by running .ci/install-tools, \
         or set SURVEYBENCH_CHROMIUM to its path)"
    )
}

/// Flags for a quiet, offline, one-shot headless run with its own fresh profile folder.
#[must_use]
pub fn headless_args(profile_dir: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile_dir.display())])
    .collect()
}

/// Runs Chromium with `args`, killing it after `limit`; returns its standard error.
///
/// # Errors
/// It cannot start, times out, or fails.
pub fn run_chromium(args: &[String], limit: Duration) -> Result<String> {
    let program = chromium()?;
    let err_file = tempfile::NamedTempFile::new()?;
    let mut child = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file.reopen()?)
        .spawn()
        .with_context(|| format!("{}: cannot start", program.display()))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{}: no result after {} s", program.display(), limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(err_file.path()).unwrap_or_default();
    if !status.success() {
        bail!("{} failed ({status}):\n{stderr}", program.display());
    }
    Ok(stderr)
}

/// Prints `html` to a PDF at `out`. Chromium prints into a private folder; `out` is replaced
/// only by a whole PDF (see [`crate::output::write`]).
///
/// # Errors
/// Chromium is missing or fails, or writes no PDF, or `out` cannot be written.
pub fn write(html: &str, out: &Path) -> Result<()> {
    let work = tempfile::tempdir()?;
    let page = work.path().join("report.html");
    std::fs::write(&page, html).with_context(|| format!("{}: cannot write", page.display()))?;
    let printed = work.path().join("report.pdf");
    let mut args = headless_args(&work.path().join("profile"));
    args.push(format!("--print-to-pdf={}", printed.display()));
    args.push("--no-pdf-header-footer".to_owned());
    args.push(format!("file://{}", page.display()));
    run_chromium(&args, Duration::from_secs(120))?;
    let pdf = std::fs::read(&printed).with_context(|| format!("{}: Chromium wrote no PDF", out.display()))?;
    if !pdf.starts_with(b"%PDF") {
        bail!("{}: Chromium's output is not a PDF", out.display());
    }
    crate::output::write(out, &pdf)
}
