//! Strict decoding of an export straight into a tally, with typed errors.
//!
//! serde's visitors report errors through the deserializer's own error type, which carries no
//! detail in `no_std`; the decoder therefore keeps the typed [`ExportError`] (and the record it
//! was reading) in its state and returns that.

use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json_core::de::Deserializer;

use super::{ExportError, FORMAT, Field, Header, Record, UNSIGNED_VERSION, VERSION};
use crate::tally::{Counters, PairWalk, Tally};

/// Decodes the export in `bytes` into `tally`, which is cleared first and must have been made
/// for the export's instrument. Returns the export's header.
///
/// On error the tally is left empty (so every tally stays consistent, which commit relies on):
/// decode into a scratch tally and merge it into stored data only on success, so nothing
/// stored is lost or double-counted.
///
/// # Errors
/// See [`ExportError`]: malformed JSON, another instrument or content hash, a missing, repeated
/// or unknown field, a record that does not match the instrument, or inconsistent counts.
pub fn decode_into<const Q: usize, const C: usize, const P: usize>(
    bytes: &[u8],
    tally: &mut Tally<'_, Q, C, P>,
) -> Result<Header, ExportError> {
    let decoded = decode_filled(bytes, tally);
    if decoded.is_err() {
        tally.clear();
    }
    decoded
}

fn decode_filled<const Q: usize, const C: usize, const P: usize>(
    bytes: &[u8],
    tally: &mut Tally<'_, Q, C, P>,
) -> Result<Header, ExportError> {
    tally.clear();
    super::syntax::check(bytes).map_err(ExportError::Syntax)?;
    let mut state = State {
        tally,
        error: None,
        record: Record::Header,
        seen: [false; Field::ALL.len()],
        header: Raw::default(),
    };
    let mut de = Deserializer::new(bytes, None);
    let parsed = DocumentSeed(&mut state).deserialize(&mut de).and_then(|()| de.end());
    if parsed.is_err() {
        return Err(state.error.unwrap_or(ExportError::Syntax(state.record)));
    }
    let signed = state.header.version == VERSION;
    for (field, seen) in Field::ALL.iter().zip(state.seen) {
        if field.signed_only() && seen && !signed {
            return Err(ExportError::UnknownField(Record::Header));
        }
        if !seen && !field.optional() && (signed || !field.signed_only()) {
            return Err(ExportError::Missing(*field));
        }
    }
    state.tally.check_consistency().map_err(ExportError::Inconsistent)?;
    let h = &state.header;
    let mut header = Header::new(h.device, h.site, h.period, h.sequence)?;
    header.storage_faults = h.storage_faults;
    if signed {
        header = header.signed_by(h.key)?;
        super::signed::split(bytes.trim_ascii())?;
    }
    Ok(header)
}

#[derive(Default)]
struct Raw<'de> {
    device: &'de str,
    site: &'de str,
    period: &'de str,
    sequence: u32,
    storage_faults: u32,
    version: u32,
    key: &'de str,
}

struct State<'s, 'i, 'de, const Q: usize, const C: usize, const P: usize> {
    tally: &'s mut Tally<'i, Q, C, P>,
    error: Option<ExportError>,
    record: Record,
    seen: [bool; Field::ALL.len()],
    header: Raw<'de>,
}

/// Records `error` and aborts the parse.
fn fail<T, E: de::Error>(slot: &mut Option<ExportError>, error: ExportError) -> Result<T, E> {
    *slot = Some(error);
    Err(E::custom(""))
}

fn index16(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

struct DocumentSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize>(
    &'a mut State<'s, 'i, 'de, Q, C, P>,
);

impl<'de, const Q: usize, const C: usize, const P: usize> DeserializeSeed<'de>
    for DocumentSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for DocumentSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an export object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let s = self.0;
        while let Some(key) = map.next_key::<&str>()? {
            s.record = Record::Header;
            let Some(i) = Field::ALL.iter().position(|f| f.key() == key) else {
                return fail(&mut s.error, ExportError::UnknownField(Record::Header));
            };
            let (Some(&field), Some(seen)) = (Field::ALL.get(i), s.seen.get_mut(i)) else {
                return fail(&mut s.error, ExportError::UnknownField(Record::Header));
            };
            if core::mem::replace(seen, true) {
                return fail(&mut s.error, ExportError::Duplicate(field));
            }
            read_field(s, field, &mut map)?;
        }
        Ok(())
    }
}

