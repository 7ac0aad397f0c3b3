//! Checks an instrument once, so the rest of the kernel can rely on its shape.

use core::fmt;

use super::{Instrument, MAX_OPTIONS, QuestionKind};
use crate::score::MAX_UNITS;
use crate::stratum::MAX_AGE_BANDS;

/// Why an instrument is not usable. Indices are 0-based positions in `questions`/`sections`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InstrumentError {
    /// The instrument id, or a question or section id, is empty.
    EmptyId,
    /// Age bands are missing, more than [`MAX_AGE_BANDS`], or not strictly ascending.
    AgeBands,
    /// Two sections share an id.
    DuplicateSection {
        /// Index of the second one.
        section: u16,
    },
    /// A section has no evaluative question.
    EmptySection {
        /// Index of the section.
        section: u16,
    },
    /// Two questions share an id.
    DuplicateQuestion {
        /// Index of the second one.
        question: u16,
    },
    /// A question has no options, more than [`MAX_OPTIONS`], a code 0, or codes not strictly
    /// ascending.
    OptionCodes {
        /// Index of the question.
        question: u16,
    },
    /// A score above 60 units (10 points).
    ScoreOutOfRange {
        /// Index of the question.
        question: u16,
        /// Option code.
        code: u8,
    },
    /// An evaluative question without a scored option or a section; or a score or section on a
    /// question of another kind.
    ScoringMismatch {
        /// Index of the question.
        question: u16,
    },
    /// A question names a section that does not exist.
    UnknownSection {
        /// Index of the question.
        question: u16,
    },
    /// A filter names a question that does not exist, or one that is not earlier.
    FilterOrder {
        /// Index of the question.
        question: u16,
    },
    /// A filter lists a code its filter question does not have, or lists none.
    FilterCode {
        /// Index of the question.
        question: u16,
        /// The code.
        code: u8,
    },
    /// More than one age-band or sex question, or an age-band question with fewer options
    /// than age bands.
    Demographics {
        /// Index of the question.
        question: u16,
    },
    /// More questions or sections than the kernel indexes (65,535).
    TooLarge,
}

impl fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EmptyId => write!(f, "an id is empty"),
            Self::AgeBands => write!(f, "age bands must be 1 to {MAX_AGE_BANDS} ascending lower bounds"),
            Self::DuplicateSection { section } => write!(f, "section #{section}: duplicate id"),
            Self::EmptySection { section } => {
                write!(f, "section #{section}: no evaluative question")
            }
            Self::DuplicateQuestion { question } => write!(f, "question #{question}: duplicate id"),
            Self::OptionCodes { question } => write!(
                f,
                "question #{question}: options must be 1 to {MAX_OPTIONS} with codes >= 1, strictly ascending"
            ),
            Self::ScoreOutOfRange { question, code } => {
                write!(f, "question #{question}, option {code}: score above {MAX_UNITS} units")
            }
            Self::ScoringMismatch { question } => write!(
                f,
                "question #{question}: evaluative questions need a section and a scored option; other kinds neither"
            ),
            Self::UnknownSection { question } => write!(f, "question #{question}: unknown section"),
            Self::FilterOrder { question } => {
                write!(f, "question #{question}: filter question unknown or not earlier")
            }
            Self::FilterCode { question, code } => {
                write!(f, "question #{question}: filter code {code} is not an option of the filter question")
            }
            Self::Demographics { question } => write!(
                f,
                "question #{question}: one age-band and one sex question at most, the age-band one with an option per band"
            ),
            Self::TooLarge => write!(f, "more than 65,535 questions or sections"),
        }
    }
}

impl core::error::Error for InstrumentError {}

