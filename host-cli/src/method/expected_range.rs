//! The expected range: banding trusts against the national average with an additive random
//! effect for over-dispersion (method.md §8; Spiegelhalter 2005, as FunnelPlotR does it).

use serde::Serialize;

use crate::profile::ExpectedRange;

/// The seven bands of method.md §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// z > z_much.
    MuchBetter,
    /// z_clear < z <= z_much.
    Better,
    /// z_somewhat < z <= z_clear.
    SomewhatBetter,
    /// |z| <= z_somewhat.
    AboutTheSame,
    /// Mirror of somewhat better.
    SomewhatWorse,
    /// Mirror of better.
    Worse,
    /// Mirror of much better.
    MuchWorse,
}

impl Band {
    /// Every band, best first.
    pub const ALL: [Band; 7] = [
        Band::MuchBetter,
        Band::Better,
        Band::SomewhatBetter,
        Band::AboutTheSame,
        Band::SomewhatWorse,
        Band::Worse,
        Band::MuchWorse,
    ];

    /// The band of an adjusted z (method.md §8 table).
    #[must_use]
    pub fn of(z: f64, t: &ExpectedRange) -> Band {
        let a = z.abs();
        let better = z > 0.0;
        match (a > t.z_much, a > t.z_clear, a > t.z_somewhat, better) {
            (true, _, _, true) => Band::MuchBetter,
            (true, _, _, false) => Band::MuchWorse,
            (_, true, _, true) => Band::Better,
            (_, true, _, false) => Band::Worse,
            (_, _, true, true) => Band::SomewhatBetter,
            (_, _, true, false) => Band::SomewhatWorse,
            _ => Band::AboutTheSame,
        }
    }

    /// The band as the report words it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Band::MuchBetter => "much better than expected",
            Band::Better => "better than expected",
            Band::SomewhatBetter => "somewhat better than expected",
            Band::AboutTheSame => "about the same",
            Band::SomewhatWorse => "somewhat worse than expected",
            Band::Worse => "worse than expected",
            Band::MuchWorse => "much worse than expected",
        }
    }
}

/// Over-dispersion of one question or section across trusts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dispersion {
    /// y0, the national average (mean of the trust scores, method.md §7).
    pub national: f64,
    /// phi, the mean squared winsorised z; `None` when no trust has a positive SE.
    pub phi: Option<f64>,
    /// tau^2, the additive between-trust variance (0 when not over-dispersed).
    pub tau2: f64,
}

/// A trust's place in the expected range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Placement {
    /// Adjusted z; infinite when the trust's SE and tau^2 are both 0 and its score differs.
    pub z: f64,
    /// The band.
    pub band: Band,
}

/// Percentile `p` of sorted `x` with linear interpolation between order statistics (R
/// `quantile` type 7).
#[must_use]
pub fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let i = lo as usize;
    let a = *sorted.get(i)?;
    let b = sorted.get(i + 1).copied().unwrap_or(a);
    Some(a + (h - lo) * (b - a))
}

