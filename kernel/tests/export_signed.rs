//! Signed exports (docs/formats.md §2, "Signed exports"): the signed bytes are exactly the
//! document before `"signature"`, an independent Ed25519ph (ed25519-dalek) verifies what
//! `stream_signed` wrote, and the decoder holds version 1 and 2 to their own fields.

mod common;

use common::{Resp, TallyInput, cmh_tally_of, fft_tally};
use ed25519_dalek::{Signature, SigningKey};
use proptest::prelude::*;
use sha2::{Digest, Sha512};
use surveybench_kernel::Tally;
use surveybench_kernel::bundled::CMH_2024;
use surveybench_kernel::export::signed::{CONTEXT, SIGNATURE_LEN};
use surveybench_kernel::export::{
    ExportError, Field, Header, Record, Signer, Sink, StreamError, decode_into, encode, max_encoded_len,
    split, stream, stream_signed,
};

/// A test signer: ed25519-dalek's Ed25519ph, keeping a copy of every byte it was given.
struct Dalek {
    key: SigningKey,
    hash: Sha512,
    seen: Vec<u8>,
}

impl Signer for &mut Dalek {
    fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.seen.extend_from_slice(bytes);
    }
    fn sign(self) -> [u8; SIGNATURE_LEN] {
        let hash = std::mem::take(&mut self.hash);
        self.key.sign_prehashed(hash, Some(CONTEXT)).expect("context is short").to_bytes()
    }
}

struct Bytes(Vec<u8>);

impl Sink for Bytes {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn dalek(seed: u8) -> Dalek {
    Dalek { key: SigningKey::from_bytes(&[seed; 32]), hash: Sha512::new(), seen: Vec::new() }
}

fn header() -> Header {
    Header::new("kiosk-01", "RT5", "2024", 7).unwrap().signed_by("0123456789abcdef").unwrap()
}

fn signed<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'static, Q, C, P>,
    signer: &mut Dalek,
) -> Vec<u8> {
    let mut out = Bytes(Vec::new());
    stream_signed(t, &header(), signer, &mut out).unwrap();
    out.0
}

fn verifies(bytes: &[u8], key: &SigningKey) -> bool {
    let Ok(sealed) = split(bytes) else { return false };
    let hash = Sha512::new_with_prefix(sealed.message);
    let signature = Signature::from_bytes(&sealed.signature);
    key.verifying_key().verify_prehashed_strict(hash, Some(CONTEXT), &signature).is_ok()
}

fn sample() -> Box<common::CmhTally> {
    let sims = (0..5u8)
        .map(|k| common::Sim {
            answers: vec![common::Answer::Code(1 + k % 2); CMH_2024.questions.len()],
            age_sex: None,
        })
        .collect();
    cmh_tally_of(&TallyInput { sims, abandoned: 1, rejected: 2 })
}

#[test]
fn the_signer_sees_exactly_the_document_before_the_signature() {
    let mut signer = dalek(1);
    let bytes = signed(&*sample(), &mut signer);
    let text = std::str::from_utf8(&bytes).unwrap();
    let at = text.rfind("\"signature\":\"").unwrap();
    assert_eq!(
        signer.seen,
        bytes[..at],
        "signed bytes are the document through the comma before the signature"
    );
    assert!(text.ends_with("\"}") && text[at - 1..].starts_with(','));
    assert_eq!(split(&bytes).unwrap().message, &bytes[..at]);
    // The document is JSON with the documented fields, version 2 and the key id.
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["version"], 2);
    assert_eq!(v["key"], "0123456789abcdef");
    assert_eq!(v["signature"].as_str().unwrap().len(), 2 * SIGNATURE_LEN);
}

#[test]
fn an_independent_ed25519ph_verifies_it_and_the_decoder_reads_it() {
    let mut signer = dalek(2);
    let t = sample();
    let bytes = signed(&*t, &mut signer);
    assert!(verifies(&bytes, &signer.key));
    assert!(!verifies(&bytes, &dalek(3).key), "another key's public key must not verify it");
    let mut back = common::cmh_tally();
    let h = decode_into(&bytes, &mut *back).unwrap();
    assert_eq!(h, header());
    assert_eq!(common::snapshot(&*back), common::snapshot(&*t));
    assert!(bytes.len() <= max_encoded_len(&CMH_2024));
}

