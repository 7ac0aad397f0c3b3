//! Shared helpers for the kernel's integration tests: random responses for the bundled
//! instruments, tally construction and comparison, and a plain-Rust brute-force model of
//! method.md §2-§3 (routing, cleaning, strata) that does not call `Response::resolve`.

#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use proptest::prelude::*;
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::tally::capacity::{cells, pairs, questions};
use surveybench_kernel::{Cleaned, Cleaning, Counters, Instrument, PairSums, QuestionKind, Response, Tally};

/// A tally sized exactly for `cmh-2024`.
pub type CmhTally = Tally<'static, { questions(&CMH_2024) }, { cells(&CMH_2024) }, { pairs(&CMH_2024) }>;
/// A tally sized exactly for `fft`.
pub type FftTally = Tally<'static, { questions(&FFT) }, { cells(&FFT) }, { pairs(&FFT) }>;
/// A response with the default capacity of 64 questions.
pub type Resp = Response<'static, 64>;

/// What the respondent did with one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Left it blank.
    Blank,
    /// Ticked the option with this (valid) code.
    Code(u8),
    /// Wrote a code outside the option list.
    OutOfRange,
    /// Ticked several options.
    Multi,
}

/// One simulated respondent: an answer per question, and possibly an age/sex override given
/// through `Response::set_age_sex`.
#[derive(Clone, Debug)]
pub struct Sim {
    /// One entry per question of the instrument, in questionnaire order.
    pub answers: Vec<Answer>,
    /// `Some((age, sex))` when the kiosk set age and sex directly.
    pub age_sex: Option<(Option<u16>, Option<u8>)>,
}

/// A strategy for one question's answer: mostly valid codes, some blanks, some cleaned.
fn answer_strategy(codes: Vec<u8>) -> BoxedStrategy<Answer> {
    prop_oneof![
        3 => Just(Answer::Blank),
        7 => proptest::sample::select(codes).prop_map(Answer::Code),
        1 => Just(Answer::OutOfRange),
        1 => Just(Answer::Multi),
    ]
    .boxed()
}

/// A strategy for random respondents to `instrument` (both bundled instruments work).
pub fn sim_strategy(instrument: &'static Instrument<'static>) -> BoxedStrategy<Sim> {
    let per_question: Vec<BoxedStrategy<Answer>> = instrument
        .questions
        .iter()
        .map(|q| answer_strategy(q.options.iter().map(|o| o.code).collect()))
        .collect();
    let age_sex = prop_oneof![
        4 => Just(None),
        1 => (
            proptest::option::of(0u16..110),
            proptest::option::of(0u8..6)
        )
            .prop_map(Some),
    ];
    (per_question, age_sex).prop_map(|(answers, age_sex)| Sim { answers, age_sex }).boxed()
}

