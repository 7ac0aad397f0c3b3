//! In-year early warning (method.md §12): this year's inputs so far, each trust and item
//! standardised with last year's national shares and compared with last year's expected range,
//! through a sequential boundary that keeps false alarms at most alpha however often it is run.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use surveybench_kernel::{HostTally, Instrument};

use crate::ingest::Dataset;
use crate::method::expected_range::Band;
use crate::method::score::{QuestionFit, Score, section_score};
use crate::method::{sequential, standardise};
use crate::profile::{Profile, Spending};
use crate::reference::{InstrumentRef, LastItem, LastYear};
use crate::report::one_dp;

/// The `schema` field of the monitor JSON.
pub const SCHEMA: &str = "surveybench-monitor";
/// Its version.
pub const VERSION: u32 = 1;

/// One look at the year so far.
#[derive(Clone, Debug, Serialize)]
pub struct Look {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// What the look is called (`--label`, e.g. "week 26"), for a page of several looks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The instrument (the reference's).
    pub instrument: InstrumentRef,
    /// The sequential method and its parameters.
    pub method: Method,
    /// Respondents so far, all trusts.
    pub respondents: u64,
    /// Trusts with a flagged item first, then by code.
    pub trusts: Vec<TrustLook>,
}

/// The boundary used (method.md §12).
#[derive(Clone, Debug, Serialize)]
pub struct Method {
    /// The profile's spending.
    pub spending: Spending,
    /// The largest false-alarm chance per trust and item over the year.
    pub alpha: f64,
    /// b = Phi^-1(1 - alpha / 4): a look at information fraction t flags |z| > b / sqrt(t).
    pub scale_boundary: f64,
}

/// One trust so far.
#[derive(Clone, Debug, Serialize)]
pub struct TrustLook {
    /// Trust code.
    pub trust: String,
    /// Completed responses so far.
    pub respondents: u32,
    /// Items heading outside the expected range.
    pub flagged: u32,
    /// Questions in questionnaire order, then sections.
    pub items: Vec<ItemLook>,
}

/// What an item's look says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Below last year's expected range by more than the boundary: a warning.
    HeadingWorse,
    /// Above it by more than the boundary.
    HeadingBetter,
    /// Within the boundary.
    WithinRange,
    /// Fewer scored respondents than the profile's suppression threshold.
    TooFewResponses,
    /// Last year's benchmark has no national figures for the item.
    NoReference,
    /// The trust had no result on the item last year, so there is no information fraction.
    NotInReference,
}

impl Status {
    /// In words.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Status::HeadingWorse => "heading below the expected range",
            Status::HeadingBetter => "heading above the expected range",
            Status::WithinRange => "within the expected range so far",
            Status::TooFewResponses => "too few responses",
            Status::NoReference => "no national figures last year",
            Status::NotInReference => "not in last year's benchmark",
        }
    }

    /// A warning either way.
    #[must_use]
    pub fn flagged(self) -> bool {
        matches!(self, Status::HeadingWorse | Status::HeadingBetter)
    }
}

/// One trust's look at one item.
#[derive(Clone, Debug, Serialize)]
pub struct ItemLook {
    /// Question or section id.
    pub item: String,
    /// `question` or `section`.
    pub item_type: &'static str,
    /// Scored respondents so far (a section: the fewest of its questions).
    pub n: u32,
    /// Last year's n for the trust and item.
    pub n_last_year: Option<u32>,
    /// Information fraction t = min(1, n / n_last_year).
    pub information: Option<f64>,
    /// Score so far, standardised with last year's national shares; `None` under suppression.
    pub score: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// Last year's national average.
    pub national: Option<f64>,
    /// sqrt(se^2 + tau^2), the spread z divides by: the expected range at this look is
    /// national +/- the band cuts times it (method.md §8, §12).
    pub spread: Option<f64>,
    /// z = (score - national) / sqrt(se^2 + tau^2); `null` in JSON when infinite.
    pub z: Option<f64>,
    /// The boundary on |z| at this look, b / sqrt(t).
    pub boundary: Option<f64>,
    /// The band z would have in the report (method.md §8), as a reading so far.
    pub band: Option<Band>,
    /// What the look says.
    pub status: Status,
}

