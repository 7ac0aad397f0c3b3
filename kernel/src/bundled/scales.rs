//! The programme's standard answer scales (method.md §2) and demographic questions, shared by
//! the bundled instruments. Scores are in score units (60 = 10 points).

use crate::instrument::{AnswerOption, Question, QuestionKind};

const fn opt(code: u8, label: &'static str, score: u8) -> AnswerOption<'static> {
    AnswerOption { code, label, score: Some(score) }
}

const fn unscored(code: u8, label: &'static str) -> AnswerOption<'static> {
    AnswerOption { code, label, score: None }
}

/// The age bands of the `npsp-2024` profile: 16-35, 36-50, 51-65, 66 and over (method.md §3).
pub const NPSP_AGE_BANDS: &[u8] = &[16, 36, 51, 66];

/// Yes, definitely / Yes, to some extent / No (10 / 5 / 0), and don't know.
pub const YES_DEFINITELY: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 0),
    unscored(4, "Don't know / can't remember"),
];

/// As [`YES_DEFINITELY`], with "I did not need this" (not scored) in place of don't know.
pub const YES_DEFINITELY_NEED: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No, but I needed this", 0),
    unscored(4, "I did not need this"),
    unscored(5, "Don't know / can't remember"),
];

/// Yes / No (10 / 0), and don't know.
pub const YES_NO: &[AnswerOption<'static>] =
    &[opt(1, "Yes", 60), opt(2, "No", 0), unscored(3, "Don't know / can't remember")];

/// Yes, completely / Yes, partly / No (10 / 5 / 0), and don't know.
pub const YES_COMPLETELY: &[AnswerOption<'static>] = &[
    opt(1, "Yes, completely", 60),
    opt(2, "Yes, partly", 30),
    opt(3, "No", 0),
    unscored(4, "Don't know / can't remember"),
];

/// Yes, always / Yes, sometimes / No (10 / 5 / 0), and don't know.
pub const YES_ALWAYS: &[AnswerOption<'static>] = &[
    opt(1, "Yes, always", 60),
    opt(2, "Yes, sometimes", 30),
    opt(3, "No", 0),
    unscored(4, "Don't know / can't remember"),
];

/// A 0-10 rating: codes 1..=11 score 0..=10 points (6 units a point, method.md §2).
pub const RATING_0_10: &[AnswerOption<'static>] = &[
    opt(1, "0 - very poor", 0),
    opt(2, "1", 6),
    opt(3, "2", 12),
    opt(4, "3", 18),
    opt(5, "4", 24),
    opt(6, "5", 30),
    opt(7, "6", 36),
    opt(8, "7", 42),
    opt(9, "8", 48),
    opt(10, "9", 54),
    opt(11, "10 - very good", 60),
];

/// Yes / No for routing questions (not scored).
pub const ROUTE_YES_NO: &[AnswerOption<'static>] = &[
    AnswerOption { code: 1, label: "Yes", score: None },
    AnswerOption { code: 2, label: "No", score: None },
    AnswerOption { code: 3, label: "Don't know / can't remember", score: None },
];

/// The age-band question for [`NPSP_AGE_BANDS`], with "prefer not to say".
pub const AGE_BAND: Question<'static> = Question {
    id: "AGE",
    text: "Which age group are you in?",
    section: None,
    kind: QuestionKind::AgeBand,
    options: &[
        unscored(1, "16 to 35"),
        unscored(2, "36 to 50"),
        unscored(3, "51 to 65"),
        unscored(4, "66 or older"),
        unscored(5, "Prefer not to say"),
    ],
    filter: None,
    comparable: true,
};

/// The sex-at-birth question (codes as in survey data files, method.md §3).
pub const SEX: Question<'static> = Question {
    id: "SEX",
    text: "At birth, were you described as ...",
    section: None,
    kind: QuestionKind::Sex,
    options: &[
        unscored(1, "Male"),
        unscored(2, "Female"),
        unscored(3, "Intersex"),
        unscored(4, "I would prefer not to say"),
    ],
    filter: None,
    comparable: true,
};