/// A strategy for a stream of respondents.
pub fn sims(
    instrument: &'static Instrument<'static>,
    len: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<Sim>> {
    proptest::collection::vec(sim_strategy(instrument), len).boxed()
}

/// Everything that goes into a tally: respondents, and discarded / rejected responses.
#[derive(Clone, Debug)]
pub struct TallyInput {
    /// Committed responses.
    pub sims: Vec<Sim>,
    /// Responses recorded as abandoned.
    pub abandoned: u32,
    /// Submissions recorded as rejected.
    pub rejected: u32,
}

/// A strategy for [`TallyInput`].
pub fn tally_input(
    instrument: &'static Instrument<'static>,
    len: std::ops::Range<usize>,
) -> BoxedStrategy<TallyInput> {
    (sims(instrument, len), 0u32..4, 0u32..4)
        .prop_map(|(sims, abandoned, rejected)| TallyInput { sims, abandoned, rejected })
        .boxed()
}

/// Builds the kernel response for a simulated respondent.
pub fn response(instrument: &'static Instrument<'static>, sim: &Sim) -> Resp {
    let mut r = Resp::new(instrument).expect("instrument fits 64 questions");
    for (q, a) in sim.answers.iter().enumerate() {
        match *a {
            Answer::Blank => {}
            Answer::Code(c) => r.answer(q, c).expect("valid code"),
            Answer::OutOfRange => r.clean(q, Cleaning::OutOfRange).expect("known question"),
            Answer::Multi => r.clean(q, Cleaning::MultiTicked).expect("known question"),
        }
    }
    if let Some((age, sex)) = sim.age_sex {
        r.set_age_sex(age, sex);
    }
    r
}

/// A fresh boxed tally of `cmh-2024`.
pub fn cmh_tally() -> Box<CmhTally> {
    Box::new(CmhTally::new(&CMH_2024).expect("cmh-2024 fits its own capacity"))
}

/// A fresh boxed tally of `fft`.
pub fn fft_tally() -> Box<FftTally> {
    Box::new(FftTally::new(&FFT).expect("fft fits its own capacity"))
}

/// Commits every respondent of `input` (and its abandoned / rejected counts) into `tally`.
pub fn fill<const Q: usize, const C: usize, const P: usize>(
    tally: &mut Tally<'static, Q, C, P>,
    input: &TallyInput,
) {
    let instrument = tally.instrument();
    for sim in &input.sims {
        tally.commit(&response(instrument, sim)).expect("commit");
    }
    for _ in 0..input.abandoned {
        tally.record_abandoned().expect("abandoned");
    }
    for _ in 0..input.rejected {
        tally.record_rejected().expect("rejected");
    }
}

/// A boxed `cmh-2024` tally of `input`.
pub fn cmh_tally_of(input: &TallyInput) -> Box<CmhTally> {
    let mut t = cmh_tally();
    fill(&mut *t, input);
    t
}

/// A boxed `fft` tally of `input`.
pub fn fft_tally_of(input: &TallyInput) -> Box<FftTally> {
    let mut t = fft_tally();
    fill(&mut *t, input);
    t
}

/// Everything a tally exposes through its accessors, for comparing tallies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// `counters()`.
    pub counters: Counters,
    /// `respondents(g)` for every stratum.
    pub respondents: Vec<u32>,
    /// `cleaned(q)` for every question.
    pub cleaned: Vec<Cleaned>,
    /// `counts(q, g)` for every question and stratum.
    pub counts: Vec<Vec<Vec<u32>>>,
    /// `pair(a, b, g)` for every a < b and stratum (None where not a pair).
    pub pairs: Vec<((usize, usize, usize), Option<PairSums>)>,
}

/// Reads every accessor of `tally`.
pub fn snapshot<const Q: usize, const C: usize, const P: usize>(tally: &Tally<'_, Q, C, P>) -> Snapshot {
    let n = tally.instrument().questions.len();
    let strata = tally.strata();
    let mut pairs = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            for g in 0..strata {
                pairs.push(((a, b, g), tally.pair(a, b, g)));
            }
        }
    }
    Snapshot {
        counters: tally.counters(),
        respondents: (0..strata).map(|g| tally.respondents(g)).collect(),
        cleaned: (0..n).map(|q| tally.cleaned(q)).collect(),
        counts: (0..n).map(|q| (0..strata).map(|g| tally.counts(q, g).to_vec()).collect()).collect(),
        pairs,
    }
}

// ---------------------------------------------------------------------------------------------
// The brute-force model (method.md §2, §3), written without the kernel's resolve/stratum code.
// ---------------------------------------------------------------------------------------------

/// What the model says became of one question for one respondent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Nothing given, or nothing left.
    Blank,
    /// Answered (and not routed out) with the option at this position.
    Option(usize),
    /// An answer (valid or not) to a question routing removes: counted as routed.
    Routed,
    /// Out-of-range code on a question that applies.
    Invalid,
    /// Multi-ticked on a question that applies.
    Multi,
}

/// The model's view of one respondent.
#[derive(Clone, Debug)]
pub struct ModelRespondent {
    /// Stratum index (the unknown stratum is `2 * bands`).
    pub stratum: usize,
    /// Per question, whether routing says the respondent should have skipped it.
    pub skip: Vec<bool>,
    /// Per question, what became of the answer.
    pub fate: Vec<Fate>,
    /// Per question, the score in units when the fate is a scored option of a scored question.
    pub units: Vec<Option<u8>>,
}

/// The age band (0-based) of `age` for ascending lower bounds, or None below the first.
fn model_band(age: u16, bounds: &[u8]) -> Option<usize> {
    bounds.iter().rposition(|&lower| age >= u16::from(lower))
}

/// The stratum index of band and sex code (method.md §3).
fn model_stratum(band: Option<usize>, sex: Option<u8>, bands: usize) -> usize {
    match (band, sex) {
        (Some(b), Some(1)) if b < bands => 2 * b,
        (Some(b), Some(2)) if b < bands => 2 * b + 1,
        _ => 2 * bands,
    }
}