fn read_field<'de, A: MapAccess<'de>, const Q: usize, const C: usize, const P: usize>(
    s: &mut State<'_, '_, 'de, Q, C, P>,
    field: Field,
    map: &mut A,
) -> Result<(), A::Error> {
    let instrument = s.tally.instrument();
    match field {
        Field::Format => {
            if map.next_value::<&str>()? != FORMAT {
                return fail(&mut s.error, ExportError::Format);
            }
        }
        Field::Version => {
            let v = map.next_value::<u32>()?;
            if v != VERSION && v != UNSIGNED_VERSION {
                return fail(&mut s.error, ExportError::Version(v));
            }
            s.header.version = v;
        }
        Field::Instrument => {
            if map.next_value::<&str>()? != instrument.id {
                return fail(&mut s.error, ExportError::Instrument);
            }
        }
        Field::InstrumentHash => {
            let hex = map.next_value::<&str>()?;
            if u64::from_str_radix(hex, 16).ok() != Some(s.tally.instrument_hash()) || hex.len() != 16 {
                return fail(&mut s.error, ExportError::InstrumentHash);
            }
        }
        Field::Device => s.header.device = map.next_value()?,
        Field::Site => s.header.site = map.next_value()?,
        Field::Period => s.header.period = map.next_value()?,
        Field::Sequence => s.header.sequence = map.next_value()?,
        Field::StorageFaults => s.header.storage_faults = map.next_value()?,
        Field::Key => s.header.key = map.next_value()?,
        // Its digits and place are checked by `signed::split` once the version is known.
        Field::Signature => {
            map.next_value::<&str>()?;
        }
        Field::Strata => {
            if map.next_value::<usize>()? != s.tally.strata() {
                return fail(&mut s.error, ExportError::Shape(Record::Header));
            }
        }
        Field::Responses => map.next_value_seed(ResponsesSeed(s))?,
        Field::Questions => map.next_value_seed(QuestionsSeed(s))?,
        Field::Pairs => map.next_value_seed(PairsSeed(s))?,
    }
    Ok(())
}

/// Implements `DeserializeSeed` for a visitor-seed type by asking for `$how`.
macro_rules! seed {
    ($name:ident, $how:ident) => {
        impl<'de, const Q: usize, const C: usize, const P: usize> DeserializeSeed<'de>
            for $name<'_, '_, '_, 'de, Q, C, P>
        {
            type Value = ();
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.$how(self)
            }
        }
    };
}

struct ResponsesSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize>(
    &'a mut State<'s, 'i, 'de, Q, C, P>,
);
seed!(ResponsesSeed, deserialize_map);

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for ResponsesSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response counters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const KEYS: [&str; 4] = ["started", "completed", "abandoned", "rejected"];
        let s = self.0;
        let mut values: [Option<u32>; 4] = [None; 4];
        let mut by_stratum = false;
        while let Some(key) = map.next_key::<&str>()? {
            if key == "by_stratum" {
                if core::mem::replace(&mut by_stratum, true) {
                    return fail(&mut s.error, ExportError::Duplicate(Field::Responses));
                }
                let rows: heapless::Vec<u32, { crate::stratum::MAX_STRATA }> = map.next_value()?;
                if rows.len() != s.tally.strata() {
                    return fail(&mut s.error, ExportError::Shape(Record::Header));
                }
                for (g, &n) in rows.iter().enumerate() {
                    if let Some(cell) = s.tally.respondents_mut(g) {
                        *cell = n;
                    }
                }
                continue;
            }
            let Some(slot) = KEYS.iter().position(|k| *k == key).and_then(|i| values.get_mut(i)) else {
                return fail(&mut s.error, ExportError::UnknownField(Record::Header));
            };
            if slot.replace(map.next_value::<u32>()?).is_some() {
                return fail(&mut s.error, ExportError::Duplicate(Field::Responses));
            }
        }
        let ([Some(started), Some(completed), Some(abandoned), Some(rejected)], true) = (values, by_stratum)
        else {
            return fail(&mut s.error, ExportError::Missing(Field::Responses));
        };
        *s.tally.counters_mut() = Counters { started, completed, abandoned, rejected };
        Ok(())
    }
}

struct QuestionsSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize>(
    &'a mut State<'s, 'i, 'de, Q, C, P>,
);
seed!(QuestionsSeed, deserialize_seq);

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for QuestionsSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of questions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let s = self.0;
        let n = s.tally.instrument().questions.len();
        let mut index = 0usize;
        loop {
            s.record = Record::Question(index16(index));
            if seq.next_element_seed(QuestionSeed { s: &mut *s, index })?.is_none() {
                break;
            }
            index = index.saturating_add(1);
        }
        if index != n {
            return fail(&mut s.error, ExportError::Shape(Record::Question(index16(index))));
        }
        s.record = Record::Header;
        Ok(())
    }
}

struct QuestionSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize> {
    s: &'a mut State<'s, 'i, 'de, Q, C, P>,
    index: usize,
}

