//! Text for the terminal: input files can hold anything, so text taken from them (file names,
//! CSV headers and cells, device ids) is made inert before it is printed. A control character
//! could otherwise clear the screen, set the window title, hide the rest of a message, or (a
//! bidirectional override) print a file name backwards.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character a terminal would act on replaced by a visible escape: C0
/// controls (`\n`, `\r`, `\t`, else `\x1b` style), DEL (`\x7f`), C1 controls, line and
/// paragraph separators and bidirectional controls (`\u{202e}` style). The result is one line.
/// Backslashes are kept as they are, so Windows paths stay readable.
#[must_use]
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if acts_on_terminal(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal may act on `c` rather than just show it.
fn acts_on_terminal(c: char) -> bool {
    c.is_control() || is_layout_control(c)
}

/// Line and paragraph separators, and the bidirectional marks, embeddings, overrides and
/// isolates (Unicode UAX #9), which reorder the text around them.
fn is_layout_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = r"C:\data\RT5 2024 — über.csv";
        assert!(matches!(inert(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn c0_controls_and_del_become_hex_escapes() {
        assert_eq!(inert("a\u{1b}[2Jb\u{7}\u{0}\u{7f}"), r"a\x1b[2Jb\x07\x00\x7f");
    }

    #[test]
    fn line_ends_and_tabs_become_their_usual_escapes() {
        assert_eq!(inert("one\ntwo\r\tthree"), r"one\ntwo\r\tthree");
        assert!(!inert("a\u{2028}b\u{2029}c").contains(['\u{2028}', '\u{2029}']));
    }

    #[test]
    fn c1_controls_and_bidi_overrides_become_unicode_escapes() {
        assert_eq!(inert("\u{9b}31m"), r"\u{9b}31m");
        assert_eq!(inert("evil\u{202e}txt.exe"), r"evil\u{202e}txt.exe");
        assert_eq!(inert("\u{2066}x\u{2069}\u{200f}\u{61c}"), r"\u{2066}x\u{2069}\u{200f}\u{61c}");
    }

    #[test]
    fn the_result_never_holds_a_character_a_terminal_acts_on() {
        let all: String = (0..=0x3000u32).filter_map(char::from_u32).collect();
        assert!(!inert(&all).chars().any(acts_on_terminal));
    }
}
