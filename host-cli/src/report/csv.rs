//! The benchmark as CSV: one row per trust and item (question or section), unrounded.
//!
//! Text cells (trust, item type, item, section, band and change labels) that a spreadsheet
//! would read as a formula are neutralised as OWASP's "CSV Injection" page recommends: a `'` in
//! front, and the cell quoted. Number cells are written as numbers, negative ones included.

use std::borrow::Cow;

use anyhow::Result;

use crate::benchmark::{Benchmark, Item};

const HEADER: [&str; 16] = [
    "trust",
    "item_type",
    "item",
    "section",
    "n",
    "score",
    "se",
    "z",
    "band",
    "suppressed",
    "national_mean",
    "lowest",
    "highest",
    "previous",
    "change_statistic",
    "change",
];

fn cell(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| v.to_string())
}

/// A text cell, with a `'` in front when it starts with a character that makes a spreadsheet
/// read it as a formula (`=`, `+`, `-`, `@`, tab, carriage return).
fn text(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn rows(w: &mut csv::Writer<Vec<u8>>, kind: &str, item: &Item) -> Result<()> {
    for r in &item.results {
        let nat = item.national.as_ref();
        let section =
            item.section.as_deref().unwrap_or(if kind == "section" { item.id.as_str() } else { "" });
        let row: [&str; 16] = [
            &text(&r.trust),
            &text(kind),
            &text(&item.id),
            &text(section),
            &r.n.to_string(),
            &cell(r.score),
            &cell(r.se),
            &cell(r.z),
            &text(r.band.map_or("", |b| b.label())),
            if r.suppressed { "true" } else { "false" },
            &cell(nat.map(|n| n.mean)),
            &cell(nat.map(|n| n.min)),
            &cell(nat.map(|n| n.max)),
            &cell(r.change.map(|c| c.previous)),
            &cell(r.change.map(|c| c.statistic)),
            &text(r.change.map_or("", |c| c.direction.label())),
        ];
        w.write_record(row)?;
    }
    Ok(())
}

/// CSV text with a header row.
///
/// # Errors
/// Only if writing to memory fails.
pub fn render(b: &Benchmark) -> Result<String> {
    // The csv crate quotes every field holding the comment byte: setting it to `'` makes every
    // neutralised cell quoted. No reader of this file treats `'` as a comment.
    let mut w = csv::WriterBuilder::new().comment(Some(b'\'')).from_writer(Vec::new());
    w.write_record(HEADER)?;
    for q in &b.questions {
        rows(&mut w, "question", q)?;
    }
    for s in &b.sections {
        rows(&mut w, "section", s)?;
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_text_gets_a_quote_in_front_and_other_text_is_kept() {
        for formula in ["=1+2", "+1", "-RT5", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text(formula), format!("'{formula}"));
        }
        for plain in ["RT5", "about the same", "", "'already", "1-2"] {
            assert!(matches!(text(plain), Cow::Borrowed(p) if p == plain));
        }
    }
}
