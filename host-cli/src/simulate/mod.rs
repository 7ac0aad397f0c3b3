//! A realistic simulated national survey for two consecutive years, written both as
//! respondent CSV and as device exports (docs/design.md, "Why this simulation?").
//!
//! Trusts differ in size (log-normal, about 14,600 respondents a year over 53 trusts), in
//! age-sex mix, and in a true effect that persists between years (with a little drift), so
//! bands spread; older respondents answer more positively, as the report says they do.
//! Routing is respected, some answers are "don't know", a few trusts are small enough to fall
//! under 30 on filtered questions. The CSV also carries a few answers to questions routing
//! excludes (paper questionnaires do): the host removes and counts them, so the CSV and the
//! device exports of the same respondents still give the same benchmark.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::distributions::Bernoulli;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, LogNormal, Normal};
use surveybench_kernel::{Instrument, QuestionKind};

use crate::ingest::respondents::HostResponse;
use crate::keyring;

mod kiosks;
mod respondents;
mod truth;
mod weekly;

use kiosks::{Kiosks, write_devices};
use respondents::{csv_header, csv_row};

pub use weekly::{CannotDegrade, Degrade, WEEKS, Weekly};

/// Trusts whose first kiosk also leaves an older, superseded export.
const SNAPSHOT_TRUSTS: usize = 2;

/// The oldest simulated age, unless the top age band starts within ten years of it.
const TOP_AGE: u16 = 90;

/// The spread of a respondent's own tendency, on the latent scale.
const PERSON_SD: f64 = 0.8;
/// The chance an applicable scored question is left blank.
const BLANK: f64 = 0.03;
/// The chance of "don't know" (or another unscored option), where there is one.
const UNSCORED: f64 = 0.06;

/// Why `simulate` cannot make a data set: it would have to write kiosk exports and a
/// respondent CSV that disagree, or it cannot make that many trusts.
#[derive(Debug, thiserror::Error)]
pub enum CannotSimulate {
    /// Kiosks place respondents by their answer to the age-band question.
    #[error(
        "instrument {0} has no age-band question, so its kiosk exports could not place respondents \
         by age as its respondent CSV does; simulate needs one"
    )]
    NoAgeQuestion(String),
    /// Kiosks place respondents by their answer to the sex question, coded 1 male, 2 female.
    #[error(
        "instrument {0} has no sex question with options 1 (male) and 2 (female), so its kiosk \
         exports could not place respondents by sex as its respondent CSV does; simulate needs one"
    )]
    NoSexQuestion(String),
    /// The number of trusts is 0 or more than there are distinct codes.
    #[error("simulate makes 1 to {max} trusts, not {asked}")]
    Trusts {
        /// `--trusts`.
        asked: usize,
        /// The number of distinct trust codes.
        max: usize,
    },
}

/// Checks that `simulate` can serve `instrument` and `plan`.
///
/// # Errors
/// [`CannotSimulate`], naming what is missing.
pub fn check(instrument: &Instrument<'_>, plan: &Plan) -> Result<(), CannotSimulate> {
    let has = |kind: QuestionKind| instrument.questions.iter().find(|q| q.kind == kind);
    if has(QuestionKind::AgeBand).is_none() {
        return Err(CannotSimulate::NoAgeQuestion(instrument.id.to_owned()));
    }
    let sex_codes = has(QuestionKind::Sex)
        .is_some_and(|q| q.option_position(1).is_some() && q.option_position(2).is_some());
    if !sex_codes {
        return Err(CannotSimulate::NoSexQuestion(instrument.id.to_owned()));
    }
    if plan.trusts == 0 || plan.trusts > MAX_TRUSTS {
        return Err(CannotSimulate::Trusts { asked: plan.trusts, max: MAX_TRUSTS });
    }
    Ok(())
}

/// What to simulate.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Seed of the whole data set.
    pub seed: u64,
    /// Number of trusts.
    pub trusts: usize,
    /// Respondents per year across all trusts (before rounding per trust).
    pub respondents: usize,
    /// The later of the two survey years.
    pub year: u16,
}

