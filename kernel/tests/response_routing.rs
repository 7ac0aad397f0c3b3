//! Responses to `cmh-2024` (method.md §2, §3): routing removes and counts answers to questions
//! the respondent should have skipped, with cascade; an unanswered filter removes nothing;
//! `applies` agrees with `resolve`; bad input is a typed error that leaves the response as it
//! was; and the stratum follows the age-band and sex answers or `set_age_sex`.

mod common;

use common::{Resp, cmh_tally, model_respondent, sim_strategy};
use proptest::prelude::*;
use surveybench_kernel::bundled::CMH_2024;
use surveybench_kernel::{Cleaning, Outcome, Response, ResponseError, Stratum};

fn idx(id: &str) -> usize {
    CMH_2024.question_index(id).unwrap_or_else(|| panic!("no {id}"))
}

fn with(answers: &[(&str, u8)]) -> Resp {
    let mut r = Resp::new(&CMH_2024).unwrap();
    for &(id, code) in answers {
        r.answer_id(id, code).unwrap();
    }
    r
}

fn outcome(r: &Resp, id: &str) -> Outcome {
    r.resolve()[idx(id)]
}

/// `applies` agrees with `resolve` for every question: an answer to a question that does not
/// apply is removed, and one that applies is never removed.
fn assert_applies_agrees(r: &Resp) {
    let out = r.resolve();
    for (i, q) in CMH_2024.questions.iter().enumerate() {
        if out[i] == Outcome::Removed {
            assert!(!r.applies(i), "{} removed but applies", q.id);
        }
        if !r.applies(i) {
            assert!(
                matches!(out[i], Outcome::Removed | Outcome::Unanswered),
                "{} does not apply but is {:?}",
                q.id,
                out[i]
            );
        }
    }
}

#[test]
fn answering_q24_no_removes_and_counts_the_q25_answer() {
    let r = with(&[("Q24", 2), ("Q25", 1)]);
    assert_eq!(outcome(&r, "Q25"), Outcome::Removed);
    assert!(!r.applies(idx("Q25")));
    assert_applies_agrees(&r);
    let mut t = cmh_tally();
    t.commit(&r).unwrap();
    let q25 = idx("Q25");
    assert_eq!(t.cleaned(q25).routed, 1);
    assert!((0..t.strata()).all(|g| t.counts(q25, g).iter().all(|&c| c == 0)));
    assert_eq!(t.counters().completed, 1);
}

#[test]
fn answering_q24_yes_keeps_q25() {
    let r = with(&[("Q24", 1), ("Q25", 1)]);
    assert_eq!(outcome(&r, "Q25"), Outcome::Answered(0));
    assert!(r.applies(idx("Q25")));
    let mut t = cmh_tally();
    t.commit(&r).unwrap();
    let unknown = t.strata() - 1;
    assert_eq!(t.counts(idx("Q25"), unknown), &[1, 0, 0, 0]);
    assert_eq!(t.cleaned(idx("Q25")).routed, 0);
}

#[test]
fn q24_dont_know_removes_q25_as_it_is_not_a_filter_code() {
    let r = with(&[("Q24", 3), ("Q25", 2)]);
    assert_eq!(outcome(&r, "Q25"), Outcome::Removed);
}

#[test]
fn routing_cascades_from_q20_through_q21_to_q23() {
    // Q20 "No": Q21, Q22_x and Q23 are all removed, Q23 through Q21 (which Q20 removed).
    let r = with(&[("Q20", 2), ("Q21", 2), ("Q22_1", 1), ("Q22_4", 2), ("Q23", 1)]);
    for id in ["Q21", "Q22_1", "Q22_4", "Q23"] {
        assert_eq!(outcome(&r, id), Outcome::Removed, "{id}");
        assert!(!r.applies(idx(id)), "{id}");
    }
    assert_applies_agrees(&r);
    let mut t = cmh_tally();
    t.commit(&r).unwrap();
    for id in ["Q21", "Q22_1", "Q22_4", "Q23"] {
        assert_eq!(t.cleaned(idx(id)).routed, 1, "{id}");
    }
    assert_eq!(t.cleaned(idx("Q22_2")).routed, 0, "not answered, nothing to count");
}

#[test]
fn routing_cascades_through_a_removed_question_left_unanswered() {
    // Q20 "No", Q21 (correctly) skipped, Q23 answered: Q23 should have been skipped as well.
    let r = with(&[("Q20", 2), ("Q23", 1)]);
    assert_eq!(outcome(&r, "Q21"), Outcome::Unanswered);
    assert_eq!(outcome(&r, "Q23"), Outcome::Removed);
    assert!(!r.applies(idx("Q21")));
    assert!(!r.applies(idx("Q23")));
    // The same at the start of the questionnaire: Q5 -> Q6 -> Q7.
    let r = with(&[("Q5", 2), ("Q7", 1)]);
    assert_eq!(outcome(&r, "Q7"), Outcome::Removed);
    assert_applies_agrees(&r);
}

