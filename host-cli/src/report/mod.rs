//! Renderers of the benchmark model, one file per format.

pub mod csv;
pub mod html;
pub mod json;
pub mod pdf;
pub mod text;

/// One decimal place, as the published report prints scores; "n/a" when absent. Halves round
/// away from zero (7.25 shows as 7.3), as spreadsheet and statistics packages print them;
/// Rust's `{:.1}` would round an exact half to even.
#[must_use]
pub fn one_dp(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}", round1(v)))
}

/// `v` rounded to one decimal place, halves away from zero (for display only).
#[must_use]
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_halves_round_away_from_zero() {
        assert_eq!(one_dp(Some(7.25)), "7.3");
        assert_eq!(one_dp(Some(-0.25)), "-0.3");
        // 5.35 is 5.3499999999999996 in binary, but 10 x 5.35 rounds to 53.5: a decimal half
        // within an ulp shows as a reader expects (the 2024 report prints S3's 5.35 as 5.4).
        assert_eq!(one_dp(Some(5.35)), "5.4");
        assert_eq!(one_dp(Some(5.349)), "5.3");
        assert_eq!(one_dp(None), "n/a");
    }
}