impl Plan {
    /// The national survey's shape: 53 trusts, about 14,600 respondents a year.
    #[must_use]
    pub fn national(seed: u64) -> Self {
        Self { seed, trusts: 53, respondents: 14_600, year: 2024 }
    }
}

/// One simulated respondent.
struct Respondent {
    age: Option<u16>,
    sex: Option<u8>,
    /// Answer code per question (0 = no answer).
    answers: Vec<u8>,
    /// Answers to questions routing excludes, written to the CSV only.
    stray: Vec<(usize, u8)>,
}

struct Trust {
    code: String,
    size: usize,
    effect: f64,
    mix: Vec<f64>,
    question_effects: Vec<f64>,
    kiosks: usize,
    response_rate: f64,
}

/// Second and third characters of simulated trust codes.
const CODE_A: &[u8] = b"ABCDEFGHJKLMNPQRTVWXY";
const CODE_B: &[u8] = b"0123456789ABCDEFGHJK";
/// The most trusts `simulate` makes: one per distinct code.
const MAX_TRUSTS: usize = CODE_A.len() * CODE_B.len();

/// Trust codes in the style of NHS organisation codes (R and two characters), scattered.
fn code(i: usize) -> String {
    let a = CODE_A[(i * 7 + 3) % CODE_A.len()] as char;
    let b = CODE_B[(i * 13 + i / CODE_A.len()) % CODE_B.len()] as char;
    format!("R{a}{b}")
}

