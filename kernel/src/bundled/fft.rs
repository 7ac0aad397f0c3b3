//! The NHS Friends and Family Test (FFT): one overall-experience question on a five-point
//! scale with "don't know", plus the age-band and sex questions a kiosk asks for strata.

use super::scales::{AGE_BAND, NPSP_AGE_BANDS, SEX};
use crate::instrument::{AnswerOption, Instrument, Question, QuestionKind, Section};

/// The `fft` instrument. The five options score 10 / 7.5 / 5 / 2.5 / 0 (method.md §2).
pub const INSTRUMENT: Instrument<'static> = Instrument {
    id: "fft",
    title: "NHS Friends and Family Test",
    provenance: "The NHS England Friends and Family Test question and its six standard answers; \
                 scored on the programme's five-point scale (10/7.5/5/2.5/0), don't know not scored.",
    age_bands: NPSP_AGE_BANDS,
    sections: &[Section { id: "S1", title: "Overall experience" }],
    questions: &[
        Question {
            id: "FFT",
            text: "Overall, how was your experience of our service?",
            section: Some("S1"),
            kind: QuestionKind::Scored,
            options: &[
                AnswerOption { code: 1, label: "Very good", score: Some(60) },
                AnswerOption { code: 2, label: "Good", score: Some(45) },
                AnswerOption { code: 3, label: "Neither good nor poor", score: Some(30) },
                AnswerOption { code: 4, label: "Poor", score: Some(15) },
                AnswerOption { code: 5, label: "Very poor", score: Some(0) },
                AnswerOption { code: 6, label: "Don't know", score: None },
            ],
            filter: None,
            comparable: true,
        },
        AGE_BAND,
        SEX,
    ],
};
