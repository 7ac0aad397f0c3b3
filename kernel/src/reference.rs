//! The reference for a survey year (docs/formats.md §11): what a device needs to standardise
//! its running scores with last year's national shares and to band them against last year's
//! expected range. `surveybench reference` writes it from last year's benchmark; a kiosk reads
//! it from its own flash region, borrowing the bytes: no allocation, no copy.
//!
//! A little-endian image: a [`HEADER_LEN`]-byte header (magic, version, record length,
//! instrument hash and id, age bands, the profile's parameters), then fixed-length records
//! (scored questions in questionnaire order, then sections in report order), then a CRC-32 of
//! everything before it.

use core::fmt;

use heapless::{String, Vec};

use crate::crc::crc32;
use crate::export::is_plain;
use crate::stratum::MAX_AGE_BANDS;

/// The first bytes of an image: the format.
pub const MAGIC: [u8; 4] = *b"SBRF";
/// The format version this module reads and writes.
pub const VERSION: u16 = 1;
/// Bytes of the header.
pub const HEADER_LEN: usize = 112;
/// Longest instrument id an image holds.
pub const INSTRUMENT_ID_LEN: usize = 31;
/// Longest question or section id a record holds.
pub const ITEM_ID_LEN: usize = 15;
/// Most known strata (2 x age bands; the unknown stratum has no share).
pub const MAX_KNOWN: usize = 2 * MAX_AGE_BANDS;
/// Bytes of a record before its shares.
pub const RECORD_FIXED_LEN: usize = 40;
/// Bytes of the trailing CRC-32.
pub const CRC_LEN: usize = 4;

/// Bytes of each record for an instrument with `known` known strata.
#[must_use]
pub const fn record_len(known: usize) -> usize {
    RECORD_FIXED_LEN.saturating_add(known.saturating_mul(8))
}

/// Bytes of an image with `records` records of `known` known strata.
#[must_use]
pub const fn image_len(known: usize, records: usize) -> usize {
    HEADER_LEN.saturating_add(records.saturating_mul(record_len(known))).saturating_add(CRC_LEN)
}

/// Why an image cannot be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReferenceError {
    /// Not a reference image (wrong magic), or shorter than a header.
    Magic,
    /// A reference image of another version.
    Version(u16),
    /// Not the length its header gives (or the output buffer is too short).
    Length,
    /// The CRC does not match: the image is damaged.
    Checksum,
    /// A header field is out of range (instrument id, age bands, strata, record length,
    /// suppression threshold, or a parameter that is not a finite number in order).
    Header,
    /// Record `n` is malformed (kind, id, flags, or a number that is not finite).
    Record(u16),
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Magic => write!(f, "not a reference image"),
            Self::Version(v) => write!(f, "reference image version {v}, expected {VERSION}"),
            Self::Length => write!(f, "reference image: length does not match its header"),
            Self::Checksum => write!(f, "reference image damaged (CRC mismatch)"),
            Self::Header => write!(f, "reference image: header field out of range"),
            Self::Record(n) => write!(f, "reference image: record {n} malformed"),
        }
    }
}

impl core::error::Error for ReferenceError {}

/// The header: the instrument and the method profile's parameters a device needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The instrument's content hash; a device refuses a reference for another instrument.
    pub instrument_hash: u64,
    /// The instrument's id.
    pub instrument_id: String<INSTRUMENT_ID_LEN>,
    /// Lower bounds of the age bands (method.md §3).
    pub age_bands: Vec<u8, MAX_AGE_BANDS>,
    /// Scored-question records.
    pub questions: u16,
    /// Section records.
    pub sections: u16,
    /// Suppression threshold: fewer scored respondents gives no score (method.md §5).
    pub min_respondents: u32,
    /// Largest standardisation weight (method.md §4).
    pub weight_cap: f64,
    /// Weight of the unknown stratum (method.md §4).
    pub unknown_stratum_weight: f64,
    /// Band cuts of adjusted z (method.md §8): somewhat, clear, much.
    pub z: [f64; 3],
}

