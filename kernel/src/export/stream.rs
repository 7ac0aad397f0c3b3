//! Streaming the export to a byte sink, for devices with less RAM than an export's maximum
//! length (46 KB for `cmh-2024`). The same `Serialize` implementations as [`super::encode`]
//! drive it, through a minimal JSON serializer that writes exactly what serde-json-core writes
//! (a test checks the two byte for byte), so the format is defined once.

use core::fmt;

use serde::ser::{self, Serialize};

use super::ExportError;
use super::Header;
use super::encode::{Document, check_header};
use crate::tally::Tally;

/// Where streamed bytes go: a UART, semihosting, a flash page writer, a host `Vec`.
pub trait Sink {
    /// The sink's error.
    type Error;
    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// The sink could not take them; what was written is then an incomplete document.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// A growing byte buffer (with feature `std`): the host's sink.
#[cfg(feature = "std")]
impl Sink for std::vec::Vec<u8> {
    type Error = core::convert::Infallible;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Why a stream failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError<E> {
    /// The sink failed.
    Sink(E),
    /// The header or the data cannot be exported (see [`ExportError`]).
    Export(ExportError),
}

/// Writes the unsigned export of `tally` with `header` to `sink`, byte for byte what
/// [`super::encode`] writes.
///
/// # Errors
/// The sink's error, [`ExportError::Header`] for a header field that is not plain, or
/// [`ExportError::Signature`] for a header with a key (use [`super::stream_signed`]).
pub fn stream<S: Sink, const Q: usize, const C: usize, const P: usize>(
    tally: &Tally<'_, Q, C, P>,
    header: &Header,
    sink: &mut S,
) -> Result<(), StreamError<S::Error>> {
    if header.key.is_some() {
        return Err(StreamError::Export(ExportError::Signature));
    }
    document(tally, header, sink)
}

/// Writes the export document of `tally` with `header`, signed or not as the header says
/// (without the signature itself, which [`super::stream_signed`] adds).
pub(super) fn document<S: Sink, const Q: usize, const C: usize, const P: usize>(
    tally: &Tally<'_, Q, C, P>,
    header: &Header,
    sink: &mut S,
) -> Result<(), StreamError<S::Error>> {
    check_header(header).map_err(StreamError::Export)?;
    let mut out = Json { sink, error: None };
    let document = Document { tally, header };
    match document.serialize(&mut out) {
        Ok(()) => Ok(()),
        Err(_) => Err(out.error.map_or(StreamError::Export(ExportError::BufferTooSmall), StreamError::Sink)),
    }
}

/// The serializer: a sink and the first error it returned.
struct Json<'s, S: Sink> {
    sink: &'s mut S,
    error: Option<S::Error>,
}

/// The serializer's own error: the sink failed (its error is kept in [`Json`]) or a value of a
/// kind the export never contains was given.
#[derive(Debug)]
struct Fault;

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("export stream failed")
    }
}

impl core::error::Error for Fault {}

impl ser::Error for Fault {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Fault
    }
}

impl<S: Sink> Json<'_, S> {
    fn bytes(&mut self, b: &[u8]) -> Result<(), Fault> {
        self.sink.write_all(b).map_err(|e| {
            self.error = Some(e);
            Fault
        })
    }

    fn unsigned(&mut self, mut v: u64) -> Result<(), Fault> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i = i.saturating_sub(1);
            if let Some(d) = digits.get_mut(i) {
                // v % 10 < 10, so the digit fits a u8.
                *d = b'0'.saturating_add(u8::try_from(v % 10).unwrap_or(0));
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.bytes(digits.get(i..).unwrap_or(&[]))
    }

    /// A JSON string escaped exactly as serde-json-core escapes it.
    fn string(&mut self, s: &str) -> Result<(), Fault> {
        self.bytes(b"\"")?;
        for c in s.chars() {
            let mut utf8 = [0u8; 4];
            let hex = |n: u32| {
                b"0123456789ABCDEF".get(usize::try_from(n & 0xf).unwrap_or(0)).copied().unwrap_or(b'0')
            };
            match c {
                '"' => self.bytes(b"\\\"")?,
                '\\' => self.bytes(b"\\\\")?,
                '\u{8}' => self.bytes(b"\\b")?,
                '\t' => self.bytes(b"\\t")?,
                '\n' => self.bytes(b"\\n")?,
                '\u{c}' => self.bytes(b"\\f")?,
                '\r' => self.bytes(b"\\r")?,
                '\u{0}'..='\u{1f}' => {
                    self.bytes(&[b'\\', b'u', b'0', b'0', hex(u32::from(c) >> 4), hex(u32::from(c))])?
                }
                _ => self.bytes(c.encode_utf8(&mut utf8).as_bytes())?,
            }
        }
        self.bytes(b"\"")
    }
}

/// A map or sequence being written: commas between entries.
struct Compound<'a, 's, S: Sink> {
    json: &'a mut Json<'s, S>,
    first: bool,
    close: &'static [u8],
}

impl<S: Sink> Compound<'_, '_, S> {
    fn comma(&mut self) -> Result<(), Fault> {
        if core::mem::replace(&mut self.first, false) { Ok(()) } else { self.json.bytes(b",") }
    }
}

impl<S: Sink> ser::SerializeSeq for Compound<'_, '_, S> {
    type Ok = ();
    type Error = Fault;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fault> {
        self.comma()?;
        value.serialize(&mut *self.json)
    }
    fn end(self) -> Result<(), Fault> {
        self.json.bytes(self.close)
    }
}

impl<S: Sink> ser::SerializeTuple for Compound<'_, '_, S> {
    type Ok = ();
    type Error = Fault;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fault> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Fault> {
        ser::SerializeSeq::end(self)
    }
}

impl<S: Sink> ser::SerializeMap for Compound<'_, '_, S> {
    type Ok = ();
    type Error = Fault;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Fault> {
        self.comma()?;
        key.serialize(&mut *self.json)?;
        self.json.bytes(b":")
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fault> {
        value.serialize(&mut *self.json)
    }
    fn end(self) -> Result<(), Fault> {
        self.json.bytes(self.close)
    }
}

/// Rejects every kind of value the export does not contain.
macro_rules! unsupported {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ret, Fault> { Err(Fault) })*
    };
}

impl<'a, 's, S: Sink> ser::Serializer for &'a mut Json<'s, S> {
    type Ok = ();
    type Error = Fault;
    type SerializeSeq = Compound<'a, 's, S>;
    type SerializeTuple = Compound<'a, 's, S>;
    type SerializeTupleStruct = ser::Impossible<(), Fault>;
    type SerializeTupleVariant = ser::Impossible<(), Fault>;
    type SerializeMap = Compound<'a, 's, S>;
    type SerializeStruct = ser::Impossible<(), Fault>;
    type SerializeStructVariant = ser::Impossible<(), Fault>;

    fn serialize_u8(self, v: u8) -> Result<(), Fault> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Fault> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Fault> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Fault> {
        self.unsigned(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Fault> {
        self.string(v)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Fault> {
        self.bytes(b"[")?;
        Ok(Compound { json: self, first: true, close: b"]" })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Fault> {
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Fault> {
        self.bytes(b"{")?;
        Ok(Compound { json: self, first: true, close: b"}" })
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, _value: &T) -> Result<(), Fault> {
        Err(Fault)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Fault> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Fault> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Fault> {
        Err(Fault)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Fault> {
        Err(Fault)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Fault> {
        Err(Fault)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Fault> {
        Err(Fault)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Fault> {
        Err(Fault)
    }
    unsupported! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
    }
}
