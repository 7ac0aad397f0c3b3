//! A trust whose respondents all gave one score (method.md §8 step 5, §9), end to end.
//!
//! Trust Z answers the Friends and Family Test "very good" (10) to a person, with men and women
//! in another mix than the country, so its standardisation weights are not whole numbers and
//! sum(w x) / sum(w) in floating point is not exactly 10. Its score must still be exactly 10
//! with an SE of exactly 0, it must take no part in phi and tau^2, and every other trust's
//! z and band must be what the formulas of §8 give over the other trusts alone (recomputed
//! here independently from the published scores and SEs).

use assert_cmd::Command;
use tempfile::TempDir;

/// FFT option codes 1..=5 score 10, 7.5, 5, 2.5, 0.
const TRUSTS: usize = 8;

/// Respondent rows: eight trusts with different score mixes, then Z (all code 1).
fn csv(z_men: usize, z_women: usize) -> String {
    let mut rows = String::from("trust,age,sex,FFT\n");
    for t in 0..TRUSTS {
        for i in 0..40 {
            // Trust t leans towards code 1 + t % 5, with some spread: over-dispersed on purpose.
            let code = if i % 4 == 0 { 1 + (i / 4) % 5 } else { 1 + (t * 3 + i % 3) % 5 };
            let sex = 1 + (i + t) % 2;
            rows.push_str(&format!("T{t},{},{sex},{code}\n", 20 + (i % 3) * 20));
        }
    }
    for i in 0..z_men + z_women {
        let sex = if i < z_men { 1 } else { 2 };
        rows.push_str(&format!("Z,{},{sex},1\n", 20 + (i % 3) * 20));
    }
    rows
}

fn benchmark(dir: &TempDir, now: &str, before: &str) -> serde_json::Value {
    let (now_path, before_path) = (dir.path().join("now.csv"), dir.path().join("before.csv"));
    std::fs::write(&now_path, now).unwrap();
    std::fs::write(&before_path, before).unwrap();
    let profile = Command::cargo_bin("surveybench").unwrap().args(["method", "show"]).output().unwrap();
    let toml =
        String::from_utf8(profile.stdout).unwrap().replace("min_respondents = 30", "min_respondents = 5");
    let method = dir.path().join("small.toml");
    std::fs::write(&method, toml).unwrap();
    let out = Command::cargo_bin("surveybench")
        .unwrap()
        .args(["benchmark", "--instrument", "fft", "--method", method.to_str().unwrap()])
        .arg(&now_path)
        .arg("--previous")
        .arg(&before_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// R's quantile(type = 7) of sorted values.
fn quantile7(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - h.floor()) * (sorted[hi] - sorted[lo])
}

/// tau^2 of method.md §8 steps 1-4 over `(score, se)`, all with se > 0, around `y0`.
fn tau2_by_hand(trusts: &[(f64, f64)], y0: f64) -> f64 {
    let mut z: Vec<f64> = trusts.iter().map(|(y, s)| (y - y0) / s).collect();
    z.sort_by(f64::total_cmp);
    let (lo, hi) = (quantile7(&z, 0.1), quantile7(&z, 0.9));
    let i = z.len() as f64;
    let phi = z.iter().map(|v| v.clamp(lo, hi).powi(2)).sum::<f64>() / i;
    let w: Vec<f64> = trusts.iter().map(|(_, s)| 1.0 / (s * s)).collect();
    let (sw, sw2) = (w.iter().sum::<f64>(), w.iter().map(|v| v * v).sum::<f64>());
    if i * phi <= i - 1.0 { 0.0 } else { (i * phi - (i - 1.0)) / (sw - sw2 / sw) }
}

fn band(z: f64) -> &'static str {
    let a = z.abs();
    match (a > 2.576, a > 1.96, a > 1.645, z > 0.0) {
        (true, _, _, true) => "much_better",
        (true, _, _, false) => "much_worse",
        (_, true, _, true) => "better",
        (_, true, _, false) => "worse",
        (_, _, true, true) => "somewhat_better",
        (_, _, true, false) => "somewhat_worse",
        _ => "about_the_same",
    }
}

/// Regression: Z's score came out 9.999999999999998 with an SE of about 3e-16, entered phi
/// and tau^2 with a weight of about 1e31, and took tau^2 (and so every other band) with it.
#[test]
fn a_trust_that_gave_one_score_is_exact_and_leaves_the_others_bands_alone() {
    let dir = TempDir::new().unwrap();
    let json = benchmark(&dir, &csv(4, 2), &csv(5, 2));
    let q = &json["questions"][0];
    let results = q["results"].as_array().unwrap();
    let z = results.iter().find(|r| r["trust"] == "Z").unwrap();
    assert_eq!(z["score"].as_f64(), Some(10.0), "{z}");
    assert_eq!(z["se"].as_f64(), Some(0.0), "{z}");

    let all: Vec<(f64, f64)> =
        results.iter().map(|r| (r["score"].as_f64().unwrap(), r["se"].as_f64().unwrap())).collect();
    let y0 = all.iter().map(|t| t.0).sum::<f64>() / all.len() as f64;
    let others: Vec<(f64, f64)> = all.iter().copied().filter(|t| t.1 > 0.0).collect();
    assert_eq!(others.len(), TRUSTS);
    let tau2 = tau2_by_hand(&others, y0);
    assert!(tau2 > 0.0, "the case must be over-dispersed to test anything");
    let got = q["national"]["tau2"].as_f64().unwrap();
    assert!((got - tau2).abs() <= 1e-12 * tau2, "tau2 {got} vs {tau2} by hand");
    for r in results.iter().filter(|r| r["trust"] != "Z") {
        let (y, s) = (r["score"].as_f64().unwrap(), r["se"].as_f64().unwrap());
        let want = (y - y0) / (s * s + tau2).sqrt();
        let z = r["z"].as_f64().unwrap();
        assert!((z - want).abs() <= 1e-9 * want.abs().max(1.0), "{}: z {z} vs {want}", r["trust"]);
        assert_eq!(r["band"], band(want), "{}", r["trust"]);
    }
    // Z sits above the average with no uncertainty: infinitely far, much better.
    assert_eq!(z["band"], "much_better");
}

/// Regression: the same top score in both years, from other mixes of men and women, gave two
/// residues of opposite sign and a spurious "increase" with t of about 1e15.
#[test]
fn the_same_single_score_in_both_years_is_no_change() {
    let dir = TempDir::new().unwrap();
    let json = benchmark(&dir, &csv(4, 2), &csv(5, 2));
    let z = json["questions"][0]["results"].as_array().unwrap().iter().find(|r| r["trust"] == "Z").unwrap();
    assert_eq!(z["change"]["statistic"].as_f64(), Some(0.0), "{z}");
    assert_eq!(z["change"]["direction"], "no_change");
}