/// Applies method.md §2 (routing with cascade, cleaning) and §3 (strata) to one respondent.
pub fn model_respondent(instrument: &Instrument<'_>, sim: &Sim) -> ModelRespondent {
    let qs = instrument.questions;
    let n = qs.len();
    assert_eq!(sim.answers.len(), n, "one answer per question");
    // Routing, in questionnaire order: a question is skipped when its filter question was
    // answered with a code outside the filter's set, or was itself skipped. A blank or
    // cleaned filter answer removes nothing.
    let mut skip = vec![false; n];
    for i in 0..n {
        let Some(filter) = qs[i].filter else { continue };
        let fi = (0..i).find(|&j| qs[j].id == filter.question).expect("filters refer to earlier questions");
        let says_skip = match sim.answers[fi] {
            Answer::Code(c) => !filter.codes.contains(&c),
            _ => false,
        };
        skip[i] = skip[fi] || says_skip;
    }
    let mut fate = vec![Fate::Blank; n];
    let mut units = vec![None; n];
    for i in 0..n {
        fate[i] = match (sim.answers[i], skip[i]) {
            (Answer::Blank, _) => Fate::Blank,
            (_, true) => Fate::Routed,
            (Answer::OutOfRange, false) => Fate::Invalid,
            (Answer::Multi, false) => Fate::Multi,
            (Answer::Code(c), false) => {
                let p = qs[i].options.iter().position(|o| o.code == c).expect("valid code");
                if qs[i].kind == QuestionKind::Scored {
                    units[i] = qs[i].options[p].score;
                }
                Fate::Option(p)
            }
        };
    }
    let bands = instrument.age_bands.len();
    let stratum = if let Some((age, sex)) = sim.age_sex {
        model_stratum(age.and_then(|a| model_band(a, instrument.age_bands)), sex, bands)
    } else {
        let code_of = |kind| {
            qs.iter().position(|q| q.kind == kind).and_then(|i| match sim.answers[i] {
                Answer::Code(c) => Some((i, c)),
                _ => None,
            })
        };
        let band =
            code_of(QuestionKind::AgeBand).and_then(|(i, c)| qs[i].options.iter().position(|o| o.code == c));
        let sex = code_of(QuestionKind::Sex).map(|(_, c)| c);
        model_stratum(band, sex, bands)
    };
    ModelRespondent { stratum, skip, fate, units }
}

/// The model of a whole stream of respondents.
#[derive(Clone, Debug)]
pub struct Model {
    /// Each respondent.
    pub respondents: Vec<ModelRespondent>,
    /// Number of strata.
    pub strata: usize,
}

impl Model {
    /// Models `sims` answering `instrument`.
    pub fn new(instrument: &Instrument<'_>, sims: &[Sim]) -> Self {
        Self {
            respondents: sims.iter().map(|s| model_respondent(instrument, s)).collect(),
            strata: 2 * instrument.age_bands.len() + 1,
        }
    }

    /// Per question, (stratum, score in points) of every respondent whose outcome is a scored
    /// answer.
    pub fn scored(&self, question: usize) -> Vec<(usize, f64)> {
        self.respondents
            .iter()
            .filter_map(|r| r.units[question].map(|u| (r.stratum, f64::from(u) / 6.0)))
            .collect()
    }

    /// How many respondents in `stratum` ended with option `option` of `question`.
    pub fn option_count(&self, question: usize, stratum: usize, option: usize) -> u32 {
        let n = self
            .respondents
            .iter()
            .filter(|r| r.stratum == stratum && r.fate[question] == Fate::Option(option))
            .count();
        u32::try_from(n).expect("small")
    }

    /// How many respondents ended with `fate` on `question`.
    pub fn fate_count(&self, question: usize, fate: Fate) -> u32 {
        let n = self.respondents.iter().filter(|r| r.fate[question] == fate).count();
        u32::try_from(n).expect("small")
    }

    /// The pair sums the model expects for questions a < b in `stratum`.
    pub fn pair(&self, a: usize, b: usize, stratum: usize) -> PairSums {
        let mut p = PairSums::default();
        for r in self.respondents.iter().filter(|r| r.stratum == stratum) {
            if let (Some(x), Some(y)) = (r.units[a], r.units[b]) {
                p.m += 1;
                p.sum_k += u32::from(x);
                p.sum_l += u32::from(y);
                p.sum_kl += u64::from(x) * u64::from(y);
            }
        }
        p
    }
}

/// `a` and `b` agree within `rel` relative (two-sided), or within `abs` absolute.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    let diff = (a - b).abs();
    diff <= abs || diff <= rel * a.abs().max(b.abs())
}