impl<'de, const Q: usize, const C: usize, const P: usize> DeserializeSeed<'de>
    for QuestionSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.index >= self.s.tally.instrument().questions.len() {
            return fail(&mut self.s.error, ExportError::Shape(self.s.record));
        }
        d.deserialize_map(self)
    }
}

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for QuestionSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a question object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const KEYS: [&str; 5] = ["id", "routed", "invalid", "multi", "counts"];
        let (s, i) = (self.s, self.index);
        let record = s.record;
        let mut seen = [false; 5];
        while let Some(key) = map.next_key::<&str>()? {
            let Some(k) = KEYS.iter().position(|x| *x == key) else {
                return fail(&mut s.error, ExportError::UnknownField(record));
            };
            if seen.get_mut(k).is_some_and(|seen| core::mem::replace(seen, true)) {
                return fail(&mut s.error, ExportError::Shape(record));
            }
            let instrument = s.tally.instrument();
            match k {
                0 => {
                    let id = map.next_value::<&str>()?;
                    if instrument.question(i).is_none_or(|q| q.id != id) {
                        return fail(&mut s.error, ExportError::Shape(record));
                    }
                }
                4 => map.next_value_seed(RowsSeed { s: &mut *s, index: i })?,
                _ => {
                    let v = map.next_value::<u32>()?;
                    if let Some(c) = s.tally.cleaned_mut(i) {
                        *[&mut c.routed, &mut c.invalid, &mut c.multi]
                            .into_iter()
                            .nth(k.saturating_sub(1))
                            .unwrap_or(&mut 0) = v;
                    }
                }
            }
        }
        if seen.contains(&false) {
            return fail(&mut s.error, ExportError::Shape(record));
        }
        Ok(())
    }
}

struct RowsSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize> {
    s: &'a mut State<'s, 'i, 'de, Q, C, P>,
    index: usize,
}
seed!(RowsSeed, deserialize_seq);

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for RowsSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("per-stratum option counts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (s, i) = (self.s, self.index);
        let record = s.record;
        let scored = s.tally.instrument().question(i).is_some_and(|q| q.is_scored());
        let rows = if scored { s.tally.strata() } else { 0 };
        let mut g = 0usize;
        while let Some(row) = seq.next_element::<heapless::Vec<u32, { crate::instrument::MAX_OPTIONS }>>()? {
            let Some(cells) = s.tally.counts_mut(i, g) else {
                return fail(&mut s.error, ExportError::Shape(record));
            };
            if cells.len() != row.len() {
                return fail(&mut s.error, ExportError::Shape(record));
            }
            cells.copy_from_slice(&row);
            g = g.saturating_add(1);
        }
        if g != rows {
            return fail(&mut s.error, ExportError::Shape(record));
        }
        Ok(())
    }
}

struct PairsSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize>(
    &'a mut State<'s, 'i, 'de, Q, C, P>,
);
seed!(PairsSeed, deserialize_seq);

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for PairsSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of question pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let s = self.0;
        let mut walk = PairWalk::default();
        let mut index = 0usize;
        loop {
            s.record = Record::Pair(index16(index));
            let next = walk.next(s.tally);
            if seq.next_element_seed(PairSeed { s: &mut *s, pair: next })?.is_none() {
                if next.is_some() {
                    return fail(&mut s.error, ExportError::Shape(s.record));
                }
                s.record = Record::Header;
                return Ok(());
            }
            index = index.saturating_add(1);
        }
    }
}

struct PairSeed<'a, 's, 'i, 'de, const Q: usize, const C: usize, const P: usize> {
    s: &'a mut State<'s, 'i, 'de, Q, C, P>,
    pair: Option<(usize, usize)>,
}

impl<'de, const Q: usize, const C: usize, const P: usize> DeserializeSeed<'de>
    for PairSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.pair.is_none() {
            return fail(&mut self.s.error, ExportError::Shape(self.s.record));
        }
        d.deserialize_map(self)
    }
}

impl<'de, const Q: usize, const C: usize, const P: usize> Visitor<'de>
    for PairSeed<'_, '_, '_, 'de, Q, C, P>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a question pair object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const KEYS: [&str; 3] = ["a", "b", "sums"];
        let s = self.s;
        let record = s.record;
        let Some((a, b)) = self.pair else {
            return fail(&mut s.error, ExportError::Shape(record));
        };
        let mut seen = [false; 3];
        while let Some(key) = map.next_key::<&str>()? {
            let Some(k) = KEYS.iter().position(|x| *x == key) else {
                return fail(&mut s.error, ExportError::UnknownField(record));
            };
            if seen.get_mut(k).is_some_and(|seen| core::mem::replace(seen, true)) {
                return fail(&mut s.error, ExportError::Shape(record));
            }
            let instrument = s.tally.instrument();
            match k {
                0 | 1 => {
                    let id = map.next_value::<&str>()?;
                    let want = if k == 0 { a } else { b };
                    if instrument.question(want).is_none_or(|q| q.id != id) {
                        return fail(&mut s.error, ExportError::Shape(record));
                    }
                }
                _ => {
                    let strata = s.tally.strata();
                    let rows: heapless::Vec<(u32, u32, u32, u64), { crate::stratum::MAX_STRATA }> =
                        map.next_value()?;
                    if rows.len() != strata {
                        return fail(&mut s.error, ExportError::Shape(record));
                    }
                    for (g, &(m, sum_k, sum_l, sum_kl)) in rows.iter().enumerate() {
                        let Some(cell) = s.tally.pair_mut(a, b, g) else {
                            return fail(&mut s.error, ExportError::Shape(record));
                        };
                        *cell = crate::tally::PairSums { m, sum_k, sum_l, sum_kl };
                    }
                }
            }
        }
        if seen.contains(&false) {
            return fail(&mut s.error, ExportError::Shape(record));
        }
        Ok(())
    }
}
