//! The device export (method.md §11, `export` module): round trips, size bound, JSON shape,
//! strict decoding with typed errors, and robustness against arbitrary input.

mod common;

use common::{
    CmhTally, Resp, TallyInput, cmh_tally, cmh_tally_of, fft_tally, fft_tally_of, snapshot, tally_input,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::{
    ExportError, FORMAT, Field, Header, Record, UNSIGNED_VERSION, decode_into, encode, max_encoded_len,
    pair_count,
};
use surveybench_kernel::{Instrument, Tally};

fn header() -> Header {
    Header::new("kiosk-01", "RT5", "2024", 7).expect("plain header")
}

fn encode_vec<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'static, Q, C, P>,
    h: &Header,
) -> Vec<u8> {
    let mut buf = vec![0u8; max_encoded_len(t.instrument())];
    let n = encode(t, h, &mut buf).expect("a max_encoded_len buffer is enough");
    buf.truncate(n);
    buf
}

/// A deterministic `cmh-2024` tally with non-zero counts in several strata, routing removals,
/// cleaning, and abandoned / rejected responses.
fn sample_cmh() -> Box<CmhTally> {
    let mut t = cmh_tally();
    let n = CMH_2024.questions.len();
    for k in 0..12u8 {
        let mut r = Resp::new(&CMH_2024).unwrap();
        for q in 0..n {
            let codes: Vec<u8> = CMH_2024.questions[q].options.iter().map(|o| o.code).collect();
            let pick = codes[(usize::from(k) + q) % codes.len()];
            match (usize::from(k) + 3 * q) % 11 {
                0 => {}
                1 => r.clean(q, surveybench_kernel::Cleaning::OutOfRange).unwrap(),
                2 => r.clean(q, surveybench_kernel::Cleaning::MultiTicked).unwrap(),
                _ => r.answer(q, pick).unwrap(),
            }
        }
        t.commit(&r).unwrap();
    }
    t.record_abandoned().unwrap();
    t.record_rejected().unwrap();
    t
}

fn sample_value() -> Value {
    serde_json::from_slice(&encode_vec(&*sample_cmh(), &header())).expect("export is JSON")
}

fn decode_cmh(bytes: &[u8]) -> Result<Header, ExportError> {
    let mut t = cmh_tally();
    decode_into(bytes, &mut *t)
}

fn decode_value(v: &Value) -> Result<Header, ExportError> {
    decode_cmh(&serde_json::to_vec(v).unwrap())
}

fn header_strategy() -> impl Strategy<Value = Header> {
    ("[A-Za-z0-9_.:/-]{1,32}", "[A-Za-z0-9_.:/-]{1,16}", "[A-Za-z0-9_.:/-]{1,16}", any::<u32>())
        .prop_map(|(d, s, p, n)| Header::new(&d, &s, &p, n).expect("plain strings"))
}

