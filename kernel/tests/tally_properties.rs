//! Properties of tallies (method.md §2, §11): merging is associative and commutative, a stream's
//! tally is the merge of its parts' tallies, failed updates change nothing, and every answer is
//! either counted in its option or counted as cleaned, as the brute-force model says.

mod common;

use common::{
    Answer, Fate, FftTally, Model, TallyInput, cmh_tally, cmh_tally_of, fft_tally, fft_tally_of, fill,
    response, snapshot, tally_input,
};
use proptest::prelude::*;
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::{Header, decode_into, encode, max_encoded_len};
use surveybench_kernel::{Instrument, TallyError};

fn merged<const Q: usize, const C: usize, const P: usize>(
    parts: &[&surveybench_kernel::Tally<'static, Q, C, P>],
) -> Box<surveybench_kernel::Tally<'static, Q, C, P>> {
    let mut out = Box::new(parts[0].clone());
    for p in &parts[1..] {
        out.merge(*p).expect("merge");
    }
    out
}

fn export_bytes<const Q: usize, const C: usize, const P: usize>(
    t: &surveybench_kernel::Tally<'static, Q, C, P>,
) -> Vec<u8> {
    let header = Header::new("dev", "RT5", "2024", 1).expect("plain header");
    let mut buf = vec![0u8; max_encoded_len(t.instrument())];
    let n = encode(t, &header, &mut buf).expect("encode");
    buf.truncate(n);
    buf
}

