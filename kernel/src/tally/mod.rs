//! Tallies: running, mergeable integer counts from which every benchmark figure follows
//! (method.md §11). No raw response is kept.
//!
//! A tally holds, per evaluative question and stratum, how many respondents chose each option;
//! per pair of evaluative questions in one section and stratum, the cross sums that give the
//! section covariance (§6); and the response and cleaning counters. Capacity is fixed by const
//! generics; [`capacity`] computes the exact figures for an instrument at compile time.

pub mod capacity;
mod check;
mod commit;
pub mod image;

use core::fmt;
use core::mem::MaybeUninit;

use crate::instrument::{Instrument, InstrumentError};
use crate::response::DEFAULT_QUESTIONS;
use crate::stratum::MAX_STRATA;

/// Question capacity of [`HostTally`] (and of the host's responses).
pub const HOST_QUESTIONS: usize = 128;
/// Count-cell capacity of [`HostTally`].
pub const HOST_CELLS: usize = 4096;
/// Pair-cell capacity of [`HostTally`].
pub const HOST_PAIRS: usize = 4096;

/// A tally with room for any reasonable instrument, for the host (put it in a `Box`).
pub type HostTally<'i> = Tally<'i, HOST_QUESTIONS, HOST_CELLS, HOST_PAIRS>;

/// Response counters (method.md §11). `started = completed + abandoned + rejected` always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Counters {
    /// Responses begun.
    pub started: u32,
    /// Responses committed to the tally.
    pub completed: u32,
    /// Responses discarded before the end (e.g. an idle timeout set to discard).
    pub abandoned: u32,
    /// Submissions rejected as misuse (e.g. completed implausibly fast); never counted as
    /// responses.
    pub rejected: u32,
}

/// Per-question cleaning counters (method.md §2, §11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cleaned {
    /// Answers removed because routing says the question should have been skipped.
    pub routed: u32,
    /// Answers with an option code outside the question's list.
    pub invalid: u32,
    /// Answers with several options ticked on a single-choice question.
    pub multi: u32,
}

/// Cross sums of one pair of questions (k, l) in one stratum, over respondents who gave a
/// scored answer to both (method.md §6, §11). Sums are in score units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PairSums {
    /// Respondents who answered both.
    pub m: u32,
    /// Sum of x_k.
    pub sum_k: u32,
    /// Sum of x_l.
    pub sum_l: u32,
    /// Sum of x_k * x_l.
    pub sum_kl: u64,
}

/// Why a tally operation failed. The tally is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TallyError {
    /// The instrument is not valid.
    Instrument(InstrumentError),
    /// The instrument needs more room than this tally's capacity.
    Capacity {
        /// Questions, count cells and pair cells needed.
        needed: [u32; 3],
        /// The tally's capacities, in the same order.
        capacity: [u32; 3],
    },
    /// The response or tally belongs to another instrument.
    InstrumentMismatch,
    /// A count would overflow.
    Overflow,
}

impl fmt::Display for TallyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instrument(e) => write!(f, "invalid instrument: {e}"),
            Self::Capacity { needed, capacity } => write!(
                f,
                "instrument needs {} questions, {} count cells, {} pair cells; capacity is {}, {}, {}",
                needed[0], needed[1], needed[2], capacity[0], capacity[1], capacity[2]
            ),
            Self::InstrumentMismatch => write!(f, "instrument does not match the tally's"),
            Self::Overflow => write!(f, "a count would overflow; nothing was changed"),
        }
    }
}

impl core::error::Error for TallyError {}

/// Where one question's data lives in the flat arrays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// First count cell (evaluative questions only).
    cell: u16,
    /// Pair index of (this, next evaluative question of its section).
    pair_base: u16,
    /// Position among the evaluative questions of its section.
    rank: u16,
    /// Index of its section (`u16::MAX` for questions that are not evaluative).
    section: u16,
    /// The next evaluative question of its section (`u16::MAX` after the last), so a commit
    /// walks a section's pairs without sorting its answers.
    next: u16,
    /// Number of options (evaluative questions only): the count cells of one stratum.
    width: u8,
}

