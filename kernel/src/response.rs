//! A response in progress: one respondent's answers, held in fixed capacity until committed.
//!
//! Recording an answer checks the question and option and leaves the response unchanged on
//! error. Routing is applied when the response is resolved (method.md §2): answers to questions
//! the respondent should have skipped are removed and counted, never silently dropped.

use core::fmt;

use crate::instrument::{Instrument, QuestionKind};
use crate::stratum::{Sex, Stratum, age_band};

/// Default question capacity of a response: enough for `cmh-2024` and most questionnaires.
pub const DEFAULT_QUESTIONS: usize = 64;

/// Why an answer was cleaned to "not answered" (method.md §2). Cleaning is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Cleaning {
    /// An option code outside the question's list.
    OutOfRange,
    /// Several options ticked on a single-choice question.
    MultiTicked,
}

/// What became of one question once routing is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// No answer (or the question was routed past and not answered).
    Unanswered,
    /// Answered with the option at this position of the question's options.
    Answered(u8),
    /// Answered, but routing says the respondent should have skipped it: removed, counted.
    Removed,
    /// The answer was cleaned to not answered, for this reason: counted.
    Cleaned(Cleaning),
}

/// Why an answer could not be recorded. The response is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ResponseError {
    /// The instrument has more questions than this response's capacity.
    Capacity {
        /// Questions in the instrument.
        questions: u16,
        /// Capacity of the response.
        capacity: u16,
    },
    /// No question at this index (or with this id).
    UnknownQuestion {
        /// The index asked for (`u16::MAX` for an unknown id).
        question: u16,
    },
    /// The question has no option with this code.
    UnknownOption {
        /// Index of the question.
        question: u16,
        /// The code given.
        code: u8,
    },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Capacity { questions, capacity } => {
                write!(f, "instrument has {questions} questions, response capacity is {capacity}")
            }
            Self::UnknownQuestion { question } => write!(f, "no question #{question}"),
            Self::UnknownOption { question, code } => {
                write!(f, "question #{question} has no option with code {code}")
            }
        }
    }
}

impl core::error::Error for ResponseError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Empty,
    /// An option code, the option's position in the question's list and its score (found
    /// once, so a commit need not look them up again).
    Code(u8, u8, Option<u8>),
    Cleaned(Cleaning),
}

/// One respondent's answers to an instrument, with capacity for `Q` questions.
#[derive(Clone, Debug)]
pub struct Response<'i, const Q: usize = DEFAULT_QUESTIONS> {
    instrument: &'i Instrument<'i>,
    slots: [Slot; Q],
    stratum: Option<Stratum>,
    /// Index of each question's filter question (`NO_FILTER` when it has none), resolved once
    /// so that routing needs no id look-ups.
    filters: [u16; Q],
    /// For each question with a filter, the positions (bit `p` for position `p`) of the
    /// filter question's options whose codes route the respondent to it: routing then needs
    /// neither the instrument nor its codes.
    routes: [u16; Q],
    /// Indices of the age-band and sex questions (`NO_FILTER` when absent).
    demographics: [u16; 2],
    /// The instrument's content hash, which a tally checks on commit.
    hash: u64,
}

const NO_FILTER: u16 = u16::MAX;

