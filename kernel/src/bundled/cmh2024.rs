//! The NHS Community Mental Health (CMH) Survey 2024, reconstructed from the published 2024
//! trust benchmark report (see the provenance field: this is not the official scored
//! questionnaire).
//!
//! What is taken from the report: the 13 section titles, which question ids are scored in
//! which section and how many each section has (36 in all), the texts the report quotes, who
//! answers each question ("Answered by ..." notes, reproduced here as routing), the questions
//! that are new or changed for 2024 (not comparable with 2023), Q15's four-point scale and the
//! report's worked example for Q18. Everything else (unquoted texts, unquoted answer options,
//! ids of unquoted questions) is reconstructed: texts start with `[reconstructed] ` and each
//! such question carries a comment saying what it is based on.
//!
//! Questions are listed in questionnaire order (ids ascending), so section membership is not
//! contiguous: e.g. Q15 scores in section 4 while Q17 scores in section 3, and the crisis
//! questions alternate between sections 7 and 8.

use super::scales::{
    AGE_BAND, NPSP_AGE_BANDS, RATING_0_10, ROUTE_YES_NO, SEX, YES_ALWAYS, YES_DEFINITELY,
    YES_DEFINITELY_NEED, YES_NO,
};
use crate::instrument::{AnswerOption, Filter, Instrument, Question, QuestionKind, Section};

const fn opt(code: u8, label: &'static str, score: u8) -> AnswerOption<'static> {
    AnswerOption { code, label, score: Some(score) }
}

const fn unscored(code: u8, label: &'static str) -> AnswerOption<'static> {
    AnswerOption { code, label, score: None }
}

/// A scored question (section `section`).
const fn scored(
    id: &'static str,
    text: &'static str,
    section: &'static str,
    options: &'static [AnswerOption<'static>],
    filter: Option<Filter<'static>>,
    comparable: bool,
) -> Question<'static> {
    Question { id, text, section: Some(section), kind: QuestionKind::Scored, options, filter, comparable }
}

/// A routing question (not scored, no section).
const fn routing(
    id: &'static str,
    text: &'static str,
    options: &'static [AnswerOption<'static>],
    filter: Option<Filter<'static>>,
    comparable: bool,
) -> Question<'static> {
    Question { id, text, section: None, kind: QuestionKind::Routing, options, filter, comparable }
}

/// Asked only of those who answered `question` with one of `codes`.
const fn when(question: &'static str, codes: &'static [u8]) -> Filter<'static> {
    Filter { question, codes }
}

/// Q1 (descriptive): how long the respondent has been in contact with services.
const CONTACT_LENGTH: &[AnswerOption<'static>] = &[
    unscored(1, "Less than 6 months"),
    unscored(2, "6 months to 1 year"),
    unscored(3, "1 to 2 years"),
    unscored(4, "2 to 5 years"),
    unscored(5, "More than 5 years"),
    unscored(6, "Don't know / can't remember"),
];

/// Q12 asks about something that should not happen: "No" is the best answer (the reverse of
/// [`YES_DEFINITELY`]).
const REPEAT_HISTORY: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 0),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 60),
    unscored(4, "Don't know / can't remember"),
];

/// Q15, the report's one four-point scale: 10 / 6.67 / 3.33 / 0 points.
const EXTENT_4: &[AnswerOption<'static>] = &[
    opt(1, "A great deal", 60),
    opt(2, "A fair amount", 40),
    opt(3, "Not very much", 20),
    opt(4, "Not at all", 0),
    unscored(5, "Don't know / can't remember"),
];

/// Q19: the report excludes those who did not want to be in control, whose care has ended, or
/// who did not know.
const IN_CONTROL: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 0),
    unscored(4, "I did not want to be in control of my care"),
    unscored(5, "My care has now ended"),
    unscored(6, "Don't know / can't remember"),
];

/// Q21 (routing): how long the respondent has been receiving medication.
const MEDICATION_LENGTH: &[AnswerOption<'static>] = &[
    unscored(1, "Less than 12 months"),
    unscored(2, "12 months or more"),
    unscored(3, "Don't know / not sure"),
];