/// A tally of responses to one instrument, with capacity for `Q` questions, `CELLS` count cells
/// and `PAIRS` pair cells (see [`capacity`]).
///
/// [`Tally::init`] relies on all-zero bytes being a valid value of every field but
/// `instrument`: a new field must keep that true, or be written there too.
#[derive(Clone, Debug)]
pub struct Tally<'i, const Q: usize = DEFAULT_QUESTIONS, const CELLS: usize = 1024, const PAIRS: usize = 1024>
{
    instrument: &'i Instrument<'i>,
    hash: u64,
    strata: u8,
    slots: [Slot; Q],
    /// The count and pair cells the instrument uses ([`capacity`]); those past them stay 0, so
    /// clearing and merging stop there.
    used: [u16; 2],
    counters: Counters,
    /// Completed responses per stratum (who took part, method.md §3).
    respondents: [u32; MAX_STRATA],
    cleaned: [Cleaned; Q],
    cells: [u32; CELLS],
    pairs: [PairSums; PAIRS],
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'i, const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'i, Q, CELLS, PAIRS> {
    /// An empty tally of `instrument`.
    ///
    /// # Errors
    /// The instrument is invalid, or does not fit this tally's capacity.
    pub fn new(instrument: &'i Instrument<'i>) -> Result<Self, TallyError> {
        let (strata, used) = Self::check(instrument)?;
        Ok(Self {
            instrument,
            hash: instrument.content_hash(),
            strata,
            slots: layout(instrument),
            used,
            counters: Counters::default(),
            respondents: [0; MAX_STRATA],
            cleaned: [Cleaned::default(); Q],
            cells: [0; CELLS],
            pairs: [PairSums::default(); PAIRS],
        })
    }

    /// An empty tally of `instrument`, built where it will stay: in `slot`, typically a
    /// `static`. [`Tally::new`] returns the tally by value, and a device whose RAM is twice the
    /// tally's (a `cmh-2024` tally is 17 KB) cannot afford the copy on its stack that moving it
    /// into place may cost. The result is equal to `Tally::new(instrument)`.
    ///
    /// # Errors
    /// As [`Tally::new`]; nothing is written to `slot` then.
    #[allow(unsafe_code, reason = "initialises the slot field by field, without a copy of the tally")]
    pub fn init<'s>(
        slot: &'s mut MaybeUninit<Self>,
        instrument: &'i Instrument<'i>,
    ) -> Result<&'s mut Self, TallyError> {
        let (strata, used) = Self::check(instrument)?;
        let hash = instrument.content_hash();
        let slots = layout(instrument);
        let tally = slot.as_mut_ptr();
        // SAFETY: `tally` points to memory valid for writes of a whole `Self`. All-zero bytes
        // are a valid value of every field but `instrument` (integers, and arrays and structs
        // of integers: the `Default` of each); `instrument` is written next. The writes go
        // through raw pointers and nothing reads the slot until every field is valid, so the
        // slot is an initialised `Self` when it is assumed to be one.
        unsafe {
            tally.write_bytes(0, 1);
            (&raw mut (*tally).instrument).write(instrument);
            (&raw mut (*tally).hash).write(hash);
            (&raw mut (*tally).strata).write(strata);
            (&raw mut (*tally).slots).write(slots);
            (&raw mut (*tally).used).write(used);
            Ok(slot.assume_init_mut())
        }
    }

    /// As [`Tally::init`], for a slot that is all zero bytes already, as memory from a zeroing
    /// allocator is (`Box::new_zeroed`): the fields that are not zero and the counts the
    /// instrument uses are written, and the memory of the capacity it does not use is not
    /// touched (on the host, most of a [`HostTally`], which the system then need not provide).
    ///
    /// # Errors
    /// As [`Tally::new`]; nothing is written to `slot` then.
    ///
    /// # Safety
    /// Every byte of `slot` is zero.
    #[allow(unsafe_code, reason = "initialises the slot field by field, without a copy of the tally")]
    pub unsafe fn init_zeroed<'s>(
        slot: &'s mut MaybeUninit<Self>,
        instrument: &'i Instrument<'i>,
    ) -> Result<&'s mut Self, TallyError> {
        let (strata, used) = Self::check(instrument)?;
        let hash = instrument.content_hash();
        let slots = layout(instrument);
        let tally = slot.as_mut_ptr();
        // SAFETY: as in `init`, once the slot is all zero bytes, which the caller promises.
        let tally = unsafe {
            (&raw mut (*tally).instrument).write(instrument);
            (&raw mut (*tally).hash).write(hash);
            (&raw mut (*tally).strata).write(strata);
            (&raw mut (*tally).slots).write(slots);
            (&raw mut (*tally).used).write(used);
            slot.assume_init_mut()
        };
        // Zeros written over zeros: the counts the tally uses are then memory it may write to
        // (the system would otherwise fault on a count's first read and again on its write).
        tally.clear();
        Ok(tally)
    }

    /// As [`Tally::init_zeroed`], with the checks, content hash and layout copied from `like`,
    /// a tally made before of the same type: nothing of the instrument is worked out again (the
    /// host makes one tally per device export, all of one instrument). The result is equal to
    /// `Tally::new(like.instrument())`.
    ///
    /// # Safety
    /// Every byte of `slot` is zero.
    #[allow(unsafe_code, reason = "initialises the slot field by field, without a copy of the tally")]
    pub unsafe fn init_zeroed_like<'s>(slot: &'s mut MaybeUninit<Self>, like: &Self) -> &'s mut Self {
        let tally = slot.as_mut_ptr();
        // SAFETY: as in `init_zeroed`; `like` is a valid tally, so its fields are valid values.
        let tally = unsafe {
            (&raw mut (*tally).instrument).write(like.instrument);
            (&raw mut (*tally).hash).write(like.hash);
            (&raw mut (*tally).strata).write(like.strata);
            (&raw mut (*tally).slots).write(like.slots);
            (&raw mut (*tally).used).write(like.used);
            slot.assume_init_mut()
        };
        tally.clear();
        tally
    }

    /// Checks that `instrument` is valid and fits; returns its number of strata and the count
    /// and pair cells it uses.
    fn check(instrument: &Instrument<'_>) -> Result<(u8, [u16; 2]), TallyError> {
        instrument.validate().map_err(TallyError::Instrument)?;
        let needed =
            [capacity::questions(instrument), capacity::cells(instrument), capacity::pairs(instrument)];
        let room = [Q, CELLS, PAIRS];
        let fits = needed.iter().zip(room).all(|(n, r)| *n <= r && *n <= usize::from(u16::MAX));
        if !fits {
            return Err(TallyError::Capacity { needed: needed.map(u32_of), capacity: room.map(u32_of) });
        }
        let strata = u8::try_from(instrument.strata())
            .map_err(|_| TallyError::Instrument(InstrumentError::AgeBands))?;
        // Each fits in a u16: checked above.
        let [_, cells, pairs] = needed.map(|n| u16::try_from(n).unwrap_or(u16::MAX));
        Ok((strata, [cells, pairs]))
    }

    /// The count cells and pair cells the instrument uses.
    fn used_cells(&self) -> (usize, usize) {
        (usize::from(self.used[0]), usize::from(self.used[1]))
    }

    /// The instrument tallied.
    #[must_use]
    pub fn instrument(&self) -> &'i Instrument<'i> {
        self.instrument
    }

    /// The instrument's content hash (see [`Instrument::content_hash`]).
    #[must_use]
    pub fn instrument_hash(&self) -> u64 {
        self.hash
    }

    /// Number of strata (method.md §3).
    #[must_use]
    pub fn strata(&self) -> usize {
        usize::from(self.strata)
    }

    /// The response counters.
    #[must_use]
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Completed responses in `stratum` (0 outside the tally's strata): the respondent
    /// profile a report shows under "who took part".
    #[must_use]
    pub fn respondents(&self, stratum: usize) -> u32 {
        if stratum < self.strata() { self.respondents.get(stratum).copied().unwrap_or(0) } else { 0 }
    }

    /// The cleaning counters of question `question`.
    #[must_use]
    pub fn cleaned(&self, question: usize) -> Cleaned {
        self.cleaned.get(question).copied().unwrap_or_default()
    }

    /// How many respondents in `stratum` chose each option of evaluative question `question`,
    /// in option order (empty for other questions).
    #[must_use]
    pub fn counts(&self, question: usize, stratum: usize) -> &[u32] {
        self.count_range(question, stratum).and_then(|r| self.cells.get(r)).unwrap_or(&[])
    }

    fn count_range(&self, question: usize, stratum: usize) -> Option<core::ops::Range<usize>> {
        let q = self.instrument.question(question).filter(|q| q.is_scored())?;
        if stratum >= self.strata() {
            return None;
        }
        let width = q.options.len();
        let start = usize::from(self.slots.get(question)?.cell).checked_add(stratum.checked_mul(width)?)?;
        Some(start..start.checked_add(width)?)
    }

    /// Index into the pair cells of questions `a` and `b` (either order) in `stratum`, when both
    /// are evaluative and in one section.
    fn pair_index(&self, a: usize, b: usize, stratum: usize) -> Option<usize> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        if a == b || a >= self.instrument.questions.len() || b >= self.instrument.questions.len() {
            return None;
        }
        let (sa, sb) = (self.slots.get(a)?, self.slots.get(b)?);
        // Only evaluative questions have a section index; equal indices mean one section.
        if sa.section == u16::MAX || sa.section != sb.section || stratum >= self.strata() {
            return None;
        }
        let pair = usize::from(sa.pair_base)
            .checked_add(usize::from(sb.rank.checked_sub(sa.rank)?.checked_sub(1)?))?;
        pair.checked_mul(self.strata())?.checked_add(stratum)
    }

    /// The cross sums of questions `a` and `b` in `stratum` (method.md §11), when both are
    /// evaluative questions of one section.
    #[must_use]
    pub fn pair(&self, a: usize, b: usize, stratum: usize) -> Option<PairSums> {
        let i = self.pair_index(a, b, stratum)?;
        self.pairs.get(i).copied()
    }
}

