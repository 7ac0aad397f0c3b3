//! The device export: a versioned JSON document of a tally's integers (docs/formats.md).
//!
//! Integers only, no floats (float formatting and parsing would cost ~25 KB of flash). Encoding
//! writes into a caller's buffer through `serde-json-core`; [`max_encoded_len`] states the most
//! bytes an export of an instrument can take. Decoding is strict: unknown or missing fields,
//! another instrument, a wrong shape or inconsistent counts are typed errors.

mod decode;
mod encode;
pub mod signed;
mod stream;
mod syntax;

pub use decode::decode_into;
pub use encode::encode;
pub use signed::{Sealed, Signer, split, stream_signed};
pub use stream::{Sink, StreamError, stream};

use core::fmt;

use heapless::String;

use crate::instrument::Instrument;
use crate::tally::capacity;

/// The `format` field of every export.
pub const FORMAT: &str = "surveybench-tally";

/// The current export format version: signed, with `key` and `signature` (docs/formats.md §2).
pub const VERSION: u32 = 2;

/// The version of exports made before signing: no `key`, no `signature`. Still read; the host
/// counts them only when told to (`--allow-unsigned`).
pub const UNSIGNED_VERSION: u32 = 1;

/// Longest device id.
pub const DEVICE_LEN: usize = 32;
/// Longest site (trust) code.
pub const SITE_LEN: usize = 16;
/// Longest period label.
pub const PERIOD_LEN: usize = 16;
/// Longest key id.
pub const KEY_ID_LEN: usize = 16;

/// Who exported, where, for when, and the how-many-th export of that device this is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Device id, unique per kiosk.
    pub device: String<DEVICE_LEN>,
    /// Site, mapped to a trust code (e.g. `RT5`).
    pub site: String<SITE_LEN>,
    /// Survey period (e.g. `2024`).
    pub period: String<PERIOD_LEN>,
    /// Increases with every export of the device; the host keeps the highest per device.
    pub sequence: u32,
    /// Storage faults the device has detected and survived since it was first started (a
    /// damaged save it had to fall back from, so acknowledged responses may be missing). Written
    /// as `storage_faults` only when not 0, so a fault-free export reads as before
    /// (docs/formats.md).
    pub storage_faults: u32,
    /// The id of the key that signs (or signed) the export: `None` for an unsigned, version 1
    /// export. [`encode`] and [`stream`] write unsigned exports only; [`stream_signed`] writes
    /// a signed one.
    pub key: Option<String<KEY_ID_LEN>>,
}

/// Whether `s` uses only the characters header fields allow: ASCII letters, digits and
/// `- _ . : /` (so they need no escaping and the maximum length is exact).
#[must_use]
pub fn is_plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
}

impl Header {
    /// A header, checking lengths and characters (see [`is_plain`]).
    ///
    /// # Errors
    /// [`ExportError::Header`] naming the offending field.
    pub fn new(device: &str, site: &str, period: &str, sequence: u32) -> Result<Self, ExportError> {
        fn field<const N: usize>(s: &str, which: Field) -> Result<String<N>, ExportError> {
            if !is_plain(s) {
                return Err(ExportError::Header(which));
            }
            String::try_from(s).map_err(|_| ExportError::Header(which))
        }
        Ok(Self {
            device: field(device, Field::Device)?,
            site: field(site, Field::Site)?,
            period: field(period, Field::Period)?,
            sequence,
            storage_faults: 0,
            key: None,
        })
    }

    /// The same header, naming `key` as the key that signs the export.
    ///
    /// # Errors
    /// [`ExportError::Header`] (`key`) when the id is not plain or longer than [`KEY_ID_LEN`].
    pub fn signed_by(self, key: &str) -> Result<Self, ExportError> {
        if !is_plain(key) {
            return Err(ExportError::Header(Field::Key));
        }
        let key = String::try_from(key).map_err(|_| ExportError::Header(Field::Key))?;
        Ok(Self { key: Some(key), ..self })
    }
}

/// A top-level field of the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs, reason = "names are the JSON keys")]
pub enum Field {
    Format,
    Version,
    Instrument,
    InstrumentHash,
    Device,
    Site,
    Period,
    Sequence,
    StorageFaults,
    Key,
    Strata,
    Responses,
    Questions,
    Pairs,
    Signature,
}

