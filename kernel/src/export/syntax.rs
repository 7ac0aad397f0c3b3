//! A strict JSON syntax check (RFC 8259) run before the serde pass of the decoder.
//!
//! `serde-json-core` 0.7 reads some malformed JSON: an array may open with a comma (`[,1,2]` is
//! read as `[1,2]`, and after that leading comma `[,1 2]` too), and strings may hold raw control
//! characters and unknown escapes. This pass refuses all of that, so the decoder only ever sees
//! well-formed JSON (docs/design.md, "Why a syntax check of our own before serde-json-core?").
//! It keeps no values: one linear pass with a bit per nesting level, no allocation.
//!
//! On error it names the record the malformed byte is in, as the serde pass would: an entry of
//! `questions` or `pairs` by its index, anything else as the header.

use super::Record;

/// Deepest nesting accepted; an export nests five levels deep.
const MAX_DEPTH: u32 = 32;

/// Which top-level array the checker is in, for naming the record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    None,
    Questions,
    Pairs,
}

struct Checker<'b> {
    bytes: &'b [u8],
    at: usize,
    /// Bit `d` is set when the container at depth `d` (0-based) is an array.
    arrays: u32,
    depth: u32,
    /// The top-level key whose value is being read, and how many of its entries are complete.
    list: List,
    entries: usize,
}

/// Checks that `bytes` is one well-formed JSON value with nothing but whitespace around it.
///
/// # Errors
/// The record the first malformed byte is in.
pub(super) fn check(bytes: &[u8]) -> Result<(), Record> {
    let mut c = Checker { bytes, at: 0, arrays: 0, depth: 0, list: List::None, entries: 0 };
    c.document().map_err(|()| c.record())
}

impl<'b> Checker<'b> {
    fn record(&self) -> Record {
        let index = u16::try_from(self.entries).unwrap_or(u16::MAX);
        match self.list {
            _ if self.depth < 2 => Record::Header,
            List::Questions => Record::Question(index),
            List::Pairs => Record::Pair(index),
            List::None => Record::Header,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        self.at = self.at.saturating_add(1);
    }

    /// Skips whitespace and returns the next byte, if any.
    fn next_token(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
        self.peek()
    }

    /// Consumes `b` after whitespace, or fails.
    fn expect(&mut self, b: u8) -> Result<(), ()> {
        if self.next_token() == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(())
        }
    }

    fn in_array(&self) -> bool {
        self.depth > 0 && self.arrays & (1u32 << (self.depth.saturating_sub(1) % MAX_DEPTH)) != 0
    }

    fn open(&mut self, array: bool) -> Result<(), ()> {
        if self.depth >= MAX_DEPTH {
            return Err(());
        }
        let bit = 1u32 << (self.depth % MAX_DEPTH);
        self.arrays = if array { self.arrays | bit } else { self.arrays & !bit };
        self.depth = self.depth.saturating_add(1);
        self.bump();
        Ok(())
    }

    /// The whole document: values and the punctuation between them, without recursion.
    fn document(&mut self) -> Result<(), ()> {
        loop {
            // A value is expected here.
            match self.next_token().ok_or(())? {
                b'{' => {
                    self.open(false)?;
                    if self.next_token() == Some(b'}') {
                        self.bump();
                        self.depth = self.depth.saturating_sub(1);
                    } else {
                        self.key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.open(true)?;
                    if self.next_token() == Some(b']') {
                        self.bump();
                        self.depth = self.depth.saturating_sub(1);
                    } else {
                        continue;
                    }
                }
                b'"' => self.string().map(|_| ())?,
                b'-' | b'0'..=b'9' if self.depth > 2 && self.in_array() => self.numbers()?,
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return Err(()),
            }
            // A value is complete: close containers until one continues with a comma.
            loop {
                if self.depth == 0 {
                    return if self.next_token().is_none() { Ok(()) } else { Err(()) };
                }
                self.value_done();
                let array = self.in_array();
                match (self.next_token().ok_or(())?, array) {
                    (b',', true) => {
                        self.bump();
                        break;
                    }
                    (b',', false) => {
                        self.bump();
                        self.key()?;
                        break;
                    }
                    (b']', true) | (b'}', false) => {
                        self.bump();
                        self.depth = self.depth.saturating_sub(1);
                    }
                    _ => return Err(()),
                }
            }
        }
    }

    /// Bookkeeping for [`Self::record`] when a value inside a container is complete.
    fn value_done(&mut self) {
        match self.depth {
            1 => self.list = List::None,
            2 => self.entries = self.entries.saturating_add(1),
            _ => {}
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<(), ()> {
        if self.next_token() != Some(b'"') {
            return Err(());
        }
        let key = self.string()?;
        if self.depth == 1 {
            self.list = match key {
                b"questions" => List::Questions,
                b"pairs" => List::Pairs,
                _ => List::None,
            };
            self.entries = 0;
        }
        self.expect(b':')
    }

    /// A string (the cursor is on its opening quote); returns its raw contents.
    fn string(&mut self) -> Result<&'b [u8], ()> {
        self.bump();
        let start = self.at;
        loop {
            match self.peek().ok_or(())? {
                b'"' => break,
                b'\\' => {
                    self.bump();
                    match self.peek().ok_or(())? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.bump(),
                        b'u' => {
                            self.bump();
                            for _ in 0..4 {
                                if !self.peek().ok_or(())?.is_ascii_hexdigit() {
                                    return Err(());
                                }
                                self.bump();
                            }
                        }
                        _ => return Err(()),
                    }
                }
                0..=0x1f => return Err(()),
                _ => self.bump(),
            }
        }
        let bytes = self.bytes;
        let raw = bytes.get(start..self.at).ok_or(())?;
        self.bump();
        core::str::from_utf8(raw).map(str::as_bytes).map_err(|_| ())
    }

    /// Numbers and the commas between them, while a comma comes straight after a number and a
    /// number straight after the comma: the rows of counts most of an export is. The cursor
    /// stops after the last number, where [`Self::document`] goes on as after any value (no
    /// bookkeeping is skipped: deeper than the top-level lists, a complete value needs none).
    fn numbers(&mut self) -> Result<(), ()> {
        let bytes = self.bytes;
        loop {
            // A plain integer is scanned here; anything else by the full grammar.
            let start = self.at;
            let end = match bytes.get(start) {
                Some(b'0') => start.saturating_add(1),
                Some(b'1'..=b'9') => {
                    let rest = bytes.get(start..).unwrap_or_default();
                    start.saturating_add(rest.iter().take_while(|b| b.is_ascii_digit()).count())
                }
                _ => start,
            };
            if end == start || matches!(bytes.get(end), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
                self.number()?;
            } else {
                self.at = end;
            }
            let next = bytes.get(self.at.saturating_add(1)).copied();
            if self.peek() != Some(b',') || !matches!(next, Some(b'-' | b'0'..=b'9')) {
                return Ok(());
            }
            self.bump();
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), ()> {
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(()),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
    }

    fn some_digits(&mut self) -> Result<(), ()> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(());
        }
        self.digits();
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), ()> {
        let end = self.at.saturating_add(word.len());
        if self.bytes.get(self.at..end) != Some(word) {
            return Err(());
        }
        self.at = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        check(s.as_bytes()).is_ok()
    }