fn round_trip<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'static, Q, C, P>,
    fresh: &mut Tally<'static, Q, C, P>,
    h: &Header,
) -> Result<(), TestCaseError> {
    let bytes = encode_vec(t, h);
    prop_assert!(bytes.len() <= max_encoded_len(t.instrument()));
    let got = decode_into(&bytes, fresh);
    prop_assert_eq!(got, Ok(h.clone()));
    prop_assert_eq!(snapshot(fresh), snapshot(t));
    prop_assert_eq!(encode_vec(fresh, h), bytes, "re-encoding gives the same bytes");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encode_then_decode_gives_back_the_tally_and_header_for_cmh(
        input in tally_input(&CMH_2024, 0..40),
        h in header_strategy(),
    ) {
        let t = cmh_tally_of(&input);
        let mut fresh = cmh_tally();
        // Decoding clears the tally first: start from a non-empty one.
        fresh.record_abandoned().unwrap();
        round_trip(&*t, &mut *fresh, &h)?;
    }

    #[test]
    fn encode_then_decode_gives_back_the_tally_and_header_for_fft(
        input in tally_input(&FFT, 0..60),
        h in header_strategy(),
    ) {
        let t = fft_tally_of(&input);
        let mut fresh = fft_tally();
        round_trip(&*t, &mut *fresh, &h)?;
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_cmh(&bytes);
        let mut f = fft_tally();
        let _ = decode_into(&bytes, &mut *f);
    }

    #[test]
    fn decoding_a_mutated_export_never_panics_and_a_success_round_trips(
        input in tally_input(&FFT, 0..20),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    ) {
        let t = fft_tally_of(&input);
        let mut bytes = encode_vec(&*t, &header());
        for (at, how, byte) in edits {
            match how {
                0 if !bytes.is_empty() => {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                1 => {
                    let i = at.index(bytes.len() + 1);
                    bytes.insert(i, byte);
                }
                _ if !bytes.is_empty() => {
                    let i = at.index(bytes.len());
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        let mut d = fft_tally();
        if let Ok(h) = decode_into(&bytes, &mut *d) {
            let mut again = fft_tally();
            round_trip(&*d, &mut *again, &h)?;
        }
    }

    #[test]
    fn decoding_a_mutated_cmh_export_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode_vec(&*sample_cmh(), &header());
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let mut d = cmh_tally();
        if let Ok(h) = decode_into(&bytes, &mut *d) {
            let mut again = cmh_tally();
            round_trip(&*d, &mut *again, &h)?;
        }
    }
}

// --- size bound --------------------------------------------------------------------------------

/// The largest header the format allows.
fn longest_header() -> Header {
    Header::new(&"d".repeat(32), &"s".repeat(16), &"p".repeat(16), u32::MAX).unwrap()
}

#[test]
fn encoded_length_never_exceeds_max_encoded_len_with_the_longest_header() {
    let t = sample_cmh();
    let h = longest_header();
    let bytes = encode_vec(&*t, &h);
    assert!(bytes.len() <= max_encoded_len(&CMH_2024));
    // One byte short of the exact length is reported, not truncated.
    let mut small = vec![0u8; bytes.len() - 1];
    assert_eq!(encode(&*t, &h, &mut small), Err(ExportError::BufferTooSmall));
}

/// A `cmh-2024` export whose every number is as long as a consistent export allows: counters
/// of ten digits, one question count (or routed count) of ~4e9 per question, pair sums at the
/// u32 limit and sum_kl of ~1.4e13. (Every counter at u32::MAX at once is impossible: the
/// decoder rejects it as inconsistent, and merging consistent tallies stays consistent.)
fn near_max_value() -> Value {
    let c: u64 = 4_000_000_000;
    let mut v = serde_json::from_slice::<Value>(&encode_vec(&*cmh_tally(), &longest_header())).unwrap();
    v["responses"] = json!({
        "started": u64::from(u32::MAX),
        "completed": c,
        "abandoned": 147_483_648u64,
        "rejected": u64::from(u32::MAX) - c - 147_483_648,
        "by_stratum": [c, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    for (i, q) in CMH_2024.questions.iter().enumerate() {
        if q.is_scored() {
            let best = q.options.iter().position(|o| o.score == Some(60)).unwrap();
            v["questions"][i]["counts"][0][best] = json!(c);
        } else {
            v["questions"][i]["routed"] = json!(c);
        }
    }
    for p in v["pairs"].as_array_mut().unwrap() {
        p["sums"][0] = json!([c, u32::MAX, u32::MAX, c * 3600]);
    }
    v
}

#[test]
fn encoded_length_never_exceeds_max_encoded_len_for_a_near_maximal_tally() {
    let v = near_max_value();
    let mut t = cmh_tally();
    let h = decode_into(&serde_json::to_vec(&v).unwrap(), &mut *t).expect("consistent export");
    assert_eq!(h, longest_header());
    let bytes = encode_vec(&*t, &h);
    assert!(bytes.len() <= max_encoded_len(&CMH_2024), "{} > {}", bytes.len(), max_encoded_len(&CMH_2024));
    let back: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, v);
}

#[test]
fn encoded_length_never_exceeds_max_encoded_len_for_fft() {
    let input = TallyInput { sims: vec![], abandoned: 3, rejected: 0 };
    let t = fft_tally_of(&input);
    assert!(encode_vec(&*t, &longest_header()).len() <= max_encoded_len(&FFT));
}

// --- JSON shape --------------------------------------------------------------------------------

fn assert_documented_shape(instrument: &Instrument<'static>, bytes: &[u8]) {
    let v: Value = serde_json::from_slice(bytes).expect("valid JSON");
    let obj = v.as_object().expect("top level is an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    // `storage_faults` is written only when not 0 (the samples have none).
    // `key` and `signature` only in signed exports (tests/export_signed.rs).
    let written = || Field::ALL.into_iter().filter(|f| !f.optional() && !f.signed_only());
    let mut want: Vec<&str> = written().map(|f| f.key()).collect();
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
    // And written in the documented order.
    let text = std::str::from_utf8(bytes).unwrap();
    let positions: Vec<usize> = written().map(|f| text.find(&format!("\"{}\":", f.key())).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(v["format"], FORMAT);
    assert_eq!(v["version"], UNSIGNED_VERSION);
    assert_eq!(v["instrument"], instrument.id);
    assert_eq!(v["instrument_hash"], format!("{:016x}", instrument.content_hash()));
    assert_eq!(v["strata"], 2 * instrument.age_bands.len() + 1);
    let responses = v["responses"].as_object().unwrap();
    let mut rk: Vec<&str> = responses.keys().map(String::as_str).collect();
    rk.sort_unstable();
    assert_eq!(rk, ["abandoned", "by_stratum", "completed", "rejected", "started"]);
    assert_eq!(responses["by_stratum"].as_array().unwrap().len(), 2 * instrument.age_bands.len() + 1);
    let qs = v["questions"].as_array().unwrap();
    assert_eq!(qs.len(), instrument.questions.len());
    for (entry, q) in qs.iter().zip(instrument.questions) {
        let mut k: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        assert_eq!(k, ["counts", "id", "invalid", "multi", "routed"]);
        assert_eq!(entry["id"], q.id);
        let rows = entry["counts"].as_array().unwrap();
        if q.is_scored() {
            assert_eq!(rows.len(), 2 * instrument.age_bands.len() + 1);
            assert!(rows.iter().all(|r| r.as_array().unwrap().len() == q.options.len()));
        } else {
            assert!(rows.is_empty());
        }
    }
    let pairs = v["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), pair_count(instrument));
    for p in pairs {
        let sums = p["sums"].as_array().unwrap();
        assert!(sums.iter().all(|r| r.as_array().unwrap().len() == 4));
    }
}

#[test]
fn export_parses_as_json_with_the_documented_keys() {
    assert_documented_shape(&CMH_2024, &encode_vec(&*sample_cmh(), &header()));
    assert_documented_shape(&FFT, &encode_vec(&*fft_tally(), &header()));
}

// --- strict decoding ---------------------------------------------------------------------------

#[test]
fn the_sample_export_decodes() {
    let t = sample_cmh();
    let mut d = cmh_tally();
    assert_eq!(decode_into(&encode_vec(&*t, &header()), &mut *d), Ok(header()));
    assert_eq!(snapshot(&*d), snapshot(&*t));
    // Key order inside objects does not matter (serde_json writes them sorted).
    assert_eq!(decode_value(&sample_value()), Ok(header()));
}

#[test]
fn truncated_json_is_a_syntax_error_at_every_cut() {
    let bytes =
        encode_vec(&*fft_tally_of(&TallyInput { sims: vec![], abandoned: 1, rejected: 0 }), &header());
    for cut in 0..bytes.len() {
        let mut t = fft_tally();
        let got = decode_into(&bytes[..cut], &mut *t);
        assert!(matches!(got, Err(ExportError::Syntax(_))), "cut at {cut}: {got:?}");
    }
    let bytes = encode_vec(&*sample_cmh(), &header());
    for cut in (0..bytes.len()).step_by(37) {
        let got = decode_cmh(&bytes[..cut]);
        assert!(matches!(got, Err(ExportError::Syntax(_))), "cut at {cut}: {got:?}");
    }
}

#[test]
fn truncated_json_names_the_record_being_read() {
    let bytes = encode_vec(&*sample_cmh(), &header());
    let text = std::str::from_utf8(&bytes).unwrap();
    assert_eq!(decode_cmh(&bytes[..1]), Err(ExportError::Syntax(Record::Header)));
    let site = text.find("\"site\":").unwrap() + 9;
    assert_eq!(decode_cmh(&bytes[..site]), Err(ExportError::Syntax(Record::Header)));
    let q0 = text.find("\"questions\":[{").unwrap() + 20;
    assert_eq!(decode_cmh(&bytes[..q0]), Err(ExportError::Syntax(Record::Question(0))));
    let q3 = text.find("{\"id\":\"Q7\"").unwrap() + 30;
    assert_eq!(decode_cmh(&bytes[..q3]), Err(ExportError::Syntax(Record::Question(3))));
    let pairs = text.find("\"pairs\":[").unwrap();
    let p1 = pairs + text[pairs..].match_indices("{\"a\":").nth(1).unwrap().0 + 12;
    assert_eq!(decode_cmh(&bytes[..p1]), Err(ExportError::Syntax(Record::Pair(1))));
}

#[test]
fn trailing_bytes_after_the_document_are_a_syntax_error() {
    let mut bytes = encode_vec(&*sample_cmh(), &header());
    bytes.extend_from_slice(b"{}");
    assert!(matches!(decode_cmh(&bytes), Err(ExportError::Syntax(_))));
}

/// `bytes` with the first occurrence of `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.contains(from), "{from:?} not in the export");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn a_leading_comma_in_an_array_is_a_syntax_error() {
    let bytes = encode_vec(&*sample_cmh(), &header());
    let by_stratum = replace_once(&bytes, "\"by_stratum\":[", "\"by_stratum\":[,");
    assert_eq!(decode_cmh(&by_stratum), Err(ExportError::Syntax(Record::Header)));
    let counts = replace_once(&bytes, "\"counts\":[[", "\"counts\":[,[");
    assert!(matches!(decode_cmh(&counts), Err(ExportError::Syntax(Record::Question(_)))));
    let row = replace_once(&bytes, "\"counts\":[[", "\"counts\":[[,");
    assert!(matches!(decode_cmh(&row), Err(ExportError::Syntax(Record::Question(_)))));
    let questions = replace_once(&bytes, "\"questions\":[", "\"questions\":[ ,");
    assert_eq!(decode_cmh(&questions), Err(ExportError::Syntax(Record::Question(0))));
    let sums = replace_once(&bytes, "\"sums\":[[", "\"sums\":[[,");
    assert_eq!(decode_cmh(&sums), Err(ExportError::Syntax(Record::Pair(0))));
    let pairs = replace_once(&bytes, "\"pairs\":[", "\"pairs\":[,");
    assert_eq!(decode_cmh(&pairs), Err(ExportError::Syntax(Record::Pair(0))));
    // After a leading comma serde-json-core does not ask for the next comma: `[,0 0,1,...]`.
    let text = String::from_utf8(by_stratum).unwrap();
    let at = text.find("[,").unwrap() + 2;
    let comma = at + text[at..].find(',').unwrap();
    let spaced = format!("{} {}", &text[..comma], &text[comma + 1..]);
    assert_eq!(decode_cmh(spaced.as_bytes()), Err(ExportError::Syntax(Record::Header)));
}

#[test]
fn misplaced_commas_in_arrays_and_objects_are_syntax_errors() {
    let bytes = encode_vec(&*sample_cmh(), &header());
    for (from, to) in [
        ("\"by_stratum\":[", "\"by_stratum\":[0,,"),
        ("]},\"questions\"", ",]},\"questions\""),
        ("{\"format\"", "{,\"format\""),
        ("\"responses\":{", "\"responses\":{,"),
        ("\"version\":1,", "\"version\":1,,"),
        ("\"strata\":9", "\"strata\":9,"),
    ] {
        let got = decode_cmh(&replace_once(&bytes, from, to));
        assert!(matches!(got, Err(ExportError::Syntax(_))), "{to}: {got:?}");
    }
}

#[test]
fn a_malformed_string_is_a_syntax_error_not_a_header_error() {
    // serde-json-core passes a raw control character or an unknown escape through; JSON
    // forbids both, so the document is malformed whatever the field.
    let bytes = encode_vec(&*sample_cmh(), &header());
    for to in ["\"device\":\"kiosk-01\u{1}\"", "\"device\":\"kiosk\\q01\""] {
        let got = decode_cmh(&replace_once(&bytes, "\"device\":\"kiosk-01\"", to));
        assert_eq!(got, Err(ExportError::Syntax(Record::Header)), "{to}");
    }
}

#[test]
fn a_value_of_the_wrong_json_type_is_a_syntax_error_in_its_record() {
    let mut v = sample_value();
    v["version"] = json!("1");
    assert_eq!(decode_value(&v), Err(ExportError::Syntax(Record::Header)));
    let mut v = sample_value();
    v["questions"][3]["routed"] = json!(-1);
    assert_eq!(decode_value(&v), Err(ExportError::Syntax(Record::Question(3))));
    let mut v = sample_value();
    v["pairs"][2]["sums"][0][0] = json!("x");
    assert_eq!(decode_value(&v), Err(ExportError::Syntax(Record::Pair(2))));
}

#[test]
fn wrong_format_is_rejected() {
    let mut v = sample_value();
    v["format"] = json!("surveybench-tallies");
    assert_eq!(decode_value(&v), Err(ExportError::Format));
}

#[test]
fn wrong_version_is_rejected_with_the_version_found() {
    let mut v = sample_value();
    v["version"] = json!(3);
    assert_eq!(decode_value(&v), Err(ExportError::Version(3)));
    v["version"] = json!(0);
    assert_eq!(decode_value(&v), Err(ExportError::Version(0)));
}

#[test]
fn another_instrument_id_is_rejected() {
    let mut v = sample_value();
    v["instrument"] = json!("fft");
    assert_eq!(decode_value(&v), Err(ExportError::Instrument));
    // An FFT export decoded into a CMH tally, and the other way round.
    let fft_bytes = encode_vec(&*fft_tally(), &header());
    assert_eq!(decode_cmh(&fft_bytes), Err(ExportError::Instrument));
    let mut f = fft_tally();
    assert_eq!(decode_into(&encode_vec(&*sample_cmh(), &header()), &mut *f), Err(ExportError::Instrument));
}

#[test]
fn wrong_instrument_hash_is_rejected() {
    let good = format!("{:016x}", CMH_2024.content_hash());
    for bad in [
        "0123456789abcdef".to_owned(),
        good[1..].to_owned(),
        format!("0{good}"),
        format!("{:016x}", FFT.content_hash()),
        String::new(),
    ] {
        let mut v = sample_value();
        v["instrument_hash"] = json!(bad);
        assert_eq!(decode_value(&v), Err(ExportError::InstrumentHash), "{bad}");
    }
}

#[test]
fn a_missing_field_is_named() {
    for field in Field::ALL.into_iter().filter(|f| !f.optional() && !f.signed_only()) {
        let mut v = sample_value();
        v.as_object_mut().unwrap().remove(field.key());
        assert_eq!(decode_value(&v), Err(ExportError::Missing(field)), "{}", field.key());
    }
}

#[test]
fn a_duplicated_field_is_named() {
    let v = sample_value();
    let bytes = encode_vec(&*sample_cmh(), &header());
    let text = std::str::from_utf8(&bytes).unwrap();
    // `storage_faults` is absent here; storage_faults_round_trip_and_are_absent_when_zero doubles it.
    for field in Field::ALL.into_iter().filter(|f| !f.optional() && !f.signed_only()) {
        let extra = format!("{{\"{}\":{},", field.key(), serde_json::to_string(&v[field.key()]).unwrap());
        let doubled = text.replacen('{', &extra, 1);
        assert_eq!(decode_cmh(doubled.as_bytes()), Err(ExportError::Duplicate(field)), "{}", field.key());
    }
}

#[test]
fn an_unknown_field_is_rejected_with_its_record() {
    let mut v = sample_value();
    v["extra"] = json!(1);
    assert_eq!(decode_value(&v), Err(ExportError::UnknownField(Record::Header)));
    let mut v = sample_value();
    v["questions"][3]["extra"] = json!(1);
    assert_eq!(decode_value(&v), Err(ExportError::UnknownField(Record::Question(3))));
    let mut v = sample_value();
    v["pairs"][2]["extra"] = json!(1);
    assert_eq!(decode_value(&v), Err(ExportError::UnknownField(Record::Pair(2))));
}

#[test]
fn an_unknown_field_in_responses_is_rejected_as_unknown_field() {
    let mut v = sample_value();
    v["responses"]["extra"] = json!(1);
    assert_eq!(decode_value(&v), Err(ExportError::UnknownField(Record::Header)));
}

#[test]
fn a_question_id_out_of_order_is_a_shape_error() {
    let mut v = sample_value();
    v["questions"][3]["id"] = json!("Q8");
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(3))));
    let mut v = sample_value();
    let qs = v["questions"].as_array_mut().unwrap();
    qs.swap(2, 3);
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(2))));
}

#[test]
fn a_question_list_of_the_wrong_length_is_a_shape_error() {
    let n = CMH_2024.questions.len();
    let mut v = sample_value();
    v["questions"].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(u16::try_from(n - 1).unwrap()))));
    let mut v = sample_value();
    let last = v["questions"][n - 1].clone();
    v["questions"].as_array_mut().unwrap().push(last);
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(u16::try_from(n).unwrap()))));
}

