//! Standardisation weights by age band x sex (method.md §4).

use surveybench_kernel::HostTally;

use crate::profile::Standardisation;

/// National shares P_gk of the known strata among respondents with a scored answer to
/// question `k`, all trusts pooled (method.md §4). The unknown stratum is left out (its share
/// is 0 here). `None` when no known-stratum respondent answered.
#[must_use]
pub fn national_shares(trusts: &[&HostTally<'_>], k: usize) -> Option<Vec<f64>> {
    let strata = trusts.first()?.strata();
    let known = known_strata(strata);
    let mut n = vec![0u64; strata];
    for t in trusts {
        for (g, n_g) in n.iter_mut().enumerate().take(known) {
            *n_g += u64::from(t.scored_n(k, g));
        }
    }
    shares(&n, known)
}

/// Strata other than unknown, which is always the last.
fn known_strata(strata: usize) -> usize {
    strata.saturating_sub(1)
}

fn shares(n: &[u64], known: usize) -> Option<Vec<f64>> {
    let total: u64 = n.iter().take(known).sum();
    if total == 0 {
        return None;
    }
    Some(n.iter().enumerate().map(|(g, &x)| if g < known { x as f64 / total as f64 } else { 0.0 }).collect())
}

/// Weights w_jgk = min(P_gk / p_jgk, cap) for trust `tally` on question `k`, one per stratum;
/// the unknown stratum gets the profile's fixed weight; a stratum absent from the trust gets 0
/// and contributes nothing (method.md §4).
#[must_use]
pub fn weights(national: &[f64], tally: &HostTally<'_>, k: usize, rules: &Standardisation) -> Vec<f64> {
    let strata = tally.strata();
    let known = known_strata(strata);
    let n: Vec<u64> = (0..strata).map(|g| u64::from(tally.scored_n(k, g))).collect();
    let trust = shares(&n, known);
    (0..strata)
        .map(|g| {
            if g >= known {
                return rules.unknown_stratum_weight;
            }
            let p = trust.as_ref().and_then(|t| t.get(g).copied()).unwrap_or(0.0);
            let big_p = national.get(g).copied().unwrap_or(0.0);
            if p > 0.0 { (big_p / p).min(rules.weight_cap) } else { 0.0 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use surveybench_kernel::Response;
    use surveybench_kernel::bundled::FFT;

    fn tally_with(strata_answers: &[(Option<u16>, Option<u8>, u8)]) -> Box<HostTally<'static>> {
        let mut t = Box::new(HostTally::new(&FFT).unwrap());
        for &(age, sex, code) in strata_answers {
            let mut r: Response<'_, 8> = Response::new(&FFT).unwrap();
            r.answer_id("FFT", code).unwrap();
            r.set_age_sex(age, sex);
            t.commit(&r).unwrap();
        }
        t
    }

    #[test]
    fn weights_follow_national_over_trust_share_with_cap_and_unknown() {
        // Trust A: 3 young men, 1 young woman; trust B: 1 young man, 3 young women, 1 unknown.
        let a = tally_with(&[
            (Some(20), Some(1), 1),
            (Some(20), Some(1), 1),
            (Some(20), Some(1), 1),
            (Some(20), Some(2), 1),
        ]);
        let b = tally_with(&[
            (Some(20), Some(1), 1),
            (Some(20), Some(2), 1),
            (Some(20), Some(2), 1),
            (Some(20), Some(2), 1),
            (None, None, 1),
        ]);
        let national = national_shares(&[&a, &b], 0).unwrap();
        // Known respondents: 4 men, 4 women -> P = 0.5 each in band 0.
        assert_eq!(national[0], 0.5);
        assert_eq!(national[1], 0.5);
        let rules = Profile::npsp_2024().standardisation;
        let wa = weights(&national, &a, 0, &rules);
        // p(men) = 0.75 -> 0.5/0.75; p(women) = 0.25 -> 2.
        assert!((wa[0] - 2.0 / 3.0).abs() < 1e-15);
        assert!((wa[1] - 2.0).abs() < 1e-15);
        assert_eq!(wa[8], 1.0, "unknown stratum weight");
        assert_eq!(wa[2], 0.0, "absent stratum");
        let mut capped = rules.clone();
        capped.weight_cap = 1.5;
        assert_eq!(weights(&national, &a, 0, &capped)[1], 1.5);
    }
}
