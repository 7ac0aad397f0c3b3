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
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, LogNormal, Normal};
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument, QuestionKind};

use crate::ingest::respondents::HostResponse;

/// Trusts whose first kiosk also leaves an older, superseded export.
const SNAPSHOT_TRUSTS: usize = 2;

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

/// Trust codes in the style of NHS organisation codes (R and two characters).
fn code(i: usize) -> String {
    const A: &[u8] = b"ABCDEFGHJKLMNPQRTVWXY";
    const B: &[u8] = b"0123456789ABCDEFGHJK";
    let a = A[(i * 7 + 3) % A.len()] as char;
    let b = B[(i * 13 + i / A.len()) % B.len()] as char;
    format!("R{a}{b}")
}

fn unique_codes(n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let c = code(i);
        if !out.contains(&c) {
            out.push(c);
        }
        i += 1;
    }
    out
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

fn respond(
    instrument: &'static Instrument<'static>,
    trust: &Trust,
    year_drift: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Respondent> {
    let bands = instrument.age_bands;
    let g = pick_stratum(&trust.mix, rng);
    let known = g + 1 < trust.mix.len();
    let band = g / 2;
    let (age, sex) = if known {
        let lo = u16::from(bands.get(band).copied().unwrap_or(16));
        let hi = bands.get(band + 1).map_or(90, |&b| u16::from(b) - 1);
        (Some(rng.gen_range(lo..=hi)), Some(if g.is_multiple_of(2) { 1 } else { 2 }))
    } else {
        match rng.gen_range(0..3) {
            0 => (None, Some(rng.gen_range(1..=2))),
            1 => (Some(rng.gen_range(16..=90)), Some(4)),
            _ => (Some(rng.gen_range(16..=90)), None),
        }
    };
    let person = Normal::new(0.0, 0.8).unwrap_or_else(|_| unreachable!("valid parameters")).sample(rng);
    let age_effect = if known { -0.25 + 0.15 * band as f64 } else { 0.0 };
    let latent = trust.effect + year_drift + age_effect + person;
    let mut response = HostResponse::new(instrument)?;
    let mut answers = vec![0u8; instrument.questions.len()];
    let mut stray = Vec::new();
    for (k, q) in instrument.questions.iter().enumerate() {
        if !response.applies(k) {
            if q.is_scored() && rng.gen_bool(0.02) {
                let o = &q.options[rng.gen_range(0..q.options.len())];
                stray.push((k, o.code));
            }
            continue;
        }
        let code = match q.kind {
            QuestionKind::AgeBand => match (age, known) {
                (Some(a), true) => surveybench_kernel::stratum::age_band(a, bands).map_or(0, |b| b + 1),
                _ => q.options.last().map_or(0, |o| o.code),
            },
            QuestionKind::Sex => sex.unwrap_or(0),
            QuestionKind::Scored => scored_answer(q, k, latent + trust.question_effects[k], rng),
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
    Ok(Respondent { age, sex, answers, stray })
}

fn scored_answer(q: &surveybench_kernel::Question<'_>, k: usize, latent: f64, rng: &mut ChaCha8Rng) -> u8 {
    if rng.gen_bool(0.03) {
        return 0;
    }
    let unscored: Vec<u8> = q.options.iter().filter(|o| o.score.is_none()).map(|o| o.code).collect();
    if !unscored.is_empty() && rng.gen_bool(0.06) {
        return unscored[rng.gen_range(0..unscored.len())];
    }
    let mut scored: Vec<(u8, u8)> = q.options.iter().filter_map(|o| Some((o.score?, o.code))).collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    let level = question_level(k);
    let p = 1.0 / (1.0 + (-((level / (1.0 - level)).ln() + latent)).exp());
    let worse = Binomial::new((scored.len() - 1) as u64, 1.0 - p).map_or(0, |b| b.sample(rng)) as usize;
    scored.get(worse).map_or(0, |s| s.1)
}

/// Writes both years under `out`: `<year>/respondents.csv`, `<year>/devices/*.json`,
/// `<year>/frame.csv`. Returns the year folders, earlier first.
///
/// # Errors
/// File system errors, named with the path.
pub fn simulate(instrument: &'static Instrument<'static>, plan: &Plan, out: &Path) -> Result<Vec<PathBuf>> {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let trusts = trusts(plan, instrument.strata(), instrument.questions.len(), &mut rng);
    let drift = Normal::new(0.0, 0.1).unwrap_or_else(|_| unreachable!("valid parameters"));
    let mut dirs = Vec::new();
    for year in [plan.year - 1, plan.year] {
        let dir = out.join(year.to_string());
        let devices = dir.join("devices");
        std::fs::create_dir_all(&devices).with_context(|| format!("{}: cannot create", devices.display()))?;
        let mut csv = csv_header(instrument);
        let mut frame = String::from("trust,invited,undeliverable,deceased\n");
        for (t, trust) in trusts.iter().enumerate() {
            let year_drift = if year == plan.year { drift.sample(&mut rng) } else { 0.0 };
            let size = ((trust.size as f64) * rng.gen_range(0.9..1.1)).round() as usize;
            let people: Vec<Respondent> =
                (0..size).map(|_| respond(instrument, trust, year_drift, &mut rng)).collect::<Result<_>>()?;
            for p in &people {
                csv_row(&mut csv, instrument, &trust.code, p);
            }
            write_devices(instrument, (trust, t < SNAPSHOT_TRUSTS), &people, &year.to_string(), &devices)?;
            let invited = (size as f64 / trust.response_rate).round() as u32;
            let undeliverable = (f64::from(invited) * 0.02).round() as u32;
            let deceased = (f64::from(invited) * 0.004).round() as u32;
            let _ = writeln!(frame, "{},{invited},{undeliverable},{deceased}", trust.code);
        }
        write(&dir.join("respondents.csv"), &csv)?;
        write(&dir.join("frame.csv"), &frame)?;
        dirs.push(dir);
    }
    Ok(dirs)
}

fn write(path: &Path, text: &str) -> Result<()> {
    crate::output::write(path, text.as_bytes())
}

fn csv_header(instrument: &Instrument<'_>) -> String {
    let mut s = String::from("trust,age,sex");
    for q in
        instrument.questions.iter().filter(|q| !matches!(q.kind, QuestionKind::AgeBand | QuestionKind::Sex))
    {
        s.push(',');
        s.push_str(q.id);
    }
    s.push('\n');
    s
}

fn csv_row(csv: &mut String, instrument: &Instrument<'_>, trust: &str, p: &Respondent) {
    let opt = |x: Option<u16>| x.map_or_else(String::new, |v| v.to_string());
    let _ = write!(csv, "{trust},{},{}", opt(p.age), opt(p.sex.map(u16::from)));
    for ((k, q), &code) in instrument.questions.iter().enumerate().zip(&p.answers) {
        if matches!(q.kind, QuestionKind::AgeBand | QuestionKind::Sex) {
            continue;
        }
        // Stray answers only go where the kiosk path has none (the question did not apply).
        let stray = p.stray.iter().find(|(s, _)| *s == k).map(|s| s.1);
        csv.push(',');
        if let Some(c) = Some(code).filter(|&c| c != 0).or(stray) {
            let _ = write!(csv, "{c}");
        }
    }
    csv.push('\n');
}

/// Splits a trust's respondents over its kiosks and writes each kiosk's export. In the first
/// [`SNAPSHOT_TRUSTS`] trusts the first kiosk also leaves an older snapshot (sequence 1, half
/// its respondents) beside its final export (sequence 2), as a device exported twice in the
/// period would; the host must count it once.
fn write_devices(
    instrument: &'static Instrument<'static>,
    (trust, snapshot): (&Trust, bool),
    people: &[Respondent],
    period: &str,
    dir: &Path,
) -> Result<()> {
    let mut buf = vec![0u8; export::max_encoded_len(instrument)];
    for kiosk in 0..trust.kiosks {
        let mine: Vec<&Respondent> = people.iter().skip(kiosk).step_by(trust.kiosks).collect();
        let device = format!("{}-kiosk{}", trust.code, kiosk + 1);
        let mut tally = Box::new(HostTally::new(instrument)?);
        let half = mine.len() / 2;
        for (i, p) in mine.iter().enumerate() {
            if snapshot && kiosk == 0 && i == half {
                let header =
                    Header::new(&device, &trust.code, period, 1).map_err(|e| anyhow::anyhow!("{e}"))?;
                let n = export::encode(&*tally, &header, &mut buf).map_err(|e| anyhow::anyhow!("{e}"))?;
                write(
                    &dir.join(format!("{device}-seq1.json")),
                    &format!("{}\n", String::from_utf8_lossy(&buf[..n])),
                )?;
            }
            let mut r = HostResponse::new(instrument)?;
            for (k, &code) in p.answers.iter().enumerate() {
                if code != 0 {
                    r.answer(k, code)?;
                }
            }
            tally.commit(&r)?;
        }
        let sequence = if snapshot && kiosk == 0 { 2 } else { 1 };
        let header =
            Header::new(&device, &trust.code, period, sequence).map_err(|e| anyhow::anyhow!("{e}"))?;
        let n = export::encode(&*tally, &header, &mut buf).map_err(|e| anyhow::anyhow!("{e}"))?;
        write(&dir.join(format!("{device}.json")), &format!("{}\n", String::from_utf8_lossy(&buf[..n])))?;
    }
    Ok(())
}