impl Header {
    /// Known strata: two per age band.
    #[must_use]
    pub fn known(&self) -> usize {
        self.age_bands.len().saturating_mul(2)
    }

    /// Records: questions, then sections.
    #[must_use]
    pub fn records(&self) -> usize {
        usize::from(self.questions).saturating_add(usize::from(self.sections))
    }
}

/// What a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    /// A scored question; `index` is its position in the instrument's questions.
    Question,
    /// A section; `index` is its position in the instrument's sections.
    Section,
}

/// Last year's national figures for one question or section.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Question or section.
    pub kind: Kind,
    /// Position in the instrument (questions or sections).
    pub index: u16,
    /// The question's or section's id.
    pub id: String<ITEM_ID_LEN>,
    /// Trusts with a score last year.
    pub trusts: u32,
    /// National average and tau^2 (method.md §7, §8); `None` when no trust had a score.
    pub national: Option<(f64, f64)>,
    /// Questions: national share of each known stratum (method.md §4), `header.known()` of
    /// them; empty for sections.
    pub shares: Vec<f64, MAX_KNOWN>,
}

/// A checked image, borrowed.
#[derive(Clone, Debug)]
pub struct Reference<'a> {
    header: Header,
    bytes: &'a [u8],
}

/// Where each header field starts.
const VERSION_AT: usize = 4;
const RECORD_LEN_AT: usize = 6;
const HASH_AT: usize = 8;
const ID_AT: usize = 16;
const BANDS_AT: usize = ID_AT + 1 + INSTRUMENT_ID_LEN;
const STRATA_AT: usize = BANDS_AT + 1 + MAX_AGE_BANDS;
const QUESTIONS_AT: usize = STRATA_AT + 1;
const SECTIONS_AT: usize = QUESTIONS_AT + 2;
const MIN_AT: usize = 64;
const CAP_AT: usize = 72;
const UNKNOWN_AT: usize = 80;
const Z_AT: usize = 88;
const _: () = assert!(SECTIONS_AT + 2 <= MIN_AT && Z_AT + 24 == HEADER_LEN);

/// Where each record field starts.
const R_INDEX_AT: usize = 2;
const R_TRUSTS_AT: usize = 4;
const R_ID_AT: usize = 8;
const R_MEAN_AT: usize = 24;
const R_TAU2_AT: usize = 32;
const _: () = assert!(R_ID_AT + 1 + ITEM_ID_LEN == R_MEAN_AT && R_TAU2_AT + 8 == RECORD_FIXED_LEN);

/// Record flag: national figures present.
const NATIONAL: u8 = 1;

