//! Each simulated trust's true scores: the standardised score it would have with infinitely
//! many respondents, computed from the model its respondents are drawn from, and the latent
//! shift that lowers them by a chosen number of points (docs/design.md, "Why this
//! simulation?"; docs/formats.md §13).
//!
//! Given a respondent's stratum and own tendency, the answers to different questions are
//! independent, so a question's expected score among those it applies to, and the chance that
//! it applies (its scored filter questions select on the tendency), are sums over each
//! question's answer options; the tendency, normal, is integrated by quadrature. The trust's
//! strata are then weighted as method.md §4 and §5 weight them, against the national shares the
//! model gives last year.

use serde::Serialize;
use surveybench_kernel::{Instrument, Question, QuestionKind};

use super::{BLANK, Model, PERSON_SD, Trust, UNSCORED, age_effect};
use crate::profile::{Profile, Standardisation};

/// The `schema` field of `truth.json`.
pub const SCHEMA: &str = "surveybench-truth";
/// Its version.
pub const VERSION: u32 = 1;

/// Quadrature nodes over a respondent's own tendency, in standard deviations: -6 to 6.
const NODES: usize = 121;

/// The most a latent shift may lower the scale by (a drop the scale cannot give stops here).
const MAX_SHIFT: f64 = 12.0;

/// What `truth.json` holds: every trust's true scores before and after the degradation week.
#[derive(Debug, Serialize)]
pub struct Truth {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// Instrument id.
    pub instrument: String,
    /// The simulation's seed.
    pub seed: u64,
    /// The year these are the true scores of (the later one).
    pub year: u16,
    /// How the figures were computed.
    pub computed: &'static str,
    /// The degradation asked for, if any.
    pub degrade: Option<DegradeRecord>,
    /// Trusts in simulation order.
    pub trusts: Vec<TrustTruth>,
}

/// The degradation, as asked.
#[derive(Debug, Serialize)]
pub struct DegradeRecord {
    /// Trust codes degraded.
    pub trusts: Vec<String>,
    /// Respondents after this week are degraded.
    pub from_week: u32,
    /// The drop asked for, in points on the 0-10 scale.
    pub points: f64,
}

/// One trust's true scores.
#[derive(Debug, Serialize)]
pub struct TrustTruth {
    /// Trust code.
    pub trust: String,
    /// Whether its respondents after the degradation week are degraded.
    pub degraded: bool,
    /// Scored questions in questionnaire order, then sections.
    pub items: Vec<ItemTruth>,
}

/// One item's true score.
#[derive(Debug, Serialize)]
pub struct ItemTruth {
    /// Question or section id.
    pub item: String,
    /// `question` or `section`.
    pub item_type: &'static str,
    /// True standardised score of respondents up to the degradation week (all year if none).
    pub before: f64,
    /// True standardised score of respondents after it (equal to `before` if not degraded).
    pub after: f64,
    /// The latent shift applied to the question after the week (questions of degraded trusts).
    pub latent_shift: Option<f64>,
}

/// The model's population of every trust, with last year's national shares.
pub(super) struct Population<'a> {
    instrument: &'a Instrument<'a>,
    models: &'a [Model],
    /// Filter chain of each question: `(filter question, codes)`, nearest first.
    chains: Vec<Vec<(usize, &'a [u8])>>,
    /// Standard normal nodes and their normalised weights.
    nodes: Vec<(f64, f64)>,
    /// Per question, the national share of each known stratum (last year's model).
    shares: Vec<Vec<f64>>,
    /// The built-in profile's weight cap and unknown-stratum weight (method.md §4).
    rules: Standardisation,
}

impl<'a> Population<'a> {
    /// The population of `trusts` (last year: no drift, no shift).
    pub(super) fn new(instrument: &'a Instrument<'a>, models: &'a [Model], trusts: &[Trust]) -> Self {
        let chains = (0..instrument.questions.len()).map(|k| chain(instrument, k)).collect();
        let step = 12.0 / (NODES - 1) as f64;
        let raw: Vec<(f64, f64)> = (0..NODES)
            .map(|i| {
                let z = -6.0 + step * i as f64;
                (z, (-0.5 * z * z).exp())
            })
            .collect();
        let total: f64 = raw.iter().map(|n| n.1).sum();
        let nodes = raw.into_iter().map(|(z, w)| (z, w / total)).collect();
        let rules = Profile::npsp_2024().standardisation;
        let mut p = Self { instrument, models, chains, nodes, shares: Vec::new(), rules };
        p.shares = (0..instrument.questions.len()).map(|k| p.national_shares(trusts, k)).collect();
        p
    }

