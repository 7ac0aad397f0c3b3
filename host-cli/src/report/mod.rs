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

/// The file name of trust `trust`'s report: `report-CODE.EXTENSION`, with CODE spelled so that
/// no trust code can leave the folder, look like a URL scheme, or share a file with another
/// code, even on a case-insensitive file system. Upper-case letters, digits and `-` stand for
/// themselves; every other byte (lower-case letters and `_` too) is `_` and two lower-case hex
/// digits, so `RT5` is `report-RT5.html` and `a/b:c` is `report-_61_2f_62_3a_63.html`
/// ([`crate::output::file_name_part`]).
#[must_use]
pub fn file_name(trust: &str, extension: &str) -> String {
    format!("report-{}.{extension}", crate::output::file_name_part(trust))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_file_names_keep_nhs_codes_and_escape_the_rest() {
        assert_eq!(file_name("RT5", "html"), "report-RT5.html");
        assert_eq!(file_name("R-1", "txt"), "report-R-1.txt");
        assert_eq!(file_name("a/../../pwn", "pdf"), "report-_61_2f_2e_2e_2f_2e_2e_2f_70_77_6e.pdf");
        assert_eq!(file_name("x:y", "html"), "report-_78_3a_79.html");
        assert_eq!(file_name("é", "txt"), "report-_c3_a9.txt");
    }

    #[test]
    fn different_codes_get_different_names_even_ignoring_case() {
        let codes =
            ["RT5", "rt5", "Rt5", "rT5", "_52T5", "_", "__", "_5f", "R_T5", "a.b", "a_2eb", "A", "a", ""];
        let mut folded: Vec<String> = codes.iter().map(|c| file_name(c, "html").to_lowercase()).collect();
        folded.sort();
        folded.dedup();
        assert_eq!(folded.len(), codes.len(), "{folded:?}");
    }

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
