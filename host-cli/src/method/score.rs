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
    let mean = usable.iter().map(|(_, _, e)| e.mean).sum::<f64>() / count;
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
