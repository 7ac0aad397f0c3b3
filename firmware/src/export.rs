//! The device export, written as a stream: byte for byte the document the kernel's
//! `export::encode` produces (a host test checks this), but without a buffer of
//! `export::max_encoded_len` bytes (46 KB for `cmh-2024`, more than this kiosk's RAM).
//!
//! It exists only because the kernel's encoder needs the whole document in one slice; with a
//! streaming encoder in the kernel this module reduces to a call (docs/design.md).

use core::fmt;

use surveybench_kernel::Tally;
use surveybench_kernel::export::{FORMAT, Header, VERSION};

/// Where exported bytes go: semihosting stderr, a flash page writer, a host `Vec`.
pub trait Sink {
    /// The sink's error.
    type Error;
    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// The sink could not take them; the stream is then unusable.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Adapts a [`Sink`] to `core::fmt::Write`, keeping the sink's error.
struct Out<'s, S: Sink> {
    sink: &'s mut S,
    error: Option<S::Error>,
}

impl<S: Sink> fmt::Write for Out<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.sink.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// Why a stream failed.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamError<E> {
    /// The sink failed.
    Sink(E),
    /// Formatting failed without a sink error (does not happen with these types).
    Format,
}

/// Writes the export of `tally` with `header` to `sink`, as `export::encode` would.
///
/// # Errors
/// The sink's error; what was written so far is then an incomplete document.
pub fn write<S: Sink, const Q: usize, const C: usize, const P: usize>(
    tally: &Tally<'_, Q, C, P>,
    header: &Header,
    sink: &mut S,
) -> Result<(), StreamError<S::Error>> {
    let mut out = Out { sink, error: None };
    let written = document(tally, header, &mut out);
    match (written, out.error) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(StreamError::Sink(e)),
        (Err(_), None) => Err(StreamError::Format),
    }
}

/// A JSON string as serde-json-core writes it.
fn string(w: &mut impl fmt::Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\u{8}' => w.write_str("\\b")?,
            '\u{c}' => w.write_str("\\f")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(w, "\\u{:04x}", u32::from(c))?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

fn hex16(w: &mut impl fmt::Write, v: u64) -> fmt::Result {
    write!(w, "\"{v:016x}\"")
}

fn document<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'_, Q, C, P>,
    h: &Header,
    w: &mut impl fmt::Write,
) -> fmt::Result {
    let instrument = t.instrument();
    w.write_str("{\"format\":")?;
    string(w, FORMAT)?;
    write!(w, ",\"version\":{VERSION},\"instrument\":")?;
    string(w, instrument.id)?;
    w.write_str(",\"instrument_hash\":")?;
    hex16(w, t.instrument_hash())?;
    w.write_str(",\"device\":")?;
    string(w, &h.device)?;
    w.write_str(",\"site\":")?;
    string(w, &h.site)?;
    w.write_str(",\"period\":")?;
    string(w, &h.period)?;
    let c = t.counters();
    write!(
        w,
        ",\"sequence\":{},\"strata\":{},\"responses\":{{\"started\":{},\"completed\":{},\"abandoned\":{},\"rejected\":{}}},\"questions\":[",
        h.sequence,
        t.strata(),
        c.started,
        c.completed,
        c.abandoned,
        c.rejected
    )?;
    for (i, q) in instrument.questions.iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        let cleaned = t.cleaned(i);
        w.write_str("{\"id\":")?;
        string(w, q.id)?;
        write!(
            w,
            ",\"routed\":{},\"invalid\":{},\"multi\":{},\"counts\":[",
            cleaned.routed, cleaned.invalid, cleaned.multi
        )?;
        let rows = if q.is_scored() { t.strata() } else { 0 };
        for g in 0..rows {
            if g > 0 {
                w.write_char(',')?;
            }
            numbers(w, t.counts(i, g))?;
        }
        w.write_str("]}")?;
    }
    w.write_str("],\"pairs\":[")?;
    pairs(t, w)?;
    w.write_str("]}")
}

fn numbers(w: &mut impl fmt::Write, values: &[u32]) -> fmt::Result {
    w.write_char('[')?;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        write!(w, "{v}")?;
    }
    w.write_char(']')
}

/// Pairs of evaluative questions of one section, section by section, then (a, b) with a
/// before b in questionnaire order: the kernel's export order.
fn pairs<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'_, Q, C, P>,
    w: &mut impl fmt::Write,
) -> fmt::Result {
    let instrument = t.instrument();
    let mut first = true;
    for s in 0..instrument.sections.len() {
        for (rank, a) in instrument.section_questions(s).enumerate() {
            for b in instrument.section_questions(s).skip(rank.saturating_add(1)) {
                if !first {
                    w.write_char(',')?;
                }
                first = false;
                let id = |i| instrument.question(i).map_or("", |q| q.id);
                w.write_str("{\"a\":")?;
                string(w, id(a))?;
                w.write_str(",\"b\":")?;
                string(w, id(b))?;
                w.write_str(",\"sums\":[")?;
                for g in 0..t.strata() {
                    if g > 0 {
                        w.write_char(',')?;
                    }
                    let p = t.pair(a, b, g).unwrap_or_default();
                    write!(w, "[{},{},{},{}]", p.m, p.sum_k, p.sum_l, p.sum_kl)?;
                }
                w.write_str("]}")?;
            }
        }
    }
    Ok(())
}