impl<'a> Reference<'a> {
    /// Checks an image: magic, version, length, CRC, header and every record.
    ///
    /// # Errors
    /// The first check that fails, as a [`ReferenceError`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ReferenceError> {
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) || bytes.len() < HEADER_LEN {
            return Err(ReferenceError::Magic);
        }
        let version = u16_at(bytes, VERSION_AT).ok_or(ReferenceError::Magic)?;
        if version != VERSION {
            return Err(ReferenceError::Version(version));
        }
        let header = read_header(bytes)?;
        let known = header.known();
        let record_len = usize::from(u16_at(bytes, RECORD_LEN_AT).ok_or(ReferenceError::Header)?);
        if record_len != self::record_len(known) {
            return Err(ReferenceError::Header);
        }
        if bytes.len() != image_len(known, header.records()) {
            return Err(ReferenceError::Length);
        }
        let body = bytes.len().checked_sub(CRC_LEN).ok_or(ReferenceError::Length)?;
        let crc = u32_at(bytes, body).ok_or(ReferenceError::Length)?;
        if crc32(bytes.get(..body).ok_or(ReferenceError::Length)?) != crc {
            return Err(ReferenceError::Checksum);
        }
        let reference = Self { header, bytes };
        for i in 0..reference.header.records() {
            reference.record(i)?;
        }
        Ok(reference)
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Record `i`: questions first, then sections.
    ///
    /// # Errors
    /// [`ReferenceError::Record`] when `i` is out of range or the record malformed (never
    /// after [`Reference::parse`] succeeded, for `i` below `header().records()`).
    pub fn record(&self, i: usize) -> Result<Record, ReferenceError> {
        let n = u16::try_from(i).unwrap_or(u16::MAX);
        let bad = ReferenceError::Record(n);
        let known = self.header.known();
        let len = record_len(known);
        if i >= self.header.records() {
            return Err(bad);
        }
        let at = i.checked_mul(len).and_then(|x| x.checked_add(HEADER_LEN)).ok_or(bad)?;
        let r = self.bytes.get(at..at.checked_add(len).ok_or(bad)?).ok_or(bad)?;
        let kind = match (r.first(), i < usize::from(self.header.questions)) {
            (Some(1), true) => Kind::Question,
            (Some(2), false) => Kind::Section,
            _ => return Err(bad),
        };
        let flags = *r.get(1).ok_or(bad)?;
        if flags & !NATIONAL != 0 {
            return Err(bad);
        }
        let id = text(r, R_ID_AT, ITEM_ID_LEN).ok_or(bad)?;
        let mean = f64_at(r, R_MEAN_AT).ok_or(bad)?;
        let tau2 = f64_at(r, R_TAU2_AT).ok_or(bad)?;
        let national = (flags & NATIONAL != 0).then_some((mean, tau2));
        let absent_not_zero = national.is_none() && (mean.to_bits() != 0 || tau2.to_bits() != 0);
        if absent_not_zero || national.is_some_and(|(m, t)| !m.is_finite() || !t.is_finite() || t < 0.0) {
            return Err(bad);
        }
        let mut shares = Vec::new();
        for g in 0..known {
            let share = g.checked_mul(8).and_then(|x| x.checked_add(RECORD_FIXED_LEN)).ok_or(bad)?;
            let p = f64_at(r, share).ok_or(bad)?;
            if !(0.0..=1.0).contains(&p) || (kind == Kind::Section && p.to_bits() != 0) {
                return Err(bad);
            }
            if kind == Kind::Question {
                shares.push(p).map_err(|_| bad)?;
            }
        }
        Ok(Record {
            kind,
            index: u16_at(r, R_INDEX_AT).ok_or(bad)?,
            id,
            trusts: u32_at(r, R_TRUSTS_AT).ok_or(bad)?,
            national,
            shares,
        })
    }
}