/// A cursor over the pairs of evaluative questions of one section in export order (the order
/// of [`crate::export::pair_order`]: section by section, then (a, b) with a before b), read
/// from the tally's layout: integers only, where walking the instrument compares section ids
/// for every question of every pair. It is advanced with the tally it walks, so the tally may
/// be written between steps (the decoder fills each pair as it goes).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PairWalk {
    section: usize,
    started: bool,
    a: Option<usize>,
    b: Option<usize>,
}

impl PairWalk {
    /// The next pair of `t`'s instrument, if any.
    pub(crate) fn next<const Q: usize, const C: usize, const P: usize>(
        &mut self,
        t: &Tally<'_, Q, C, P>,
    ) -> Option<(usize, usize)> {
        loop {
            if !self.started {
                if self.section >= t.instrument.sections.len() {
                    return None;
                }
                self.a = t.first_in_section(self.section);
                self.b = None;
                self.started = true;
            }
            let Some(a) = self.a else {
                self.section = self.section.saturating_add(1);
                self.started = false;
                continue;
            };
            if let Some(b) = t.next_in_section(self.b.unwrap_or(a)) {
                self.b = Some(b);
                return Some((a, b));
            }
            self.a = t.next_in_section(a);
            self.b = None;
        }
    }
}

impl<const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'_, Q, CELLS, PAIRS> {
    /// The first evaluative question of section `section`, if it has any.
    fn first_in_section(&self, section: usize) -> Option<usize> {
        let section = u16::try_from(section).ok()?;
        let n = self.instrument.questions.len();
        self.slots.iter().take(n).position(|s| s.section == section && s.rank == 0)
    }

    /// The evaluative question after `q` in its section, if any.
    fn next_in_section(&self, q: usize) -> Option<usize> {
        self.slots.get(q).map(|s| s.next).filter(|&n| n != u16::MAX).map(usize::from)
    }
}

