//! The national benchmark: every figure of a trust benchmark report, for every trust, as one
//! versioned, serialisable model (schema `surveybench-benchmark` v1, docs/formats.md §4).
//! Renderers in `report/` only format this model.

use std::collections::BTreeMap;

use serde::Serialize;
use surveybench_kernel::{HostTally, Instrument};

use crate::ingest::{Dataset, InputTotals};
use crate::method::change::{self, Change, Direction};
use crate::method::expected_range::{Band, expected_range};
use crate::method::headline::{Gap, ResponseRate, top_and_bottom};
use crate::method::score::{Score, fit_questions, section_score};
use crate::method::standardise;
use crate::profile::Profile;

/// The `schema` field.
pub const SCHEMA: &str = "surveybench-benchmark";
/// The schema version.
pub const VERSION: u32 = 1;

/// The whole national benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct Benchmark {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// The instrument benchmarked.
    pub instrument: InstrumentInfo,
    /// The method profile used.
    pub profile: Profile,
    /// National totals.
    pub national: National,
    /// Evaluative questions in questionnaire order.
    pub questions: Vec<Item>,
    /// Sections in report order.
    pub sections: Vec<Item>,
    /// Per-trust headline figures, by trust code.
    pub trusts: Vec<TrustSummary>,
}

/// Which instrument, and how far to trust it.
#[derive(Clone, Debug, Serialize)]
pub struct InstrumentInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Content hash, 16 hex digits.
    pub content_hash: String,
    /// Provenance statement.
    pub provenance: String,
}

/// National totals for a year.
#[derive(Clone, Debug, Serialize)]
pub struct National {
    /// Trusts in the data (device exports or respondent rows).
    pub trusts: usize,
    /// Completed responses.
    pub respondents: u64,
    /// Over every trust in the sample frame (those without respondents count with 0).
    pub response_rate: Option<ResponseRate>,
    /// Respondents by age band and by sex, all trusts.
    pub who_took_part: WhoTookPart,
    /// Answers cleaned to "not answered" or removed by routing, all trusts (method.md §2).
    pub cleaning: Cleaning,
    /// What became of every input file: `read = used + skipped + superseded` for each.
    pub inputs: Vec<InputTotals>,
    /// The same for the previous year, when given.
    pub previous: Option<Box<National>>,
}

/// Answers that were given but do not count (method.md §2), summed over questions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cleaning {
    /// Removed because the respondent's own filter answer routed them past the question.
    pub removed_by_routing: u64,
    /// Option codes outside the question's list.
    pub invalid: u64,
    /// Several options ticked on a single-choice question.
    pub multi_ticked: u64,
}

impl Cleaning {
    /// The totals of `tallies` over every question.
    #[must_use]
    pub fn of<'t>(instrument: &Instrument<'_>, tallies: impl Iterator<Item = &'t HostTally<'t>>) -> Self {
        let mut total = Self::default();
        for t in tallies {
            for k in 0..instrument.questions.len() {
                total.add(t.cleaned(k));
            }
        }
        total
    }

    /// The totals of `tallies` for question `k`.
    #[must_use]
    pub fn of_question<'t>(k: usize, tallies: impl Iterator<Item = &'t HostTally<'t>>) -> Self {
        let mut total = Self::default();
        for t in tallies {
            total.add(t.cleaned(k));
        }
        total
    }

    fn add(&mut self, c: surveybench_kernel::Cleaned) {
        self.removed_by_routing += u64::from(c.routed);
        self.invalid += u64::from(c.invalid);
        self.multi_ticked += u64::from(c.multi);
    }
}

/// One question or section across trusts.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Question id (`Q6`) or section id (`S1`).
    pub id: String,
    /// Question text or section title.
    pub title: String,
    /// The section a question belongs to; `None` for sections.
    pub section: Option<String>,
    /// Whether change against the previous year is tested.
    pub comparable: bool,
    /// National figures over trusts with a score; `None` when no trust has one.
    pub national: Option<NationalFigures>,
    /// A question's answers cleaned or removed by routing, all trusts; `None` for sections.
    pub cleaning: Option<Cleaning>,
    /// One result per trust, by trust code.
    pub results: Vec<TrustResult>,
}