#[test]
fn a_counts_row_of_the_wrong_length_is_a_shape_error() {
    // Q7 (index 3) has four options.
    let mut v = sample_value();
    v["questions"][3]["counts"][0].as_array_mut().unwrap().push(json!(0));
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(3))));
    let mut v = sample_value();
    v["questions"][3]["counts"][8].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(3))));
    // Too few and too many rows.
    let mut v = sample_value();
    v["questions"][3]["counts"].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(3))));
    let mut v = sample_value();
    v["questions"][3]["counts"].as_array_mut().unwrap().push(json!([0, 0, 0, 0]));
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(3))));
    // Rows on a question that is not scored (Q1).
    let mut v = sample_value();
    v["questions"][0]["counts"] = json!([[0, 0, 0, 0, 0, 0]]);
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(0))));
}

#[test]
fn a_missing_question_key_is_a_shape_error() {
    let mut v = sample_value();
    v["questions"][5].as_object_mut().unwrap().remove("multi");
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Question(5))));
}

#[test]
fn wrong_strata_is_a_shape_error() {
    let mut v = sample_value();
    v["strata"] = json!(8);
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Header)));
}

#[test]
fn pairs_of_the_wrong_shape_are_shape_errors() {
    let p = pair_count(&CMH_2024);
    let mut v = sample_value();
    v["pairs"].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Pair(u16::try_from(p - 1).unwrap()))));
    let mut v = sample_value();
    let last = v["pairs"][p - 1].clone();
    v["pairs"].as_array_mut().unwrap().push(last);
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Pair(u16::try_from(p).unwrap()))));
    let mut v = sample_value();
    v["pairs"][1]["a"] = json!("Q10"); // pair 1 is (Q8, Q9)
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Pair(1))));
    let mut v = sample_value();
    v["pairs"][1]["sums"].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Pair(1))));
}

