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

/// No scored answer to a question, in the scores a commit gathers (scores are 0..=60).
const NO_SCORE: u8 = u8::MAX;

#[inline]
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
        let stratum = response.stratum();
        let g = stratum.index().min(self.strata().saturating_sub(1));
        // Answers to the tally's own instrument are its options (the response found them there).
        let fits = core::ptr::eq(response.instrument(), self.instrument) || self.fits(response.outcomes());
        if !(self.cannot_overflow(1) && fits) {
            self.add_response(response, g, false)?;
        }
        self.add_response(response, g, true)?;
        Ok(stratum)
    }

    /// Whether `more` responses (started, of any kind) can be added without any count or sum
    /// overflowing, given that the tally is consistent (see the module doc).
    fn cannot_overflow(&self, more: u32) -> bool {
        self.counters.started.checked_add(more).and_then(|n| n.checked_mul(u32::from(MAX_UNITS))).is_some()
    }

    /// Whether every answer in `outcomes` is an option of this tally's instrument, so the
    /// writing pass cannot meet a cell it does not have.
    fn fits(&self, outcomes: impl Iterator<Item = Outcome>) -> bool {
        self.instrument.questions.iter().zip(outcomes).all(|(q, o)| match o {
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
        response: &Response<'_, R>,
        g: usize,
        write: bool,
    ) -> Result<(), TallyError> {
        bump(&mut self.counters.started, 1, write)?;
        bump(&mut self.counters.completed, 1, write)?;
        bump(self.respondents.get_mut(g).ok_or(TallyError::InstrumentMismatch)?, 1, write)?;
        let mut scores = [NO_SCORE; R];
        self.add_answers(response, g, &mut scores, write)?;
        self.add_pairs(&scores, g, write)
    }

    /// Adds the cleaning counters and option counts of `response` in stratum `g`, and notes
    /// the score of each scored answer in `scores`.
    fn add_answers<const R: usize>(
        &mut self,
        response: &Response<'_, R>,
        g: usize,
        scores: &mut [u8; R],
        write: bool,
    ) -> Result<(), TallyError> {
        // Everything needed is in the slots: the instrument's questions are not read again.
        for (i, outcome) in response.outcomes().enumerate() {
            let mismatch = TallyError::InstrumentMismatch;
            let (p, answers) = match outcome {
                Outcome::Answered(p) => (usize::from(p), 1),
                Outcome::Unanswered => (0, 0),
                Outcome::Removed | Outcome::Cleaned(_) => {
                    let cleaned = self.cleaned.get_mut(i).ok_or(mismatch)?;
                    let counter = match outcome {
                        Outcome::Cleaned(Cleaning::OutOfRange) => &mut cleaned.invalid,
                        Outcome::Cleaned(Cleaning::MultiTicked) => &mut cleaned.multi,
                        _ => &mut cleaned.routed,
                    };
                    bump(counter, 1, write)?;
                    continue;
                }
            };
            let slot = self.slots.get(i).ok_or(mismatch)?;
            // Only evaluative questions have a section, and count cells.
            if slot.section == u16::MAX {
                continue;
            }
            // A question left unanswered adds 0 to its first cell: whether respondents answer
            // is hard to predict, so this takes no branch on it.
            let width = usize::from(slot.width);
            let cell = (p < width)
                .then(|| usize::from(slot.cell).checked_add(g.checked_mul(width)?)?.checked_add(p))
                .flatten()
                .and_then(|c| self.cells.get_mut(c))
                .ok_or(mismatch)?;
            bump(cell, answers, write)?;
            if let Some(s) = scores.get_mut(i) {
                *s = response.score(i).filter(|_| answers == 1).unwrap_or(NO_SCORE);
            }
        }
        Ok(())
    }

    /// Adds the cross sums of every pair of scored answers in one section, in stratum `g`
    /// (method.md §11). From each evaluative question the walk follows the later members of
    /// its section, whose pairs with it are the consecutive pair cells from its `pair_base`.
    fn add_pairs<const R: usize>(
        &mut self,
        scores: &[u8; R],
        g: usize,
        write: bool,
    ) -> Result<(), TallyError> {
        let (questions, strata) = (self.instrument.questions.len(), self.strata());
        for (slot, &xa) in self.slots.iter().zip(scores.iter()).take(questions) {
            // The pair cell of (a, b) in stratum g; the next member's is `strata` cells on (an
            // index past the cells, however it came about, is a mismatch).
            let mut cell = usize::from(slot.pair_base).wrapping_mul(strata).wrapping_add(g);
            let mut b = usize::from(slot.next);
            // Links only go forward, to a later question, so the walk ends.
            while b < questions {
                let xb = scores.get(b).copied().unwrap_or(NO_SCORE);
                // Unless both have a scored answer this adds zeros: every walk is the same for
                // every respondent, without branches their answers would make hard to predict.
                let both = u8::from(xa != NO_SCORE && xb != NO_SCORE).wrapping_neg();
                let (m, xa, xb) = (u32::from(both & 1), xa & both, xb & both);
                let by = PairSums {
                    m,
                    sum_k: u32::from(xa),
                    sum_l: u32::from(xb),
                    sum_kl: u64::from(xa).saturating_mul(u64::from(xb)),
                };
                bump_pair(self.pairs.get_mut(cell).ok_or(TallyError::InstrumentMismatch)?, by, write)?;
                cell = cell.wrapping_add(strata);
                b = self.slots.get(b).map_or(usize::MAX, |s| usize::from(s.next));
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
        // Cells past those the instrument uses are 0 in both.
        let (cells, pairs) = self.used_cells();
        for (mine, theirs) in self.cells.iter_mut().zip(other.cells.iter()).take(cells) {
            bump(mine, *theirs, write)?;
        }
        for (mine, theirs) in self.pairs.iter_mut().zip(other.pairs.iter()).take(pairs) {
            bump_pair(mine, *theirs, write)?;
        }
        Ok(())
    }
}
