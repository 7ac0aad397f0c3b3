//! Exact tally capacities of an instrument, as `const fn`s, so firmware can size a tally for
//! its compiled-in instrument at compile time.

use crate::instrument::{Instrument, Question, QuestionKind};
use crate::stratum::strata_count;

const fn str_eq(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    while let (Some((x, ra)), Some((y, rb))) = (a.split_first(), b.split_first()) {
        if *x != *y {
            return false;
        }
        a = ra;
        b = rb;
    }
    true
}

const fn scored_in(q: &Question<'_>, section: &str) -> bool {
    match (q.kind, q.section) {
        (QuestionKind::Scored, Some(s)) => str_eq(s, section),
        _ => false,
    }
}

/// Count cells a tally of `instrument` needs: every option of every evaluative question, per
/// stratum (method.md §11).
#[must_use]
pub const fn cells(instrument: &Instrument<'_>) -> usize {
    let mut total: usize = 0;
    let mut rest = instrument.questions;
    while let Some((q, tail)) = rest.split_first() {
        if matches!(q.kind, QuestionKind::Scored) {
            total = total.saturating_add(q.options.len());
        }
        rest = tail;
    }
    total.saturating_mul(strata_count(instrument.age_bands.len()))
}

/// Pair cells a tally of `instrument` needs: every pair of evaluative questions in the same
/// section, per stratum (method.md §11).
#[must_use]
pub const fn pairs(instrument: &Instrument<'_>) -> usize {
    let mut total: usize = 0;
    let mut sections = instrument.sections;
    while let Some((section, more)) = sections.split_first() {
        let mut n: usize = 0;
        let mut rest = instrument.questions;
        while let Some((q, tail)) = rest.split_first() {
            if scored_in(q, section.id) {
                n = n.saturating_add(1);
            }
            rest = tail;
        }
        total = total.saturating_add(n.saturating_mul(n.saturating_sub(1)) / 2);
        sections = more;
    }
    total.saturating_mul(strata_count(instrument.age_bands.len()))
}

/// Number of questions (the `Q` capacity a tally or response needs).
#[must_use]
pub const fn questions(instrument: &Instrument<'_>) -> usize {
    instrument.questions.len()
}