#[test]
fn started_not_equal_to_completed_abandoned_rejected_is_inconsistent() {
    let mut v = sample_value();
    let started = v["responses"]["started"].as_u64().unwrap();
    v["responses"]["started"] = json!(started + 1);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Header)));
    // The sum overflowing u32 is inconsistent too, not a panic.
    let mut v = sample_value();
    v["responses"] = json!({"started": u32::MAX, "completed": u32::MAX, "abandoned": 1, "rejected": 0,
        "by_stratum": [u32::MAX, 0, 0, 0, 0, 0, 0, 0, 0]});
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Header)));
}

#[test]
fn respondents_by_stratum_must_add_up_to_completed_and_have_one_entry_per_stratum() {
    let mut v = sample_value();
    let first = v["responses"]["by_stratum"][0].as_u64().unwrap();
    v["responses"]["by_stratum"][0] = json!(first + 1);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Header)));
    let mut v = sample_value();
    v["responses"]["by_stratum"].as_array_mut().unwrap().pop();
    assert_eq!(decode_value(&v), Err(ExportError::Shape(Record::Header)));
    let mut v = sample_value();
    v["responses"].as_object_mut().unwrap().remove("by_stratum");
    assert_eq!(decode_value(&v), Err(ExportError::Missing(Field::Responses)));
}

