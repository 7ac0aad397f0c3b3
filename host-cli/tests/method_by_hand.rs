//! The method against a three-trust case worked by hand (method.md §4, §5, §7, §8), run end to
//! end through the command line on a respondent file of the Friends and Family Test.
//!
//! FFT scores: code 1 = 10, 2 = 7.5, 3 = 5, 4 = 2.5, 5 = 0. Everyone is aged 20 (band 16-35).
//!
//! | trust | men (x)  | women (x)       |
//! |-------|----------|-----------------|
//! | A     | 10, 10   | 0, 5            |
//! | B     | 7.5      | 10, 7.5, 2.5    |
//! | C     | 5, 5     | 10, 10          |
//!
//! National shares (§4): 5 men and 7 women, P_m = 5/12, P_f = 7/12.
//! Trust A and C: p = 1/2 each, so w_m = (5/12)/(1/2) = 5/6 and w_f = 7/6.
//! Trust B: p_m = 1/4, p_f = 3/4, so w_m = 5/3 and w_f = 7/9. No weight reaches the cap of 5.
//! Scores (§5), W = sum of weights = 4 in every trust:
//!   A = (5/6 * 20 + 7/6 * 5) / 4 = 135/24 = 5.625
//!   B = (5/3 * 7.5 + 7/9 * 20) / 4 = 252.5/36 = 7.01388...
//!   C = (5/6 * 10 + 7/6 * 20) / 4 = 190/24 = 7.91666...
//! Variances: V = n/(n-1) * sum w^2 (x - score)^2 / W^2 with n = 4, written out in the test.
//! National average (§7) = (A + B + C) / 3; lowest A, highest C.
//! Expected range (§8): z = (y - y0)/s = (-0.507, 0.130, 0.759); the type-7 10th and 90th
//! percentiles are -0.380 and 0.633; phi = 0.187, I * phi = 0.56 <= I - 1 = 2, so tau^2 = 0 and
//! every trust is "about the same".

use assert_cmd::Command;
use tempfile::TempDir;

const CSV: &str = "trust,age,sex,FFT
A,20,1,1
A,20,1,1
A,20,2,5
A,20,2,3
B,20,1,2
B,20,2,1
B,20,2,2
B,20,2,4
C,20,1,3
C,20,1,3
C,20,2,1
C,20,2,1
";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn three_trusts_match_the_hand_worked_arithmetic() {
    let dir = TempDir::new().unwrap();
    let csv = dir.path().join("fft.csv");
    std::fs::write(&csv, CSV).unwrap();
    // The built-in profile with suppression lowered so four respondents get a score.
    let profile = Command::cargo_bin("surveybench").unwrap().args(["method", "show"]).output().unwrap();
    let toml =
        String::from_utf8(profile.stdout).unwrap().replace("min_respondents = 30", "min_respondents = 2");
    let method = dir.path().join("small.toml");
    std::fs::write(&method, toml).unwrap();
    let out = Command::cargo_bin("surveybench")
        .unwrap()
        .args([
            "benchmark",
            "--instrument",
            "fft",
            "--method",
            method.to_str().unwrap(),
            csv.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = &json["questions"][0];
    let result = |t: usize, field: &str| q["results"][t][field].as_f64().unwrap();

    let (a, b, c) = (135.0 / 24.0, 252.5 / 36.0, 190.0 / 24.0);
    let sq = |x: f64| x * x;
    let v_a =
        4.0 / 3.0 * (2.0 * sq(5.0 / 6.0) * sq(10.0 - a) + sq(7.0 / 6.0) * (sq(0.0 - a) + sq(5.0 - a))) / 16.0;
    let v_b = 4.0 / 3.0
        * (sq(5.0 / 3.0) * sq(7.5 - b) + sq(7.0 / 9.0) * (sq(10.0 - b) + sq(7.5 - b) + sq(2.5 - b)))
        / 16.0;
    let v_c = 4.0 / 3.0 * (2.0 * sq(5.0 / 6.0) * sq(5.0 - c) + 2.0 * sq(7.0 / 6.0) * sq(10.0 - c)) / 16.0;
    for (t, (score, v)) in [(a, v_a), (b, v_b), (c, v_c)].into_iter().enumerate() {
        assert!(close(result(t, "score"), score), "trust {t}: {} vs {score}", result(t, "score"));
        assert!(close(result(t, "se"), v.sqrt()), "trust {t}: {} vs {}", result(t, "se"), v.sqrt());
    }
    let y0 = (a + b + c) / 3.0;
    let national = &q["national"];
    assert!(close(national["mean"].as_f64().unwrap(), y0));
    assert!(close(national["min"].as_f64().unwrap(), a));
    assert!(close(national["max"].as_f64().unwrap(), c));
    assert_eq!(national["tau2"].as_f64(), Some(0.0));
    assert!(close(result(0, "z"), (a - y0) / v_a.sqrt()));
    for t in 0..3 {
        assert_eq!(q["results"][t]["band"], "about_the_same");
    }
    // One question in the instrument's only section: the section score is the question's.
    assert!(close(json["sections"][0]["results"][1]["score"].as_f64().unwrap(), b));
}
