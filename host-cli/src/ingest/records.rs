//! CSV records with exact line accounting (RFC 4180, docs/formats.md §3).
//!
//! Every physical line of a file ends up in exactly one place: a record (which may span lines
//! when a quoted field holds a line break), a blank line, or a record that could not be read.
//! Lines end in LF, CRLF or a lone CR, in any mix, and each counts as one line, so line numbers
//! in messages are those an editor shows. A quote is special only at the start of a field; a
//! field that opens a quote and never closes it is an error that names the line it opened on
//! and takes every line to the end of the file with it, so nothing after a stray quote is
//! silently lost or glued into one cell.
//!
//! Why not the `csv` crate: it accepts an unterminated quote at the end of a file as one long
//! field, reads text after a closing quote into the field, and counts only LF as a line end in
//! its positions (docs/design.md, "Why our own CSV record splitter?").

use std::fmt;

/// A record that could not be read, and the lines it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// A field opened a quote on `line` that is never closed: the rest of the file is unread.
    UnclosedQuote {
        /// The line the quote opened on.
        line: u64,
    },
    /// Text follows a closing quote before the next comma or line end.
    TextAfterQuote {
        /// The line of the closing quote.
        line: u64,
    },
    /// A quote inside a field that did not start with one.
    QuoteInField {
        /// The line of the quote.
        line: u64,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::UnclosedQuote { line } => {
                write!(f, "the quote opened on line {line} is never closed")
            }
            RecordError::TextAfterQuote { line } => {
                write!(f, "text after a closing quote on line {line}")
            }
            RecordError::QuoteInField { line } => {
                write!(f, "a quote inside an unquoted field on line {line} (quote the whole field)")
            }
        }
    }
}

/// One record's fields, reused from record to record (like `csv::ByteRecord`).
#[derive(Debug, Default)]
pub struct Record {
    /// Field contents, unquoted and unescaped, one after another.
    text: Vec<u8>,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
    /// The line the record starts on (1-based).
    pub first_line: u64,
    /// The line it ends on.
    pub last_line: u64,
}

impl Record {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.text.get(start..end)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Lines the record spans.
    #[must_use]
    pub fn lines(&self) -> u64 {
        self.last_line + 1 - self.first_line
    }
}

/// A record as [`Records::next_row`] hands it out.
#[derive(Debug, PartialEq, Eq)]
pub enum Row<'a> {
    /// A record on one line without quotes, as most are: its fields are the bytes of `bytes`
    /// between commas, and it cannot be unreadable.
    Line {
        /// The line it is on.
        line: u64,
        /// The line, without its line end.
        bytes: &'a [u8],
    },
    /// Any other record, read into the caller's [`Record`]: its fields and lines, or why it
    /// could not be read.
    Read(Result<(), RecordError>),
}

/// Splits bytes into records, counting every line.
pub struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The line `pos` is on.
    line: u64,
    /// Blank lines passed over so far.
    pub blank_lines: u64,
}

impl<'a> Records<'a> {
    /// Records of `bytes`, whose first line is line `first_line` of its file.
    #[must_use]
    pub fn new(bytes: &'a [u8], first_line: u64) -> Self {
        Self { bytes, pos: 0, line: first_line, blank_lines: 0 }
    }

    /// The line the next record would start on (after the last one read).
    #[must_use]
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The bytes not read yet.
    #[must_use]
    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Reads the next record into `record`; `None` at the end. On an error `record`'s lines
    /// say which lines the unreadable record took (its fields are not meaningful).
    pub fn next_into(&mut self, record: &mut Record) -> Option<Result<(), RecordError>> {
        self.skip_blank_lines();
        if self.pos >= self.bytes.len() {
            return None;
        }
        record.clear();
        record.first_line = self.line;
        let result = self.fields(record);
        if result.is_err() && !matches!(result, Err(RecordError::UnclosedQuote { .. })) {
            self.skip_to_line_end();
        }
        // An unclosed quote can run past the last line end: that line end is not a new line.
        let past_last_break =
            self.pos >= self.bytes.len() && matches!(self.bytes.last(), Some(b'\n' | b'\r'));
        record.last_line = if past_last_break { self.line - 1 } else { self.line };
        self.end_line();
        Some(result)
    }