#[test]
fn more_counts_than_completed_responses_is_inconsistent() {
    let mut v = sample_value();
    let completed = v["responses"]["completed"].as_u64().unwrap();
    v["questions"][3]["counts"][0][0] = json!(completed + 1);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Question(3))));
    let mut v = sample_value();
    v["questions"][1]["routed"] = json!(completed + 1);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Question(1))));
}

#[test]
fn a_stratum_with_more_answers_than_its_respondents_is_inconsistent() {
    // One answer moved from a stratum with respondents to one without: the question's total
    // still fits `completed`, but the empty stratum cannot have answered.
    let mut v = sample_value();
    let by_stratum: Vec<u64> =
        v["responses"]["by_stratum"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    let empty = by_stratum.iter().position(|&n| n == 0).expect("the sample has an empty stratum");
    let q = 3;
    let rows = v["questions"][q]["counts"].clone();
    let (from, option) = (0..by_stratum.len())
        .find_map(|g| {
            rows[g].as_array().unwrap().iter().position(|c| c.as_u64().unwrap() > 0).map(|k| (g, k))
        })
        .expect("question 3 has an answer");
    let moved = rows[from][option].as_u64().unwrap();
    v["questions"][q]["counts"][from][option] = json!(moved - 1);
    v["questions"][q]["counts"][empty][option] = json!(1);
    let stratum = u16::try_from(empty).unwrap();
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Counts { question: 3, stratum })));
    // Unscored options (don't know) count too: every option of a row is a respondent.
    let mut v = sample_value();
    let dont_know = CMH_2024.questions[q].options.iter().position(|o| o.score.is_none()).unwrap();
    v["questions"][q]["counts"][empty][dont_know] = json!(1);
    v["responses"]["completed"] = json!(v["responses"]["completed"].as_u64().unwrap() + 1);
    v["responses"]["started"] = json!(v["responses"]["started"].as_u64().unwrap() + 1);
    v["responses"]["by_stratum"][from] = json!(by_stratum[from] + 1);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Counts { question: 3, stratum })));
}