#[test]
fn the_second_link_of_the_chain_removes_on_its_own() {
    // Q20 "Yes", Q21 "less than 12 months": Q21 stays, Q23 is removed.
    let r = with(&[("Q20", 1), ("Q21", 1), ("Q22_3", 1), ("Q23", 1)]);
    assert_eq!(outcome(&r, "Q21"), Outcome::Answered(0));
    assert_eq!(outcome(&r, "Q22_3"), Outcome::Answered(0));
    assert_eq!(outcome(&r, "Q23"), Outcome::Removed);
    // Q21 "12 months or more": Q23 applies.
    let r = with(&[("Q20", 1), ("Q21", 2), ("Q23", 2)]);
    assert_eq!(outcome(&r, "Q23"), Outcome::Answered(1));
    assert!(r.applies(idx("Q23")));
    assert_applies_agrees(&r);
}

#[test]
fn an_unanswered_filter_question_removes_nothing() {
    // Q20 blank: Q21 and Q22_x stand; Q21 "12 months or more" lets Q23 stand too.
    let r = with(&[("Q21", 2), ("Q22_2", 2), ("Q23", 1)]);
    assert_eq!(outcome(&r, "Q21"), Outcome::Answered(1));
    assert_eq!(outcome(&r, "Q22_2"), Outcome::Answered(1));
    assert_eq!(outcome(&r, "Q23"), Outcome::Answered(0));
    // Q20 and Q21 blank: Q23 stands.
    let r = with(&[("Q23", 1)]);
    assert_eq!(outcome(&r, "Q23"), Outcome::Answered(0));
    assert!(r.applies(idx("Q23")));
    // Q24 blank: Q25 stands.
    let r = with(&[("Q25", 3)]);
    assert_eq!(outcome(&r, "Q25"), Outcome::Answered(2));
    assert_applies_agrees(&r);
}

#[test]
fn a_cleaned_filter_answer_removes_nothing_and_is_counted() {
    let mut r = with(&[("Q25", 1)]);
    r.clean(idx("Q24"), Cleaning::OutOfRange).unwrap();
    assert_eq!(outcome(&r, "Q24"), Outcome::Cleaned(Cleaning::OutOfRange));
    assert_eq!(outcome(&r, "Q25"), Outcome::Answered(0));
    let mut r = with(&[("Q23", 1)]);
    r.clean(idx("Q20"), Cleaning::MultiTicked).unwrap();
    assert_eq!(outcome(&r, "Q23"), Outcome::Answered(0));
    let mut t = cmh_tally();
    t.commit(&r).unwrap();
    assert_eq!(t.cleaned(idx("Q20")).multi, 1);
}

#[test]
fn clearing_a_filter_answer_restores_the_routed_questions() {
    let mut r = with(&[("Q24", 2), ("Q25", 1)]);
    assert_eq!(outcome(&r, "Q25"), Outcome::Removed);
    r.clear(idx("Q24")).unwrap();
    assert_eq!(outcome(&r, "Q25"), Outcome::Answered(0));
    assert_eq!(r.code(idx("Q24")), None);
}

#[test]
fn applies_depends_only_on_earlier_answers() {
    let r = with(&[("Q24", 2)]);
    // Q25 does not apply before it is answered; answering it changes nothing about that.
    assert!(!r.applies(idx("Q25")));
    assert!(r.applies(idx("Q24")));
    assert!(r.applies(idx("Q26")));
    assert!(!r.applies(CMH_2024.questions.len()), "past the end");
}

#[test]
fn an_unknown_question_is_a_typed_error_and_the_response_is_unchanged() {
    let mut r = with(&[("Q8", 1), ("AGE", 2), ("SEX", 2)]);
    let (before, stratum) = (r.resolve(), r.stratum());
    let n = CMH_2024.questions.len();
    let unknown = ResponseError::UnknownQuestion { question: u16::try_from(n).unwrap() };
    assert_eq!(r.answer(n, 1), Err(unknown));
    assert_eq!(r.clean(n, Cleaning::OutOfRange), Err(unknown));
    assert_eq!(r.clear(n), Err(unknown));
    assert_eq!(r.answer(999, 1), Err(ResponseError::UnknownQuestion { question: 999 }));
    // A question index the response has room for (64) but the instrument does not have.
    assert_eq!(r.answer(63, 1), Err(ResponseError::UnknownQuestion { question: 63 }));
    assert_eq!(r.answer_id("Q99", 1), Err(ResponseError::UnknownQuestion { question: u16::MAX }));
    assert_eq!(r.resolve(), before);
    assert_eq!(r.stratum(), stratum);
    assert_eq!(r.code(idx("Q8")), Some(1));
}