    /// Reads the next record like [`Records::next_into`], but hands a record on one line
    /// without quotes out as that line, unsplit and uncopied; `None` at the end.
    pub fn next_row(&mut self, record: &mut Record) -> Option<Row<'a>> {
        self.skip_blank_lines();
        let rest = self.rest();
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr3(b'\n', b'\r', b'"', rest).unwrap_or(rest.len());
        if rest.get(end) == Some(&b'"') {
            return self.next_into(record).map(Row::Read);
        }
        let row = Row::Line { line: self.line, bytes: rest.get(..end).unwrap_or_default() };
        self.pos += end;
        self.end_line();
        Some(row)
    }

    fn skip_blank_lines(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if b != b'\n' && b != b'\r' {
                return;
            }
            self.blank_lines += 1;
            self.end_line();
        }
    }

    /// Consumes a line end at `pos` (LF, CRLF or CR), if there is one, and moves to the next
    /// line; at the end of the input, only counts the line.
    fn end_line(&mut self) {
        match self.bytes.get(self.pos) {
            Some(b'\r') if self.bytes.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
            Some(b'\r' | b'\n') => self.pos += 1,
            _ => {}
        }
        self.line += 1;
    }

    fn skip_to_line_end(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b'\n' || b == b'\r' {
                return;
            }
            self.pos += 1;
        }
    }

    /// Reads fields up to the end of the line (not consumed) or the input.
    fn fields(&mut self, record: &mut Record) -> Result<(), RecordError> {
        loop {
            if self.bytes.get(self.pos) == Some(&b'"') {
                self.quoted(record)?;
            } else {
                self.unquoted(record)?;
            }
            record.ends.push(record.text.len());
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                _ => return Ok(()),
            }
        }
    }

    fn unquoted(&mut self, record: &mut Record) -> Result<(), RecordError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let len = rest.iter().position(|&b| matches!(b, b',' | b'\n' | b'\r' | b'"')).unwrap_or(rest.len());
        record.text.extend_from_slice(rest.get(..len).unwrap_or_default());
        self.pos += len;
        if self.bytes.get(self.pos) == Some(&b'"') {
            return Err(RecordError::QuoteInField { line: self.line });
        }
        Ok(())
    }

    fn quoted(&mut self, record: &mut Record) -> Result<(), RecordError> {
        let opened = self.line;
        self.pos += 1;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(RecordError::UnclosedQuote { line: opened });
            };
            match b {
                b'"' if self.bytes.get(self.pos + 1) == Some(&b'"') => {
                    record.text.push(b'"');
                    self.pos += 2;
                }
                b'"' => {
                    self.pos += 1;
                    return match self.bytes.get(self.pos) {
                        None | Some(b',' | b'\n' | b'\r') => Ok(()),
                        Some(_) => Err(RecordError::TextAfterQuote { line: self.line }),
                    };
                }
                b'\r' | b'\n' => {
                    // A line break inside the field: kept as LF, counted as a line.
                    record.text.push(b'\n');
                    self.end_line();
                }
                _ => {
                    record.text.push(b);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Lines in `bytes`: line ends (LF, CRLF or lone CR) plus a last line without one.
#[must_use]
pub fn count_lines(bytes: &[u8]) -> u64 {
    let mut counter = super::blocks::LineCounter::default();
    counter.feed(bytes);
    counter.finish()
}

/// A UTF-8 byte order mark, as spreadsheet programs write at the start of a CSV.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The most columns a CSV input may have: far above any instrument a tally holds, far
/// below a header that would only cost time to read.
pub const MAX_COLUMNS: usize = 10_000;

/// The header's column names (trimmed), the body after it, and the line the body starts on.
/// A leading UTF-8 byte order mark is passed over.
///
/// # Errors
/// No header, an unreadable one, too many columns, or names that are not UTF-8.
pub fn header(bytes: &[u8]) -> Result<(Vec<String>, &[u8], u64), String> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut records = Records::new(bytes, 1);
    let mut record = Record::default();
    match records.next_into(&mut record) {
        None => return Err("no header row".to_owned()),
        Some(Err(e)) => return Err(format!("unreadable header: {e}")),
        Some(Ok(())) => {}
    }
    if record.len() > MAX_COLUMNS {
        return Err(format!("the header has {} columns, more than {MAX_COLUMNS}", record.len()));
    }
    let names = record
        .iter()
        .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "the header is not UTF-8 text".to_owned())?;
    Ok((names, records.rest(), records.line()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as (first line, last line, fields), or the error.
    type Read = Result<(u64, u64, Vec<String>), RecordError>;

    /// Every record of `text`, and the blank lines.
    fn all(text: &str) -> (Vec<Read>, u64) {
        let mut records = Records::new(text.as_bytes(), 1);
        let mut record = Record::default();
        let mut out = Vec::new();
        while let Some(r) = records.next_into(&mut record) {
            out.push(r.map(|()| {
                let fields = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                (record.first_line, record.last_line, fields)
            }));
        }
        (out, records.blank_lines)
    }

    fn ok(first: u64, last: u64, fields: &[&str]) -> Read {
        Ok((first, last, fields.iter().map(|f| (*f).to_owned()).collect()))
    }

    #[test]
    fn lf_crlf_and_cr_line_ends_number_lines_alike() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "", "3,4"].join(end);
            let (records, blank) = all(&text);
            assert_eq!(records, vec![ok(1, 1, &["a", "b"]), ok(2, 2, &["1", "2"]), ok(4, 4, &["3", "4"])]);
            assert_eq!(blank, 1, "{end:?}");
            assert_eq!(count_lines(text.as_bytes()), 4);
        }
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let (records, _) = all("x,\"a,\"\"b\"\"\r\nc\",y\nz,\"\",w\n");
        assert_eq!(records, vec![ok(1, 2, &["x", "a,\"b\"\nc", "y"]), ok(3, 3, &["z", "", "w"])]);
    }

    /// Regression: a stray quote in a last cell took the rest of a file into one field.
    #[test]
    fn an_unclosed_quote_names_its_line_and_takes_every_line_after_it() {
        let (records, _) = all("a,b\n1,\"2\n3,4\n5,6\n");
        assert_eq!(records[0], ok(1, 1, &["a", "b"]));
        assert_eq!(records[1], Err(RecordError::UnclosedQuote { line: 2 }));
        assert_eq!(records.len(), 2);
        let mut r = Records::new(b"1,\"2\n3,4\n5,6\n", 2);
        let mut record = Record::default();
        assert!(r.next_into(&mut record).unwrap().is_err());
        assert_eq!((record.first_line, record.last_line), (2, 4));
    }

    #[test]
    fn quotes_out_of_place_spoil_only_their_record() {
        let (records, _) = all("1,2\"x\n3,\"4\"x,5\n6,7");
        assert_eq!(records[0], Err(RecordError::QuoteInField { line: 1 }));
        assert_eq!(records[1], Err(RecordError::TextAfterQuote { line: 2 }));
        assert_eq!(records[2], ok(3, 3, &["6", "7"]));
    }

    #[test]
    fn empty_fields_and_a_missing_last_line_end() {
        let (records, _) = all(",,\n1,,");
        assert_eq!(records, vec![ok(1, 1, &["", "", ""]), ok(2, 2, &["1", "", ""])]);
        assert_eq!(count_lines(b",,\n1,,"), 2);
        assert_eq!(count_lines(b""), 0);
    }
}