#[test]
fn pair_m_larger_than_the_questions_n_is_inconsistent() {
    // Pair 0 is (Q6, Q7). Put m one above the smaller of the two scored counts in a stratum.
    let t = sample_cmh();
    let (a, b) = (2, 3);
    for g in [0, 8] {
        let n = t.scored_n(a, g).min(t.scored_n(b, g));
        let mut v = sample_value();
        v["pairs"][0]["sums"][g][0] = json!(n + 1);
        let stratum = u16::try_from(g).unwrap();
        assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Sums { pair: 0, stratum })));
    }
    // A sum above what m answers can reach.
    let mut v = sample_value();
    v["pairs"][0]["sums"][0] = json!([0, 1, 0, 0]);
    assert_eq!(decode_value(&v), Err(ExportError::Inconsistent(Record::Sums { pair: 0, stratum: 0 })));
}

#[test]
fn every_pair_is_checked_against_its_own_two_questions() {
    // For each pair in turn (the check keeps the first question's figures while it pairs it
    // with the others), m one above the smaller scored n of its two questions in stratum 0.
    let t = sample_cmh();
    let v = sample_value();
    let pairs = v["pairs"].as_array().unwrap().len();
    assert!(pairs > 10);
    let position = |id: &serde_json::Value| {
        CMH_2024.questions.iter().position(|q| q.id == id.as_str().unwrap()).unwrap()
    };
    for p in 0..pairs {
        let (a, b) = (position(&v["pairs"][p]["a"]), position(&v["pairs"][p]["b"]));
        let n = t.scored_n(a, 0).min(t.scored_n(b, 0));
        let mut w = v.clone();
        w["pairs"][p]["sums"][0][0] = json!(n + 1);
        let pair = u16::try_from(p).unwrap();
        assert_eq!(
            decode_value(&w),
            Err(ExportError::Inconsistent(Record::Sums { pair, stratum: 0 })),
            "pair {p}"
        );
    }
}