    #[test]
    fn well_formed_json_passes() {
        for s in [
            "{}",
            "[]",
            " [ 1 , -0 , 0.5 , 1e9 , -2.5E-3 , true , false , null , \"a\\u00e9\\n\" , [] , {} ] ",
            r#"{"a":{"b":[[1,2],[3]]},"c":"\"quoted\" \\ /"}"#,
            "\"é\"",
            "0",
            "[[[1,-2,2e5,0,3.5E-1,10]]]",
        ] {
            assert!(ok(s), "{s}");
        }
    }

    #[test]
    fn malformed_json_fails() {
        for s in [
            "",
            " ",
            "[,1,2]",
            "[,1 2]",
            "[1,2,]",
            "[1,,2]",
            "[1 2]",
            "[,]",
            "{,\"a\":1}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1:1}",
            "{\"a\":1 \"b\":2}",
            "[1}",
            "{\"a\":1]",
            "[1]]",
            "[1] [2]",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "\"a\u{1}\"",
            "\"\\q\"",
            "\"\\u12g4\"",
            "\"abc",
            "tru",
            "nul",
            "[true false]",
            "[[[1,01]]]",
            "[[[1,2,]]]",
            "[[[1,,2]]]",
            "[[[1,2e]]]",
            "[[[1,-]]]",
            "[[[1,2.]]]",
        ] {
            assert!(!ok(s), "{s:?}");
        }
        assert!(check(b"\"\xff\"").is_err());
    }

    #[test]
    fn nesting_deeper_than_the_limit_fails_without_recursion() {
        let deep = "[".repeat(33) + &"]".repeat(33);
        assert!(!ok(&deep));
        let fine = "[".repeat(32) + &"]".repeat(32);
        assert!(ok(&fine));
        assert!(!ok(&"[".repeat(100_000)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Rows of counts deep in a document (where the checker scans numbers fast) are judged
        /// as serde_json, an independent parser, judges them.
        #[test]
        fn deep_rows_of_numbers_are_judged_as_serde_json_judges_them(
            tokens in proptest::collection::vec(
                proptest::sample::select(&["0", "1", "12", "-3", "0.5", "01", "-", "1.", ",", ",", ",", "]", "[", " ", "\"x\""][..]),
                0..14,
            )
        ) {
            let document = format!("{{\"q\":[[{}]],\"r\":[1,[2,3]]}}", tokens.concat());
            let reference = serde_json::from_str::<serde_json::Value>(&document).is_ok();
            proptest::prop_assert_eq!(check(document.as_bytes()).is_ok(), reference, "{}", document);
        }
    }

    #[test]
    fn errors_name_the_entry_of_questions_or_pairs() {
        assert_eq!(check(br#"{"a":[,1]}"#), Err(Record::Header));
        assert_eq!(check(br#"{"questions":[{},{"x":[,1]}]}"#), Err(Record::Question(1)));
        assert_eq!(check(br#"{"questions":[{},{}],"pairs":[{},{},{"sums":[[,]]}]}"#), Err(Record::Pair(2)));
        assert_eq!(check(br#"{"questions":[{},{}],"x":,}"#), Err(Record::Header));
        assert_eq!(check(br#"{"pairs":[{},"#), Err(Record::Pair(1)));
    }
}