/// Writes the image of `header` and `records` (questions, then sections, as the header
/// counts them) into `out`; returns its length, [`image_len`].
///
/// # Errors
/// [`ReferenceError::Length`] when `out` is too short or the records are not as many as the
/// header says; [`ReferenceError::Header`] or [`ReferenceError::Record`] for a value the
/// image cannot hold or [`Reference::parse`] would refuse.
pub fn encode(header: &Header, records: &[Record], out: &mut [u8]) -> Result<usize, ReferenceError> {
    let known = header.known();
    let total = image_len(known, header.records());
    if records.len() != header.records() || out.len() < total {
        return Err(ReferenceError::Length);
    }
    let image = out.get_mut(..total).ok_or(ReferenceError::Length)?;
    image.fill(0);
    let len = u16::try_from(record_len(known)).map_err(|_| ReferenceError::Header)?;
    let h = ReferenceError::Header;
    put(image, 0, &MAGIC).ok_or(h)?;
    put(image, VERSION_AT, &VERSION.to_le_bytes()).ok_or(h)?;
    put(image, RECORD_LEN_AT, &len.to_le_bytes()).ok_or(h)?;
    put(image, HASH_AT, &header.instrument_hash.to_le_bytes()).ok_or(h)?;
    put_text(image, ID_AT, &header.instrument_id).ok_or(h)?;
    let bands = u8::try_from(header.age_bands.len()).map_err(|_| h)?;
    put(image, BANDS_AT, &[bands]).ok_or(h)?;
    put(image, BANDS_AT.saturating_add(1), &header.age_bands).ok_or(h)?;
    let strata = u8::try_from(known.saturating_add(1)).map_err(|_| h)?;
    put(image, STRATA_AT, &[strata]).ok_or(h)?;
    put(image, QUESTIONS_AT, &header.questions.to_le_bytes()).ok_or(h)?;
    put(image, SECTIONS_AT, &header.sections.to_le_bytes()).ok_or(h)?;
    put(image, MIN_AT, &header.min_respondents.to_le_bytes()).ok_or(h)?;
    put(image, CAP_AT, &header.weight_cap.to_le_bytes()).ok_or(h)?;
    put(image, UNKNOWN_AT, &header.unknown_stratum_weight.to_le_bytes()).ok_or(h)?;
    for (i, z) in header.z.iter().enumerate() {
        let at = i.checked_mul(8).and_then(|x| x.checked_add(Z_AT)).ok_or(h)?;
        put(image, at, &z.to_le_bytes()).ok_or(h)?;
    }
    for (i, record) in records.iter().enumerate() {
        let bad = ReferenceError::Record(u16::try_from(i).unwrap_or(u16::MAX));
        let at = i.checked_mul(usize::from(len)).and_then(|x| x.checked_add(HEADER_LEN)).ok_or(bad)?;
        put_record(image, at, record, known).ok_or(bad)?;
    }
    let body = total.checked_sub(CRC_LEN).ok_or(ReferenceError::Length)?;
    let crc = crc32(image.get(..body).ok_or(ReferenceError::Length)?);
    put(image, body, &crc.to_le_bytes()).ok_or(ReferenceError::Length)?;
    // The reader's checks are the writer's: what it would refuse is never written.
    Reference::parse(image)?;
    Ok(total)
}

fn put_record(image: &mut [u8], at: usize, r: &Record, known: usize) -> Option<()> {
    let kind = match r.kind {
        Kind::Question => 1u8,
        Kind::Section => 2,
    };
    let shares = if r.kind == Kind::Question { known } else { 0 };
    if r.shares.len() != shares {
        return None;
    }
    let (mean, tau2) = r.national.unwrap_or((0.0, 0.0));
    put(image, at, &[kind, u8::from(r.national.is_some())])?;
    put(image, at.checked_add(R_INDEX_AT)?, &r.index.to_le_bytes())?;
    put(image, at.checked_add(R_TRUSTS_AT)?, &r.trusts.to_le_bytes())?;
    put_text(image, at.checked_add(R_ID_AT)?, &r.id)?;
    put(image, at.checked_add(R_MEAN_AT)?, &mean.to_le_bytes())?;
    put(image, at.checked_add(R_TAU2_AT)?, &tau2.to_le_bytes())?;
    for (g, p) in r.shares.iter().enumerate() {
        let share = at.checked_add(RECORD_FIXED_LEN)?.checked_add(g.checked_mul(8)?)?;
        put(image, share, &p.to_le_bytes())?;
    }
    Some(())
}

