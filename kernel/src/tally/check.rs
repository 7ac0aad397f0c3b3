//! Consistency of a tally filled from outside (an export, a stored image): every response is
//! completed, abandoned or rejected, and completed responses add up over strata; no question has
//! more outcomes than completed responses, nor more answers in a stratum than that stratum's
//! completed responses; pair sums stay within what the two questions' counts in that stratum
//! allow (method.md §11). The export decoder and the image reader share these checks.

use super::{PairWalk, Tally};
use crate::export::Record;
use crate::score::MAX_UNITS;
use crate::stratum::MAX_STRATA;

fn index16(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl<const Q: usize, const C: usize, const P: usize> Tally<'_, Q, C, P> {
    /// Checks that the counts could have come from real responses (see the module doc); the
    /// record of the first contradiction otherwise.
    pub(crate) fn check_consistency(&self) -> Result<(), Record> {
        check(self)
    }
}

fn check<const Q: usize, const C: usize, const P: usize>(t: &Tally<'_, Q, C, P>) -> Result<(), Record> {
    let c = t.counters();
    let total = c.completed.checked_add(c.abandoned).and_then(|x| x.checked_add(c.rejected));
    let by_stratum = (0..t.strata()).try_fold(0u32, |n, g| n.checked_add(t.respondents(g)));
    if total != Some(c.started) || by_stratum != Some(c.completed) {
        return Err(Record::Header);
    }
    let instrument = t.instrument();
    for i in 0..instrument.questions.len() {
        let cl = t.cleaned(i);
        let mut outcomes =
            u64::from(cl.routed).saturating_add(u64::from(cl.invalid)).saturating_add(u64::from(cl.multi));
        for g in 0..t.strata() {
            outcomes = t.counts(i, g).iter().fold(outcomes, |n, &x| n.saturating_add(u64::from(x)));
        }
        if outcomes > u64::from(c.completed) {
            return Err(Record::Question(index16(i)));
        }
        for g in 0..t.strata() {
            // Every option counts, scored or not: each is one respondent of stratum g.
            let answers = t.counts(i, g).iter().fold(0u64, |n, &x| n.saturating_add(u64::from(x)));
            if answers > u64::from(t.respondents(g)) {
                return Err(Record::Counts { question: index16(i), stratum: index16(g) });
            }
        }
    }
    // Question a's scored n and score sum per stratum, kept while the walk pairs a with each b.
    let mut walk = PairWalk::default();
    let mut first: Option<(usize, [(u32, u64); MAX_STRATA])> = None;
    let mut index = 0usize;
    while let Some((a, b)) = walk.next(t) {
        let of_a = match first {
            Some((q, sums)) if q == a => sums,
            _ => {
                let sums = core::array::from_fn(|g| if g < t.strata() { scored(t, a, g) } else { (0, 0) });
                first = Some((a, sums));
                sums
            }
        };
        for (g, &(na, sa)) in of_a.iter().enumerate().take(t.strata()) {
            let bad = Record::Sums { pair: index16(index), stratum: index16(g) };
            let p = t.pair(a, b, g).ok_or(bad)?;
            let (nb, sb) = scored(t, b, g);
            let m = u64::from(p.m);
            let top = u64::from(MAX_UNITS);
            let most = m.saturating_mul(top);
            let ok = p.m <= na.min(nb)
                && u64::from(p.sum_k) <= most.min(sa)
                && u64::from(p.sum_l) <= most.min(sb)
                && p.sum_kl <= most.saturating_mul(top);
            if !ok {
                return Err(bad);
            }
        }
        index = index.saturating_add(1);
    }
    Ok(())
}

/// The number of scored answers to question `q` in stratum `g`, and the sum of their score
/// units (one pass over its options).
fn scored<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'_, Q, C, P>,
    q: usize,
    g: usize,
) -> (u32, u64) {
    let Some(question) = t.instrument().question(q) else {
        return (0, 0);
    };
    question.options.iter().zip(t.counts(q, g)).fold((0u32, 0u64), |(n, sum), (o, &c)| match o.score {
        Some(u) => (n.saturating_add(c), sum.saturating_add(u64::from(u).saturating_mul(u64::from(c)))),
        None => (n, sum),
    })
}
