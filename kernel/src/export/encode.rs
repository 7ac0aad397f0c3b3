//! Encoding a tally as an export, straight from the tally into the caller's buffer.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{ExportError, FORMAT, Field, Header, UNSIGNED_VERSION, VERSION};
use crate::tally::{PairWalk, Tally};

/// Writes the unsigned (version 1) export of `tally` with `header` into `buf` and returns its
/// length. Signed exports are written by [`super::stream_signed`].
///
/// # Errors
/// [`ExportError::BufferTooSmall`] (size `buf` with [`super::max_encoded_len`]),
/// [`ExportError::Header`] for a header field that is not plain, or
/// [`ExportError::Signature`] for a header with a key (it would promise a signature).
pub fn encode<const Q: usize, const C: usize, const P: usize>(
    tally: &Tally<'_, Q, C, P>,
    header: &Header,
    buf: &mut [u8],
) -> Result<usize, ExportError> {
    check_header(header)?;
    if header.key.is_some() {
        return Err(ExportError::Signature);
    }
    serde_json_core::to_slice(&Document { tally, header }, buf).map_err(|_| ExportError::BufferTooSmall)
}

/// Checks header fields set directly (not through `Header::new`): escaping would break the
/// maximum length a buffer was sized by.
pub(super) fn check_header(header: &Header) -> Result<(), ExportError> {
    let fields = [
        (header.device.as_str(), Field::Device),
        (header.site.as_str(), Field::Site),
        (header.period.as_str(), Field::Period),
        (header.key.as_ref().map_or("-", |k| k.as_str()), Field::Key),
    ];
    match fields.iter().find(|(s, _)| !super::is_plain(s)) {
        Some((_, field)) => Err(ExportError::Header(*field)),
        None => Ok(()),
    }
}

/// The export document: the one `Serialize` implementation both encoders use.
pub(super) struct Document<'t, 'i, const Q: usize, const C: usize, const P: usize> {
    pub(super) tally: &'t Tally<'i, Q, C, P>,
    pub(super) header: &'t Header,
}

/// A 64-bit hash as 16 lower-case hex digits (JSON numbers above 2^53 lose precision).
struct Hex(u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut digits = [b'0'; 16];
        for (i, d) in digits.iter_mut().enumerate() {
            let shift = 60usize.saturating_sub(i.saturating_mul(4));
            let nibble = (self.0 >> shift) & 0xf;
            *d = b"0123456789abcdef".get(usize::try_from(nibble).unwrap_or(0)).copied().unwrap_or(b'0');
        }
        s.serialize_str(core::str::from_utf8(&digits).unwrap_or("0000000000000000"))
    }
}

impl<const Q: usize, const C: usize, const P: usize> Serialize for Document<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, h) = (self.tally, self.header);
        let instrument = t.instrument();
        let mut map = s.serialize_map(Some(Field::ALL.len()))?;
        map.serialize_entry(Field::Format.key(), FORMAT)?;
        let version = if h.key.is_some() { VERSION } else { UNSIGNED_VERSION };
        map.serialize_entry(Field::Version.key(), &version)?;
        map.serialize_entry(Field::Instrument.key(), instrument.id)?;
        map.serialize_entry(Field::InstrumentHash.key(), &Hex(t.instrument_hash()))?;
        map.serialize_entry(Field::Device.key(), h.device.as_str())?;
        map.serialize_entry(Field::Site.key(), h.site.as_str())?;
        map.serialize_entry(Field::Period.key(), h.period.as_str())?;
        map.serialize_entry(Field::Sequence.key(), &h.sequence)?;
        if h.storage_faults != 0 {
            map.serialize_entry(Field::StorageFaults.key(), &h.storage_faults)?;
        }
        if let Some(key) = &h.key {
            map.serialize_entry(Field::Key.key(), key.as_str())?;
        }
        map.serialize_entry(Field::Strata.key(), &t.strata())?;
        map.serialize_entry(Field::Responses.key(), &Responses(t))?;
        map.serialize_entry(Field::Questions.key(), &Questions(t))?;
        map.serialize_entry(Field::Pairs.key(), &Pairs(t))?;
        map.end()
    }
}

struct Responses<'t, 'i, const Q: usize, const C: usize, const P: usize>(&'t Tally<'i, Q, C, P>);