/// Looks at every trust of `current` against `last` (method.md §12).
#[must_use]
pub fn look(
    instrument: &Instrument<'_>,
    last: &LastYear,
    profile: &Profile,
    current: &Dataset,
    label: Option<&str>,
) -> Look {
    let rules = &profile.monitor;
    let mut trusts: Vec<TrustLook> = current
        .trusts
        .iter()
        .map(|(code, tally)| {
            let items = trust_items(instrument, last, profile, code, tally);
            let flagged =
                u32::try_from(items.iter().filter(|i| i.status.flagged()).count()).unwrap_or(u32::MAX);
            TrustLook { trust: code.clone(), respondents: tally.counters().completed, flagged, items }
        })
        .collect();
    trusts.sort_by_key(|t| t.flagged == 0);
    Look {
        schema: SCHEMA,
        version: VERSION,
        label: label.map(str::to_owned),
        instrument: InstrumentRef { id: last.instrument_id.clone(), content_hash: last.content_hash.clone() },
        method: Method {
            spending: rules.spending,
            alpha: rules.alpha,
            scale_boundary: sequential::scale_boundary(rules),
        },
        respondents: current.trusts.values().map(|t| u64::from(t.counters().completed)).sum(),
        trusts,
    }
}

/// One trust's looks: every question last year's benchmark scored, then every section.
fn trust_items(
    instrument: &Instrument<'_>,
    last: &LastYear,
    profile: &Profile,
    code: &str,
    tally: &HostTally<'_>,
) -> Vec<ItemLook> {
    let fits: Vec<(usize, &LastItem, QuestionFit)> = last
        .questions
        .iter()
        .filter_map(|q| {
            let k = instrument.questions.iter().position(|x| x.id == q.id && x.is_scored())?;
            Some((k, q, fit(tally, k, q, profile)))
        })
        .collect();
    let mut items: Vec<ItemLook> =
        fits.iter().map(|(_, q, f)| judge(q, "question", code, f.score(profile), profile)).collect();
    for s in &last.sections {
        let Some(position) = instrument.sections.iter().position(|x| x.id == s.id) else { continue };
        let members: Vec<(usize, &QuestionFit)> = instrument
            .section_questions(position)
            .filter_map(|k| fits.iter().find(|(kk, _, _)| *kk == k).map(|(k, _, f)| (*k, f)))
            .collect();
        items.push(judge(s, "section", code, section_score(tally, &members, profile), profile));
    }
    items
}

/// A trust's fit on question `k` with last year's national shares (method.md §4, §5, §12).
fn fit(tally: &HostTally<'_>, k: usize, q: &LastItem, profile: &Profile) -> QuestionFit {
    let mut shares = q.national.as_ref().and_then(|n| n.shares.clone()).unwrap_or_default();
    shares.resize(tally.strata().saturating_sub(1), 0.0);
    shares.push(0.0); // the unknown stratum has no share
    let weights = standardise::weights(&shares, tally, k, &profile.standardisation);
    let n = (0..tally.strata()).map(|g| tally.scored_n(k, g)).sum();
    QuestionFit { n, estimate: tally.estimate(k, &weights), weights }
}

/// The look at one item: z against last year's national average and tau^2, against the
/// boundary at this look's information fraction.
fn judge(last: &LastItem, item_type: &'static str, code: &str, score: Score, profile: &Profile) -> ItemLook {
    let n_last = last.results.iter().find(|r| r.trust == code).map(|r| r.n).filter(|&n| n > 0);
    let information = n_last.and_then(|n_last| sequential::information(score.n, n_last));
    let mut look = ItemLook {
        item: last.id.clone(),
        item_type,
        n: score.n,
        n_last_year: n_last,
        information,
        score: score.value,
        se: score.se,
        national: last.national.as_ref().map(|n| n.mean),
        spread: None,
        z: None,
        boundary: None,
        band: None,
        status: Status::NoReference,
    };
    let Some(national) = &last.national else { return look };
    let Some(value) = score.value.filter(|_| !score.suppressed) else {
        look.status = Status::TooFewResponses;
        return look;
    };
    let d = (score.se.unwrap_or(0.0).powi(2) + national.tau2).sqrt();
    look.spread = Some(d);
    // As method.md §8 step 5: no spread at all puts a trust at 0 or at +/- infinity.
    let z = crate::method::standardised(value - national.mean, d);
    look.z = Some(z).filter(|z| z.is_finite());
    look.band = Some(Band::of(z, &profile.expected_range));
    let Some(t) = information else {
        look.status = Status::NotInReference;
        return look;
    };
    let boundary = sequential::boundary(&profile.monitor, t);
    look.boundary = Some(boundary);
    look.status = match (z.abs() > boundary, z > 0.0) {
        (true, false) => Status::HeadingWorse,
        (true, true) => Status::HeadingBetter,
        (false, _) => Status::WithinRange,
    };
    look
}

