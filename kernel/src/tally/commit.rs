//! Committing responses and merging tallies, all-or-nothing.
//!
//! An update that could overflow runs twice over the same code path: first checking that no
//! count overflows, then writing. A failed check returns an error with the tally unchanged.
//!
//! Most updates cannot overflow, and skip the checking pass. Every tally is consistent (made
//! empty, changed only by commit and merge, or filled by a decoder that checks consistency and
//! leaves it empty otherwise), so no count exceeds `started` and no sum of scores exceeds
//! [`MAX_UNITS`] times `started`. While [`MAX_UNITS`] times the `started` it would have stays
//! within `u32`, no 32-bit count or sum can overflow (the 64-bit cross sums are far from it).

use super::{PairSums, Tally, TallyError};
use crate::response::{Cleaning, Outcome, Response};
use crate::score::MAX_UNITS;
use crate::stratum::Stratum;

/// Adds `by` to `cell`, or fails on overflow; writes only when `write` is set.
fn bump<T: Copy + CheckedAdd>(cell: &mut T, by: T, write: bool) -> Result<(), TallyError> {
    let sum = cell.checked(by).ok_or(TallyError::Overflow)?;
    if write {
        *cell = sum;
    }
    Ok(())
}

/// Checked addition over the counter types of a tally.
trait CheckedAdd: Sized {
    fn checked(self, other: Self) -> Option<Self>;
}

impl CheckedAdd for u32 {
    fn checked(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
}

impl CheckedAdd for u64 {
    fn checked(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
}

/// Sorts a short slice in place. `sort_unstable` would cost the firmware about 8 KB of flash for
/// lists of a few dozen entries.
fn insertion_sort<T: Ord + Copy>(items: &mut [T]) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            let (Some(&a), Some(&b)) = (items.get(j.saturating_sub(1)), items.get(j)) else { break };
            if a <= b {
                break;
            }
            items.swap(j.saturating_sub(1), j);
            j = j.saturating_sub(1);
        }
    }
}

fn bump_pair(cell: &mut PairSums, by: PairSums, write: bool) -> Result<(), TallyError> {
    let mut next = *cell;
    bump(&mut next.m, by.m, true)?;
    bump(&mut next.sum_k, by.sum_k, true)?;
    bump(&mut next.sum_l, by.sum_l, true)?;
    bump(&mut next.sum_kl, by.sum_kl, true)?;
    if write {
        *cell = next;
    }
    Ok(())
}