#[test]
fn an_unknown_option_code_is_a_typed_error_and_the_response_is_unchanged() {
    let mut r = with(&[("Q8", 1), ("Q24", 1)]);
    let before = r.resolve();
    let q8 = idx("Q8");
    let q8_16 = u16::try_from(q8).unwrap();
    for code in [0u8, 5, 99, 255] {
        assert_eq!(r.answer(q8, code), Err(ResponseError::UnknownOption { question: q8_16, code }));
    }
    assert_eq!(
        r.answer_id("Q24", 4),
        Err(ResponseError::UnknownOption { question: u16::try_from(idx("Q24")).unwrap(), code: 4 })
    );
    assert_eq!(r.resolve(), before);
    assert_eq!(r.code(q8), Some(1));
    assert_eq!(r.code(idx("Q24")), Some(1));
}

#[test]
fn a_response_too_small_for_the_instrument_is_a_capacity_error() {
    let got = Response::<'static, 8>::new(&CMH_2024).map(|_| ());
    assert_eq!(
        got,
        Err(ResponseError::Capacity {
            questions: u16::try_from(CMH_2024.questions.len()).unwrap(),
            capacity: 8
        })
    );
}

#[test]
fn stratum_follows_the_age_band_and_sex_answers() {
    // Four bands (16-35, 36-50, 51-65, 66+) x male/female, then unknown = 8.
    let cases: [(Option<u8>, Option<u8>, u8); 10] = [
        (Some(1), Some(1), 0),
        (Some(1), Some(2), 1),
        (Some(2), Some(1), 2),
        (Some(3), Some(2), 5),
        (Some(4), Some(1), 6),
        (Some(4), Some(2), 7),
        (Some(5), Some(1), 8), // prefer not to say
        (Some(2), Some(3), 8), // intersex
        (Some(2), Some(4), 8), // prefer not to say
        (None, Some(1), 8),
    ];
    for (age, sex, want) in cases {
        let mut r = Resp::new(&CMH_2024).unwrap();
        if let Some(a) = age {
            r.answer_id("AGE", a).unwrap();
        }
        if let Some(s) = sex {
            r.answer_id("SEX", s).unwrap();
        }
        assert_eq!(r.stratum(), Stratum(want), "age {age:?} sex {sex:?}");
        let mut t = cmh_tally();
        r.answer_id("Q8", 2).unwrap();
        assert_eq!(t.commit(&r), Ok(Stratum(want)));
        assert_eq!(t.counts(idx("Q8"), usize::from(want)), &[0, 1, 0, 0]);
    }
    let mut r = Resp::new(&CMH_2024).unwrap();
    r.answer_id("AGE", 1).unwrap();
    assert_eq!(r.stratum(), Stratum(8), "sex missing");
    r.clean(idx("SEX"), Cleaning::MultiTicked).unwrap();
    assert_eq!(r.stratum(), Stratum(8), "sex cleaned");
}

#[test]
fn set_age_sex_sets_the_stratum_and_overrides_the_answers() {
    let cases: [(Option<u16>, Option<u8>, u8); 11] = [
        (Some(16), Some(1), 0),
        (Some(35), Some(2), 1),
        (Some(36), Some(1), 2),
        (Some(50), Some(2), 3),
        (Some(51), Some(1), 4),
        (Some(65), Some(1), 4),
        (Some(66), Some(1), 6),
        (Some(104), Some(2), 7),
        (Some(15), Some(1), 8),
        (None, Some(2), 8),
        (Some(40), None, 8),
    ];
    for (age, sex, want) in cases {
        let mut r = with(&[("AGE", 1), ("SEX", 1)]);
        r.set_age_sex(age, sex);
        assert_eq!(r.stratum(), Stratum(want), "age {age:?} sex {sex:?}");
    }
    let mut r = with(&[("AGE", 1), ("SEX", 1)]);
    r.set_stratum(Stratum(5));
    assert_eq!(r.stratum(), Stratum(5));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn applies_and_resolve_agree_with_the_brute_force_routing_model(sim in sim_strategy(&CMH_2024)) {
        let r = common::response(&CMH_2024, &sim);
        let model = model_respondent(&CMH_2024, &sim);
        let out = r.resolve();
        for (i, q) in CMH_2024.questions.iter().enumerate() {
            prop_assert_eq!(r.applies(i), !model.skip[i], "applies {}", q.id);
            let want = match model.fate[i] {
                common::Fate::Blank => Outcome::Unanswered,
                common::Fate::Option(p) => Outcome::Answered(u8::try_from(p).unwrap()),
                common::Fate::Routed => Outcome::Removed,
                common::Fate::Invalid => Outcome::Cleaned(Cleaning::OutOfRange),
                common::Fate::Multi => Outcome::Cleaned(Cleaning::MultiTicked),
            };
            prop_assert_eq!(out[i], want, "outcome {}", q.id);
        }
        for o in &out[CMH_2024.questions.len()..] {
            prop_assert_eq!(*o, Outcome::Unanswered);
        }
        prop_assert_eq!(r.stratum().index(), model.stratum);
    }
}