/// Raw access for the export decoder, which fills a fresh tally field by field.
impl<const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'_, Q, CELLS, PAIRS> {
    /// Empties every count and counter.
    pub(crate) fn clear(&mut self) {
        let (cells, pairs) = self.used_cells();
        self.counters = Counters::default();
        self.respondents = [0; MAX_STRATA];
        self.cleaned = [Cleaned::default(); Q];
        self.cells.iter_mut().take(cells).for_each(|c| *c = 0);
        self.pairs.iter_mut().take(pairs).for_each(|p| *p = PairSums::default());
    }

    pub(crate) fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    pub(crate) fn respondents_mut(&mut self, stratum: usize) -> Option<&mut u32> {
        if stratum < self.strata() { self.respondents.get_mut(stratum) } else { None }
    }

    pub(crate) fn cleaned_mut(&mut self, question: usize) -> Option<&mut Cleaned> {
        self.cleaned.get_mut(question)
    }

    pub(crate) fn counts_mut(&mut self, question: usize, stratum: usize) -> Option<&mut [u32]> {
        let range = self.count_range(question, stratum)?;
        self.cells.get_mut(range)
    }

    pub(crate) fn pair_mut(&mut self, a: usize, b: usize, stratum: usize) -> Option<&mut PairSums> {
        let i = self.pair_index(a, b, stratum)?;
        self.pairs.get_mut(i)
    }
}