impl<const Q: usize, const C: usize, const P: usize> Serialize for Responses<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0.counters();
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("started", &c.started)?;
        map.serialize_entry("completed", &c.completed)?;
        map.serialize_entry("abandoned", &c.abandoned)?;
        map.serialize_entry("rejected", &c.rejected)?;
        map.serialize_entry("by_stratum", &ByStratum(self.0))?;
        map.end()
    }
}

/// Completed responses per stratum.
struct ByStratum<'t, 'i, const Q: usize, const C: usize, const P: usize>(&'t Tally<'i, Q, C, P>);

impl<const Q: usize, const C: usize, const P: usize> Serialize for ByStratum<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut seq = s.serialize_seq(Some(t.strata()))?;
        for g in 0..t.strata() {
            seq.serialize_element(&t.respondents(g))?;
        }
        seq.end()
    }
}

struct Questions<'t, 'i, const Q: usize, const C: usize, const P: usize>(&'t Tally<'i, Q, C, P>);

impl<const Q: usize, const C: usize, const P: usize> Serialize for Questions<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let questions = t.instrument().questions;
        let mut seq = s.serialize_seq(Some(questions.len()))?;
        for index in 0..questions.len() {
            seq.serialize_element(&QuestionEntry { t, index })?;
        }
        seq.end()
    }
}

struct QuestionEntry<'t, 'i, const Q: usize, const C: usize, const P: usize> {
    t: &'t Tally<'i, Q, C, P>,
    index: usize,
}

impl<const Q: usize, const C: usize, const P: usize> Serialize for QuestionEntry<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, i) = (self.t, self.index);
        let id = t.instrument().question(i).map_or("", |q| q.id);
        let cleaned = t.cleaned(i);
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("id", id)?;
        map.serialize_entry("routed", &cleaned.routed)?;
        map.serialize_entry("invalid", &cleaned.invalid)?;
        map.serialize_entry("multi", &cleaned.multi)?;
        map.serialize_entry("counts", &Rows { t, index: i })?;
        map.end()
    }
}

/// Per stratum, the option counts of one question (empty for questions that are not scored).
struct Rows<'t, 'i, const Q: usize, const C: usize, const P: usize> {
    t: &'t Tally<'i, Q, C, P>,
    index: usize,
}

impl<const Q: usize, const C: usize, const P: usize> Serialize for Rows<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, i) = (self.t, self.index);
        let scored = t.instrument().question(i).is_some_and(|q| q.is_scored());
        let rows = if scored { t.strata() } else { 0 };
        let mut seq = s.serialize_seq(Some(rows))?;
        for g in 0..rows {
            seq.serialize_element(t.counts(i, g))?;
        }
        seq.end()
    }
}

struct Pairs<'t, 'i, const Q: usize, const C: usize, const P: usize>(&'t Tally<'i, Q, C, P>);

impl<const Q: usize, const C: usize, const P: usize> Serialize for Pairs<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut seq = s.serialize_seq(None)?;
        let mut walk = PairWalk::default();
        while let Some((a, b)) = walk.next(t) {
            seq.serialize_element(&PairEntry { t, a, b })?;
        }
        seq.end()
    }
}

struct PairEntry<'t, 'i, const Q: usize, const C: usize, const P: usize> {
    t: &'t Tally<'i, Q, C, P>,
    a: usize,
    b: usize,
}

impl<const Q: usize, const C: usize, const P: usize> Serialize for PairEntry<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, a, b) = (self.t, self.a, self.b);
        let id = |i| t.instrument().question(i).map_or("", |q| q.id);
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("a", id(a))?;
        map.serialize_entry("b", id(b))?;
        map.serialize_entry("sums", &PairRows { t, a, b })?;
        map.end()
    }
}

struct PairRows<'t, 'i, const Q: usize, const C: usize, const P: usize> {
    t: &'t Tally<'i, Q, C, P>,
    a: usize,
    b: usize,
}

impl<const Q: usize, const C: usize, const P: usize> Serialize for PairRows<'_, '_, Q, C, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.t;
        let mut seq = s.serialize_seq(Some(t.strata()))?;
        for g in 0..t.strata() {
            let p = t.pair(self.a, self.b, g).unwrap_or_default();
            seq.serialize_element(&(p.m, p.sum_k, p.sum_l, p.sum_kl))?;
        }
        seq.end()
    }
}