    fn national_shares(&self, trusts: &[Trust], k: usize) -> Vec<f64> {
        let known = self.instrument.strata().saturating_sub(1);
        let zero = vec![0.0; self.instrument.questions.len()];
        let mut n = vec![0.0; known];
        for t in trusts {
            for (g, n_g) in n.iter_mut().enumerate() {
                let m = t.mix.get(g).copied().unwrap_or(0.0);
                *n_g += t.size as f64 * m * self.stratum(t, g, 0.0, &zero, k).0;
            }
        }
        let total: f64 = n.iter().sum();
        n.iter().map(|x| if total > 0.0 { x / total } else { 0.0 }).collect()
    }

    /// For stratum `g` of `trust` on question `k`: the chance `k` applies and gets a scored
    /// answer, up to a factor common to all strata, and that times the expected score.
    fn stratum(&self, trust: &Trust, g: usize, drift: f64, shifts: &[f64], k: usize) -> (f64, f64) {
        let known = g + 1 < trust.mix.len();
        let base = trust.effect + drift + if known { age_effect(g / 2) } else { 0.0 };
        let latent = |q: usize, person: f64| {
            base + person
                + trust.question_effects.get(q).copied().unwrap_or(0.0)
                + shifts.get(q).copied().unwrap_or(0.0)
        };
        let (mut applies, mut scored) = (0.0, 0.0);
        for &(z, w) in &self.nodes {
            let person = PERSON_SD * z;
            let mut a = w;
            for &(f, codes) in &self.chains[k] {
                a *= self.passes(f, codes, latent(f, person));
            }
            applies += a;
            scored += a * expected_score(&self.models[k], latent(k, person));
        }
        (applies, scored)
    }

    /// The chance that question `f`'s answer does not route its follower away: left blank, or
    /// answered with one of `codes`.
    fn passes(&self, f: usize, codes: &[u8], latent: f64) -> f64 {
        let Some(q) = self.instrument.questions.get(f) else { return 1.0 };
        match q.kind {
            QuestionKind::Scored => {
                let model = &self.models[f];
                let unscored = if model.unscored.is_empty() { 0.0 } else { UNSCORED };
                let share_in = |codes_of: &[u8]| {
                    codes_of.iter().filter(|c| codes.contains(c)).count() as f64
                        / codes_of.len().max(1) as f64
                };
                let scored_in: f64 = pmf(model, latent)
                    .iter()
                    .zip(&model.scored)
                    .filter(|(_, s)| codes.contains(&s.1))
                    .map(|(p, _)| p)
                    .sum();
                BLANK + (1.0 - BLANK) * (unscored * share_in(&model.unscored) + (1.0 - unscored) * scored_in)
            }
            QuestionKind::Routing | QuestionKind::Descriptive => routing_passes(q, codes),
            // Age and sex do not depend on the tendency: a factor common to every stratum.
            QuestionKind::AgeBand | QuestionKind::Sex => 1.0,
        }
    }

    /// The trust's true standardised score on scored question `k` (method.md §4, §5 with
    /// infinitely many respondents).
    fn score(&self, trust: &Trust, drift: f64, shifts: &[f64], k: usize) -> f64 {
        let strata = trust.mix.len();
        let parts: Vec<(f64, f64, f64)> = (0..strata)
            .map(|g| {
                let (a, s) = self.stratum(trust, g, drift, shifts, k);
                let m = trust.mix.get(g).copied().unwrap_or(0.0);
                (m * a, m * s, m)
            })
            .collect();
        let known: f64 = parts.iter().take(strata.saturating_sub(1)).map(|p| p.0).sum();
        let (mut num, mut den) = (0.0, 0.0);
        for (g, &(ma, ms, _)) in parts.iter().enumerate() {
            let w = if g + 1 == strata {
                self.rules.unknown_stratum_weight
            } else {
                let p = if known > 0.0 { ma / known } else { 0.0 };
                let big_p = self.shares.get(k).and_then(|s| s.get(g)).copied().unwrap_or(0.0);
                if p > 0.0 { (big_p / p).min(self.rules.weight_cap) } else { 0.0 }
            };
            num += w * ms;
            den += w * ma;
        }
        if den > 0.0 { num / den } else { 0.0 }
    }

