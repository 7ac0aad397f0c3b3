//! Headline figures of a trust (method.md §10): top and bottom five, band and change counts,
//! response rates.

use serde::Serialize;

use crate::ingest::FrameRow;

/// A question's distance from the national average.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    /// Question id.
    pub question: String,
    /// The trust's score.
    pub score: f64,
    /// The national average.
    pub national: f64,
    /// score - national.
    pub difference: f64,
}

/// The five largest and five smallest differences from the national average; ties keep
/// questionnaire order (`gaps` must be in questionnaire order).
#[must_use]
pub fn top_and_bottom(gaps: &[Gap]) -> (Vec<Gap>, Vec<Gap>) {
    let mut order: Vec<usize> = (0..gaps.len()).collect();
    // A stable sort keeps questionnaire order among equal differences.
    order.sort_by(|&a, &b| gaps[b].difference.total_cmp(&gaps[a].difference));
    let top = order.iter().take(5).map(|&i| gaps[i].clone()).collect();
    order.sort_by(|&a, &b| gaps[a].difference.total_cmp(&gaps[b].difference));
    let bottom = order.iter().take(5).map(|&i| gaps[i].clone()).collect();
    (top, bottom)
}

/// A response rate (method.md §10).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ResponseRate {
    /// Questionnaires sent (national totals are 64-bit sums, so they never saturate).
    pub invited: u64,
    /// invited - undeliverable - deceased.
    pub adjusted_base: u64,
    /// Completed responses.
    pub completed: u64,
    /// completed / adjusted base; `None` when the base is 0.
    pub rate: Option<f64>,
}

impl ResponseRate {
    /// The rate of `completed` responses over a frame row.
    #[must_use]
    pub fn new(frame: &FrameRow, completed: u32) -> Self {
        let base = frame.adjusted_base();
        Self::of(u64::from(frame.invited), u64::from(base), u64::from(completed))
    }

    /// The rate of `completed` over an adjusted base of `base` from `invited`.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52 are exact")]
    pub fn of(invited: u64, base: u64, completed: u64) -> Self {
        let rate = (base > 0).then(|| completed as f64 / base as f64);
        Self { invited, adjusted_base: base, completed, rate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(q: &str, d: f64) -> Gap {
        Gap { question: q.to_owned(), score: 5.0 + d, national: 5.0, difference: d }
    }

    #[test]
    fn ties_keep_questionnaire_order() {
        let gaps = [
            gap("Q1", 0.5),
            gap("Q2", 1.0),
            gap("Q3", 0.5),
            gap("Q4", -1.0),
            gap("Q5", 0.0),
            gap("Q6", -1.0),
        ];
        let (top, bottom) = top_and_bottom(&gaps);
        let ids = |v: &[Gap]| v.iter().map(|g| g.question.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&top), ["Q2", "Q1", "Q3", "Q5", "Q4"]);
        assert_eq!(ids(&bottom), ["Q4", "Q6", "Q5", "Q1", "Q3"]);
    }

    #[test]
    fn response_rate_uses_the_adjusted_base() {
        let r = ResponseRate::new(&FrameRow { invited: 1250, undeliverable: 30, deceased: 20 }, 185);
        assert_eq!(r.adjusted_base, 1200);
        assert!((r.rate.unwrap() - 185.0 / 1200.0).abs() < 1e-15);
    }
}
