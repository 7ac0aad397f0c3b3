//! The benchmark as JSON (schema `surveybench-benchmark` v1; unrounded values).

use anyhow::Result;

use crate::benchmark::Benchmark;

/// Pretty-printed JSON with a trailing newline.
///
/// # Errors
/// Only if serialisation fails.
pub fn render(b: &Benchmark) -> Result<String> {
    let mut s = serde_json::to_string_pretty(b)?;
    s.push('\n');
    Ok(s)
}
