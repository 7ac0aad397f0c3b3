//! One trust's report as a self-contained HTML page (maud templates, inline CSS and SVG, no
//! scripts, nothing fetched), in the published report's reading order; and an index page of
//! every trust's report. `report::pdf` prints the same page with headless Chromium.

pub mod charts;
pub mod monitor;
pub mod sections;

use anyhow::{Result, bail};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::benchmark::{Benchmark, TrustSummary};
use crate::method::expected_range::Band;
use sections::View;

const CSS: &str = r#"
:root { color: #1a1a1a; background: #fff; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
body { max-width: 62rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.9rem; margin: 0 0 .3rem; color: #08306b; }
h2 { font-size: 1.45rem; margin-top: 2.2rem; border-bottom: 3px solid #08519c; padding-bottom: .2rem; color: #08306b; }
h3 { font-size: 1.15rem; margin-top: 1.6rem; color: #08306b; }
h4 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.subtitle { color: #444; margin-top: 0; }
.small { font-size: .85rem; color: #444; }
nav ol { columns: 2; }
dl.terms dt { font-weight: 600; margin-top: .5rem; }
dl.terms dd { margin-left: 1rem; }
ul.figures { display: flex; flex-wrap: wrap; gap: .6rem; list-style: none; padding: 0; }
ul.figures li { border: 1px solid #c6dbef; background: #f3f8fc; border-radius: 4px; padding: .5rem .8rem; }
ul.figures strong { font-size: 1.3rem; display: block; color: #08306b; }
.two { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.two > * { flex: 1 1 26rem; }
figure { margin: .8rem 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; display: block; }
table.data { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
table.data caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
table.data th, table.data td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: middle; }
table.data td { font-variant-numeric: tabular-nums; }
table.data thead th { border-bottom: 2px solid #777; font-weight: 600; }
table.questions { width: 100%; }
table.data tbody th { font-weight: normal; }
table.questions tr.qtitle td { border-bottom: none; padding-top: .6rem; }
table.questions tbody.question { break-inside: avoid; }
table.questions td.score { font-weight: 700; }
table.questions td.band { min-width: 7rem; }
table.questions td.bar { width: 200px; }
table.questions td.bar svg { min-width: 200px; }
table.compact { font-size: .8rem; margin: .2rem 0; }
.swatch { display: inline-block; width: .9em; height: .9em; border: 1px solid #555; margin-right: .35em; vertical-align: -.1em; }
ul.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0; font-size: .9rem; }
.verdict { font-size: 1.05rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr)); gap: .8rem; }
.change-card { border: 1px solid #ddd; border-radius: 4px; padding: .5rem; margin: 0; break-inside: avoid; }
.change-card figcaption { font-weight: normal; font-size: .85rem; }
.change-card .label { font-weight: 600; }
footer { margin-top: 3rem; font-size: .8rem; color: #555; }
@media print {
  :root { font-size: 11pt; }
  body { max-width: none; padding: 0; }
  section#background, section#headline, section#best-worst, section#benchmarking, section#change, section#comparison { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  .keep, .section-block, figure, svg, tr, .change-card { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
@page { size: A4; margin: 14mm 12mm; }
"#;

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

fn summary<'a>(b: &'a Benchmark, trust: &str) -> Result<&'a TrustSummary> {
    match b.trusts.iter().find(|t| t.trust == trust) {
        Some(s) => Ok(s),
        None => {
            let codes: Vec<_> = b.trusts.iter().map(|t| t.trust.as_str()).collect();
            bail!("trust `{trust}` is not in the data (trusts: {})", codes.join(", "))
        }
    }
}

fn contents(b: &Benchmark) -> Markup {
    html! {
        nav #contents aria-labelledby="contents-h" {
            h2 #contents-h { "Contents" }
            ol {
                li { a href="#background" { "Background and method" } }
                li { a href="#headline" { "Headline results" }
                    ul {
                        li { a href="#who-took-part" { "Who took part" } }
                        li { a href="#summary" { "Summary of findings" } }
                        li { a href="#best-worst" { "Best and worst performance" } }
                    }
                }
                li { a href="#benchmarking" { "Benchmarking by section" }
                    ul { @for s in &b.sections { li { a href={"#bm-" (s.id)} { "Section " (s.id) " " (s.title) } } } }
                }
                li { a href="#change" { "Change over time" } }
                li { a href="#comparison" { "Comparison to other trusts" } }
            }
        }
    }
}

/// The report for trust `trust` as one HTML page.
///
/// # Errors
/// The trust is not in the benchmark.
pub fn render(b: &Benchmark, trust: &str) -> Result<String> {
    let v = View { b, summary: summary(b, trust)? };
    let title = format!("{} — benchmark report for trust {trust}", b.instrument.title);
    let body = html! {
        header {
            h1 { "Benchmark report for trust " (trust) }
            p.subtitle { (b.instrument.title) " · " (b.national.trusts) " trusts · " (b.national.respondents) " respondents nationally" }
        }
        main {
            (contents(b))
            (sections::background(&v))
            section #headline {
                h2 { "2. Headline results" }
                (sections::who_took_part(&v))
                (sections::summary_of_findings(&v))
                (sections::best_and_worst(&v))
            }
            (sections::benchmarking(&v))
            (sections::change_over_time(&v))
            (sections::comparison(&v))
        }
        footer {
            "Generated by surveybench " (env!("CARGO_PKG_VERSION")) " from benchmark schema "
            (crate::benchmark::SCHEMA) " v" (crate::benchmark::VERSION) ", method profile " (b.profile.name) "."
        }
    };
    Ok(page(&title, body))
}

/// An index page linking every trust's report: `files[i]` is the file name of `b.trusts[i]`'s
/// report in the index's folder, or `None` when it could not be written. Links are relative
/// (`./NAME`), so no name can be read as a URL scheme.
#[must_use]
pub fn index(b: &Benchmark, files: &[Option<String>]) -> String {
    let title = format!("{} — trust benchmark reports", b.instrument.title);
    let body = html! {
        h1 { "Trust benchmark reports" }
        p.subtitle { (b.instrument.title) " · " (b.national.trusts) " trusts · " (b.national.respondents) " respondents" }
        table.data {
            caption { "Reports, with each trust's respondents and questions per band" }
            thead { tr {
                th scope="col" { "trust" } th scope="col" { "respondents" }
                @for band in Band::ALL { th scope="col" { (band.label()) } }
                th scope="col" { "suppressed" }
            } }
            tbody {
                @for (t, file) in b.trusts.iter().zip(files) {
                    tr data-trust=(t.trust) {
                        th scope="row" {
                            @if let Some(file) = file { a href={ "./" (file) } { (t.trust) } }
                            @else { (t.trust) " (report not written)" }
                        }
                        td { (t.respondents) }
                        @for band in Band::ALL { td { (t.bands.get(band)) } }
                        td { (t.bands.suppressed) }
                    }
                }
            }
        }
    };
    page(&title, body)
}