/// The look as JSON: pretty-printed, trailing newline.
///
/// # Errors
/// Only if serialisation fails.
pub fn to_json(look: &Look) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(look)?;
    s.push('\n');
    Ok(s)
}

/// The look as text: per trust, its flagged items in the report's band words, then counts.
#[must_use]
pub fn to_text(look: &Look) -> String {
    let m = &look.method;
    let mut out = format!(
        "In-year look against last year's expected range ({}, {} respondents so far)\n\
         Sequential boundary: O'Brien-Fleming-type alpha spending, alpha {} per trust and item over \
         the year: a look flags |z| > {:.3} / sqrt(t), t = respondents so far / last year's.\n",
        look.instrument.id, look.respondents, m.alpha, m.scale_boundary
    );
    let flagged: u32 = look.trusts.iter().map(|t| t.flagged).sum();
    let _ = writeln!(out, "{flagged} trust-items heading outside the expected range.\n");
    for t in &look.trusts {
        let _ =
            writeln!(out, "{}: {} respondents so far, flagged items: {}", t.trust, t.respondents, t.flagged);
        for i in t.items.iter().filter(|i| i.status.flagged()) {
            let band = i.band.map_or("", Band::label);
            let _ = writeln!(
                out,
                "  {} {}: {} ({band}): score {} against last year's national {}, z {}, boundary {} at t = {}",
                i.item_type,
                i.item,
                i.status.label(),
                one_dp(i.score),
                one_dp(i.national),
                i.z.map_or_else(|| "infinite".to_owned(), |z| format!("{z:.2}")),
                i.boundary.map_or_else(|| "n/a".to_owned(), |b| format!("{b:.2}")),
                i.information.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}")),
            );
        }
        let count = |s: Status| t.items.iter().filter(|i| i.status == s).count();
        let _ = writeln!(
            out,
            "  {} within the expected range so far, {} with too few responses, {} not in last year's benchmark, {} without national figures",
            count(Status::WithinRange),
            count(Status::TooFewResponses),
            count(Status::NotInReference),
            count(Status::NoReference),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{LastNational, LastResult};

    fn last(mean: f64, tau2: f64, n_last: u32) -> LastItem {
        LastItem {
            id: "Q1".to_owned(),
            national: Some(LastNational { mean, tau2, trusts: 10, shares: None }),
            results: vec![LastResult { trust: "RT5".to_owned(), n: n_last }],
        }
    }

    fn score(n: u32, value: f64, se: f64) -> Score {
        Score { n, value: Some(value), se: Some(se), suppressed: false }
    }

    /// By hand: se 0.6 and tau^2 0.64 give sqrt(0.36 + 0.64) = 1, so z = (5 - 7) / 1 = -2; at t = 100/400 = 0.25 the boundary is 2 x 2.2414 = 4.48: within; at t = 1 it
    /// is 2.2414: still within; z = -3 (score 4) at t = 1 is heading worse, band "much worse".
    #[test]
    fn a_look_compares_z_with_the_boundary_at_its_information() {
        let p = Profile::npsp_2024();
        let early = judge(&last(7.0, 0.64, 400), "question", "RT5", score(100, 5.0, 0.6), &p);
        assert!((early.z.unwrap() + 2.0).abs() < 1e-12);
        assert_eq!(early.information, Some(0.25));
        assert!((early.boundary.unwrap() - 4.482_805_455_209_893).abs() < 1e-9);
        assert_eq!(early.status, Status::WithinRange);
        assert_eq!(early.band, Some(Band::Worse), "the reading so far, in the report's words");
        let late = judge(&last(7.0, 0.64, 400), "question", "RT5", score(400, 4.0, 0.6), &p);
        assert_eq!(late.status, Status::HeadingWorse);
        assert_eq!(late.band, Some(Band::MuchWorse));
        let better = judge(&last(7.0, 0.64, 400), "question", "RT5", score(400, 9.5, 0.6), &p);
        assert_eq!(better.status, Status::HeadingBetter);
    }

    #[test]
    fn suppressed_absent_or_unreferenced_items_are_not_judged() {
        let p = Profile::npsp_2024();
        let few = Score { n: 12, value: None, se: None, suppressed: true };
        assert_eq!(judge(&last(7.0, 0.0, 400), "question", "RT5", few, &p).status, Status::TooFewResponses);
        let other = judge(&last(7.0, 0.0, 400), "question", "RXX", score(100, 1.0, 0.5), &p);
        assert_eq!(other.status, Status::NotInReference);
        let mut none = last(7.0, 0.0, 400);
        none.national = None;
        assert_eq!(judge(&none, "question", "RT5", score(100, 1.0, 0.5), &p).status, Status::NoReference);
    }
}