impl Field {
    /// Every field, in the order the encoder writes them.
    pub const ALL: [Field; 15] = [
        Field::Format,
        Field::Version,
        Field::Instrument,
        Field::InstrumentHash,
        Field::Device,
        Field::Site,
        Field::Period,
        Field::Sequence,
        Field::StorageFaults,
        Field::Key,
        Field::Strata,
        Field::Responses,
        Field::Questions,
        Field::Pairs,
        Field::Signature,
    ];

    /// Whether an export may leave the field out (`storage_faults`, absent when 0).
    #[must_use]
    pub const fn optional(self) -> bool {
        matches!(self, Field::StorageFaults)
    }

    /// Whether the field belongs to signed exports only (`key`, `signature`): required in
    /// version 2, unknown in version 1.
    #[must_use]
    pub const fn signed_only(self) -> bool {
        matches!(self, Field::Key | Field::Signature)
    }

    /// The JSON key.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Field::Format => "format",
            Field::Version => "version",
            Field::Instrument => "instrument",
            Field::InstrumentHash => "instrument_hash",
            Field::Device => "device",
            Field::Site => "site",
            Field::Period => "period",
            Field::Sequence => "sequence",
            Field::StorageFaults => "storage_faults",
            Field::Key => "key",
            Field::Strata => "strata",
            Field::Responses => "responses",
            Field::Questions => "questions",
            Field::Pairs => "pairs",
            Field::Signature => "signature",
        }
    }
}

/// Where in an export a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Record {
    /// The top level or the `responses` object.
    Header,
    /// Entry `n` (0-based) of `questions`.
    Question(u16),
    /// Entry `n` (0-based) of `pairs`.
    Pair(u16),
    /// The counts row of stratum `stratum` in entry `question` of `questions` (0-based).
    Counts {
        /// Index of the question.
        question: u16,
        /// Index of the stratum.
        stratum: u16,
    },
    /// The sums row of stratum `stratum` in entry `pair` of `pairs` (0-based).
    Sums {
        /// Index of the pair.
        pair: u16,
        /// Index of the stratum.
        stratum: u16,
    },
}

/// Why an export could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ExportError {
    /// The buffer is too small; [`max_encoded_len`] says how large it must be.
    BufferTooSmall,
    /// Not well-formed JSON, or a value of the wrong JSON type, in this record.
    Syntax(Record),
    /// `format` is not [`FORMAT`].
    Format,
    /// `version` is not one this build reads.
    Version(u32),
    /// `instrument` names another instrument.
    Instrument,
    /// `instrument_hash` differs: same id, different content.
    InstrumentHash,
    /// A header field is empty, too long, or uses characters outside [`is_plain`].
    Header(Field),
    /// A required field is missing.
    Missing(Field),
    /// A field appears twice.
    Duplicate(Field),
    /// A field this format does not have.
    UnknownField(Record),
    /// A record's id, or its number of entries, does not match the instrument.
    Shape(Record),
    /// Counts contradict each other (e.g. more answers than completed responses).
    Inconsistent(Record),
    /// The tally given to decode into cannot hold this instrument, or a count overflows.
    Tally,
    /// A signed export whose `signature` is not 128 lower-case hex digits closing the
    /// document, or a header given to an unsigned encoder with a key (or to the signed one
    /// without).
    Signature,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Header => write!(f, "header"),
            Record::Question(i) => write!(f, "questions[{i}]"),
            Record::Pair(i) => write!(f, "pairs[{i}]"),
            Record::Counts { question, stratum } => write!(f, "questions[{question}].counts[{stratum}]"),
            Record::Sums { pair, stratum } => write!(f, "pairs[{pair}].sums[{stratum}]"),
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall => write!(f, "buffer too small for the export"),
            Self::Syntax(r) => write!(f, "{r}: malformed JSON or a value of the wrong type"),
            Self::Format => write!(f, "not a {FORMAT} document"),
            Self::Version(v) => write!(
                f,
                "format version {v} is not supported (this build reads {UNSIGNED_VERSION} and {VERSION})"
            ),
            Self::Instrument => write!(f, "export is for another instrument"),
            Self::InstrumentHash => {
                write!(f, "instrument content hash differs: same id, different questionnaire")
            }
            Self::Header(field) => {
                write!(f, "{}: empty, too long, or not plain ASCII", field.key())
            }
            Self::Missing(field) => write!(f, "missing field {}", field.key()),
            Self::Duplicate(field) => write!(f, "field {} given twice", field.key()),
            Self::UnknownField(r) => write!(f, "{r}: unknown field"),
            Self::Shape(r) => write!(f, "{r}: does not match the instrument (id or number of entries)"),
            Self::Inconsistent(r) => write!(f, "{r}: counts contradict each other"),
            Self::Tally => write!(f, "the tally cannot hold this export"),
            Self::Signature => write!(
                f,
                "signature: not {} hex digits as the document's last field",
                2 * signed::SIGNATURE_LEN
            ),
        }
    }
}