/// `n` distinct codes (at most [`MAX_TRUSTS`]): the scattered ones (which repeat after 60),
/// then the remaining pairs in order.
fn unique_codes(n: usize) -> Vec<String> {
    let scattered = (0..MAX_TRUSTS).map(code);
    let pairs =
        CODE_A.iter().flat_map(|&a| CODE_B.iter().map(move |&b| format!("R{}{}", a as char, b as char)));
    let mut out: Vec<String> = Vec::with_capacity(n);
    for c in scattered.chain(pairs) {
        if out.len() == n {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The oldest simulated age: [`TOP_AGE`], or ten years past the start of the top age band
/// (`bands` are ascending lower bounds).
fn top_age(bands: &[u8]) -> u16 {
    bands.last().map_or(TOP_AGE, |&b| TOP_AGE.max(u16::from(b) + 10))
}

/// The ages simulated in 0-based age band `band`: up to the next band's start, or the top age.
fn age_range(bands: &[u8], band: usize) -> std::ops::RangeInclusive<u16> {
    let lo = bands.get(band).map_or(16, |&b| u16::from(b));
    let hi = bands.get(band + 1).map_or(top_age(bands), |&b| u16::from(b).saturating_sub(1));
    lo..=hi.max(lo)
}

fn trusts(plan: &Plan, strata: usize, questions: usize, rng: &mut ChaCha8Rng) -> Vec<Trust> {
    let sizes = LogNormal::new(0.0, 0.5).unwrap_or_else(|_| unreachable!("valid parameters"));
    let raw: Vec<f64> = (0..plan.trusts).map(|_| sizes.sample(rng)).collect();
    let total: f64 = raw.iter().sum();
    let effect = Normal::new(0.0, 0.35).unwrap_or_else(|_| unreachable!("valid parameters"));
    let small = Normal::new(0.0, 0.15).unwrap_or_else(|_| unreachable!("valid parameters"));
    let tilt = LogNormal::new(0.0, 0.35).unwrap_or_else(|_| unreachable!("valid parameters"));
    // National age x sex mix, youngest band first (male, female), then unknown.
    let base = [0.09, 0.13, 0.11, 0.15, 0.10, 0.14, 0.08, 0.12, 0.08];
    unique_codes(plan.trusts)
        .into_iter()
        .zip(raw)
        .map(|(code, r)| {
            let mut mix: Vec<f64> =
                (0..strata).map(|g| base.get(g).copied().unwrap_or(0.05) * tilt.sample(rng)).collect();
            let sum: f64 = mix.iter().sum();
            mix.iter_mut().for_each(|m| *m /= sum);
            Trust {
                code,
                size: ((r / total) * plan.respondents as f64).round().max(40.0) as usize,
                effect: effect.sample(rng),
                mix,
                question_effects: (0..questions).map(|_| small.sample(rng)).collect(),
                kiosks: rng.gen_range(1..=4),
                response_rate: rng.gen_range(0.12..0.28),
            }
        })
        .collect()
}

fn pick_stratum(mix: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let mut u: f64 = rng.r#gen();
    for (g, &p) in mix.iter().enumerate() {
        if u < p {
            return g;
        }
        u -= p;
    }
    mix.len().saturating_sub(1)
}

/// The national mean score a question is simulated around, spread like the real report's
/// (from about 2 to about 9).
fn question_level(k: usize) -> f64 {
    let x = ((k * 37 + 11) % 100) as f64 / 100.0;
    0.2 + 0.7 * x
}

/// The latent effect of 0-based age band `band`: older respondents answer more positively.
fn age_effect(band: usize) -> f64 {
    -0.25 + 0.15 * band as f64
}

/// One respondent of `trust`; `shift`, per question, lowers a degraded respondent's answers.
fn respond(
    response: &mut HostResponse<'static>,
    (models, chances): (&[Model], &Chances),
    (trust, shift): (&Trust, Option<&[f64]>),
    year_drift: f64,
    rng: &mut ChaCha8Rng,
) -> Respondent {
    let instrument = response.instrument();
    response.reset();
    let bands = instrument.age_bands;
    let g = pick_stratum(&trust.mix, rng);
    let known = g + 1 < trust.mix.len();
    let band = g / 2;
    let (age, sex) = if known {
        (Some(rng.gen_range(age_range(bands, band))), Some(if g.is_multiple_of(2) { 1 } else { 2 }))
    } else {
        let any_age = 16..=top_age(bands);
        match rng.gen_range(0..3) {
            0 => (None, Some(rng.gen_range(1..=2))),
            1 => (Some(rng.gen_range(any_age)), Some(4)),
            _ => (Some(rng.gen_range(any_age)), None),
        }
    };
    let person = chances.person.sample(rng);
    let age_effect = if known { age_effect(band) } else { 0.0 };
    let latent = trust.effect + year_drift + age_effect + person;
    let mut answers = vec![0u8; instrument.questions.len()];
    let mut stray = Vec::new();
    for (k, q) in instrument.questions.iter().enumerate() {
        if !response.applies(k) {
            if q.is_scored() && rng.sample(chances.stray) {
                let o = &q.options[rng.gen_range(0..q.options.len())];
                stray.push((k, o.code));
            }
            continue;
        }
        let code = match q.kind {
            // The option in the band's position; an unknown age takes the first option past
            // the bands ("prefer not to say"), or no answer when there is none.
            QuestionKind::AgeBand => {
                let position = match (age, known) {
                    (Some(a), true) => surveybench_kernel::stratum::age_band(a, bands).map(usize::from),
                    _ => Some(bands.len()),
                };
                position.and_then(|p| q.options.get(p)).map_or(0, |o| o.code)
            }
            QuestionKind::Sex => sex.unwrap_or(0),
            QuestionKind::Scored => {
                let mut own = latent + trust.question_effects[k];
                if let Some(shift) = shift {
                    own += shift.get(k).copied().unwrap_or(0.0);
                }
                scored_answer(&models[k], chances, own, rng)
            }
            _ => {
                // Routing and descriptive: earlier options are the common ones.
                let i = (rng.r#gen::<f64>().powi(2) * q.options.len() as f64) as usize;
                q.options.get(i).map_or(0, |o| o.code)
            }
        };
        if code != 0 && response.answer(k, code).is_ok() {
            answers[k] = code;
        }
    }
    Respondent { age, sex, answers, stray }
}

/// The chances every respondent is drawn with, made once (what `gen_bool` would make for each
/// draw, with the same results).
struct Chances {
    /// A respondent's own tendency, on the latent scale.
    person: Normal<f64>,
    /// An applicable question left blank.
    blank: Bernoulli,
    /// An answer "don't know" (or another unscored option), where there is one.
    unscored: Bernoulli,
    /// An answer to a scored question routing says to skip (on paper only).
    stray: Bernoulli,
}

impl Chances {
    fn new() -> Self {
        let chance = |p| Bernoulli::new(p).unwrap_or_else(|_| unreachable!("a probability"));
        Self {
            person: Normal::new(0.0, PERSON_SD).unwrap_or_else(|_| unreachable!("valid parameters")),
            blank: chance(BLANK),
            unscored: chance(UNSCORED),
            stray: chance(0.02),
        }
    }
}

/// How answers to one question are drawn, worked out once per instrument rather than for every
/// answer: its unscored options, its scored ones from best to worst, and the log-odds of its
/// national level.
struct Model {
    unscored: Vec<u8>,
    /// `(score, code)`, best first (options of equal score in questionnaire order).
    scored: Vec<(u8, u8)>,
    logit: f64,
}

fn models(instrument: &Instrument<'_>) -> Vec<Model> {
    let model = |(k, q): (usize, &surveybench_kernel::Question<'_>)| {
        let unscored = q.options.iter().filter(|o| o.score.is_none()).map(|o| o.code).collect();
        let mut scored: Vec<(u8, u8)> = q.options.iter().filter_map(|o| Some((o.score?, o.code))).collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        let level = question_level(k);
        Model { unscored, scored, logit: (level / (1.0 - level)).ln() }
    };
    instrument.questions.iter().enumerate().map(model).collect()
}

fn scored_answer(model: &Model, chances: &Chances, latent: f64, rng: &mut ChaCha8Rng) -> u8 {
    if rng.sample(chances.blank) {
        return 0;
    }
    let unscored = &model.unscored;
    if !unscored.is_empty() && rng.sample(chances.unscored) {
        return unscored[rng.gen_range(0..unscored.len())];
    }
    let p = 1.0 / (1.0 + (-(model.logit + latent)).exp());
    let worse = Binomial::new((model.scored.len() - 1) as u64, 1.0 - p).map_or(0, |b| b.sample(rng)) as usize;
    model.scored.get(worse).map_or(0, |s| s.1)
}

/// Writes both years under `out`: `<year>/respondents.csv`, `<year>/devices/*.json` (signed),
/// `<year>/keyring.toml` (the simulated kiosks' public keys), `<year>/frame.csv`. Returns the
/// year folders, earlier first.
///
/// # Errors
/// An instrument or plan `simulate` cannot serve ([`CannotSimulate`]); file system errors,
/// named with the path.
pub fn simulate(instrument: &'static Instrument<'static>, plan: &Plan, out: &Path) -> Result<Vec<PathBuf>> {
    run(instrument, plan, None, out)
}

/// As [`simulate`], and for the later year also a year of weekly kiosk exports,
/// `<year>/weeks/NN/devices/*.json` (each kiosk's cumulative signed export at the end of week
/// NN, sequence NN), with `weekly`'s trusts degraded after its week, and every trust's true
/// scores in `<year>/truth.json` (docs/formats.md §13). Without a degradation the year's
/// other files are those [`simulate`] writes.
///
/// # Errors
/// As [`simulate`], and a degradation it cannot make ([`CannotDegrade`]).
pub fn simulate_weekly(
    instrument: &'static Instrument<'static>,
    plan: &Plan,
    weekly: &Weekly,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    run(instrument, plan, Some(weekly), out)
}

fn run(
    instrument: &'static Instrument<'static>,
    plan: &Plan,
    weekly: Option<&Weekly>,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    check(instrument, plan)?;
    if let Some(w) = weekly {
        weekly::check(w, &unique_codes(plan.trusts))?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let trusts = trusts(plan, instrument.strata(), instrument.questions.len(), &mut rng);
    let models = models(instrument);
    let population = weekly.map(|_| truth::Population::new(instrument, &models, &trusts));
    let degrade = weekly.and_then(|w| w.degrade.as_ref());
    let mut draw = Draw {
        models: &models,
        chances: Chances::new(),
        drift: Normal::new(0.0, 0.1).unwrap_or_else(|_| unreachable!("valid parameters")),
        // One response, reset for each respondent: making one hashes the whole instrument.
        response: HostResponse::new(instrument)?,
        rng,
        degrade: degrade.zip(population.as_ref()),
        later: Vec::new(),
    };
    let years = [plan.year - 1, plan.year];
    let dirs: Vec<PathBuf> = years.iter().map(|year| out.join(year.to_string())).collect();
    // Respondents are drawn here, in the seed's order, while a thread for each year writes
    // those drawn so far (CSV rows, kiosk tallies, exports and the year's other files): the
    // drawing and the writing overlap, and the files are those one thread would write.
    std::thread::scope(|scope| {
        let mut writers = Vec::new();
        // A writer that stops (on an error) stops the drawing, and no later year is written.
        'years: for (&year, dir) in years.iter().zip(&dirs) {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<Respondent>)>(2);
            let trusts = &trusts;
            let weeks = weekly.is_some() && year == plan.year;
            writers
                .push(scope.spawn(move || write_year(instrument, trusts, (plan.seed, year, dir, weeks), rx)));
            for (t, trust) in trusts.iter().enumerate() {
                if tx.send((t, draw.trust(trust, year == plan.year))).is_err() {
                    break 'years;
                }
            }
        }
        writers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
    if let (Some(population), Some(dir)) = (&population, dirs.last()) {
        let truth = truth::Truth {
            schema: truth::SCHEMA,
            version: truth::VERSION,
            instrument: instrument.id.to_owned(),
            seed: plan.seed,
            year: plan.year,
            computed: "quadrature over the model (121 nodes), standardised with the model's national shares",
            degrade: degrade.map(|d| truth::DegradeRecord {
                trusts: d.trusts.clone(),
                from_week: d.from_week,
                points: d.points,
            }),
            trusts: trusts
                .iter()
                .zip(&draw.later)
                .map(|(t, (drift, shifts))| population.trust(t, *drift, shifts.as_deref()))
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&truth)?;
        text.push('\n');
        write(&dir.join("truth.json"), &text)?;
    }
    Ok(dirs)
}

/// What drawing respondents needs, from one seeded generator for the whole data set.
struct Draw<'a> {
    models: &'a [Model],
    chances: Chances,
    drift: Normal<f64>,
    response: HostResponse<'static>,
    rng: ChaCha8Rng,
    /// The trusts to degrade in the later year, and the model that finds their shifts.
    degrade: Option<(&'a Degrade, &'a truth::Population<'a>)>,
    /// Per trust, the later year's drift and the degraded trusts' shifts per question.
    later: Vec<(f64, Option<Vec<f64>>)>,
}

impl Draw<'_> {
    /// One year's respondents of `trust` (`later`: the later year, which drifts, and in which
    /// degraded trusts' respondents after the week are degraded).
    fn trust(&mut self, trust: &Trust, later: bool) -> Vec<Respondent> {
        let year_drift = if later { self.drift.sample(&mut self.rng) } else { 0.0 };
        let size = ((trust.size as f64) * self.rng.gen_range(0.9..1.1)).round() as usize;
        let degrade = self.degrade.filter(|(d, _)| later && d.trusts.contains(&trust.code));
        let shifts = degrade.map(|(d, population)| population.shifts(trust, year_drift, d.points));
        let from_week = degrade.map_or(u32::from(WEEKS), |(d, _)| d.from_week);
        let how = (self.models, &self.chances);
        // A degraded trust draws from a copy of the generator, and the generator then moves on
        // as the undegraded draw would: every other trust gets the respondents it gets without
        // the degradation.
        let mut own = shifts.as_ref().map(|_| self.rng.clone());
        let people = (0..size)
            .map(|i| {
                let shift = shifts.as_deref().filter(|_| weekly::week_of(i, size) > from_week);
                let rng = own.as_mut().unwrap_or(&mut self.rng);
                respond(&mut self.response, how, (trust, shift), year_drift, rng)
            })
            .collect();
        if own.is_some() {
            for _ in 0..size {
                respond(&mut self.response, how, (trust, None), year_drift, &mut self.rng);
            }
        }
        if later {
            self.later.push((year_drift, shifts));
        }
        people
    }
}

/// Writes one year under `dir` as its trusts' respondents come (`seed` makes the kiosks'
/// keys): each trust's kiosk exports and CSV rows, then the respondent CSV, sample frame and
/// keyring; with `weeks`, also every kiosk's export at the end of each week (`weeks/NN/devices`).
fn write_year(
    instrument: &'static Instrument<'static>,
    trusts: &[Trust],
    (seed, year, dir, weeks): (u64, u16, &Path, bool),
    drawn: std::sync::mpsc::Receiver<(usize, Vec<Respondent>)>,
) -> Result<()> {
    let devices = dir.join("devices");
    let weekly: Vec<PathBuf> =
        if weeks { (1..=u32::from(WEEKS)).map(|w| weekly::devices(dir, w)).collect() } else { Vec::new() };
    for d in std::iter::once(&devices).chain(&weekly) {
        std::fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let kiosks = Kiosks { seed, period: year.to_string(), dir: &devices, weeks: &weekly };
    let mut csv = crate::output::Staged::new(&dir.join("respondents.csv"))?;
    let mut rows = csv_header(instrument);
    let mut frame = String::from("trust,invited,undeliverable,deceased\n");
    let mut keyring = keyring::File::new();
    for (t, people) in drawn {
        let trust = &trusts[t];
        for p in &people {
            csv_row(&mut rows, instrument, &trust.code, p);
        }
        csv.write(rows.as_bytes())?;
        rows.clear();
        keyring.keys.extend(write_devices(instrument, (trust, t < SNAPSHOT_TRUSTS), &people, &kiosks)?);
        let invited = (people.len() as f64 / trust.response_rate).round() as u32;
        let undeliverable = (f64::from(invited) * 0.02).round() as u32;
        let deceased = (f64::from(invited) * 0.004).round() as u32;
        let _ = writeln!(frame, "{},{invited},{undeliverable},{deceased}", trust.code);
    }
    csv.finish()?;
    write(&dir.join("frame.csv"), &frame)?;
    write(&dir.join("keyring.toml"), &keyring.to_toml()?)
}

fn write(path: &Path, text: &str) -> Result<()> {
    crate::output::write(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_age_band_has_ages_even_above_90() {
        assert_eq!(age_range(&[16, 36, 51, 66], 3), 66..=90);
        assert_eq!(age_range(&[16, 36, 51, 95], 2), 51..=94);
        assert_eq!(age_range(&[16, 36, 51, 95], 3), 95..=105);
        assert_eq!(age_range(&[0, 255], 1), 255..=265);
        assert_eq!(age_range(&[0, 1], 0), 0..=0);
    }

    #[test]
    fn trust_codes_are_distinct_up_to_the_maximum() {
        let codes = unique_codes(MAX_TRUSTS);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), MAX_TRUSTS);
        // The first trusts keep their codes, so seeded data sets are unchanged.
        assert_eq!(codes[..3], [code(0), code(1), code(2)]);
    }

    #[test]
    fn plans_with_no_trusts_or_too_many_are_refused() {
        let fft = surveybench_kernel::bundled::by_id("fft").unwrap();
        let plan = |trusts| Plan { trusts, ..Plan::national(1) };
        assert!(check(fft, &plan(MAX_TRUSTS)).is_ok());
        assert!(matches!(check(fft, &plan(0)), Err(CannotSimulate::Trusts { asked: 0, .. })));
        assert!(matches!(check(fft, &plan(MAX_TRUSTS + 1)), Err(CannotSimulate::Trusts { .. })));
    }
}
