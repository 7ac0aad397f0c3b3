//! Weighted means and linearised standard errors from a tally (method.md §5, §6).
//!
//! One generic code path serves the host (`f64`) and a device display (`f32`). Weights are per
//! stratum, as the host derives them from the national profile (method.md §4); with
//! stratum-constant weights the per-respondent sums of §5 and §6 reduce exactly to sums over
//! the tally's option counts and pair sums (the proof sketch in §11).

#![allow(
    clippy::arithmetic_side_effects,
    reason = "floating-point arithmetic cannot panic; integer sums use saturating operations"
)]

use core::ops::{Add, Div, Mul, Sub};

use crate::score::UNITS_PER_POINT;
use crate::tally::Tally;

/// The arithmetic the estimators need: `f64` on the host, `f32` on a device.
pub trait Real:
    Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// The nearest value to an integer.
    fn from_u64(n: u64) -> Self;
    /// The square root of a non-negative value, by Newton's method from above (core has no
    /// `sqrt` without std); within an ulp or two of the correctly rounded root.
    #[must_use]
    fn sqrt(self) -> Self {
        if self <= Self::ZERO {
            return Self::ZERO;
        }
        let two = Self::ONE + Self::ONE;
        let mut y = if self > Self::ONE { self } else { Self::ONE };
        for _ in 0..1100 {
            let next = (y + self / y) / two;
            if next >= y {
                break;
            }
            y = next;
        }
        y
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52 are exact")]
    fn from_u64(n: u64) -> Self {
        n as f64
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[allow(clippy::cast_precision_loss, reason = "display path; rounding is the point of f32")]
    fn from_u64(n: u64) -> Self {
        n as f32
    }
}

/// A trust's weighted score for one question, with what its SE needs (method.md §5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate<T> {
    /// Respondents with a scored answer.
    pub n: u32,
    /// Sum of their weights, W.
    pub sum_w: T,
    /// Weighted mean score on 0..10.
    pub mean: T,
    /// Linearised variance of the mean; `None` for n < 2.
    pub variance: Option<T>,
    /// Every weighted respondent gave the same score, decided on the integer counts (method.md
    /// §8 step 5): the mean is that score exactly, the variance exactly 0, and so is its
    /// covariance with any other question (§6).
    pub single_score: bool,
}

impl<T: Real> Estimate<T> {
    /// Standard error, the square root of [`Estimate::variance`].
    #[must_use]
    pub fn se(&self) -> Option<T> {
        self.variance.map(Real::sqrt)
    }
}

/// The distinct scores seen among weighted respondents: none, one (in score units), or several.
#[derive(Clone, Copy)]
enum Scores {
    None,
    One(u8),
    Several,
}

impl Scores {
    fn see(&mut self, units: u8) {
        *self = match *self {
            Scores::None => Scores::One(units),
            Scores::One(u) if u == units => Scores::One(u),
            _ => Scores::Several,
        };
    }
}

fn points<T: Real>(units: u64) -> T {
    T::from_u64(units) / T::from_u64(u64::from(UNITS_PER_POINT))
}

impl<const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'_, Q, CELLS, PAIRS> {
    /// Respondents in `stratum` with a scored answer to `question` (n_gk of method.md §4).
    #[must_use]
    pub fn scored_n(&self, question: usize, stratum: usize) -> u32 {
        let Some(q) = self.instrument().question(question) else {
            return 0;
        };
        let counts = self.counts(question, stratum);
        q.options
            .iter()
            .zip(counts)
            .filter(|(o, _)| o.score.is_some())
            .fold(0u32, |n, (_, c)| n.saturating_add(*c))
    }

    /// The weighted mean and linearised variance of `question` (method.md §5), with `weights`
    /// per stratum (a missing weight counts as 0). `None` when no weighted respondent has a
    /// scored answer.
    #[must_use]
    pub fn estimate<T: Real>(&self, question: usize, weights: &[T]) -> Option<Estimate<T>> {
        let q = self.instrument().question(question).filter(|q| q.is_scored())?;
        let (mut n, mut sum_w, mut sum_wx) = (0u32, T::ZERO, T::ZERO);
        let mut scores = Scores::None;
        for g in 0..self.strata() {
            let w = weights.get(g).copied().unwrap_or(T::ZERO);
            for (o, &c) in q.options.iter().zip(self.counts(question, g)) {
                let Some(units) = o.score else { continue };
                n = n.saturating_add(c);
                if c > 0 && w > T::ZERO {
                    scores.see(units);
                }
                let wc = w * T::from_u64(u64::from(c));
                sum_w = sum_w + wc;
                sum_wx = sum_wx + wc * points::<T>(u64::from(units));
            }
        }
        if n == 0 || sum_w <= T::ZERO {
            return None;
        }
        if let Scores::One(units) = scores {
            // Exact: sum(w x) / sum(w) would leave a rounding residue (method.md §8 step 5).
            let variance = (n >= 2).then_some(T::ZERO);
            return Some(Estimate { n, sum_w, mean: points(u64::from(units)), variance, single_score: true });
        }
        let mean = sum_wx / sum_w;
        let variance = (n >= 2).then(|| {
            let mut sum = T::ZERO;
            for g in 0..self.strata() {
                let w = weights.get(g).copied().unwrap_or(T::ZERO);
                for (o, &c) in q.options.iter().zip(self.counts(question, g)) {
                    let Some(units) = o.score else { continue };
                    let d = points::<T>(u64::from(units)) - mean;
                    sum = sum + w * w * T::from_u64(u64::from(c)) * d * d;
                }
            }
            let nf = T::from_u64(u64::from(n));
            nf / (nf - T::ONE) * sum / (sum_w * sum_w)
        });
        Some(Estimate { n, sum_w, mean, variance, single_score: false })
    }

    /// The covariance term C_jkl between the means of questions `a` and `b` of one section
    /// (method.md §6), given their weights and estimates. `None` when fewer than two
    /// respondents answered both, or the questions are not a pair of one section.
    #[must_use]
    pub fn covariance<T: Real>(
        &self,
        (a, weights_a, est_a): (usize, &[T], &Estimate<T>),
        (b, weights_b, est_b): (usize, &[T], &Estimate<T>),
    ) -> Option<T> {
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        let (mut m, mut sum) = (0u32, T::ZERO);
        for g in 0..self.strata() {
            let p = self.pair(first, second, g)?;
            // Pair sums are stored with the earlier question first.
            let (sa, sb) = if a < b { (p.sum_k, p.sum_l) } else { (p.sum_l, p.sum_k) };
            let wa = weights_a.get(g).copied().unwrap_or(T::ZERO);
            let wb = weights_b.get(g).copied().unwrap_or(T::ZERO);
            let sum_ab =
                T::from_u64(p.sum_kl) / T::from_u64(u64::from(UNITS_PER_POINT) * u64::from(UNITS_PER_POINT));
            let centred =
                sum_ab - est_b.mean * points::<T>(u64::from(sa)) - est_a.mean * points::<T>(u64::from(sb))
                    + T::from_u64(u64::from(p.m)) * est_a.mean * est_b.mean;
            m = m.saturating_add(p.m);
            sum = sum + wa * wb * centred;
        }
        if m < 2 {
            return None;
        }
        if est_a.single_score || est_b.single_score {
            // One side is constant over its weighted respondents: every product is exactly 0.
            return Some(T::ZERO);
        }
        let mf = T::from_u64(u64::from(m));
        Some(mf / (mf - T::ONE) * sum / (est_a.sum_w * est_b.sum_w))
    }
}