impl core::error::Error for ExportError {}

/// Bytes a string takes as a JSON string, quotes included, as serde-json-core escapes it.
fn json_str_len(s: &str) -> usize {
    s.bytes().fold(2usize, |n, b| {
        let w = match b {
            b'"' | b'\\' => 2,
            0..=0x1f => 6,
            _ => 1,
        };
        n.saturating_add(w)
    })
}

/// Digits of the largest u32 and u64.
const U32_DIGITS: usize = 10;
const U64_DIGITS: usize = 20;

/// The most bytes an export of `instrument` can take: every count at its maximum value and
/// every header string at its maximum length.
#[must_use]
#[allow(clippy::arithmetic_side_effects, reason = "sums of small constants; the running total saturates")]
pub fn max_encoded_len(instrument: &Instrument<'_>) -> usize {
    let strata = instrument.strata();
    let fixed = [
        FORMAT.len() + 2,
        U32_DIGITS,
        json_str_len(instrument.id),
        16 + 2,
        DEVICE_LEN + 2,
        SITE_LEN + 2,
        PERIOD_LEN + 2,
        U32_DIGITS,
        U32_DIGITS,
        KEY_ID_LEN + 2,
        U32_DIGITS,
        // {"started":N,"completed":N,"abandoned":N,"rejected":N,"by_stratum":[N,...]}
        r#"{"started":,"completed":,"abandoned":,"rejected":,"by_stratum":[]}"#.len()
            + 4 * U32_DIGITS
            + strata * (U32_DIGITS + 1),
        2,
        2,
        2 * signed::SIGNATURE_LEN + 2,
    ];
    // {"key":value,...}: per field the key, its quotes, a colon and a comma (one too many
    // commas is made up by the closing brace).
    let mut total: usize = 1;
    for (field, value) in Field::ALL.iter().zip(fixed) {
        total = total.saturating_add(field.key().len() + 4).saturating_add(value);
    }
    for q in instrument.questions {
        // {"id":"..","routed":N,"invalid":N,"multi":N,"counts":[..]},
        let head = r#"{"id":,"routed":,"invalid":,"multi":,"counts":[]},"#.len();
        let mut len = head.saturating_add(json_str_len(q.id)).saturating_add(3 * U32_DIGITS);
        if q.is_scored() {
            // strata rows of [n,n,...], comma separated
            let row = 2usize.saturating_add(q.options.len().saturating_mul(U32_DIGITS + 1));
            len = len.saturating_add(strata.saturating_mul(row + 1));
        }
        total = total.saturating_add(len);
    }
    let pair_row = 2 + 3 * (U32_DIGITS + 1) + U64_DIGITS + 1;
    for (a, b) in pair_order(instrument) {
        let (Some(qa), Some(qb)) = (instrument.question(a), instrument.question(b)) else {
            continue;
        };
        // {"a":"..","b":"..","sums":[..]},
        let head = r#"{"a":,"b":,"sums":[]},"#.len();
        let len = head
            .saturating_add(json_str_len(qa.id))
            .saturating_add(json_str_len(qb.id))
            .saturating_add(strata.saturating_mul(pair_row));
        total = total.saturating_add(len);
    }
    total
}

/// Pairs of evaluative questions of one section, in export order: section by section, then
/// (a, b) with a before b in questionnaire order.
pub(crate) fn pair_order<'a>(instrument: &'a Instrument<'a>) -> impl Iterator<Item = (usize, usize)> + 'a {
    (0..instrument.sections.len()).flat_map(move |s| {
        instrument.section_questions(s).enumerate().flat_map(move |(rank, a)| {
            instrument.section_questions(s).skip(rank.saturating_add(1)).map(move |b| (a, b))
        })
    })
}

/// Number of pairs (not pair cells) of `instrument`.
#[must_use]
pub fn pair_count(instrument: &Instrument<'_>) -> usize {
    capacity::pairs(instrument).checked_div(instrument.strata()).unwrap_or(0)
}
