//! The instrument content hash: FNV-1a 64 over a canonical byte stream.

use super::{Instrument, QuestionKind};

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

struct Fnv(u64);

impl Fnv {
    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(PRIME);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// A length-prefixed string, so that ("ab","c") and ("a","bc") differ.
    fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

fn kind_tag(kind: QuestionKind) -> u8 {
    match kind {
        QuestionKind::Scored => 1,
        QuestionKind::Routing => 2,
        QuestionKind::Descriptive => 3,
        QuestionKind::AgeBand => 4,
        QuestionKind::Sex => 5,
    }
}

pub(super) fn content_hash(instrument: &Instrument<'_>) -> u64 {
    let mut h = Fnv(OFFSET);
    h.str(instrument.id);
    h.str("bands");
    h.bytes(instrument.age_bands);
    for section in instrument.sections {
        h.str(section.id);
    }
    for q in instrument.questions {
        h.str(q.id);
        h.byte(kind_tag(q.kind));
        h.str(q.section.unwrap_or(""));
        for o in q.options {
            h.byte(o.code);
            h.byte(o.score.unwrap_or(u8::MAX));
        }
        if let Some(f) = q.filter {
            h.str(f.question);
            h.bytes(f.codes);
        }
        h.str(";");
    }
    h.0
}