/// National average, lowest, highest and over-dispersion of one item (method.md §7, §8).
#[derive(Clone, Debug, Serialize)]
pub struct NationalFigures {
    /// Mean of the trust scores (each trust once).
    pub mean: f64,
    /// Lowest trust score.
    pub min: f64,
    /// Highest trust score.
    pub max: f64,
    /// Trusts with a score.
    pub trusts: usize,
    /// Mean squared winsorised z.
    pub phi: Option<f64>,
    /// Additive between-trust variance.
    pub tau2: f64,
    /// Last year's national average (its own trusts' unsuppressed scores), when given.
    pub previous_mean: Option<f64>,
    /// Questions only: the national share P_gk of each known stratum among respondents with a
    /// scored answer, all trusts pooled, unrounded (method.md §4); index `2b` is age band `b`
    /// male, `2b + 1` female; the unknown stratum is not listed. `None` (and absent from the
    /// JSON) for sections, whose questions each have their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<Vec<f64>>,
}

/// Whether a change was tested, and if not why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Tested; see `change`.
    Tested,
    /// New or changed this year: not tested (method.md §9).
    NotComparable,
    /// Suppressed in either year.
    Suppressed,
    /// No previous year given, or the trust or item has no score in it.
    NoPrevious,
}

/// One trust's result on one item.
#[derive(Clone, Debug, Serialize)]
pub struct TrustResult {
    /// Trust code.
    pub trust: String,
    /// Respondents with a scored answer (for sections, the fewest over its questions).
    pub n: u32,
    /// Standardised score, unrounded; `None` when suppressed.
    pub score: Option<f64>,
    /// Standard error.
    pub se: Option<f64>,
    /// Adjusted z (method.md §8); `null` in JSON when infinite.
    pub z: Option<f64>,
    /// Expected-range band.
    pub band: Option<Band>,
    /// Under the profile's minimum respondents.
    pub suppressed: bool,
    /// Change against the previous year.
    pub change: Option<Change>,
    /// Why `change` is or is not there.
    pub change_status: ChangeStatus,
}

/// Per-trust headline figures (method.md §10).
#[derive(Clone, Debug, Serialize)]
pub struct TrustSummary {
    /// Trust code.
    pub trust: String,
    /// Completed responses.
    pub respondents: u32,
    /// Respondents by age band and by sex.
    pub who_took_part: WhoTookPart,
    /// This year's response rate, when a sample frame was given.
    pub response_rate: Option<ResponseRate>,
    /// Last year's, when a previous frame was given.
    pub previous_response_rate: Option<ResponseRate>,
    /// The five questions furthest above the national average.
    pub top_five: Vec<Gap>,
    /// The five furthest below.
    pub bottom_five: Vec<Gap>,
    /// Questions per band, best first, and suppressed questions.
    pub bands: BandCounts,
    /// Questions that increased, decreased, did not change, or were not tested.
    pub changes: ChangeCounts,
}

/// Respondents by age band and by sex (from the tallies' strata, method.md §3). Respondents of
/// unknown age *or* sex share one stratum, so both breakdowns end with that group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WhoTookPart {
    /// Per age band (`16-35`, ..., `66+`), then `unknown age or sex`.
    pub age: Vec<Group>,
    /// `male`, `female`, then `unknown age or sex`.
    pub sex: Vec<Group>,
}

/// One group of respondents.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// The group's label.
    pub group: String,
    /// Completed responses in it.
    pub respondents: u64,
}

/// Label of the group of respondents of unknown age or sex.
pub const UNKNOWN_GROUP: &str = "unknown age or sex";

impl WhoTookPart {
    /// The breakdowns of `tallies` pooled.
    #[must_use]
    pub fn of<'t>(
        instrument: &Instrument<'_>,
        tallies: impl Iterator<Item = &'t HostTally<'t>> + Clone,
    ) -> Self {
        let strata = instrument.strata();
        let count = |g: usize| tallies.clone().map(|t| u64::from(t.respondents(g))).sum::<u64>();
        let bands = instrument.age_bands;
        let label = |b: usize| match (bands.get(b), bands.get(b + 1)) {
            (Some(lo), Some(next)) => format!("{lo}-{}", next.saturating_sub(1)),
            (Some(lo), None) => format!("{lo}+"),
            _ => String::new(),
        };
        let unknown = Group { group: UNKNOWN_GROUP.to_owned(), respondents: count(strata - 1) };
        let mut age: Vec<Group> = (0..bands.len())
            .map(|b| Group { group: label(b), respondents: count(2 * b) + count(2 * b + 1) })
            .collect();
        age.push(unknown.clone());
        let by_sex = |s: usize| (0..bands.len()).map(|b| count(2 * b + s)).sum();
        let sex = vec![
            Group { group: "male".to_owned(), respondents: by_sex(0) },
            Group { group: "female".to_owned(), respondents: by_sex(1) },
            unknown,
        ];
        Self { age, sex }
    }
}