/// Assigns count cells in questionnaire order, and pair indices and the links from one member
/// to the next section by section.
fn layout<const Q: usize>(instrument: &Instrument<'_>) -> [Slot; Q] {
    let strata = instrument.strata();
    let mut slots = [Slot { section: u16::MAX, next: u16::MAX, ..Slot::default() }; Q];
    let mut cell = 0usize;
    for (q, slot) in instrument.questions.iter().zip(slots.iter_mut()) {
        if q.is_scored() {
            slot.cell = u16::try_from(cell).unwrap_or(u16::MAX);
            slot.width = u8::try_from(q.options.len()).unwrap_or(u8::MAX);
            cell = cell.saturating_add(q.options.len().saturating_mul(strata));
        }
    }
    let mut pair = 0usize;
    for s in 0..instrument.sections.len() {
        let members = instrument.section_questions(s);
        let n = instrument.section_questions(s).count();
        let mut previous = None;
        for (rank, q) in members.enumerate() {
            if let Some(slot) = slots.get_mut(q) {
                slot.rank = u16::try_from(rank).unwrap_or(u16::MAX);
                slot.section = u16::try_from(s).unwrap_or(u16::MAX);
                slot.pair_base = u16::try_from(pair).unwrap_or(u16::MAX);
            }
            if let Some(p) = previous.and_then(|p: usize| slots.get_mut(p)) {
                p.next = u16::try_from(q).unwrap_or(u16::MAX);
            }
            previous = Some(q);
            pair = pair.saturating_add(n.saturating_sub(rank).saturating_sub(1));
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::{CMH_2024, FFT};

    /// `init` must build exactly what `new` builds, for any instrument and capacity.
    #[test]
    fn init_in_place_equals_new() {
        for instrument in [&CMH_2024, &FFT] {
            let mut slot = Box::new(MaybeUninit::<HostTally<'_>>::uninit());
            let placed = Tally::init(&mut slot, instrument).unwrap();
            let moved = Box::new(HostTally::new(instrument).unwrap());
            assert_eq!(format!("{placed:?}"), format!("{moved:?}"), "{}", instrument.id);
        }
    }

    /// `init_zeroed` on zeroed memory must build what `new` builds.
    #[test]
    #[allow(unsafe_code, reason = "the slot is zeroed memory, as init_zeroed asks")]
    fn init_zeroed_equals_new() {
        for instrument in [&CMH_2024, &FFT] {
            let mut slot = Box::<HostTally<'_>>::new_zeroed();
            // SAFETY: `new_zeroed` gives all zero bytes.
            let placed = unsafe { Tally::init_zeroed(&mut slot, instrument) }.unwrap();
            let moved = Box::new(HostTally::new(instrument).unwrap());
            assert_eq!(format!("{placed:?}"), format!("{moved:?}"), "{}", instrument.id);
        }
    }

    #[test]
    #[allow(unsafe_code, reason = "the slot is zeroed memory, as init_zeroed_like asks")]
    fn init_zeroed_like_equals_new_even_from_a_used_tally() {
        for instrument in [&CMH_2024, &FFT] {
            let mut like = Box::new(HostTally::new(instrument).unwrap());
            let mut r = crate::Response::<HOST_QUESTIONS>::new(instrument).unwrap();
            let q = instrument.questions.iter().position(|q| q.is_scored()).unwrap();
            r.answer(q, instrument.questions[q].options[0].code).unwrap();
            like.commit(&r).unwrap();
            let mut slot = Box::<HostTally<'_>>::new_zeroed();
            // SAFETY: `new_zeroed` gives all zero bytes.
            let placed = unsafe { Tally::init_zeroed_like(&mut slot, &like) };
            let new = Box::new(HostTally::new(instrument).unwrap());
            assert_eq!(format!("{placed:?}"), format!("{new:?}"), "{}", instrument.id);
            assert_ne!(format!("{like:?}"), format!("{new:?}"), "the response was committed");
        }
    }

    #[test]
    fn the_pair_walk_follows_the_export_pair_order() {
        for instrument in [&CMH_2024, &FFT] {
            let t = Box::new(HostTally::new(instrument).unwrap());
            let mut walk = PairWalk::default();
            let walked: std::vec::Vec<_> = core::iter::from_fn(|| walk.next(&t)).collect();
            let order: std::vec::Vec<_> = crate::export::pair_order(instrument).collect();
            assert_eq!(walked, order, "{}", instrument.id);
            assert_eq!(walk.next(&t), None, "{}: stays done", instrument.id);
        }
        assert!(crate::export::pair_order(&CMH_2024).count() > 10, "cmh-2024 has pairs to walk");
    }

    #[test]
    fn init_refuses_what_new_refuses() {
        let mut slot = MaybeUninit::<Tally<'_, 3, 53, 0>>::uninit();
        let refused = Tally::init(&mut slot, &FFT).map(|_| ());
        assert_eq!(refused, Tally::<'_, 3, 53, 0>::new(&FFT).map(|_| ()));
        assert!(matches!(refused, Err(TallyError::Capacity { .. })));
    }
}