impl<const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'_, Q, CELLS, PAIRS> {
    /// Commits a finished response (method.md §2, §11): routing applied, removals and cleaning
    /// counted, option counts and pair sums added for its stratum. Returns the stratum.
    ///
    /// # Errors
    /// [`TallyError::InstrumentMismatch`] or [`TallyError::Overflow`]; the tally is then
    /// unchanged.
    pub fn commit<const R: usize>(&mut self, response: &Response<'_, R>) -> Result<Stratum, TallyError> {
        if response.instrument_hash() != self.hash {
            return Err(TallyError::InstrumentMismatch);
        }
        let outcomes = response.resolve();
        let stratum = response.stratum();
        let g = stratum.index().min(self.strata().saturating_sub(1));
        if !(self.cannot_overflow(1) && self.fits(&outcomes)) {
            self.add_response(&outcomes, g, false)?;
        }
        self.add_response(&outcomes, g, true)?;
        Ok(stratum)
    }

    /// Whether `more` responses (started, of any kind) can be added without any count or sum
    /// overflowing, given that the tally is consistent (see the module doc).
    fn cannot_overflow(&self, more: u32) -> bool {
        self.counters.started.checked_add(more).and_then(|n| n.checked_mul(u32::from(MAX_UNITS))).is_some()
    }

    /// Whether every answer in `outcomes` is an option of this tally's instrument, so the
    /// writing pass cannot meet a cell it does not have.
    fn fits<const R: usize>(&self, outcomes: &[Outcome; R]) -> bool {
        self.instrument.questions.iter().zip(outcomes).all(|(q, o)| match *o {
            Outcome::Answered(p) => usize::from(p) < q.options.len(),
            _ => true,
        })
    }

    /// Counts a response that was begun and discarded (e.g. an idle timeout set to discard).
    ///
    /// # Errors
    /// [`TallyError::Overflow`]; the tally is then unchanged.
    pub fn record_abandoned(&mut self) -> Result<(), TallyError> {
        let mut c = self.counters;
        bump(&mut c.started, 1, true)?;
        bump(&mut c.abandoned, 1, true)?;
        self.counters = c;
        Ok(())
    }

    /// Counts a submission rejected as misuse; its answers are not tallied.
    ///
    /// # Errors
    /// [`TallyError::Overflow`]; the tally is then unchanged.
    pub fn record_rejected(&mut self) -> Result<(), TallyError> {
        let mut c = self.counters;
        bump(&mut c.started, 1, true)?;
        bump(&mut c.rejected, 1, true)?;
        self.counters = c;
        Ok(())
    }

    fn add_response<const R: usize>(
        &mut self,
        outcomes: &[Outcome; R],
        g: usize,
        write: bool,
    ) -> Result<(), TallyError> {
        bump(&mut self.counters.started, 1, write)?;
        bump(&mut self.counters.completed, 1, write)?;
        bump(self.respondents.get_mut(g).ok_or(TallyError::InstrumentMismatch)?, 1, write)?;
        // The scored answers (section, question, score), gathered on the way: only these form
        // pairs, within a section.
        let mut scored = [(0u16, 0usize, 0u8); R];
        let mut count = 0usize;
        let questions = self.instrument.questions;
        for (i, (q, &outcome)) in questions.iter().zip(outcomes.iter()).enumerate() {
            let cleaned = self.cleaned.get_mut(i).ok_or(TallyError::InstrumentMismatch)?;
            match outcome {
                Outcome::Unanswered => {}
                Outcome::Removed => bump(&mut cleaned.routed, 1, write)?,
                Outcome::Cleaned(Cleaning::OutOfRange) => bump(&mut cleaned.invalid, 1, write)?,
                Outcome::Cleaned(Cleaning::MultiTicked) => bump(&mut cleaned.multi, 1, write)?,
                Outcome::Answered(_) if !q.is_scored() => {}
                Outcome::Answered(p) => {
                    let p = usize::from(p);
                    let slot = self.slots.get(i).ok_or(TallyError::InstrumentMismatch)?;
                    let width = q.options.len();
                    let cell = (p < width)
                        .then(|| usize::from(slot.cell).checked_add(g.checked_mul(width)?)?.checked_add(p))
                        .flatten()
                        .and_then(|c| self.cells.get_mut(c))
                        .ok_or(TallyError::InstrumentMismatch)?;
                    bump(cell, 1, write)?;
                    let score = q.options.get(p).and_then(|o| o.score);
                    if let (Some(x), Some(entry)) = (score, scored.get_mut(count)) {
                        *entry = (slot.section, i, x);
                        count = count.saturating_add(1);
                    }
                }
            }
        }
        let scored = scored.get_mut(..count).unwrap_or(&mut []);
        insertion_sort(scored);
        for section in scored.chunk_by(|p, q| p.0 == q.0) {
            for (k, &(_, a, xa)) in section.iter().enumerate() {
                for &(_, b, xb) in section.get(k.saturating_add(1)..).unwrap_or(&[]) {
                    let i = self.pair_index(a, b, g).ok_or(TallyError::InstrumentMismatch)?;
                    let by = PairSums {
                        m: 1,
                        sum_k: u32::from(xa),
                        sum_l: u32::from(xb),
                        sum_kl: u64::from(xa).saturating_mul(u64::from(xb)),
                    };
                    let cell = self.pairs.get_mut(i).ok_or(TallyError::InstrumentMismatch)?;
                    bump_pair(cell, by, write)?;
                }
            }
        }
        Ok(())
    }

    /// Adds `other` into this tally (method.md §11): counts add, so merging is associative and
    /// commutative. The two may have different capacities but must tally the same instrument.
    ///
    /// # Errors
    /// [`TallyError::InstrumentMismatch`] or [`TallyError::Overflow`]; this tally is then
    /// unchanged.
    pub fn merge<const Q2: usize, const C2: usize, const P2: usize>(
        &mut self,
        other: &Tally<'_, Q2, C2, P2>,
    ) -> Result<(), TallyError> {
        if other.hash != self.hash || other.strata != self.strata {
            return Err(TallyError::InstrumentMismatch);
        }
        if !self.cannot_overflow(other.counters.started) {
            self.add_tally(other, false)?;
        }
        self.add_tally(other, true)
    }

    fn add_tally<const Q2: usize, const C2: usize, const P2: usize>(
        &mut self,
        other: &Tally<'_, Q2, C2, P2>,
        write: bool,
    ) -> Result<(), TallyError> {
        let (o, s) = (other.counters, &mut self.counters);
        bump(&mut s.started, o.started, write)?;
        bump(&mut s.completed, o.completed, write)?;
        bump(&mut s.abandoned, o.abandoned, write)?;
        bump(&mut s.rejected, o.rejected, write)?;
        for (mine, theirs) in self.respondents.iter_mut().zip(other.respondents.iter()) {
            bump(mine, *theirs, write)?;
        }
        for (mine, theirs) in self.cleaned.iter_mut().zip(other.cleaned.iter()) {
            bump(&mut mine.routed, theirs.routed, write)?;
            bump(&mut mine.invalid, theirs.invalid, write)?;
            bump(&mut mine.multi, theirs.multi, write)?;
        }
        for (mine, theirs) in self.cells.iter_mut().zip(other.cells.iter()) {
            bump(mine, *theirs, write)?;
        }
        for (mine, theirs) in self.pairs.iter_mut().zip(other.pairs.iter()) {
            bump_pair(mine, *theirs, write)?;
        }
        Ok(())
    }
}