#[test]
fn a_signature_for_another_context_does_not_verify() {
    let key = SigningKey::from_bytes(&[4; 32]);
    let mut out = Bytes(Vec::new());
    let mut signer = dalek(4);
    stream_signed(&*sample(), &header(), &mut signer, &mut out).unwrap();
    let sealed = split(&out.0).unwrap();
    let plain = ed25519_dalek::Signer::sign(&key, sealed.message).to_bytes();
    let forged = [sealed.message, b"\"signature\":\"", hex(&plain).as_bytes(), b"\"}"].concat();
    assert!(
        !verifies(&forged, &key),
        "a pure Ed25519 signature of the same bytes is not an export signature"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn unsigned_encoders_refuse_a_header_with_a_key_and_the_signed_one_one_without() {
    let t = fft_tally();
    let mut buf = vec![0; max_encoded_len(t.instrument())];
    assert_eq!(encode(&*t, &header(), &mut buf), Err(ExportError::Signature));
    assert_eq!(
        stream(&*t, &header(), &mut Bytes(Vec::new())),
        Err(StreamError::Export(ExportError::Signature))
    );
    let unsigned = Header::new("kiosk-01", "RT5", "2024", 7).unwrap();
    let result = stream_signed(&*t, &unsigned, &mut dalek(5), &mut Bytes(Vec::new()));
    assert_eq!(result, Err(StreamError::Export(ExportError::Signature)));
    assert_eq!(unsigned.clone().signed_by("has space").unwrap_err(), ExportError::Header(Field::Key));
    assert_eq!(unsigned.signed_by("0123456789abcdef0").unwrap_err(), ExportError::Header(Field::Key));
}

#[test]
fn each_version_has_its_own_fields() {
    let t = sample();
    let bytes = String::from_utf8(signed(&*t, &mut dalek(6))).unwrap();
    let decode = |text: &str| decode_into(text.as_bytes(), &mut *common::cmh_tally());
    // Version 1 with a key or a signature: unknown fields of that version.
    assert_eq!(
        decode(&bytes.replacen("\"version\":2", "\"version\":1", 1)),
        Err(ExportError::UnknownField(Record::Header))
    );
    // Version 2 without its key, or without its signature.
    let no_key = bytes.replacen("\"key\":\"0123456789abcdef\",", "", 1);
    assert_eq!(decode(&no_key), Err(ExportError::Missing(Field::Key)));
    let cut = bytes.rfind(",\"signature\"").unwrap();
    assert_eq!(decode(&format!("{}}}", &bytes[..cut])), Err(ExportError::Missing(Field::Signature)));
    // The signature must close the document, in lower-case hex, whole.
    let moved = format!("{{{},{}}}", &bytes[cut + 1..bytes.len() - 1], &bytes[1..cut]);
    assert_eq!(decode(&moved), Err(ExportError::Signature));
    let upper = format!(
        "{}{}\"}}",
        &bytes[..bytes.len() - 130],
        bytes[bytes.len() - 130..bytes.len() - 2].to_uppercase()
    );
    assert_eq!(decode(&upper), Err(ExportError::Signature));
    let short = format!("{}\"}}", &bytes[..bytes.len() - 4]);
    assert_eq!(decode(&short), Err(ExportError::Signature));
    // Surrounding white space is not part of the document.
    assert!(decode(&format!("  {bytes}\r\n")).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Flipping any bits of any byte of a signed export makes it fail to decode or to verify.
    #[test]
    fn every_flipped_byte_is_caught(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let mut signer = dalek(8);
        let mut bytes = signed(&*fft_with_counts(), &mut signer);
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let decoded = decode_into(&bytes, &mut *fft_tally()).is_ok();
        prop_assert!(!(decoded && verifies(&bytes, &signer.key)), "flip at {i} by {mask:#04x} accepted");
    }
}

fn fft_with_counts() -> Box<common::FftTally> {
    let mut t = fft_tally();
    let mut r = Resp::new(&surveybench_kernel::bundled::FFT).unwrap();
    r.answer(0, 1).unwrap();
    t.commit(&r).unwrap();
    t
}