fn index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl Instrument<'_> {
    /// Checks ids, options, scores, sections and routing (see [`InstrumentError`]).
    ///
    /// # Errors
    /// The first problem found, in questionnaire order.
    pub fn validate(&self) -> Result<(), InstrumentError> {
        if self.id.is_empty() {
            return Err(InstrumentError::EmptyId);
        }
        if self.questions.len() > usize::from(u16::MAX) || self.sections.len() > usize::from(u16::MAX) {
            return Err(InstrumentError::TooLarge);
        }
        let bands = self.age_bands;
        if bands.is_empty() || bands.len() > MAX_AGE_BANDS || bands.windows(2).any(|w| w.first() >= w.last())
        {
            return Err(InstrumentError::AgeBands);
        }
        self.validate_sections()?;
        let mut seen_age = false;
        let mut seen_sex = false;
        for (i, q) in self.questions.iter().enumerate() {
            let question = index(i);
            if q.id.is_empty() {
                return Err(InstrumentError::EmptyId);
            }
            if self.questions.iter().take(i).any(|p| p.id == q.id) {
                return Err(InstrumentError::DuplicateQuestion { question });
            }
            self.validate_options(i)?;
            self.validate_filter(i)?;
            let seen = match q.kind {
                QuestionKind::AgeBand => Some(&mut seen_age),
                QuestionKind::Sex => Some(&mut seen_sex),
                _ => None,
            };
            if let Some(seen) = seen {
                let too_few = q.kind == QuestionKind::AgeBand && q.options.len() < bands.len();
                if *seen || too_few {
                    return Err(InstrumentError::Demographics { question });
                }
                *seen = true;
            }
        }
        Ok(())
    }

    fn validate_sections(&self) -> Result<(), InstrumentError> {
        for (i, s) in self.sections.iter().enumerate() {
            let section = index(i);
            if s.id.is_empty() {
                return Err(InstrumentError::EmptyId);
            }
            if self.sections.iter().take(i).any(|p| p.id == s.id) {
                return Err(InstrumentError::DuplicateSection { section });
            }
            if self.section_questions(i).next().is_none() {
                return Err(InstrumentError::EmptySection { section });
            }
        }
        Ok(())
    }

    fn validate_options(&self, i: usize) -> Result<(), InstrumentError> {
        let question = index(i);
        let Some(q) = self.questions.get(i) else {
            return Ok(());
        };
        let codes_ok = !q.options.is_empty()
            && q.options.len() <= MAX_OPTIONS
            && q.options.first().is_some_and(|o| o.code >= 1)
            && q.options.windows(2).all(|w| matches!(w, [a, b] if a.code < b.code));
        if !codes_ok {
            return Err(InstrumentError::OptionCodes { question });
        }
        if let Some(o) = q.options.iter().find(|o| o.score.is_some_and(|s| s > MAX_UNITS)) {
            return Err(InstrumentError::ScoreOutOfRange { question, code: o.code });
        }
        let any_score = q.options.iter().any(|o| o.score.is_some());
        let scored = q.kind == QuestionKind::Scored;
        if scored != any_score || scored != q.section.is_some() {
            return Err(InstrumentError::ScoringMismatch { question });
        }
        if q.section.is_some_and(|s| self.section_index(s).is_none()) {
            return Err(InstrumentError::UnknownSection { question });
        }
        Ok(())
    }

    fn validate_filter(&self, i: usize) -> Result<(), InstrumentError> {
        let question = index(i);
        let Some(filter) = self.questions.get(i).and_then(|q| q.filter) else {
            return Ok(());
        };
        let Some(target) = self.questions.iter().take(i).find(|p| p.id == filter.question) else {
            return Err(InstrumentError::FilterOrder { question });
        };
        if filter.codes.is_empty() {
            return Err(InstrumentError::FilterCode { question, code: 0 });
        }
        if let Some(&code) = filter.codes.iter().find(|&&c| target.option_position(c).is_none()) {
            return Err(InstrumentError::FilterCode { question, code });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::{AnswerOption, Filter, Question, Section};

    const YN: &[AnswerOption<'static>] = &[
        AnswerOption { code: 1, label: "Yes", score: Some(60) },
        AnswerOption { code: 2, label: "No", score: Some(0) },
        AnswerOption { code: 3, label: "Don't know", score: None },
    ];
    const ROUTE: &[AnswerOption<'static>] = &[
        AnswerOption { code: 1, label: "Yes", score: None },
        AnswerOption { code: 2, label: "No", score: None },
    ];
    const SECTIONS: &[Section<'static>] = &[Section { id: "S1", title: "One" }];

    fn instrument(questions: &'static [Question<'static>]) -> Instrument<'static> {
        Instrument { id: "t", title: "", provenance: "", age_bands: &[16, 36], sections: SECTIONS, questions }
    }

    #[test]
    fn a_well_formed_instrument_passes() {
        static QS: [Question<'static>; 2] = [
            Question {
                id: "R",
                text: "",
                section: None,
                kind: QuestionKind::Routing,
                options: ROUTE,
                filter: None,
                comparable: true,
            },
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: Some(Filter { question: "R", codes: &[1] }),
                comparable: true,
            },
        ];
        assert_eq!(instrument(&QS).validate(), Ok(()));
    }

    #[test]
    fn duplicate_question_ids_are_rejected() {
        static QS: [Question<'static>; 2] = [
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: None,
                comparable: true,
            },
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: None,
                comparable: true,
            },
        ];
        assert_eq!(instrument(&QS).validate(), Err(InstrumentError::DuplicateQuestion { question: 1 }));
    }

    #[test]
    fn scores_above_ten_points_are_rejected() {
        static BAD: [AnswerOption<'static>; 1] = [AnswerOption { code: 1, label: "", score: Some(61) }];
        static QS: [Question<'static>; 1] = [Question {
            id: "A",
            text: "",
            section: Some("S1"),
            kind: QuestionKind::Scored,
            options: &BAD,
            filter: None,
            comparable: true,
        }];
        assert_eq!(
            instrument(&QS).validate(),
            Err(InstrumentError::ScoreOutOfRange { question: 0, code: 1 })
        );
    }

    #[test]
    fn routing_to_a_later_or_unknown_question_is_rejected() {
        static LATER: [Question<'static>; 2] = [
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: Some(Filter { question: "R", codes: &[1] }),
                comparable: true,
            },
            Question {
                id: "R",
                text: "",
                section: None,
                kind: QuestionKind::Routing,
                options: ROUTE,
                filter: None,
                comparable: true,
            },
        ];
        assert_eq!(instrument(&LATER).validate(), Err(InstrumentError::FilterOrder { question: 0 }));
        static UNKNOWN_CODE: [Question<'static>; 2] = [
            Question {
                id: "R",
                text: "",
                section: None,
                kind: QuestionKind::Routing,
                options: ROUTE,
                filter: None,
                comparable: true,
            },
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: Some(Filter { question: "R", codes: &[7] }),
                comparable: true,
            },
        ];
        assert_eq!(
            instrument(&UNKNOWN_CODE).validate(),
            Err(InstrumentError::FilterCode { question: 1, code: 7 })
        );
    }

    #[test]
    fn empty_sections_are_rejected() {
        static QS: [Question<'static>; 1] = [Question {
            id: "R",
            text: "",
            section: None,
            kind: QuestionKind::Routing,
            options: ROUTE,
            filter: None,
            comparable: true,
        }];
        assert_eq!(instrument(&QS).validate(), Err(InstrumentError::EmptySection { section: 0 }));
    }

    #[test]
    fn unknown_sections_and_misplaced_scores_are_rejected() {
        static QS: [Question<'static>; 2] = [
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: None,
                comparable: true,
            },
            Question {
                id: "B",
                text: "",
                section: Some("S9"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: None,
                comparable: true,
            },
        ];
        assert_eq!(instrument(&QS).validate(), Err(InstrumentError::UnknownSection { question: 1 }));
        static MIS: [Question<'static>; 2] = [
            Question {
                id: "A",
                text: "",
                section: Some("S1"),
                kind: QuestionKind::Scored,
                options: YN,
                filter: None,
                comparable: true,
            },
            Question {
                id: "B",
                text: "",
                section: None,
                kind: QuestionKind::Routing,
                options: YN,
                filter: None,
                comparable: true,
            },
        ];
        assert_eq!(instrument(&MIS).validate(), Err(InstrumentError::ScoringMismatch { question: 1 }));
    }

    #[test]
    fn unordered_codes_and_bad_age_bands_are_rejected() {
        static BAD: [AnswerOption<'static>; 2] = [
            AnswerOption { code: 2, label: "", score: Some(60) },
            AnswerOption { code: 1, label: "", score: Some(0) },
        ];
        static QS: [Question<'static>; 1] = [Question {
            id: "A",
            text: "",
            section: Some("S1"),
            kind: QuestionKind::Scored,
            options: &BAD,
            filter: None,
            comparable: true,
        }];
        assert_eq!(instrument(&QS).validate(), Err(InstrumentError::OptionCodes { question: 0 }));
        static OK: [Question<'static>; 1] = [Question {
            id: "A",
            text: "",
            section: Some("S1"),
            kind: QuestionKind::Scored,
            options: YN,
            filter: None,
            comparable: true,
        }];
        let mut i = instrument(&OK);
        i.age_bands = &[36, 16];
        assert_eq!(i.validate(), Err(InstrumentError::AgeBands));
    }
}
