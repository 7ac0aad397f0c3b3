//! Journal records: one fixed-size record per acknowledged event (a committed response, a
//! rejected or abandoned one, an export's sequence number) and one carry record that opens each
//! epoch of the journal (docs/formats.md, "The kiosk's flash").
//!
//! A record is `epoch`, `kind`, a reserved byte, the payload length, a 32-bit value, the
//! payload, the CRC-32 of all that, and last a commit word. It is programmed in two writes,
//! body then commit word, so a record whose commit word is not [`COMMIT`] was never finished;
//! a commit word of 0 marks a record the kiosk voided after a failed save.

use surveybench_kernel::{Instrument, Response};

use surveybench_kernel::crc::crc32;

/// The commit word of a finished record.
pub const COMMIT: u32 = 0x5B3C_A11D;
/// The commit word of a voided record (every bit programmed, so any state can become it).
pub const VOID: u32 = 0;
/// Bytes before the payload: epoch, kind, reserved, payload length, value.
const HEAD: usize = 12;

/// What a record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A committed response; the payload holds each question's option position + 1 (0: none).
    Commit,
    /// A submission rejected as implausibly fast.
    Rejected,
    /// A response abandoned on the idle timeout.
    Abandoned,
    /// An export was written with the sequence number in `value`.
    Export,
    /// Opens an epoch: `value` is the last export's sequence number, the payload's first word
    /// the storage fault count, both as of the snapshot of this epoch.
    Carry,
}

impl Kind {
    const fn code(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Rejected => 2,
            Kind::Abandoned => 3,
            Kind::Export => 4,
            Kind::Carry => 5,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        [Kind::Commit, Kind::Rejected, Kind::Abandoned, Kind::Export, Kind::Carry]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// Payload bytes of a record for `instrument`: one per question, at least one word, in words.
#[must_use]
pub const fn payload_len(instrument: &Instrument<'_>) -> usize {
    let q = instrument.questions.len();
    let q = if q < 4 { 4 } else { q };
    q.div_ceil(4) * 4
}

/// Bytes of one record for `instrument`: head, payload, CRC, commit word.
#[must_use]
pub const fn record_len(instrument: &Instrument<'_>) -> usize {
    HEAD + payload_len(instrument) + 8
}

/// The largest record this firmware writes (a buffer of this size holds any of them).
pub const MAX_RECORD: usize = HEAD + 128 + 8;

/// A decoded, finished record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The epoch (snapshot generation) the record belongs to.
    pub epoch: u32,
    /// What it records.
    pub kind: Kind,
    /// Its value (see [`Kind`]).
    pub value: u32,
    /// Its payload.
    pub payload: &'a [u8],
}

/// What a record slot of the journal holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot<'a> {
    /// Every byte erased: nothing was ever written here.
    Blank,
    /// A finished record whose CRC checks.
    Finished(Entry<'a>),
    /// Voided by the kiosk after a failed save: never counted.
    Voided,
    /// Begun but not finished, or voided part-way: a cut while its body, its commit word or
    /// the void was programmed leaves any commit word but [`COMMIT`] and [`VOID`]. Never
    /// counted. The kiosk voids a torn record before it writes another, so only the journal's
    /// last record can be torn; one earlier is damage.
    Torn,
    /// A finished record damaged since: its commit word is whole but its CRC fails. Never
    /// counted, and a storage fault.
    Damaged,
}

fn word(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0xFF; 4];
    if let Some(b) = bytes.get(at..at + 4) {
        w.copy_from_slice(b);
    }
    u32::from_le_bytes(w)
}

/// Classifies the record slot `bytes` (exactly one record long).
#[must_use]
pub fn classify(bytes: &[u8]) -> Slot<'_> {
    if bytes.iter().all(|&b| b == 0xFF) {
        return Slot::Blank;
    }
    let len = bytes.len();
    let (Some(body), Some(commit)) = (bytes.get(..len.saturating_sub(8)), len.checked_sub(4)) else {
        return Slot::Damaged;
    };
    let commit = word(bytes, commit);
    let crc_ok = word(bytes, body.len()) == crc32(body);
    let kind = body.get(4).copied().and_then(Kind::from_code);
    let payload = body.get(HEAD..).unwrap_or(&[]);
    match (commit, crc_ok, kind) {
        (VOID, _, _) => Slot::Voided,
        (COMMIT, true, Some(kind)) => {
            Slot::Finished(Entry { epoch: word(body, 0), kind, value: word(body, 8), payload })
        }
        (COMMIT, ..) => Slot::Damaged,
        _ => Slot::Torn,
    }
}

