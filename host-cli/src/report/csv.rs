//! The benchmark as CSV: one row per trust and item (question or section), unrounded.

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

fn rows(w: &mut csv::Writer<Vec<u8>>, kind: &str, item: &Item) -> Result<()> {
    for r in &item.results {
        let nat = item.national.as_ref();
        w.write_record([
            r.trust.as_str(),
            kind,
            item.id.as_str(),
            item.section.as_deref().unwrap_or(if kind == "section" { item.id.as_str() } else { "" }),
            &r.n.to_string(),
            &cell(r.score),
            &cell(r.se),
            &cell(r.z),
            r.band.map_or("", |b| b.label()),
            if r.suppressed { "true" } else { "false" },
            &cell(nat.map(|n| n.mean)),
            &cell(nat.map(|n| n.min)),
            &cell(nat.map(|n| n.max)),
            &cell(r.change.map(|c| c.previous)),
            &cell(r.change.map(|c| c.statistic)),
            r.change.map_or("", |c| c.direction.label()),
        ])?;
    }
    Ok(())
}

/// CSV text with a header row.
///
/// # Errors
/// Only if writing to memory fails.
pub fn render(b: &Benchmark) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for q in &b.questions {
        rows(&mut w, "question", q)?;
    }
    for s in &b.sections {
        rows(&mut w, "section", s)?;
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}