fn index16(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl<'i, const Q: usize> Response<'i, Q> {
    /// An empty response to `instrument`.
    ///
    /// # Errors
    /// [`ResponseError::Capacity`] when the instrument has more than `Q` questions.
    pub fn new(instrument: &'i Instrument<'i>) -> Result<Self, ResponseError> {
        if instrument.questions.len() > Q {
            return Err(ResponseError::Capacity {
                questions: index16(instrument.questions.len()),
                capacity: index16(Q),
            });
        }
        let (mut filters, mut routes) = ([NO_FILTER; Q], [0u16; Q]);
        for (q, (f, r)) in instrument.questions.iter().zip(filters.iter_mut().zip(routes.iter_mut())) {
            let Some(filter) = q.filter else { continue };
            let Some(i) = instrument.question_index(filter.question) else { continue };
            *f = index16(i);
            let positions = filter.codes.iter().filter_map(|&c| instrument.question(i)?.option_position(c));
            *r = positions.fold(0, |mask, p| {
                mask | u16::try_from(p).ok().and_then(|p| 1u16.checked_shl(p.into())).unwrap_or(0)
            });
        }
        let find = |kind| instrument.find_kind(kind).map_or(NO_FILTER, index16);
        let demographics = [find(QuestionKind::AgeBand), find(QuestionKind::Sex)];
        let hash = instrument.content_hash();
        let slots = [Slot::Empty; Q];
        Ok(Self { instrument, slots, stratum: None, filters, routes, demographics, hash })
    }

    /// Empties the response for the next respondent, keeping what was resolved about the
    /// instrument (cheaper than [`Response::new`] for a stream of respondents).
    pub fn reset(&mut self) {
        self.slots = [Slot::Empty; Q];
        self.stratum = None;
    }

    /// The content hash of the instrument this response answers.
    #[must_use]
    pub fn instrument_hash(&self) -> u64 {
        self.hash
    }

    /// The instrument this response answers.
    #[must_use]
    pub fn instrument(&self) -> &'i Instrument<'i> {
        self.instrument
    }

    fn slot_mut(&mut self, question: usize) -> Result<&mut Slot, ResponseError> {
        let unknown = ResponseError::UnknownQuestion { question: index16(question) };
        if question >= self.instrument.questions.len() {
            return Err(unknown);
        }
        self.slots.get_mut(question).ok_or(unknown)
    }

    /// Records `code` as the answer to question `question` (an index), replacing any earlier one.
    ///
    /// # Errors
    /// Unknown question or option code; the response is then unchanged.
    pub fn answer(&mut self, question: usize, code: u8) -> Result<(), ResponseError> {
        let q = self
            .instrument
            .question(question)
            .ok_or(ResponseError::UnknownQuestion { question: index16(question) })?;
        let unknown = ResponseError::UnknownOption { question: index16(question), code };
        let (position, option) = q
            .option_position(code)
            .and_then(|p| Some((u8::try_from(p).ok()?, q.options.get(p)?)))
            .ok_or(unknown)?;
        *self.slot_mut(question)? = Slot::Code(code, position, option.score);
        Ok(())
    }

    /// Records an answer by question id (see [`Response::answer`]).
    ///
    /// # Errors
    /// Unknown question id or option code; the response is then unchanged.
    pub fn answer_id(&mut self, id: &str, code: u8) -> Result<(), ResponseError> {
        let question = self
            .instrument
            .question_index(id)
            .ok_or(ResponseError::UnknownQuestion { question: u16::MAX })?;
        self.answer(question, code)
    }

    /// Marks question `question` as answered invalidly: it counts as not answered, and the
    /// cleaning is counted when the response is committed (method.md §2).
    ///
    /// # Errors
    /// Unknown question; the response is then unchanged.
    pub fn clean(&mut self, question: usize, why: Cleaning) -> Result<(), ResponseError> {
        *self.slot_mut(question)? = Slot::Cleaned(why);
        Ok(())
    }

    /// Removes any answer to question `question` (a kiosk's "back").
    ///
    /// # Errors
    /// Unknown question.
    pub fn clear(&mut self, question: usize) -> Result<(), ResponseError> {
        *self.slot_mut(question)? = Slot::Empty;
        Ok(())
    }

    /// The answer code recorded for question `question`, if a valid one is.
    #[must_use]
    pub fn code(&self, question: usize) -> Option<u8> {
        match self.slots.get(question) {
            Some(Slot::Code(c, ..)) => Some(*c),
            _ => None,
        }
    }

    /// Sets the stratum directly (the host, when age comes in years), overriding the answers
    /// to the instrument's age-band and sex questions.
    pub fn set_stratum(&mut self, stratum: Stratum) {
        self.stratum = Some(stratum);
    }

    /// Sets the stratum from an age in years and a sex code (method.md §3), using the
    /// instrument's age bands.
    pub fn set_age_sex(&mut self, age: Option<u16>, sex: Option<u8>) {
        let bands = self.instrument.age_bands;
        let band = age.and_then(|a| age_band(a, bands));
        let count = u8::try_from(bands.len()).unwrap_or(u8::MAX);
        self.stratum = Some(Stratum::new(band, Sex::from_code(sex), count));
    }

    /// The respondent's stratum: as set, or from the age-band and sex answers (method.md §3).
    #[must_use]
    pub fn stratum(&self) -> Stratum {
        let bands = u8::try_from(self.instrument.age_bands.len()).unwrap_or(u8::MAX);
        if let Some(s) = self.stratum {
            return s;
        }
        let [age, sex] = self.demographics.map(usize::from);
        let band = self
            .code(age)
            .and_then(|code| self.instrument.question(age)?.option_position(code))
            .and_then(|p| u8::try_from(p).ok());
        Stratum::new(band, Sex::from_code(self.code(sex)), bands)
    }

    /// Whether question `question` applies to this respondent given the answers so far:
    /// routing is applied in questionnaire order and removal cascades (method.md §2). A kiosk
    /// uses this to skip questions; it depends only on answers to earlier questions.
    #[must_use]
    pub fn applies(&self, question: usize) -> bool {
        // Up the chain of filter questions (each earlier than the last, so at most Q steps):
        // removed as soon as one was answered outside the codes its follower asks for.
        if question >= self.instrument.questions.len() {
            return false;
        }
        let mut i = question;
        for _ in 0..Q {
            let fi = self.filters.get(i).copied().unwrap_or(NO_FILTER);
            if fi == NO_FILTER {
                return true;
            }
            let fi = usize::from(fi);
            if let Some(&Slot::Code(code, p, _)) = self.slots.get(fi)
                && !self.routes_to(i, code, p)
            {
                return false;
            }
            i = fi;
        }
        false
    }

    /// Whether answering question `i`'s filter question with `code`, at position `p` of its
    /// options, routes the respondent to question `i`: `code` is one of `i`'s filter codes.
    fn routes_to(&self, i: usize, code: u8, p: u8) -> bool {
        match self.routes.get(i).and_then(|r| r.checked_shr(p.into())) {
            Some(bits) => bits & 1 == 1,
            // Past the positions a mask holds (an instrument `validate` refuses): the codes.
            None => {
                self.instrument.question(i).and_then(|q| q.filter).is_some_and(|f| f.codes.contains(&code))
            }
        }
    }

    /// The score of the answer to question `question`, when it is a scored option.
    pub(crate) fn score(&self, question: usize) -> Option<u8> {
        match self.slots.get(question) {
            Some(Slot::Code(_, _, score)) => *score,
            _ => None,
        }
    }

    /// Applies routing and cleaning: the outcome of every question, in questionnaire order
    /// (method.md §2). Entries past the instrument's questions are [`Outcome::Unanswered`].
    #[must_use]
    pub fn resolve(&self) -> [Outcome; Q] {
        let mut outcomes = [Outcome::Unanswered; Q];
        for (slot, outcome) in outcomes.iter_mut().zip(self.outcomes()) {
            *slot = outcome;
        }
        outcomes
    }

    /// The outcome of each of the instrument's questions, in questionnaire order, as
    /// [`Response::resolve`] gives them, worked out one at a time.
    #[must_use]
    pub fn outcomes(&self) -> Outcomes<'_, 'i, Q> {
        Outcomes { response: self, removed: [false; Q], next: 0 }
    }
}

/// The outcomes of a response's questions in questionnaire order ([`Response::outcomes`]).
///
/// Routing refers only backwards, so one pass decides it: a question is removed when its filter
/// question was answered with a code outside the filter's set, or was itself removed; an
/// unanswered (or cleaned) filter question removes nothing (method.md §2).
#[derive(Clone, Debug)]
pub struct Outcomes<'r, 'i, const Q: usize> {
    response: &'r Response<'i, Q>,
    /// Whether routing removed each question so far.
    removed: [bool; Q],
    /// The question whose outcome comes next.
    next: usize,
}

impl<const Q: usize> Iterator for Outcomes<'_, '_, Q> {
    type Item = Outcome;

    #[inline]
    fn next(&mut self) -> Option<Outcome> {
        let (r, i) = (self.response, self.next);
        if i >= r.instrument.questions.len() {
            return None;
        }
        self.next = i.saturating_add(1);
        let fi = usize::from(r.filters.get(i).copied().unwrap_or(NO_FILTER));
        let out = self.removed.get(fi).copied().unwrap_or(false)
            || match r.slots.get(fi) {
                Some(&Slot::Code(code, p, _)) => !r.routes_to(i, code, p),
                _ => false,
            };
        if let Some(removed) = self.removed.get_mut(i) {
            *removed = out;
        }
        Some(match (r.slots.get(i), out) {
            (Some(Slot::Empty) | None, _) => Outcome::Unanswered,
            (Some(_), true) => Outcome::Removed,
            (Some(Slot::Cleaned(why)), false) => Outcome::Cleaned(*why),
            (Some(Slot::Code(_, p, _)), false) => Outcome::Answered(*p),
        })
    }
}