/// Steps 1-5 of method.md §8 over trusts' `(score, se)`: returns the dispersion and each
/// trust's placement, in input order. `None` when there are no trusts.
#[must_use]
pub fn expected_range(trusts: &[(f64, f64)], rules: &ExpectedRange) -> Option<(Dispersion, Vec<Placement>)> {
    if trusts.is_empty() {
        return None;
    }
    let y0 = trusts.iter().map(|t| t.0).sum::<f64>() / trusts.len() as f64;
    // Trusts with s = 0 take no part in steps 2-4.
    let usable: Vec<(f64, f64)> = trusts.iter().copied().filter(|&(_, s)| s > 0.0).collect();
    let mut z: Vec<f64> = usable.iter().map(|&(y, s)| (y - y0) / s).collect();
    z.sort_by(f64::total_cmp);
    let (lo, hi) = (quantile_type7(&z, rules.winsor_lower), quantile_type7(&z, rules.winsor_upper));
    let tau2 = match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let i = z.len() as f64;
            let phi = z.iter().map(|&v| v.clamp(lo, hi).powi(2)).sum::<f64>() / i;
            let w: Vec<f64> = usable.iter().map(|&(_, s)| 1.0 / (s * s)).collect();
            let (sw, sw2) = (w.iter().sum::<f64>(), w.iter().map(|v| v * v).sum::<f64>());
            // With fewer than two trusts with an SE there is no spread to estimate: the
            // denominator is 0 in exact arithmetic (a rounding residue in floating point), and
            // tau^2 stays 0.
            let denominator = sw - sw2 / sw;
            let no_spread = usable.len() < 2 || denominator.is_nan() || denominator <= 1e-12 * sw;
            let tau2 =
                if i * phi <= i - 1.0 || no_spread { 0.0 } else { (i * phi - (i - 1.0)) / denominator };
            (Some(phi), tau2)
        }
        _ => (None, 0.0),
    };
    let (phi, tau2) = tau2;
    let placements = trusts
        .iter()
        .map(|&(y, s)| {
            let d = (s * s + tau2).sqrt();
            let z = super::standardised(y - y0, d);
            Placement { z, band: Band::of(z, rules) }
        })
        .collect();
    Some((Dispersion { national: y0, phi, tau2 }, placements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn quantile_type7_matches_r() {
        // R: quantile(c(1,2,3,4,10), c(.1,.9), type=7) -> 1.4, 7.6
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert!((quantile_type7(&x, 0.1).unwrap() - 1.4).abs() < 1e-12);
        assert!((quantile_type7(&x, 0.9).unwrap() - 7.6).abs() < 1e-12);
    }

    #[test]
    fn bands_follow_the_thresholds() {
        let t = Profile::npsp_2024().expected_range;
        assert_eq!(Band::of(1.645, &t), Band::AboutTheSame);
        assert_eq!(Band::of(1.7, &t), Band::SomewhatBetter);
        assert_eq!(Band::of(-1.96, &t), Band::SomewhatWorse);
        assert_eq!(Band::of(-2.2, &t), Band::Worse);
        assert_eq!(Band::of(2.58, &t), Band::MuchBetter);
        assert_eq!(Band::of(f64::NEG_INFINITY, &t), Band::MuchWorse);
    }

    /// A three-trust case worked by hand (method.md §8).
    /// Scores 6, 7, 8 with SEs 0.5, 0.5, 1.0: y0 = 7; z = -2, 0, 1.
    /// Sorted z = (-2, 0, 1); type-7 10th percentile: h = 0.2 -> -2 + 0.2*2 = -1.6;
    /// 90th: h = 1.8 -> 0 + 0.8*1 = 0.8. Winsorised z = (-1.6, 0, 0.8);
    /// phi = (2.56 + 0 + 0.64)/3 = 1.0666...; I*phi = 3.2 > I-1 = 2, so
    /// w = (4, 4, 1), sum w = 9, sum w^2 = 33, tau2 = (3.2 - 2)/(9 - 33/9) = 1.2/5.3333 = 0.225.
    /// Adjusted z of trust 1: (6-7)/sqrt(0.25 + 0.225) = -1/0.68920 = -1.45095.
    #[test]
    fn three_trusts_by_hand() {
        let t = Profile::npsp_2024().expected_range;
        let (d, p) = expected_range(&[(6.0, 0.5), (7.0, 0.5), (8.0, 1.0)], &t).unwrap();
        assert!((d.national - 7.0).abs() < 1e-12);
        assert!((d.phi.unwrap() - 3.2 / 3.0).abs() < 1e-12);
        assert!((d.tau2 - 0.225).abs() < 1e-12);
        assert!((p[0].z - (-1.0 / 0.475f64.sqrt())).abs() < 1e-12);
        assert!((p[2].z - (1.0 / 1.225f64.sqrt())).abs() < 1e-12);
        assert!(p.iter().all(|x| x.band == Band::AboutTheSame));
    }

    #[test]
    fn no_over_dispersion_gives_zero_tau2() {
        let t = Profile::npsp_2024().expected_range;
        let (d, p) = expected_range(&[(7.0, 1.0), (7.1, 1.0), (6.9, 1.0)], &t).unwrap();
        assert_eq!(d.tau2, 0.0);
        assert!((p[1].z - 0.1).abs() < 1e-12);
    }

    /// Regression: one trust with an SE beside a zero-SE trust gave tau^2 = phi / 0 = inf,
    /// which hid the zero-SE trust's real distance from the average.
    #[test]
    fn one_trust_with_an_se_gives_zero_tau2_not_infinity() {
        let t = Profile::npsp_2024().expected_range;
        let (d, p) = expected_range(&[(10.0, 0.0), (7.8, 0.4)], &t).unwrap();
        assert_eq!(d.tau2, 0.0);
        assert_eq!(p[0].band, Band::MuchBetter);
        assert!((p[1].z - (7.8 - 8.9) / 0.4).abs() < 1e-12);
    }

    #[test]
    fn zero_se_trusts_are_left_out_of_phi_and_placed_by_sign() {
        let t = Profile::npsp_2024().expected_range;
        let (_, p) = expected_range(&[(10.0, 0.0), (5.0, 0.0)], &t).unwrap();
        assert_eq!(p[0].z, f64::INFINITY);
        assert_eq!(p[1].band, Band::MuchWorse);
    }
}