/// Checks the model's counts against the tally for `instrument`.
fn assert_matches_model<const Q: usize, const C: usize, const P: usize>(
    instrument: &Instrument<'static>,
    tally: &surveybench_kernel::Tally<'static, Q, C, P>,
    input: &TallyInput,
) -> Result<(), TestCaseError> {
    let model = Model::new(instrument, &input.sims);
    for (q, question) in instrument.questions.iter().enumerate() {
        let cleaned = tally.cleaned(q);
        prop_assert_eq!(cleaned.routed, model.fate_count(q, Fate::Routed), "routed {}", q);
        prop_assert_eq!(cleaned.invalid, model.fate_count(q, Fate::Invalid), "invalid {}", q);
        prop_assert_eq!(cleaned.multi, model.fate_count(q, Fate::Multi), "multi {}", q);
        for g in 0..tally.strata() {
            let counts = tally.counts(q, g);
            if question.is_scored() {
                let want: Vec<u32> =
                    (0..question.options.len()).map(|o| model.option_count(q, g, o)).collect();
                prop_assert_eq!(counts, &want[..], "question {} stratum {}", q, g);
            } else {
                prop_assert!(counts.is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merge_is_commutative(
        a in tally_input(&CMH_2024, 0..25),
        b in tally_input(&CMH_2024, 0..25),
    ) {
        let (ta, tb) = (cmh_tally_of(&a), cmh_tally_of(&b));
        let ab = merged(&[&*ta, &*tb]);
        let ba = merged(&[&*tb, &*ta]);
        prop_assert_eq!(snapshot(&*ab), snapshot(&*ba));
        prop_assert_eq!(export_bytes(&*ab), export_bytes(&*ba));
    }

    #[test]
    fn merge_is_associative(
        a in tally_input(&CMH_2024, 0..20),
        b in tally_input(&CMH_2024, 0..20),
        c in tally_input(&CMH_2024, 0..20),
    ) {
        let (ta, tb, tc) = (cmh_tally_of(&a), cmh_tally_of(&b), cmh_tally_of(&c));
        let left = merged(&[&*merged(&[&*ta, &*tb]), &*tc]);
        let right = merged(&[&*ta, &*merged(&[&*tb, &*tc])]);
        prop_assert_eq!(snapshot(&*left), snapshot(&*right));
        prop_assert_eq!(export_bytes(&*left), export_bytes(&*right));
    }

    #[test]
    fn merge_is_associative_and_commutative_for_fft(
        a in tally_input(&FFT, 0..30),
        b in tally_input(&FFT, 0..30),
        c in tally_input(&FFT, 0..30),
    ) {
        let (ta, tb, tc) = (fft_tally_of(&a), fft_tally_of(&b), fft_tally_of(&c));
        let abc = merged(&[&*merged(&[&*ta, &*tb]), &*tc]);
        let a_bc = merged(&[&*ta, &*merged(&[&*tb, &*tc])]);
        let cba = merged(&[&*tc, &*tb, &*ta]);
        prop_assert_eq!(snapshot(&*abc), snapshot(&*a_bc));
        prop_assert_eq!(snapshot(&*abc), snapshot(&*cba));
        prop_assert_eq!(export_bytes(&*abc), export_bytes(&*cba));
    }

    #[test]
    fn tally_of_a_concatenated_stream_equals_merge_of_its_parts(
        a in tally_input(&CMH_2024, 0..25),
        b in tally_input(&CMH_2024, 0..25),
    ) {
        let whole = TallyInput {
            sims: a.sims.iter().chain(&b.sims).cloned().collect(),
            abandoned: a.abandoned + b.abandoned,
            rejected: a.rejected + b.rejected,
        };
        let (ta, tb) = (cmh_tally_of(&a), cmh_tally_of(&b));
        let parts = merged(&[&*ta, &*tb]);
        let all = cmh_tally_of(&whole);
        prop_assert_eq!(snapshot(&*all), snapshot(&*parts));
        prop_assert_eq!(export_bytes(&*all), export_bytes(&*parts));
    }

    #[test]
    fn merging_an_empty_tally_changes_nothing(a in tally_input(&CMH_2024, 0..25)) {
        let ta = cmh_tally_of(&a);
        let empty = cmh_tally();
        let merged = merged(&[&*ta, &*empty]);
        prop_assert_eq!(snapshot(&*merged), snapshot(&*ta));
    }

    #[test]
    fn committing_a_response_of_another_instrument_errors_and_changes_nothing(
        a in tally_input(&CMH_2024, 0..15),
        f in common::sim_strategy(&FFT),
    ) {
        let mut t = cmh_tally_of(&a);
        let before = snapshot(&*t);
        prop_assert_eq!(t.commit(&response(&FFT, &f)), Err(TallyError::InstrumentMismatch));
        prop_assert_eq!(snapshot(&*t), before);

        let mut ft = fft_tally();
        let fft_before = snapshot(&*ft);
        let c = response(&CMH_2024, &a.sims.first().cloned().unwrap_or(common::Sim {
            answers: vec![Answer::Blank; CMH_2024.questions.len()],
            age_sex: None,
        }));
        prop_assert_eq!(ft.commit(&c), Err(TallyError::InstrumentMismatch));
        prop_assert_eq!(snapshot(&*ft), fft_before);
    }

    #[test]
    fn merging_a_tally_of_another_instrument_errors_and_changes_nothing(
        a in tally_input(&CMH_2024, 0..15),
        b in tally_input(&FFT, 0..15),
    ) {
        let mut t = cmh_tally_of(&a);
        let f = fft_tally_of(&b);
        let before = snapshot(&*t);
        prop_assert_eq!(t.merge(&*f), Err(TallyError::InstrumentMismatch));
        prop_assert_eq!(snapshot(&*t), before);
        let mut f2 = f.clone();
        let f_before = snapshot(&*f2);
        prop_assert_eq!(f2.merge(&*t), Err(TallyError::InstrumentMismatch));
        prop_assert_eq!(snapshot(&*f2), f_before);
    }

    #[test]
    fn routing_removals_and_cleaning_are_counted_and_option_counts_match_the_model(
        a in tally_input(&CMH_2024, 0..40),
    ) {
        let t = cmh_tally_of(&a);
        assert_matches_model(&CMH_2024, &*t, &a)?;
        let model = Model::new(&CMH_2024, &a.sims);
        // Totals: the number of answers to routed-out questions, and the number marked.
        let routed_answers: u32 = model
            .respondents
            .iter()
            .map(|r| {
                let n = r
                    .skip
                    .iter()
                    .zip(&r.fate)
                    .filter(|(skip, f)| **skip && **f != Fate::Blank)
                    .count();
                u32::try_from(n).unwrap()
            })
            .sum();
        let n = CMH_2024.questions.len();
        let routed: u32 = (0..n).map(|q| t.cleaned(q).routed).sum();
        prop_assert_eq!(routed, routed_answers);
        let marked = |kind: Answer| -> u32 {
            let n = a
                .sims
                .iter()
                .flat_map(|s| s.answers.iter().zip(model_skips(s)))
                .filter(|(x, skip)| **x == kind && !*skip)
                .count();
            u32::try_from(n).unwrap()
        };
        let invalid: u32 = (0..n).map(|q| t.cleaned(q).invalid).sum();
        let multi: u32 = (0..n).map(|q| t.cleaned(q).multi).sum();
        prop_assert_eq!(invalid, marked(Answer::OutOfRange));
        prop_assert_eq!(multi, marked(Answer::Multi));
        // Never silently dropped: every non-blank answer to a scored question is either in an
        // option count or in a cleaning counter.
        for (q, question) in CMH_2024.questions.iter().enumerate() {
            if !question.is_scored() {
                continue;
            }
            let given = a.sims.iter().filter(|s| s.answers[q] != Answer::Blank).count();
            let c = t.cleaned(q);
            let counted: u32 = (0..t.strata()).flat_map(|g| t.counts(q, g).to_vec()).sum();
            prop_assert_eq!(
                u64::from(counted) + u64::from(c.routed) + u64::from(c.invalid) + u64::from(c.multi),
                u64::try_from(given).unwrap(),
                "question {}", q
            );
        }
        let counters = t.counters();
        prop_assert_eq!(counters.completed, u32::try_from(a.sims.len()).unwrap());
        prop_assert_eq!(counters.abandoned, a.abandoned);
        prop_assert_eq!(counters.rejected, a.rejected);
        prop_assert_eq!(
            counters.started,
            counters.completed + counters.abandoned + counters.rejected
        );
        // Who took part: completed responses per stratum, as the model places them.
        for g in 0..t.strata() {
            let model = a.sims.iter().filter(|s| common::model_respondent(&CMH_2024, s).stratum == g).count();
            prop_assert_eq!(t.respondents(g), u32::try_from(model).unwrap(), "stratum {}", g);
        }
    }

    #[test]
    fn fft_counts_and_cleaning_match_the_model(a in tally_input(&FFT, 0..60)) {
        let t = fft_tally_of(&a);
        assert_matches_model(&FFT, &*t, &a)?;
    }

    #[test]
    fn pair_sums_match_the_model(a in tally_input(&CMH_2024, 0..40)) {
        let t = cmh_tally_of(&a);
        let model = Model::new(&CMH_2024, &a.sims);
        let qs = CMH_2024.questions;
        for x in 0..qs.len() {
            for y in x + 1..qs.len() {
                let same_section = qs[x].is_scored() && qs[y].is_scored() && qs[x].section == qs[y].section;
                for g in 0..t.strata() {
                    let got = t.pair(x, y, g);
                    prop_assert_eq!(got, t.pair(y, x, g), "pair is symmetric in its arguments");
                    if same_section {
                        prop_assert_eq!(got, Some(model.pair(x, y, g)), "{} {} {}", x, y, g);
                    } else {
                        prop_assert_eq!(got, None);
                    }
                }
            }
        }
    }
}

fn model_skips(sim: &common::Sim) -> Vec<bool> {
    common::model_respondent(&CMH_2024, sim).skip
}

/// Builds a `cmh-2024` tally whose started/completed counters sit at u32::MAX (through the
/// export decoder: no other public route reaches such counts).
fn saturated_cmh() -> Box<common::CmhTally> {
    let t = cmh_tally();
    let mut json: serde_json::Value = serde_json::from_slice(&export_bytes(&*t)).expect("export is JSON");
    json["responses"]["started"] = u32::MAX.into();
    json["responses"]["completed"] = u32::MAX.into();
    json["responses"]["by_stratum"][0] = u32::MAX.into();
    json["questions"][4]["counts"][0][0] = u32::MAX.into(); // Q8, stratum 0, option 1
    let bytes = serde_json::to_vec(&json).unwrap();
    let mut out = cmh_tally();
    decode_into(&bytes, &mut *out).expect("consistent export");
    out
}

#[test]
fn committing_when_a_counter_would_overflow_errors_and_changes_nothing() {
    let mut t = saturated_cmh();
    let before = snapshot(&*t);
    let mut r = surveybench_kernel::Response::<'static, 64>::new(&CMH_2024).unwrap();
    r.answer_id("Q8", 1).unwrap();
    r.answer_id("Q9", 1).unwrap();
    assert_eq!(t.commit(&r), Err(TallyError::Overflow));
    assert_eq!(snapshot(&*t), before);
    assert_eq!(t.record_abandoned(), Err(TallyError::Overflow));
    assert_eq!(t.record_rejected(), Err(TallyError::Overflow));
    assert_eq!(snapshot(&*t), before);
}

#[test]
fn merging_when_a_counter_would_overflow_errors_and_changes_nothing() {
    let saturated = saturated_cmh();
    let mut r = surveybench_kernel::Response::<'static, 64>::new(&CMH_2024).unwrap();
    r.answer_id("Q8", 1).unwrap();
    let mut small = cmh_tally();
    small.commit(&r).unwrap();
    let before = snapshot(&*small);
    assert_eq!(small.merge(&*saturated), Err(TallyError::Overflow));
    assert_eq!(snapshot(&*small), before);
    let mut big = saturated.clone();
    let big_before = snapshot(&*big);
    assert_eq!(big.merge(&*small), Err(TallyError::Overflow));
    assert_eq!(snapshot(&*big), big_before);
}

#[test]
fn tallies_of_different_capacity_merge_when_the_instrument_is_the_same() {
    let mut r = surveybench_kernel::Response::<'static, 64>::new(&FFT).unwrap();
    r.answer(0, 2).unwrap();
    let mut small: Box<FftTally> = fft_tally();
    small.commit(&r).unwrap();
    let mut host = Box::new(surveybench_kernel::HostTally::new(&FFT).unwrap());
    host.merge(&*small).unwrap();
    host.merge(&*small).unwrap();
    assert_eq!(host.counts(0, host.strata() - 1), &[0, 2, 0, 0, 0, 0]);
    small.merge(&*host).unwrap();
    assert_eq!(small.counts(0, small.strata() - 1), &[0, 3, 0, 0, 0, 0]);
    let mut t = fft_tally();
    fill(&mut *t, &TallyInput { sims: vec![], abandoned: 2, rejected: 1 });
    assert_eq!(t.counters().started, 3);
}

/// Every count of a tally's export multiplied by `k` (a consistent tally scaled stays
/// consistent: every check is linear in the counts).
fn scaled_export(bytes: &[u8], k: u64) -> Vec<u8> {
    fn scale(v: &mut serde_json::Value, k: u64) {
        match v {
            serde_json::Value::Number(n) => *v = (n.as_u64().expect("counts are whole") * k).into(),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| scale(x, k)),
            serde_json::Value::Object(o) => {
                o.iter_mut().filter(|(key, _)| *key != "id").for_each(|(_, x)| scale(x, k))
            }
            _ => {}
        }
    }
    let mut json: serde_json::Value = serde_json::from_slice(bytes).expect("export is JSON");
    for field in ["responses", "questions", "pairs"] {
        scale(&mut json[field], k);
    }
    serde_json::to_vec(&json).unwrap()
}

/// Commit skips its checking pass while no count can overflow (the sums of scores stay within
/// 60 x started): at the last `started` where that holds, the single pass gives exactly the
/// counts of one more response; one further, the checked path refuses and changes nothing.
#[test]
fn the_unchecked_commit_holds_up_to_the_last_safe_count() {
    let mut r = surveybench_kernel::Response::<'static, 64>::new(&CMH_2024).unwrap();
    r.answer_id("Q8", 1).unwrap();
    r.answer_id("Q9", 1).unwrap();
    let mut one = cmh_tally();
    one.commit(&r).unwrap();
    let one = export_bytes(&*one);
    let last_safe = u64::from(u32::MAX / 60 - 1);
    let decoded = |k: u64| {
        let mut t = cmh_tally();
        decode_into(&scaled_export(&one, k), &mut *t).expect("a scaled consistent tally is consistent");
        t
    };
    let mut t = decoded(last_safe);
    t.commit(&r).unwrap();
    assert_eq!(snapshot(&*t), snapshot(&*decoded(last_safe + 1)));
    let before = snapshot(&*t);
    assert_eq!(t.commit(&r), Err(TallyError::Overflow), "60 x (started + 1) no longer fits in u32");
    assert_eq!(snapshot(&*t), before);
}

/// A failed decode leaves the tally empty, never half filled (commit relies on every tally
/// being consistent).
#[test]
fn a_failed_decode_leaves_the_tally_empty() {
    let mut r = surveybench_kernel::Response::<'static, 64>::new(&CMH_2024).unwrap();
    r.answer_id("Q8", 1).unwrap();
    let mut full = cmh_tally();
    full.commit(&r).unwrap();
    let mut bytes = export_bytes(&*full);
    let mut t = cmh_tally();
    decode_into(&bytes, &mut *t).unwrap();
    let cut = bytes.len() - 20;
    bytes.truncate(cut);
    assert!(decode_into(&bytes, &mut *t).is_err());
    assert_eq!(snapshot(&*t), snapshot(&*cmh_tally()));
}
