//! Renderers of the benchmark model, one file per format.

pub mod csv;
pub mod html;
pub mod json;
pub mod pdf;
pub mod text;

/// One decimal place, as the published report prints scores; "n/a" when absent.
#[must_use]
pub fn one_dp(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}
