//! The instrument model: a questionnaire as data (sections, questions, options, routing).
//!
//! The same borrowed types describe an instrument compiled into firmware (`'static` slices) and
//! one the host loads from JSON at run time (see `docs/formats.md`). An instrument is checked
//! once with [`Instrument::validate`]; everything downstream relies on that check.

mod hash;
mod validate;

pub use validate::InstrumentError;

use serde::Serialize;

use crate::stratum::strata_count;

/// Most answer options a question may have (a 0-10 rating has 11, plus "don't know").
pub const MAX_OPTIONS: usize = 16;

/// A questionnaire: what is asked, how answers score, and who is asked what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Instrument<'a> {
    /// Short stable identifier, e.g. `cmh-2024`.
    pub id: &'a str,
    /// Human title.
    pub title: &'a str,
    /// Where the instrument comes from and how far it can be trusted.
    pub provenance: &'a str,
    /// Lower bounds in years of the age bands used for strata (method.md §3), ascending.
    pub age_bands: &'a [u8],
    /// Sections, in report order.
    pub sections: &'a [Section<'a>],
    /// Every question in questionnaire order (routing refers only backwards).
    pub questions: &'a [Question<'a>],
}

/// A section of the report: its score is the mean of its questions' scores (method.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Section<'a> {
    /// Identifier, e.g. `S1`.
    pub id: &'a str,
    /// Title as printed in the report, e.g. `Support while waiting`.
    pub title: &'a str,
}

/// One question of the instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Question<'a> {
    /// Identifier as in survey data files, e.g. `Q6` or `Q22_3`.
    pub id: &'a str,
    /// Question text.
    pub text: &'a str,
    /// The section an evaluative question scores in; `None` for other kinds.
    pub section: Option<&'a str>,
    /// What the question is for.
    pub kind: QuestionKind,
    /// Answer options in the order they are printed, with ascending codes.
    pub options: &'a [AnswerOption<'a>],
    /// Asked only when an earlier question's answer is in a given set (method.md §2).
    pub filter: Option<Filter<'a>>,
    /// Whether results can be compared with the previous year (method.md §9).
    pub comparable: bool,
}

/// What a question is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Evaluative: its options carry scores.
    Scored,
    /// Decides who answers later questions; not scored.
    Routing,
    /// Describes the respondent or their care; not scored.
    Descriptive,
    /// Age band: option `i` (1-based position) is age band `i`; later options mean unknown.
    AgeBand,
    /// Sex at birth: code 1 male, 2 female, anything else unknown (method.md §3).
    Sex,
}

/// One answer option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AnswerOption<'a> {
    /// Code as numbered in survey data files (1-based).
    pub code: u8,
    /// Printed label.
    pub label: &'a str,
    /// Score in score units (0..=60, method.md §2), or `None` for "not scored" options such as
    /// "don't know".
    pub score: Option<u8>,
}

/// Routing: the question applies only when `question` was answered with one of `codes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Filter<'a> {
    /// Id of the (earlier) filter question.
    pub question: &'a str,
    /// Answer codes of the filter question that route the respondent here.
    pub codes: &'a [u8],
}

impl<'a> Instrument<'a> {
    /// Index of the question with this id.
    #[must_use]
    pub fn question_index(&self, id: &str) -> Option<usize> {
        self.questions.iter().position(|q| q.id == id)
    }

    /// Index of the section with this id.
    #[must_use]
    pub fn section_index(&self, id: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.id == id)
    }

    /// The question at `index`, if any.
    #[must_use]
    pub fn question(&self, index: usize) -> Option<&Question<'a>> {
        self.questions.get(index)
    }

    /// Number of strata of this instrument's age bands (method.md §3).
    #[must_use]
    pub fn strata(&self) -> usize {
        strata_count(self.age_bands.len())
    }

    /// Indices of the evaluative questions of section `section`, in questionnaire order.
    pub fn section_questions(&self, section: usize) -> impl Iterator<Item = usize> + '_ {
        let id = self.sections.get(section).map(|s| s.id);
        self.questions
            .iter()
            .enumerate()
            .filter(move |(_, q)| q.kind == QuestionKind::Scored && q.section == id)
            .map(|(i, _)| i)
    }

    /// Index of the first question of `kind`.
    #[must_use]
    pub fn find_kind(&self, kind: QuestionKind) -> Option<usize> {
        self.questions.iter().position(|q| q.kind == kind)
    }

    /// The content hash that device exports carry (FNV-1a 64 over everything that gives
    /// counts their meaning: ids, kinds, sections, codes, scores, routing, age bands; not the
    /// texts or the comparability flags, so a wording fix does not orphan device data).
    #[must_use]
    pub fn content_hash(&self) -> u64 {
        hash::content_hash(self)
    }
}

impl<'a> Question<'a> {
    /// Position in [`Question::options`] of the option with `code`.
    #[must_use]
    #[inline]
    pub fn option_position(&self, code: u8) -> Option<usize> {
        // Codes are usually 1, 2, 3, ...: try the position that code would have first.
        let guess = usize::from(code).wrapping_sub(1);
        if self.options.get(guess).is_some_and(|o| o.code == code) {
            return Some(guess);
        }
        self.options.iter().position(|o| o.code == code)
    }

    /// Whether this question has a score (method.md §1, "evaluative question").
    #[must_use]
    pub fn is_scored(&self) -> bool {
        self.kind == QuestionKind::Scored
    }
}