/// Yes / No (10 / 0), "not sure" not scored (Q27, Q41: the report excludes "not sure").
const YES_NO_NOT_SURE: &[AnswerOption<'static>] =
    &[opt(1, "Yes", 60), opt(2, "No", 0), unscored(3, "Not sure")];

/// Q29: the report excludes don't know, not applicable, and "family or carer did not want
/// support".
const FAMILY_SUPPORT: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 0),
    unscored(4, "My family or carer did not want support"),
    unscored(5, "Not applicable"),
    unscored(6, "Don't know / can't remember"),
];

/// Q30: how the respondent feels about the time it took to get through.
const TIME_TO_GET_THROUGH: &[AnswerOption<'static>] = &[
    opt(1, "It was about right", 60),
    opt(2, "It should have been a bit quicker", 30),
    opt(3, "It should have been a lot quicker", 0),
    unscored(4, "Don't know / can't remember"),
];

/// `Q31_1`..`Q31_4`: support with other areas of life; the report excludes "did not need support".
const SUPPORT_NEED: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No, but I needed support", 0),
    unscored(4, "I did not need support"),
];

/// Q32: the report excludes "had support and did not need this", "didn't need support" and
/// "did not have physical health needs".
const PHYSICAL_HEALTH: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No, but I needed support", 0),
    unscored(4, "I have had support from someone else and did not need this"),
    unscored(5, "I did not need support"),
    unscored(6, "I do not have physical health needs"),
];

/// Q33: the report excludes "not applicable" only.
const FAMILY_INVOLVED: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 0),
    unscored(4, "Not applicable to me"),
];

/// Q38: the report excludes "didn't receive any support" and don't know.
const SUPPORT_MEETS_NEEDS: &[AnswerOption<'static>] = &[
    opt(1, "Yes, definitely", 60),
    opt(2, "Yes, to some extent", 30),
    opt(3, "No", 0),
    unscored(4, "I did not receive any support"),
    unscored(5, "Don't know / can't remember"),
];