/// Number of questions in each band.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BandCounts {
    /// Much better than expected.
    pub much_better: u32,
    /// Better than expected.
    pub better: u32,
    /// Somewhat better than expected.
    pub somewhat_better: u32,
    /// About the same.
    pub about_the_same: u32,
    /// Somewhat worse than expected.
    pub somewhat_worse: u32,
    /// Worse than expected.
    pub worse: u32,
    /// Much worse than expected.
    pub much_worse: u32,
    /// Suppressed.
    pub suppressed: u32,
}

impl BandCounts {
    fn add(&mut self, band: Option<Band>) {
        let slot = match band {
            Some(Band::MuchBetter) => &mut self.much_better,
            Some(Band::Better) => &mut self.better,
            Some(Band::SomewhatBetter) => &mut self.somewhat_better,
            Some(Band::AboutTheSame) => &mut self.about_the_same,
            Some(Band::SomewhatWorse) => &mut self.somewhat_worse,
            Some(Band::Worse) => &mut self.worse,
            Some(Band::MuchWorse) => &mut self.much_worse,
            None => &mut self.suppressed,
        };
        *slot += 1;
    }

    /// The count of `band`.
    #[must_use]
    pub fn get(&self, band: Band) -> u32 {
        match band {
            Band::MuchBetter => self.much_better,
            Band::Better => self.better,
            Band::SomewhatBetter => self.somewhat_better,
            Band::AboutTheSame => self.about_the_same,
            Band::SomewhatWorse => self.somewhat_worse,
            Band::Worse => self.worse,
            Band::MuchWorse => self.much_worse,
        }
    }
}

/// Number of questions by change.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChangeCounts {
    /// Significant increases.
    pub increase: u32,
    /// Significant decreases.
    pub decrease: u32,
    /// Tested, no significant change.
    pub no_change: u32,
    /// Not tested (not comparable, suppressed, or no previous year).
    pub not_tested: u32,
}

/// One year's scores: `questions[k][j]` for evaluative questions in order, `sections[s][j]`.
struct YearScores {
    codes: Vec<String>,
    questions: Vec<(usize, Vec<Score>)>,
    /// National shares of the known strata per question, `shares[k]` (method.md §4).
    shares: Vec<Option<Vec<f64>>>,
    sections: Vec<Vec<Score>>,
}

fn score_year(instrument: &Instrument<'_>, data: &Dataset, profile: &Profile) -> YearScores {
    let codes: Vec<String> = data.trusts.keys().cloned().collect();
    let tallies: Vec<&HostTally<'_>> = data.trusts.values().map(|b| &**b).collect();
    let fits = fit_questions(instrument, &tallies, profile);
    let questions = fits
        .iter()
        .enumerate()
        .filter_map(|(k, f)| f.as_ref().map(|f| (k, f.iter().map(|x| x.score(profile)).collect())))
        .collect();
    let known = instrument.strata().saturating_sub(1);
    let shares = (0..instrument.questions.len())
        .map(|k| {
            let mut p = standardise::national_shares(&tallies, k)?;
            p.truncate(known);
            Some(p)
        })
        .collect();
    let sections = (0..instrument.sections.len())
        .map(|s| {
            let members: Vec<usize> = instrument.section_questions(s).collect();
            tallies
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    let member_fits: Vec<_> =
                        members.iter().filter_map(|&k| Some((k, fits.get(k)?.as_ref()?.get(j)?))).collect();
                    section_score(t, &member_fits, profile)
                })
                .collect()
        })
        .collect();
    YearScores { codes, questions, shares, sections }
}

/// Everything `benchmark` needs.
pub struct Inputs<'a> {
    /// The instrument.
    pub instrument: &'a Instrument<'a>,
    /// The method profile.
    pub profile: &'a Profile,
    /// This year's data.
    pub current: &'a Dataset,
    /// Last year's data, for change over time.
    pub previous: Option<&'a Dataset>,
}