#[test]
fn header_fields_outside_the_plain_alphabet_are_rejected() {
    for (key, value, field) in [
        ("device", "", Field::Device),
        ("device", "kiosk 1", Field::Device),
        ("device", &*"d".repeat(33), Field::Device),
        ("site", &*"s".repeat(17), Field::Site),
        ("period", "2024!", Field::Period),
    ] {
        let mut v = sample_value();
        v[key] = json!(value);
        assert_eq!(decode_value(&v), Err(ExportError::Header(field)), "{key}={value:?}");
    }
    assert_eq!(Header::new("a b", "RT5", "2024", 0), Err(ExportError::Header(Field::Device)));
}

#[test]
fn truncated_json_after_the_last_record_names_an_existing_record() {
    let bytes = encode_vec(&*sample_cmh(), &header());
    let text = std::str::from_utf8(&bytes).unwrap();
    // Cut just before the closing brace: the top-level object is unterminated.
    assert_eq!(decode_cmh(&bytes[..bytes.len() - 1]), Err(ExportError::Syntax(Record::Header)));
    // Cut just before "pairs": the questions array is complete, the object is not.
    let pairs = text.find("\"pairs\":").unwrap();
    assert_eq!(decode_cmh(&bytes[..pairs]), Err(ExportError::Syntax(Record::Header)));
}

/// A kiosk that survived a damaged save says so in every later export (issue 10, deliverable
/// 5); a fault-free export has no such field, so it reads exactly as before.
#[test]
fn storage_faults_round_trip_and_are_absent_when_zero() {
    let t = sample_cmh();
    let plain = encode_vec(&*t, &header());
    assert!(!String::from_utf8_lossy(&plain).contains("storage_faults"));
    assert_eq!(decode_cmh(&plain).unwrap().storage_faults, 0);
    let mut faulty = header();
    faulty.storage_faults = 3;
    let bytes = encode_vec(&*t, &faulty);
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["storage_faults"], json!(3));
    assert_eq!(decode_cmh(&bytes).unwrap(), faulty);
    assert!(bytes.len() <= max_encoded_len(&CMH_2024));
    // Given twice, it is refused like any repeated field.
    let text = String::from_utf8(bytes).unwrap().replacen(
        "\"storage_faults\":3",
        "\"storage_faults\":3,\"storage_faults\":3",
        1,
    );
    assert_eq!(decode_cmh(text.as_bytes()), Err(ExportError::Duplicate(Field::StorageFaults)));
}