/// Writes the body of a record (everything but the commit word) into `out`, which is one
/// record long; returns the body's length. `response` fills a [`Kind::Commit`] payload, and
/// `faults` a [`Kind::Carry`] one.
pub fn encode_body<const Q: usize>(
    out: &mut [u8],
    epoch: u32,
    kind: Kind,
    value: u32,
    response: Option<&Response<'_, Q>>,
    faults: u32,
) -> usize {
    out.fill(0);
    let body = out.len().saturating_sub(4);
    let payload = body.saturating_sub(HEAD + 4);
    let mut put = |at: usize, w: u32| {
        if let Some(b) = out.get_mut(at..at + 4) {
            b.copy_from_slice(&w.to_le_bytes());
        }
    };
    put(0, epoch);
    put(8, value);
    if kind == Kind::Carry {
        put(HEAD, faults);
    }
    if let Some(b) = out.get_mut(4) {
        *b = kind.code();
    }
    if let Some(b) = out.get_mut(6..8) {
        b.copy_from_slice(&u16::try_from(payload).unwrap_or(u16::MAX).to_le_bytes());
    }
    if let (Some(r), Some(cells)) = (response, out.get_mut(HEAD..HEAD + payload)) {
        for (q, cell) in cells.iter_mut().enumerate() {
            *cell = position(r, q);
        }
    }
    let crc = crc32(out.get(..body.saturating_sub(4)).unwrap_or(&[]));
    if let Some(b) = out.get_mut(body.saturating_sub(4)..body) {
        b.copy_from_slice(&crc.to_le_bytes());
    }
    body
}

/// Question `q`'s answer as option position + 1, 0 when unanswered (or past the instrument).
fn position<const Q: usize>(response: &Response<'_, Q>, q: usize) -> u8 {
    let instrument = response.instrument();
    response
        .code(q)
        .and_then(|code| instrument.question(q)?.option_position(code))
        .and_then(|p| u8::try_from(p.checked_add(1)?).ok())
        .unwrap_or(0)
}

/// Rebuilds the response a [`Kind::Commit`] payload records into `response` (reset first).
/// `None` if the payload names an option the instrument does not have.
pub fn replay<const Q: usize>(payload: &[u8], response: &mut Response<'_, Q>) -> Option<()> {
    response.reset();
    let instrument = response.instrument();
    for (q, &p) in payload.iter().enumerate().take(instrument.questions.len()) {
        if let Some(at) = usize::from(p).checked_sub(1) {
            let code = instrument.question(q)?.options.get(at)?.code;
            response.answer(q, code).ok()?;
        }
    }
    let extra = payload.get(instrument.questions.len()..).unwrap_or(&[]);
    extra.iter().all(|&b| b == 0).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use surveybench_kernel::bundled::CMH_2024;

    fn record(kind: Kind, value: u32, response: Option<&Response<'_, 64>>) -> std::vec::Vec<u8> {
        let mut out = std::vec![0u8; record_len(&CMH_2024)];
        let body = encode_body(&mut out, 7, kind, value, response, 2);
        out[body..].copy_from_slice(&COMMIT.to_le_bytes());
        out
    }

    #[test]
    fn a_finished_record_decodes_and_replays_its_response() {
        let mut r: Response<'_, 64> = Response::new(&CMH_2024).unwrap();
        r.answer(0, CMH_2024.questions[0].options[1].code).unwrap();
        r.answer(5, CMH_2024.questions[5].options[0].code).unwrap();
        let bytes = record(Kind::Commit, 0, Some(&r));
        let Slot::Finished(e) = classify(&bytes) else { panic!("{:?}", classify(&bytes)) };
        assert_eq!((e.epoch, e.kind), (7, Kind::Commit));
        let mut back: Response<'_, 64> = Response::new(&CMH_2024).unwrap();
        replay(e.payload, &mut back).unwrap();
        for q in 0..CMH_2024.questions.len() {
            assert_eq!(back.code(q), r.code(q), "question {q}");
        }
    }

    #[test]
    fn every_single_bit_flip_of_a_finished_record_is_caught() {
        let bytes = record(Kind::Export, 41, None);
        let commit_word = bytes.len() - 4;
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            // A flip inside the commit word looks like a cut while it was programmed (torn);
            // anywhere else the CRC shows the damage.
            let want = if bit / 8 >= commit_word { Slot::Torn } else { Slot::Damaged };
            assert_eq!(classify(&b), want, "bit {bit}");
        }
    }

    #[test]
    fn blank_voided_and_torn_slots_are_told_apart() {
        let n = record_len(&CMH_2024);
        assert_eq!(classify(&std::vec![0xFF; n]), Slot::Blank);
        let mut voided = record(Kind::Rejected, 0, None);
        voided[n - 4..].fill(0);
        assert_eq!(classify(&voided), Slot::Voided);
        let mut torn = record(Kind::Rejected, 0, None);
        torn[n - 4..].fill(0xFF);
        assert_eq!(classify(&torn), Slot::Torn, "cut before the commit word");
        torn[2] ^= 0x10;
        assert_eq!(classify(&torn), Slot::Torn, "cut inside the body");
        let mut half = record(Kind::Rejected, 0, None);
        half[n - 4] = 0xFF;
        assert_eq!(classify(&half), Slot::Torn, "cut inside the commit word");
        half[3] ^= 0x01;
        assert_eq!(classify(&half), Slot::Torn, "a void cut inside the commit word of a torn record");
    }
}