fn national(instrument: &Instrument<'_>, data: &Dataset) -> National {
    let respondents = data.trusts.values().map(|t| u64::from(t.counters().completed)).sum();
    // Every trust sampled counts in the national rate, with 0 completed if none responded.
    let framed: Vec<ResponseRate> = data
        .frame
        .iter()
        .map(|(code, f)| ResponseRate::new(f, data.trusts.get(code).map_or(0, |t| t.counters().completed)))
        .collect();
    let response_rate = (!framed.is_empty()).then(|| {
        let sum = |f: fn(&ResponseRate) -> u64| framed.iter().map(f).sum::<u64>();
        ResponseRate::of(sum(|r| r.invited), sum(|r| r.adjusted_base), sum(|r| r.completed))
    });
    let who_took_part = WhoTookPart::of(instrument, data.trusts.values().map(|t| &**t));
    National {
        trusts: data.trusts.len(),
        respondents,
        response_rate,
        who_took_part,
        cleaning: Cleaning::of(instrument, data.trusts.values().map(|t| &**t)),
        inputs: data.inputs.clone(),
        previous: None,
    }
}

/// Builds an item from one year's scores and last year's, banding its trusts (method.md §7-§9).
fn item(
    (id, title, section, comparable): (String, String, Option<String>, bool),
    codes: &[String],
    scores: &[Score],
    previous: Option<&BTreeMap<&str, Score>>,
    profile: &Profile,
) -> Item {
    let scored: Vec<(usize, (f64, f64))> =
        scores.iter().enumerate().filter_map(|(j, s)| Some((j, (s.value?, s.se.unwrap_or(0.0))))).collect();
    let pairs: Vec<(f64, f64)> = scored.iter().map(|(_, p)| *p).collect();
    let banded = expected_range(&pairs, &profile.expected_range);
    let mut placement = vec![None; scores.len()];
    let national = banded.map(|(d, places)| {
        for ((j, _), p) in scored.iter().zip(places) {
            placement[*j] = Some(p);
        }
        let (min, max) =
            pairs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
        // Last year's average only where the item is compared, as for the trust's own score.
        let previous_mean = previous.filter(|_| comparable).and_then(|m| {
            let scores: Vec<f64> = m.values().filter(|s| !s.suppressed).filter_map(|s| s.value).collect();
            (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
        });
        NationalFigures {
            mean: d.national,
            min,
            max,
            trusts: pairs.len(),
            phi: d.phi,
            tau2: d.tau2,
            previous_mean,
            shares: None,
        }
    });
    let results = codes
        .iter()
        .zip(scores)
        .zip(placement)
        .map(|((code, s), p)| {
            let before = previous.and_then(|m| m.get(code.as_str()));
            let (change, change_status) = match (s.value, before) {
                _ if !comparable => (None, ChangeStatus::NotComparable),
                (_, None) => (None, ChangeStatus::NoPrevious),
                (None, Some(_)) => (None, ChangeStatus::Suppressed),
                (Some(_), Some(b)) if b.suppressed || b.value.is_none() => (None, ChangeStatus::Suppressed),
                (Some(now), Some(b)) => {
                    let c = change::test(
                        (now, s.se.unwrap_or(0.0)),
                        (b.value.unwrap_or(0.0), b.se.unwrap_or(0.0)),
                        &profile.change,
                    );
                    (Some(c), ChangeStatus::Tested)
                }
            };
            TrustResult {
                trust: code.clone(),
                n: s.n,
                score: s.value,
                se: s.se,
                z: p.map(|p| p.z).filter(|z| z.is_finite()),
                band: p.map(|p| p.band),
                suppressed: s.suppressed,
                change,
                change_status,
            }
        })
        .collect();
    Item { id, title, section, comparable, national, cleaning: None, results }
}

/// Last year's scores per item id, then per trust code.
fn previous_scores<'a>(
    instrument: &'a Instrument<'a>,
    year: &'a YearScores,
) -> BTreeMap<&'a str, BTreeMap<&'a str, Score>> {
    let mut out = BTreeMap::new();
    let by_trust = |scores: &[Score]| -> BTreeMap<&'a str, Score> {
        year.codes.iter().map(String::as_str).zip(scores.iter().copied()).collect()
    };
    for (k, scores) in &year.questions {
        if let Some(q) = instrument.question(*k) {
            out.insert(q.id, by_trust(scores));
        }
    }
    for (s, scores) in instrument.sections.iter().zip(&year.sections) {
        out.insert(s.id, by_trust(scores));
    }
    out
}