fn read_header(bytes: &[u8]) -> Result<Header, ReferenceError> {
    let h = ReferenceError::Header;
    let instrument_id = text(bytes, ID_AT, INSTRUMENT_ID_LEN).ok_or(h)?;
    let bands = usize::from(*bytes.get(BANDS_AT).ok_or(h)?);
    if bands == 0 || bands > MAX_AGE_BANDS {
        return Err(h);
    }
    let first = BANDS_AT.saturating_add(1);
    let age_bands =
        Vec::from_slice(bytes.get(first..first.saturating_add(bands)).ok_or(h)?).map_err(|_| h)?;
    if age_bands.windows(2).any(|w| w.first() >= w.last()) {
        return Err(h);
    }
    let padding = bytes.get(first.saturating_add(bands)..STRATA_AT).ok_or(h)?;
    let reserved =
        [bytes.get(SECTIONS_AT.saturating_add(2)..MIN_AT), bytes.get(MIN_AT.saturating_add(4)..CAP_AT)];
    let zero = |b: &[u8]| b.iter().all(|&x| x == 0);
    if !zero(padding) || !reserved.iter().all(|r| r.is_some_and(zero)) {
        return Err(h);
    }
    let strata = usize::from(*bytes.get(STRATA_AT).ok_or(h)?);
    if strata != bands.saturating_mul(2).saturating_add(1) {
        return Err(h);
    }
    let f = |at| f64_at(bytes, at).filter(|x| x.is_finite()).ok_or(h);
    let z = [f(Z_AT)?, f(Z_AT.saturating_add(8))?, f(Z_AT.saturating_add(16))?];
    let header = Header {
        instrument_hash: u64::from_le_bytes(array(bytes, HASH_AT).ok_or(h)?),
        instrument_id,
        age_bands,
        questions: u16_at(bytes, QUESTIONS_AT).ok_or(h)?,
        sections: u16_at(bytes, SECTIONS_AT).ok_or(h)?,
        min_respondents: u32_at(bytes, MIN_AT).ok_or(h)?,
        weight_cap: f(CAP_AT)?,
        unknown_stratum_weight: f(UNKNOWN_AT)?,
        z,
    };
    let [somewhat, clear, much] = z;
    let ordered = 0.0 < somewhat && somewhat < clear && clear < much;
    if !ordered
        || header.min_respondents < 2
        || header.weight_cap < 1.0
        || header.unknown_stratum_weight <= 0.0
    {
        return Err(h);
    }
    Ok(header)
}

/// The text in the slot at `at`: a length byte (1 to `cap`), then that many plain characters
/// of a zero-padded `cap`-byte slot.
fn text<const N: usize>(bytes: &[u8], at: usize, cap: usize) -> Option<String<N>> {
    let len = usize::from(*bytes.get(at)?);
    if len == 0 || len > cap {
        return None;
    }
    let start = at.checked_add(1)?;
    let slot = bytes.get(start..start.checked_add(cap)?)?;
    let (value, padding) = slot.split_at_checked(len)?;
    let value = core::str::from_utf8(value).ok()?;
    if !is_plain(value) || padding.iter().any(|&b| b != 0) {
        return None;
    }
    String::try_from(value).ok()
}

fn put_text(image: &mut [u8], at: usize, value: &str) -> Option<()> {
    if !is_plain(value) {
        return None;
    }
    put(image, at, &[u8::try_from(value.len()).ok()?])?;
    put(image, at.checked_add(1)?, value.as_bytes())
}

/// Copies `bytes` into `image` at `at`; `None` when they do not fit.
fn put(image: &mut [u8], at: usize, bytes: &[u8]) -> Option<()> {
    image.get_mut(at..at.checked_add(bytes.len())?)?.copy_from_slice(bytes);
    Some(())
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_le_bytes)
}