    /// Per question, the latent shift that lowers `trust`'s true score by `points` (0 for
    /// unscored questions): found in questionnaire order, so a filter question's shift is
    /// already in place when its followers' are sought, by bisection down to [`MAX_SHIFT`].
    pub(super) fn shifts(&self, trust: &Trust, drift: f64, points: f64) -> Vec<f64> {
        let none = vec![0.0; self.instrument.questions.len()];
        let mut shifts = none.clone();
        for k in self.scored() {
            let target = self.score(trust, drift, &none, k) - points;
            let (mut lo, mut hi) = (-MAX_SHIFT, 0.0);
            for _ in 0..50 {
                let mid = 0.5 * (lo + hi);
                shifts[k] = mid;
                if self.score(trust, drift, &shifts, k) > target {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            shifts[k] = 0.5 * (lo + hi);
        }
        shifts
    }

    fn scored(&self) -> impl Iterator<Item = usize> + '_ {
        self.instrument.questions.iter().enumerate().filter(|(_, q)| q.is_scored()).map(|(k, _)| k)
    }

    /// `trust`'s true scores before and after the degradation (`shifts`, if degraded).
    pub(super) fn trust(&self, trust: &Trust, drift: f64, shifts: Option<&[f64]>) -> TrustTruth {
        let none = vec![0.0; self.instrument.questions.len()];
        let mut items: Vec<(usize, ItemTruth)> = self
            .scored()
            .map(|k| {
                let before = self.score(trust, drift, &none, k);
                let after = shifts.map_or(before, |s| self.score(trust, drift, s, k));
                let item = ItemTruth {
                    item: self.instrument.questions[k].id.to_owned(),
                    item_type: "question",
                    before,
                    after,
                    latent_shift: shifts.and_then(|s| s.get(k).copied()),
                };
                (k, item)
            })
            .collect();
        for (position, section) in self.instrument.sections.iter().enumerate() {
            let members: Vec<&ItemTruth> = self
                .instrument
                .section_questions(position)
                .filter_map(|k| items.iter().find(|(kk, _)| *kk == k).map(|(_, i)| i))
                .collect();
            if members.is_empty() {
                continue;
            }
            let mean =
                |f: fn(&ItemTruth) -> f64| members.iter().map(|i| f(i)).sum::<f64>() / members.len() as f64;
            let item = ItemTruth {
                item: section.id.to_owned(),
                item_type: "section",
                before: mean(|i| i.before),
                after: mean(|i| i.after),
                latent_shift: None,
            };
            items.push((usize::MAX, item));
        }
        TrustTruth {
            trust: trust.code.clone(),
            degraded: shifts.is_some(),
            items: items.into_iter().map(|i| i.1).collect(),
        }
    }
}

/// The filter chain of question `k`, nearest filter first.
fn chain<'a>(instrument: &'a Instrument<'a>, k: usize) -> Vec<(usize, &'a [u8])> {
    let mut out = Vec::new();
    let mut q: Option<&Question<'a>> = instrument.questions.get(k);
    while let Some(filter) = q.and_then(|q| q.filter) {
        let Some(f) = instrument.question_index(filter.question) else { break };
        if out.iter().any(|&(x, _)| x == f) {
            break;
        }
        out.push((f, filter.codes));
        q = instrument.questions.get(f);
    }
    out
}

/// A routing or descriptive question's chance of an answer in `codes`: option `i` of `n` is
/// drawn as `floor(u^2 n)`, so with chance sqrt((i + 1) / n) - sqrt(i / n).
fn routing_passes(q: &Question<'_>, codes: &[u8]) -> f64 {
    let n = q.options.len() as f64;
    q.options
        .iter()
        .enumerate()
        .filter(|(_, o)| codes.contains(&o.code))
        .map(|(i, _)| ((i as f64 + 1.0) / n).sqrt() - (i as f64 / n).sqrt())
        .sum()
}

/// The chance of each scored option, best first, at `latent`: the number of steps down from
/// the best is binomial (simulate's `scored_answer`).
fn pmf(model: &Model, latent: f64) -> Vec<f64> {
    let m = model.scored.len().saturating_sub(1);
    let p = 1.0 / (1.0 + (-(model.logit + latent)).exp());
    let q = 1.0 - p;
    let mut out = Vec::with_capacity(m + 1);
    let mut choose = 1.0;
    for i in 0..=m {
        out.push(choose * q.powi(i as i32) * p.powi((m - i) as i32));
        choose = choose * (m - i) as f64 / (i + 1) as f64;
    }
    out
}

/// A scored answer's expected score in points at `latent`.
fn expected_score(model: &Model, latent: f64) -> f64 {
    pmf(model, latent).iter().zip(&model.scored).map(|(p, s)| p * f64::from(s.0) / 6.0).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two options 10 and 0 at p = 0.5 average 5; routing option 0 of 4 has chance 1/2.
    #[test]
    fn expected_scores_and_routing_chances_by_hand() {
        let model = Model { unscored: vec![], scored: vec![(60, 1), (0, 2)], logit: 0.0 };
        assert!((expected_score(&model, 0.0) - 5.0).abs() < 1e-12);
        let three = Model { unscored: vec![], scored: vec![(60, 1), (30, 2), (0, 3)], logit: 0.0 };
        assert!((pmf(&three, 0.0).iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((expected_score(&three, 0.0) - 5.0).abs() < 1e-12);
        let fft = surveybench_kernel::bundled::by_id("cmh-2024").unwrap();
        let q =
            fft.questions.iter().find(|q| q.kind == QuestionKind::Routing && q.options.len() >= 2).unwrap();
        let all: Vec<u8> = q.options.iter().map(|o| o.code).collect();
        assert!((routing_passes(q, &all) - 1.0).abs() < 1e-12);
        let n = q.options.len() as f64;
        assert!((routing_passes(q, &all[..1]) - (1.0 / n).sqrt()).abs() < 1e-12);
    }
}
