//! Trust question and section scores with their standard errors (method.md §5, §6).

use surveybench_kernel::{Estimate, HostTally, Instrument};

use super::standardise;
use crate::profile::Profile;

/// One trust's standardised result on one question, before suppression.
#[derive(Clone, Debug)]
pub struct QuestionFit {
    /// Respondents with a scored answer (n_jk).
    pub n: u32,
    /// Weight per stratum (method.md §4).
    pub weights: Vec<f64>,
    /// Weighted mean and linearised variance (method.md §5).
    pub estimate: Option<Estimate<f64>>,
}

/// A score as published: `None` when suppressed or undefined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Respondents behind the score (for a section, the fewest of its questions).
    pub n: u32,
    /// Standardised score on 0..10, unrounded.
    pub value: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// Whether the score is withheld because too few answered (method.md §5).
    pub suppressed: bool,
}

/// Fits every evaluative question for every trust: `fits[k][j]`, `None` for questions that are
/// not scored. National shares pool all `trusts` (method.md §4).
#[must_use]
pub fn fit_questions(
    instrument: &Instrument<'_>,
    trusts: &[&HostTally<'_>],
    profile: &Profile,
) -> Vec<Option<Vec<QuestionFit>>> {
    (0..instrument.questions.len())
        .map(|k| {
            let q = instrument.question(k)?;
            if !q.is_scored() {
                return None;
            }
            let national = standardise::national_shares(trusts, k).unwrap_or_default();
            Some(
                trusts
                    .iter()
                    .map(|t| {
                        let weights = standardise::weights(&national, t, k, &profile.standardisation);
                        let n = (0..t.strata()).map(|g| t.scored_n(k, g)).sum();
                        QuestionFit { n, estimate: t.estimate(k, &weights), weights }
                    })
                    .collect(),
            )
        })
        .collect()
}

impl QuestionFit {
    /// The published score: suppressed under the profile's minimum n (method.md §5).
    #[must_use]
    pub fn score(&self, profile: &Profile) -> Score {
        let suppressed = self.n < profile.suppression.min_respondents;
        let shown = self.estimate.filter(|_| !suppressed);
        Score {
            n: self.n,
            value: shown.map(|e| e.mean),
            se: shown.and_then(|e| e.variance).map(f64::sqrt),
            suppressed,
        }
    }
}

/// The section score from its question scores: their plain mean, each question counting once
/// whatever its n (method.md §6).
#[must_use]
pub fn section_mean(question_scores: &[f64]) -> f64 {
    question_scores.iter().sum::<f64>() / question_scores.len() as f64
}

/// A trust's section score: the mean of its question scores, with a variance that counts the
/// covariance between questions answered by the same respondents (method.md §6).
#[must_use]
pub fn section_score(tally: &HostTally<'_>, fits: &[(usize, &QuestionFit)], profile: &Profile) -> Score {
    let n = fits.iter().map(|(_, f)| f.n).min().unwrap_or(0);
    let usable: Vec<(usize, &QuestionFit, Estimate<f64>)> = fits
        .iter()
        .filter(|(_, f)| !f.score(profile).suppressed)
        .filter_map(|&(k, f)| f.estimate.map(|e| (k, f, e)))
        .collect();
    let any_suppressed = usable.len() < fits.len();
    if usable.is_empty() || (any_suppressed && profile.section.suppress_if_any_question_suppressed) {
        return Score { n, value: None, se: None, suppressed: true };
    }
    let count = usable.len() as f64;
    let means: Vec<f64> = usable.iter().map(|(_, _, e)| e.mean).collect();
    let mean = section_mean(&means);
    let mut variance = usable.iter().map(|(_, _, e)| e.variance.unwrap_or(0.0)).sum::<f64>();
    if profile.section.covariance {
        for (i, (k, fk, ek)) in usable.iter().enumerate() {
            for (l, fl, el) in usable.iter().skip(i + 1) {
                let c = tally.covariance((*k, &fk.weights, ek), (*l, &fl.weights, el));
                variance += 2.0 * c.unwrap_or(0.0);
            }
        }
    }
    variance /= count * count;
    Score { n, value: Some(mean), se: Some(variance.max(0.0).sqrt()), suppressed: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published section and question scores of the 2024 reference report (one decimal, from
    /// the trust's report; see docs/design.md, "Golden figures"): (section, [(n, question score)]).
    const PUBLISHED: [(f64, &[(u32, f64)]); 8] = [
        (7.2, &[(60, 6.9), (41, 7.5)]),   // S1
        (5.4, &[(139, 6.2), (121, 4.5)]), // S3
        (3.5, &[(140, 4.3), (93, 2.1), (111, 2.6), (109, 2.1), (118, 3.9), (113, 5.7)]), // S9
        (5.1, &[(136, 4.7), (44, 5.4)]),  // S10
        (8.0, &[(176, 8.0), (178, 8.0)]), // S11
        (7.9, &[(61, 7.9)]),              // S6
        (6.6, &[(177, 6.6)]),             // S12
        (3.4, &[(152, 3.4)]),             // S13
    ];

    /// Rounded inputs carry up to 0.05 error each, so the mean can differ from the published
    /// (rounded, from unrounded inputs) section score by up to 0.05 + 0.05.
    const ROUNDING: f64 = 0.1 + 1e-9;

    #[test]
    fn section_mean_reproduces_the_published_section_scores() {
        for (section, questions) in PUBLISHED {
            let scores: Vec<f64> = questions.iter().map(|q| q.1).collect();
            let mean = section_mean(&scores);
            assert!((mean - section).abs() <= ROUNDING, "section {section}: mean {mean}");
        }
    }

    #[test]
    fn an_n_weighted_mean_would_not_reproduce_them() {
        // Guards the test above: weighting by respondents misses section 10 (4.87 vs 5.1).
        let (section, questions) = PUBLISHED[3];
        let total: f64 = questions.iter().map(|q| f64::from(q.0)).sum();
        let weighted = questions.iter().map(|q| f64::from(q.0) * q.1).sum::<f64>() / total;
        assert!((weighted - section).abs() > ROUNDING, "{weighted}");
    }
}