/// Computes the whole benchmark (method.md §4-§10).
#[must_use]
pub fn benchmark(inputs: &Inputs<'_>) -> Benchmark {
    let Inputs { instrument, profile, current, previous } = *inputs;
    let now = score_year(instrument, current, profile);
    let before = previous.map(|p| score_year(instrument, p, profile));
    let before_map = before.as_ref().map(|b| previous_scores(instrument, b));
    let prev_of = |id: &str| before_map.as_ref().and_then(|m| m.get(id));
    let questions: Vec<Item> = now
        .questions
        .iter()
        .filter_map(|(k, scores)| {
            let q = instrument.question(*k)?;
            let head = (q.id.to_owned(), q.text.to_owned(), q.section.map(str::to_owned), q.comparable);
            let mut item = item(head, &now.codes, scores, prev_of(q.id), profile);
            if let Some(national) = item.national.as_mut() {
                national.shares = Some(now.shares.get(*k).cloned().flatten().unwrap_or_default());
            }
            item.cleaning = Some(Cleaning::of_question(*k, current.trusts.values().map(|t| &**t)));
            Some(item)
        })
        .collect();
    let sections: Vec<Item> = instrument
        .sections
        .iter()
        .enumerate()
        .zip(&now.sections)
        .map(|((s, section), scores)| {
            let comparable =
                instrument.section_questions(s).all(|k| instrument.question(k).is_some_and(|q| q.comparable));
            let head = (section.id.to_owned(), section.title.to_owned(), None, comparable);
            item(head, &now.codes, scores, prev_of(section.id), profile)
        })
        .collect();
    let trusts = summaries(instrument, &now.codes, &questions, current, previous);
    let mut nat = national(instrument, current);
    nat.previous = previous.map(|p| Box::new(national(instrument, p)));
    Benchmark {
        schema: SCHEMA,
        version: VERSION,
        instrument: InstrumentInfo {
            id: instrument.id.to_owned(),
            title: instrument.title.to_owned(),
            content_hash: format!("{:016x}", instrument.content_hash()),
            provenance: instrument.provenance.to_owned(),
        },
        profile: profile.clone(),
        national: nat,
        questions,
        sections,
        trusts,
    }
}

fn summaries(
    instrument: &Instrument<'_>,
    codes: &[String],
    questions: &[Item],
    current: &Dataset,
    previous: Option<&Dataset>,
) -> Vec<TrustSummary> {
    codes
        .iter()
        .enumerate()
        .map(|(j, code)| {
            let mut bands = BandCounts::default();
            let mut changes = ChangeCounts::default();
            let mut gaps = Vec::new();
            for q in questions {
                let Some(r) = q.results.get(j) else { continue };
                bands.add(r.band);
                match r.change.map(|c| c.direction) {
                    Some(Direction::Increase) => changes.increase += 1,
                    Some(Direction::Decrease) => changes.decrease += 1,
                    Some(Direction::NoChange) => changes.no_change += 1,
                    None => changes.not_tested += 1,
                }
                if let (Some(score), Some(nat)) = (r.score, &q.national) {
                    gaps.push(Gap {
                        question: q.id.clone(),
                        score,
                        national: nat.mean,
                        difference: score - nat.mean,
                    });
                }
            }
            let (top_five, bottom_five) = top_and_bottom(&gaps);
            let completed = current.trusts.get(code).map_or(0, |t| t.counters().completed);
            let rate_in = |d: &Dataset| {
                let done = d.trusts.get(code).map_or(0, |t| t.counters().completed);
                d.frame.get(code).map(|f| ResponseRate::new(f, done))
            };
            TrustSummary {
                trust: code.clone(),
                respondents: completed,
                who_took_part: WhoTookPart::of(
                    instrument,
                    current.trusts.get(code).map(|t| &**t).into_iter(),
                ),
                response_rate: rate_in(current),
                previous_response_rate: previous.and_then(rate_in),
                top_five,
                bottom_five,
                bands,
                changes,
            }
        })
        .collect()
}