fn f64_at(bytes: &[u8], at: usize) -> Option<f64> {
    array(bytes, at).map(f64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> (Header, [Record; 2]) {
        let header = Header {
            instrument_hash: 0x48b1_bd00_fbfa_879a,
            instrument_id: String::try_from("fft").unwrap(),
            age_bands: Vec::from_slice(&[16, 36, 51, 66]).unwrap(),
            questions: 1,
            sections: 1,
            min_respondents: 30,
            weight_cap: 5.0,
            unknown_stratum_weight: 1.0,
            z: [1.645, 1.96, 2.576],
        };
        let question = Record {
            kind: Kind::Question,
            index: 0,
            id: String::try_from("FFT").unwrap(),
            trusts: 53,
            national: Some((8.25, 0.0625)),
            shares: Vec::from_slice(&[0.125; 8]).unwrap(),
        };
        let section = Record {
            kind: Kind::Section,
            index: 0,
            id: String::try_from("S1").unwrap(),
            trusts: 0,
            national: None,
            shares: Vec::new(),
        };
        (header, [question, section])
    }

    fn image() -> std::vec::Vec<u8> {
        let (header, records) = example();
        let mut out = std::vec![0u8; 1024];
        let n = encode(&header, &records, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn an_image_round_trips_and_has_the_documented_length() {
        let bytes = image();
        // 112 header + 2 records x (40 + 8 x 8) + 4 CRC (docs/formats.md §11).
        assert_eq!(bytes.len(), 112 + 2 * 104 + 4);
        assert_eq!(&bytes[..4], b"SBRF");
        assert_eq!(&bytes[4..6], &[1, 0], "version 1, little-endian");
        let r = Reference::parse(&bytes).unwrap();
        let (header, records) = example();
        assert_eq!(r.header(), &header);
        assert_eq!(r.record(0).unwrap(), records[0]);
        assert_eq!(r.record(1).unwrap(), records[1]);
        assert_eq!(r.record(2), Err(ReferenceError::Record(2)));
        // The mean of record 0 sits at 112 + 24 as an f64.
        assert_eq!(&bytes[136..144], &8.25f64.to_le_bytes());
    }

    #[test]
    fn damage_another_version_or_a_short_image_is_refused() {
        let bytes = image();
        let mut flipped = bytes.clone();
        flipped[150] ^= 1;
        assert_eq!(Reference::parse(&flipped).unwrap_err(), ReferenceError::Checksum);
        let mut v2 = bytes.clone();
        v2[4] = 2;
        assert_eq!(Reference::parse(&v2).unwrap_err(), ReferenceError::Version(2));
        assert_eq!(Reference::parse(&bytes[..bytes.len() - 1]).unwrap_err(), ReferenceError::Length);
        assert_eq!(Reference::parse(&bytes[..40]).unwrap_err(), ReferenceError::Magic);
        assert_eq!(Reference::parse(b"SBPROV01").unwrap_err(), ReferenceError::Magic);
        assert_eq!(Reference::parse(&[0xFF; 400]).unwrap_err(), ReferenceError::Magic);
    }

    /// Every byte has one meaning: reserved bytes and absent figures must be zero, so an image
    /// the reader accepts is the one the writer would write (the fuzz target checks this).
    #[test]
    fn reserved_bytes_and_absent_figures_must_be_zero() {
        let bytes = image();
        let reseal = |mut b: std::vec::Vec<u8>| {
            let body = b.len() - 4;
            let crc = crc32(&b[..body]);
            b[body..].copy_from_slice(&crc.to_le_bytes());
            b
        };
        for at in [62, 70, 55] {
            let mut b = bytes.clone();
            b[at] = 1;
            assert_eq!(Reference::parse(&reseal(b)).unwrap_err(), ReferenceError::Header, "byte {at}");
        }
        let mut b = bytes.clone();
        b[112 + 104 + 24] = 1; // the section's mean, without national figures
        assert_eq!(Reference::parse(&reseal(b)).unwrap_err(), ReferenceError::Record(1));
        assert!(Reference::parse(&reseal(bytes)).is_ok());
    }

    #[test]
    fn values_the_reader_would_refuse_are_not_written() {
        let (header, mut records) = example();
        let mut out = [0u8; 1024];
        records[0].national = Some((f64::NAN, 0.0));
        assert_eq!(encode(&header, &records, &mut out), Err(ReferenceError::Record(0)));
        let (header, records) = example();
        assert_eq!(encode(&header, &records[..1], &mut out), Err(ReferenceError::Length));
        assert_eq!(encode(&header, &records, &mut out[..100]), Err(ReferenceError::Length));
    }
}