/// `Q39_2`: the report says "answered by all" with nobody excluded, so no unscored option.
const YES_ALWAYS_NO_DK: &[AnswerOption<'static>] =
    &[opt(1, "Yes, always", 60), opt(2, "Yes, sometimes", 30), opt(3, "No", 0)];

/// The `cmh-2024` instrument.
pub const INSTRUMENT: Instrument<'static> = Instrument {
    id: "cmh-2024",
    title: "NHS Community Mental Health Survey 2024 (reconstructed)",
    provenance: "Reconstructed from the published 2024 trust benchmark report of the NHS Community Mental \
                 Health Survey: question ids, the question texts the report quotes, section membership and \
                 the number of scored questions in each section (36 in 13 sections), who answers each \
                 question, and which questions are not comparable with 2023. Questions the report does not \
                 quote use the programme's standard answer scales and placeholder texts marked \
                 '[reconstructed]'. This is NOT the official scored questionnaire; load that instead as a \
                 JSON file with --instrument FILE when it is available.",
    age_bands: NPSP_AGE_BANDS,
    sections: &[
        Section { id: "S1", title: "Support while waiting" },
        Section { id: "S2", title: "Mental Health Team" },
        Section { id: "S3", title: "Planning care" },
        Section { id: "S4", title: "Involvement in care" },
        Section { id: "S5", title: "Medication" },
        Section { id: "S6", title: "Psychological therapies" },
        Section { id: "S7", title: "Crisis care support" },
        Section { id: "S8", title: "Crisis care access" },
        Section { id: "S9", title: "Support with other areas of life" },
        Section { id: "S10", title: "Support in accessing care" },
        Section { id: "S11", title: "Respect, dignity and compassion" },
        Section { id: "S12", title: "Overall experience" },
        Section { id: "S13", title: "Feedback" },
    ],
    questions: &[
        // Reconstructed: the report names Q1 as a descriptive (unscored) question; CMH
        // questionnaires open by asking how long the respondent has been in contact.
        Question {
            id: "Q1",
            text: "[reconstructed] Overall, how long have you been in contact with NHS mental health services?",
            section: None,
            kind: QuestionKind::Descriptive,
            options: CONTACT_LENGTH,
            filter: None,
            comparable: true,
        },
        // Reconstructed: the report's note on Q6 ("answered by those who have been in contact
        // with the NHS mental health services for the past 2 years").
        routing(
            "Q5",
            "[reconstructed] Have you been in contact with NHS mental health services for the past 2 years?",
            ROUTE_YES_NO,
            None,
            true,
        ),
        // --- Section 1: Support while waiting ---
        scored(
            "Q6",
            "While waiting, between your assessment with the NHS mental health team and your first \
             appointment for treatment, were you offered support with your mental health?",
            "S1",
            YES_DEFINITELY_NEED,
            Some(when("Q5", &[1])),
            true,
        ),
        // Answered by those offered support while waiting (Q6 "Yes" answers).
        scored(
            "Q7",
            "Was the support offered appropriate for your mental health needs?",
            "S1",
            YES_DEFINITELY,
            Some(when("Q6", &[1, 2])),
            true,
        ),
        // --- Section 2: Mental Health Team (Q8-Q12, answered by all) ---
        // Reconstructed: long-standing CMH question on time to discuss needs and treatment.
        scored(
            "Q8",
            "[reconstructed] Were you given enough time to discuss your needs and treatment with your NHS \
             mental health team?",
            "S2",
            YES_DEFINITELY,
            None,
            true,
        ),
        // Reconstructed: new for 2024 per the report; text modelled on the CMH question on being
        // understood by the people seen.
        scored(
            "Q9",
            "[reconstructed] Did your NHS mental health team understand what is important to you in your \
             care?",
            "S2",
            YES_DEFINITELY,
            None,
            false,
        ),
        // Reconstructed: long-standing CMH question on being listened to carefully.
        scored(
            "Q10",
            "[reconstructed] Did your NHS mental health team listen carefully to you?",
            "S2",
            YES_DEFINITELY,
            None,
            true,
        ),
        scored(
            "Q11",
            "Did your NHS mental health team consider how areas of your life impact your mental health?",
            "S2",
            YES_DEFINITELY,
            None,
            true,
        ),
        scored(
            "Q12",
            "Did you have to repeat your mental health history to your NHS mental health team?",
            "S2",
            REPEAT_HISTORY,
            None,
            true,
        ),
        // --- Section 3: Planning care (first question; Q17 follows after section 4's Q15, Q16) ---
        // Reconstructed: section 3's first question (answered by all); modelled on the CMH
        // planning-care question on agreeing what care will be received.
        scored(
            "Q13",
            "[reconstructed] Have you agreed with your NHS mental health team what care you will receive?",
            "S3",
            YES_DEFINITELY,
            None,
            true,
        ),
        // --- Section 4: Involvement in care ---
        scored(
            "Q15",
            "To what extent did your NHS mental health team involve you in agreeing your care plan?",
            "S4",
            EXTENT_4,
            None,
            false,
        ),
        // Reconstructed: new for 2024 per the report; a section 4 involvement question.
        scored(
            "Q16",
            "[reconstructed] Has your NHS mental health team involved you as much as you wanted in reviewing \
             your care plan?",
            "S4",
            YES_DEFINITELY,
            None,
            false,
        ),
        scored(
            "Q17",
            "In the last 12 months, have you had a care review meeting with your NHS mental health team to \
             discuss how your care is working?",
            "S3",
            YES_NO,
            None,
            true,
        ),
        // The report's scoring example: 10 / 5 / 0, don't know not scored.
        scored(
            "Q18",
            "Has your NHS mental health team supported you to make decisions about your care and treatment?",
            "S4",
            YES_DEFINITELY,
            None,
            true,
        ),
        // Reconstructed: section 4's second comparable question, whose note excludes those who
        // "didn't want to be in control of their care" or whose "care has now ended".
        scored(
            "Q19",
            "[reconstructed] Do you feel in control of your care and treatment?",
            "S4",
            IN_CONTROL,
            None,
            true,
        ),
        // --- Section 5: Medication ---
        // Reconstructed: section 5's note ("answered by those who have been receiving any
        // medication for their mental health needs in the last 12 months").
        routing(
            "Q20",
            "[reconstructed] In the last 12 months, have you been receiving any medication for your mental \
             health needs?",
            ROUTE_YES_NO,
            None,
            true,
        ),
        // Reconstructed: the medication-review note (excludes those "receiving medication for
        // less than 12 months").
        routing(
            "Q21",
            "[reconstructed] How long have you been receiving medication for your mental health needs?",
            MEDICATION_LENGTH,
            Some(when("Q20", &[1])),
            true,
        ),
        // Reconstructed: first item of the Q22 grid quoted for Q22_3 and Q22_4.
        scored(
            "Q22_1",
            "[reconstructed] Have any of the following been discussed with you about your medication? The \
             purpose of the medication",
            "S5",
            YES_NO,
            Some(when("Q20", &[1])),
            true,
        ),
        // Reconstructed: second item of the Q22 grid quoted for Q22_3 and Q22_4.
        scored(
            "Q22_2",
            "[reconstructed] Have any of the following been discussed with you about your medication? How \
             long I might need to take it",
            "S5",
            YES_NO,
            Some(when("Q20", &[1])),
            true,
        ),
        scored(
            "Q22_3",
            "Have any of the following been discussed with you about your medication? Side effects of \
             medication",
            "S5",
            YES_NO,
            Some(when("Q20", &[1])),
            true,
        ),
        scored(
            "Q22_4",
            "Have any of the following been discussed with you about your medication? What will happen if I \
             stop taking my medication",
            "S5",
            YES_NO,
            Some(when("Q20", &[1])),
            true,
        ),
        // Reconstructed: the section 5 medication-review question (receiving medication 12+
        // months); text modelled on the long-standing CMH medication-check question.
        scored(
            "Q23",
            "[reconstructed] In the last 12 months, has your NHS mental health team checked how you are \
             getting on with your medication?",
            "S5",
            YES_NO,
            Some(when("Q21", &[2])),
            true,
        ),
        // --- Section 6: Psychological therapies ---
        // Reconstructed: the report names Q24 as a routing question; section 6 is gated by it.
        routing(
            "Q24",
            "[reconstructed] In the last 12 months, have you received any NHS talking therapies for your \
             mental health needs?",
            ROUTE_YES_NO,
            None,
            true,
        ),
        // Reconstructed: section 6's one question, revised for 2024 (not comparable).
        scored(
            "Q25",
            "[reconstructed] Were these NHS talking therapies helpful for your mental health needs?",
            "S6",
            YES_DEFINITELY,
            Some(when("Q24", &[1])),
            false,
        ),
        // --- Sections 7 and 8: Crisis care support / access (interleaved) ---
        // Reconstructed: new for 2024 per the report; a section 7 crisis-support question.
        scored(
            "Q26",
            "[reconstructed] Has your NHS mental health team helped you plan what to do if you have a crisis?",
            "S7",
            YES_DEFINITELY,
            None,
            false,
        ),
        // Reconstructed: section 8's first question (answered by all, "not sure" excluded); it
        // also routes: the other crisis questions are "answered by those who would know who to
        // contact out of office hours within the NHS if they had a crisis".
        scored(
            "Q27",
            "[reconstructed] Would you know who to contact out of office hours within the NHS if you had a \
             crisis?",
            "S8",
            YES_NO_NOT_SURE,
            None,
            true,
        ),
        // Reconstructed: section 7's first comparable question (knows whom to contact).
        scored(
            "Q28",
            "[reconstructed] Thinking about the last time you contacted this person or team, did you get the \
             help you needed?",
            "S7",
            YES_DEFINITELY,
            Some(when("Q27", &[1])),
            true,
        ),
        // Reconstructed: section 7's second comparable question, whose note excludes "not
        // applicable" and "family or carer did not want support".
        scored(
            "Q29",
            "[reconstructed] Thinking about the last time you contacted this person or team, did they give \
             your family or carer the support they needed?",
            "S7",
            FAMILY_SUPPORT,
            Some(when("Q27", &[1])),
            true,
        ),
        scored(
            "Q30",
            "Thinking about the last time you contacted this person or team, how do you feel about the length \
             of time it took you to get through to them?",
            "S8",
            TIME_TO_GET_THROUGH,
            Some(when("Q27", &[1])),
            true,
        ),
        // --- Section 9: Support with other areas of life (Q32 is the fifth) ---
        // Reconstructed: four items of a grid before Q32, modelled on the CMH "help or advice
        // with finding support for ..." questions; "did not need support" excluded.
        scored(
            "Q31_1",
            "[reconstructed] In the last 12 months, has your NHS mental health team given you help or advice \
             with finding support for: financial advice or benefits",
            "S9",
            SUPPORT_NEED,
            None,
            true,
        ),
        // Reconstructed: as Q31_1.
        scored(
            "Q31_2",
            "[reconstructed] In the last 12 months, has your NHS mental health team given you help or advice \
             with finding support for: finding or keeping work",
            "S9",
            SUPPORT_NEED,
            None,
            true,
        ),
        // Reconstructed: as Q31_1.
        scored(
            "Q31_3",
            "[reconstructed] In the last 12 months, has your NHS mental health team given you help or advice \
             with finding support for: finding or keeping somewhere to live",
            "S9",
            SUPPORT_NEED,
            None,
            true,
        ),
        // Reconstructed: as Q31_1.
        scored(
            "Q31_4",
            "[reconstructed] In the last 12 months, has your NHS mental health team given you help or advice \
             with finding support for: taking part in an activity locally",
            "S9",
            SUPPORT_NEED,
            None,
            true,
        ),
        scored(
            "Q32",
            "In the last 12 months, has your NHS mental health team supported you with your physical health \
             needs?",
            "S9",
            PHYSICAL_HEALTH,
            None,
            true,
        ),
        // Reconstructed: section 9's sixth question ("not applicable" excluded); modelled on the
        // CMH question on involving family or someone close.
        scored(
            "Q33",
            "[reconstructed] Has your NHS mental health team involved a member of your family or someone else \
             close to you as much as you would like?",
            "S9",
            FAMILY_INVOLVED,
            None,
            true,
        ),
        // --- Section 10: Support in accessing care ---
        scored(
            "Q35",
            "Has your NHS mental health team asked if you need support to access your care and treatment?",
            "S10",
            YES_NO,
            None,
            true,
        ),
        // Reconstructed: Q38's note ("answered by those who needed support to access their care
        // and treatment"); Q37 is listed by the report as new or changed for 2024.
        routing(
            "Q37",
            "[reconstructed] Did you need support to access your care and treatment?",
            ROUTE_YES_NO,
            None,
            false,
        ),
        scored(
            "Q38",
            "Do you feel the support provided meets your needs?",
            "S10",
            SUPPORT_MEETS_NEEDS,
            Some(when("Q37", &[1])),
            true,
        ),
        // --- Section 11: Respect, dignity and compassion ---
        // Reconstructed: first of section 11's two questions (don't know excluded); modelled on
        // the CMH respect-and-dignity question.
        scored(
            "Q39_1",
            "[reconstructed] In the last 12 months, did you feel that you were treated by NHS mental health \
             services: with respect and dignity",
            "S11",
            YES_ALWAYS,
            None,
            true,
        ),
        // Reconstructed: second of section 11's two questions ("answered by all", nobody
        // excluded); modelled on the CMH kindness-and-compassion question.
        scored(
            "Q39_2",
            "[reconstructed] In the last 12 months, did you feel that you were treated by NHS mental health \
             services: with kindness and compassion",
            "S11",
            YES_ALWAYS_NO_DK,
            None,
            true,
        ),
        // --- Section 12: Overall experience ---
        // Reconstructed: the CMH overall-experience question, a 0-10 rating answered by all.
        scored(
            "Q40",
            "[reconstructed] Overall, how was your experience of NHS mental health services in the last 12 \
             months?",
            "S12",
            RATING_0_10,
            None,
            true,
        ),
        // --- Section 13: Feedback ---
        scored(
            "Q41",
            "Aside from this questionnaire, in the last 12 months, have you been asked by NHS mental health \
             services to give your views on the quality of your care?",
            "S13",
            YES_NO_NOT_SURE,
            None,
            true,
        ),
        AGE_BAND,
        SEX,
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: &str) -> &'static Question<'static> {
        let i = INSTRUMENT.question_index(id).unwrap_or_else(|| panic!("no question {id}"));
        &INSTRUMENT.questions[i]
    }

    fn scores(id: &str) -> [Option<u8>; 8] {
        let mut out = [None; 8];
        for (slot, o) in out.iter_mut().zip(question(id).options) {
            *slot = o.score;
        }
        out
    }

    #[test]
    fn the_instrument_is_valid() {
        assert_eq!(INSTRUMENT.validate(), Ok(()));
    }

    #[test]
    fn header_and_sections_are_as_published() {
        assert_eq!(INSTRUMENT.id, "cmh-2024");
        assert_eq!(INSTRUMENT.age_bands, NPSP_AGE_BANDS);
        let titles = [
            "Support while waiting",
            "Mental Health Team",
            "Planning care",
            "Involvement in care",
            "Medication",
            "Psychological therapies",
            "Crisis care support",
            "Crisis care access",
            "Support with other areas of life",
            "Support in accessing care",
            "Respect, dignity and compassion",
            "Overall experience",
            "Feedback",
        ];
        assert_eq!(INSTRUMENT.sections.len(), titles.len());
        for (i, (s, t)) in INSTRUMENT.sections.iter().zip(titles).enumerate() {
            let id = s.id;
            assert_eq!(id.strip_prefix('S').and_then(|n| n.parse::<usize>().ok()), Some(i + 1));
            assert_eq!(s.title, t);
        }
    }

    #[test]
    fn scored_questions_per_section_match_the_report() {
        let published: [usize; 13] = [2, 5, 2, 4, 5, 1, 3, 2, 6, 2, 2, 1, 1];
        for (section, &n) in published.iter().enumerate() {
            assert_eq!(INSTRUMENT.section_questions(section).count(), n, "section S{}", section + 1);
        }
        let total = INSTRUMENT.questions.iter().filter(|q| q.is_scored()).count();
        assert_eq!(total, 36);
    }

    #[test]
    fn named_questions_are_in_the_published_sections() {
        let ids = |section: usize| -> [&str; 6] {
            let mut out = [""; 6];
            for (slot, i) in out.iter_mut().zip(INSTRUMENT.section_questions(section)) {
                *slot = INSTRUMENT.questions[i].id;
            }
            out
        };
        assert_eq!(ids(0), ["Q6", "Q7", "", "", "", ""]);
        assert_eq!(ids(1), ["Q8", "Q9", "Q10", "Q11", "Q12", ""]);
        assert_eq!(ids(2)[1], "Q17");
        assert!(ids(3).contains(&"Q15") && ids(3).contains(&"Q16") && ids(3).contains(&"Q18"));
        assert!(ids(4).contains(&"Q22_3") && ids(4).contains(&"Q22_4"));
        assert!(ids(6).contains(&"Q26"));
        assert_eq!(ids(7)[1], "Q30");
        assert_eq!(ids(8)[4], "Q32");
        assert_eq!(ids(9), ["Q35", "Q38", "", "", "", ""]);
        assert_eq!(ids(12), ["Q41", "", "", "", "", ""]);
        assert_eq!(question(ids(11)[0]).options, RATING_0_10);
    }

    #[test]
    fn q15_is_the_four_point_exception() {
        let scored: [Option<u8>; 4] = [Some(60), Some(40), Some(20), Some(0)];
        assert_eq!(scores("Q15")[..4], scored);
        assert!(scores("Q15")[4..].iter().all(Option::is_none));
    }

    #[test]
    fn q18_scores_as_the_report_example() {
        let q = question("Q18");
        assert_eq!(q.section, Some("S4"));
        assert_eq!(q.options.len(), 4);
        assert_eq!(scores("Q18")[..4], [Some(60), Some(30), Some(0), None]);
        assert!(q.options[3].label.starts_with("Don't know"));
    }

    #[test]
    fn non_comparable_questions_are_exactly_the_published_set() {
        let mut n = 0;
        for q in INSTRUMENT.questions.iter().filter(|q| !q.comparable) {
            assert!(["Q9", "Q15", "Q16", "Q25", "Q26", "Q37"].contains(&q.id), "{} is comparable", q.id);
            n += 1;
        }
        assert_eq!(n, 6);
        let s6: [usize; 1] = [INSTRUMENT.section_questions(5).next().unwrap_or(usize::MAX)];
        assert!(!INSTRUMENT.questions[s6[0]].comparable);
    }

    #[test]
    fn q24_routes_to_psychological_therapies() {
        assert_eq!(question("Q24").kind, QuestionKind::Routing);
        assert_eq!(question("Q1").kind, QuestionKind::Descriptive);
        let s6 = INSTRUMENT.section_questions(5).next().unwrap_or(usize::MAX);
        let filter = INSTRUMENT.questions[s6].filter.map(|f| (f.question, f.codes));
        assert_eq!(filter, Some(("Q24", &[1_u8][..])));
    }

    #[test]
    fn routing_follows_the_answered_by_notes() {
        let filter = |id: &str| question(id).filter.map(|f| f.question);
        assert_eq!(filter("Q6"), Some("Q5"));
        assert_eq!(filter("Q7"), Some("Q6"));
        assert_eq!(question("Q7").filter.map(|f| f.codes), Some(&[1_u8, 2][..]));
        for id in ["Q22_1", "Q22_2", "Q22_3", "Q22_4"] {
            assert_eq!(filter(id), Some("Q20"), "{id}");
        }
        assert_eq!(filter("Q21"), Some("Q20"));
        assert_eq!(filter("Q23"), Some("Q21"));
        for id in ["Q28", "Q29", "Q30"] {
            assert_eq!(filter(id), Some("Q27"), "{id}");
        }
        assert_eq!(filter("Q38"), Some("Q37"));
        // Questions answered by all carry no filter.
        for id in ["Q8", "Q12", "Q13", "Q17", "Q27", "Q32", "Q35", "Q40", "Q41"] {
            assert_eq!(filter(id), None, "{id}");
        }
    }

    #[test]
    fn questions_are_in_questionnaire_order_and_end_with_demographics() {
        let key = |id: &str| -> (u32, u32) {
            let rest = id.strip_prefix('Q').unwrap_or("");
            let mut parts = rest.split('_');
            let main = parts.next().and_then(|p| p.parse().ok()).unwrap_or(u32::MAX);
            let sub = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            (main, sub)
        };
        let qs = INSTRUMENT.questions;
        let n = qs.len();
        assert_eq!(qs[n - 2], AGE_BAND);
        assert_eq!(qs[n - 1], SEX);
        for w in qs[..n - 2].windows(2) {
            assert!(key(w[0].id) < key(w[1].id), "{} before {}", w[0].id, w[1].id);
        }
    }

    #[test]
    fn unquoted_texts_are_marked_reconstructed() {
        let quoted = [
            "Q6", "Q7", "Q11", "Q12", "Q15", "Q17", "Q18", "Q22_3", "Q22_4", "Q30", "Q32", "Q35", "Q38",
            "Q41",
        ];
        for q in INSTRUMENT.questions.iter().filter(|q| q.id.starts_with('Q')) {
            let marked = q.text.starts_with("[reconstructed] ");
            assert_eq!(marked, !quoted.contains(&q.id), "{}", q.id);
        }
    }
}
