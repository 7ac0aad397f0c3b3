//! The sequential boundary of in-year monitoring (method.md §12): Lan-DeMets O'Brien-Fleming
//! alpha spending in its continuous-monitoring limit, so that any number of looks, at any
//! times, keeps the chance of a false alarm per trust and item at most alpha.
//!
//! Under the null, X(t) = Z_t sqrt(t) is (no more spread out than) a Brownian motion in the
//! information fraction t. By the reflection principle, P(max_{s <= t} X(s) >= b) =
//! 2 (1 - Phi(b / sqrt(t))); each side gets alpha / 2, so b = Phi^-1(1 - alpha / 4) and a look
//! at t flags when |Z_t| > b / sqrt(t).

use statrs::distribution::{ContinuousCDF, Normal};

use crate::profile::{Monitor, Spending};

/// b, the boundary on the Brownian-motion scale: Phi^-1(1 - alpha / 4) (method.md §12).
#[must_use]
pub fn scale_boundary(rules: &Monitor) -> f64 {
    match rules.spending {
        Spending::ObrienFlemingContinuous => Normal::standard().inverse_cdf(1.0 - rules.alpha / 4.0),
    }
}

/// The boundary on |Z| at information fraction `t` in (0, 1]: b / sqrt(t).
#[must_use]
pub fn boundary(rules: &Monitor, t: f64) -> f64 {
    scale_boundary(rules) / t.sqrt()
}

/// Alpha spent by information fraction `t`, both sides: 4 (1 - Phi(b / sqrt(t))), which is
/// alpha at t = 1 (an upper bound: it counts a path crossing both sides twice).
#[must_use]
pub fn spent(rules: &Monitor, t: f64) -> f64 {
    4.0 * Normal::standard().sf(boundary(rules, t))
}

/// The information fraction of a look: this year's respondents over last year's, at most 1
/// (a look with more respondents than last year is a final look). `None` without last year's.
#[must_use]
pub fn information(n_now: u32, n_last: u32) -> Option<f64> {
    (n_last > 0).then(|| (f64::from(n_now) / f64::from(n_last)).min(1.0))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;

    fn rules(alpha: f64) -> Monitor {
        Monitor { alpha, spending: Spending::ObrienFlemingContinuous }
    }

    fn close(got: f64, want: f64, rel: f64) {
        assert!(((got - want) / want).abs() <= rel, "{got} vs {want}");
    }

    /// Values from R 4.2 (an implementation independent of statrs): `qnorm(1 - 0.05/4)`,
    /// `qnorm(1 - 0.01/4)`, and `4 * pnorm(-b / sqrt(t))`; b / sqrt(0.25) = 2b by hand.
    #[test]
    fn boundaries_and_spending_match_hand_and_r_values() {
        let r = rules(0.05);
        close(scale_boundary(&r), 2.241_402_727_604_946_4, 1e-12);
        close(scale_boundary(&rules(0.01)), 2.807_033_768_343_811_4, 1e-12);
        close(boundary(&r, 1.0), 2.241_402_727_604_946_4, 1e-12);
        close(boundary(&r, 0.25), 4.482_805_455_209_893, 1e-12);
        close(boundary(&r, 0.5), 3.169_822_136_118_963, 1e-12);
        close(spent(&r, 1.0), 0.05, 1e-9);
        close(spent(&r, 0.5), 0.003_050_645_515_977_803_3, 1e-7);
        close(spent(&r, 0.25), 1.473_361_687_173_883_8e-5, 1e-6);
    }

    #[test]
    fn the_information_fraction_is_capped_at_one_and_needs_last_year() {
        assert_eq!(information(50, 200), Some(0.25));
        assert_eq!(information(300, 200), Some(1.0));
        assert_eq!(information(10, 0), None);
    }

    /// The promise itself: a null Brownian motion looked at 4, 12 or 52 times over the year
    /// crosses the boundary in at most alpha of paths, and more looks do not take it past
    /// alpha (20,000 seeded paths each; the binomial SE at 5% is 0.0015).
    #[test]
    fn more_looks_do_not_raise_the_false_alarm_rate_past_alpha() {
        let r = rules(0.05);
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut rates = Vec::new();
        for looks in [4u32, 12, 52] {
            let mut alarms = 0u32;
            for _ in 0..20_000 {
                let (mut x, mut flagged) = (0.0f64, false);
                for i in 1..=looks {
                    let step: f64 = StandardNormal.sample(&mut rng);
                    x += step / f64::from(looks).sqrt();
                    let t = f64::from(i) / f64::from(looks);
                    flagged |= (x / t.sqrt()).abs() > boundary(&r, t);
                }
                alarms += u32::from(flagged);
            }
            rates.push(f64::from(alarms) / 20_000.0);
        }
        eprintln!("false alarm rates at 4, 12, 52 looks: {rates:?}");
        assert!(rates.iter().all(|&p| p <= 0.05 + 3.0 * 0.0015), "{rates:?}");
        // Four looks already spend most of it, and 52 a little more, approaching alpha.
        assert!(rates[0] > 0.02 && rates[2] >= rates[0] - 0.005, "{rates:?}");
    }
}
