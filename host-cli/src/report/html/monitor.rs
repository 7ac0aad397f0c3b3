//! The in-year monitor as one self-contained page (method.md §12): trusts with an item heading
//! outside last year's expected range first, each such item with a small chart of its score
//! look by look against the expected range, the looks it was flagged marked, and a table of the
//! same figures beside the chart. Earlier looks come from the monitor JSON written then
//! (`monitor --format json`), given with `--history`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::Scale;
use crate::monitor::{ItemLook, Look, SCHEMA, Status, TrustLook, VERSION};
use crate::profile::ExpectedRange;
use crate::report::one_dp;

/// An earlier look, read back from its monitor JSON: what the page charts.
#[derive(Clone, Debug, Deserialize)]
pub struct PastLook {
    schema: String,
    version: u32,
    #[serde(default)]
    label: Option<String>,
    instrument: PastInstrument,
    trusts: Vec<PastTrust>,
}

#[derive(Clone, Debug, Deserialize)]
struct PastInstrument {
    id: String,
    content_hash: String,
}

#[derive(Clone, Debug, Deserialize)]
struct PastTrust {
    trust: String,
    items: Vec<PastItem>,
}

/// One trust's item at one look: the figures a chart point and a table row show.
#[derive(Clone, Debug, Deserialize)]
struct PastItem {
    item: String,
    item_type: String,
    n: u32,
    score: Option<f64>,
    national: Option<f64>,
    #[serde(default)]
    spread: Option<f64>,
    z: Option<f64>,
    boundary: Option<f64>,
    status: Status,
}

impl PastLook {
    /// Reads an earlier look from `path`.
    ///
    /// # Errors
    /// The file cannot be read, or is not a monitor JSON of this version.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let look: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a monitor JSON (`monitor --format json`)", path.display()))?;
        if look.schema != SCHEMA || look.version != VERSION {
            bail!(
                "{}: schema {} version {}, not {SCHEMA} version {VERSION}",
                path.display(),
                look.schema,
                look.version
            );
        }
        Ok(look)
    }

    /// The look `look` as a past one, so every look of the page is read the same way.
    fn of(look: &Look) -> Self {
        let item = |i: &ItemLook| PastItem {
            item: i.item.clone(),
            item_type: i.item_type.to_owned(),
            n: i.n,
            score: i.score,
            national: i.national,
            spread: i.spread,
            z: i.z,
            boundary: i.boundary,
            status: i.status,
        };
        let trust =
            |t: &TrustLook| PastTrust { trust: t.trust.clone(), items: t.items.iter().map(item).collect() };
        PastLook {
            schema: SCHEMA.to_owned(),
            version: VERSION,
            label: look.label.clone(),
            instrument: PastInstrument {
                id: look.instrument.id.clone(),
                content_hash: look.instrument.content_hash.clone(),
            },
            trusts: look.trusts.iter().map(trust).collect(),
        }
    }

    fn item(&self, trust: &str, item: &str, item_type: &str) -> Option<&PastItem> {
        let t = self.trusts.iter().find(|t| t.trust == trust)?;
        t.items.iter().find(|i| i.item == item && i.item_type == item_type)
    }
}

/// The page: `history` (earlier looks, oldest first) and `now`, with the expected range drawn
/// with `rules`' "somewhat" cut (method.md §8).
///
/// # Errors
/// An earlier look is of another instrument or content hash than `now`.
pub fn render(now: &Look, history: &[PastLook], rules: &ExpectedRange) -> Result<String> {
    for (k, past) in history.iter().enumerate() {
        if past.instrument.id != now.instrument.id
            || past.instrument.content_hash != now.instrument.content_hash
        {
            bail!(
                "--history look {} is of instrument {} ({}), not {} ({})",
                k + 1,
                past.instrument.id,
                past.instrument.content_hash,
                now.instrument.id,
                now.instrument.content_hash
            );
        }
    }
    let mut looks: Vec<PastLook> = history.to_vec();
    looks.push(PastLook::of(now));
    let labels: Vec<String> = looks
        .iter()
        .enumerate()
        .map(|(k, l)| l.label.clone().unwrap_or_else(|| format!("look {}", k + 1)))
        .collect();
    let flagged: u32 = now.trusts.iter().map(|t| t.flagged).sum();
    let title = format!("In-year look: {}", now.instrument.id);
    let body = html! {
        header {
            h1 { "In-year look against last year's expected range" }
            p.subtitle {
                (now.instrument.id) " · " (labels.last().map_or("", String::as_str)) " · "
                (now.respondents) " respondents so far · " (now.trusts.len()) " trusts · "
                (flagged) " trust-items heading outside the expected range"
            }
            p.small {
                "A look flags an item when its z against last year's national average and spread passes "
                (format!("{:.3}", now.method.scale_boundary)) " / sqrt(t), t being this year's respondents so far "
                "over last year's (O'Brien-Fleming-type alpha spending, method.md §12): an item in line with last "
                "year is flagged at some look of the year with a chance of at most " (now.method.alpha)
                ", however often the monitor is run. The shaded band is last year's \"about the same\" range "
                "at each look: the national average plus or minus " (rules.z_somewhat) " times the spread."
            }
        }
        main {
            @for t in &now.trusts {
                (trust_section(t, &looks, &labels, rules))
            }
        }
    };
    Ok(super::page(&title, body))
}

/// One trust: a chart and table for every item flagged at any look, or one line when none was.
fn trust_section(t: &TrustLook, looks: &[PastLook], labels: &[String], rules: &ExpectedRange) -> Markup {
    let ever = |i: &ItemLook| {
        looks.iter().any(|l| l.item(&t.trust, &i.item, i.item_type).is_some_and(|p| p.status.flagged()))
    };
    let charted: Vec<&ItemLook> = t.items.iter().filter(|i| ever(i)).collect();
    let within = t.items.iter().filter(|i| i.status == Status::WithinRange).count();
    let few = t.items.iter().filter(|i| i.status == Status::TooFewResponses).count();
    html! {
        section.trust id={"trust-" (t.trust)} data-flagged=(t.flagged) {
            h2 { (t.trust) ": " (t.flagged) " items heading outside the expected range now" }
            p.small { (t.respondents) " respondents so far; " (within) " items within the expected range so far, " (few) " with too few responses." }
            @if charted.is_empty() {
                p { "No item of " (t.trust) " has been flagged at any look." }
            }
            @for i in charted {
                (item_block(&t.trust, i, looks, labels, rules))
            }
        }
    }
}

/// The points of one trust-item, look by look.
fn series<'a>(trust: &str, i: &ItemLook, looks: &'a [PastLook]) -> Vec<Option<&'a PastItem>> {
    looks.iter().map(|l| l.item(trust, &i.item, i.item_type)).collect()
}

/// The expected range at a look: national +/- the "somewhat" cut times the spread.
fn range(p: &PastItem, rules: &ExpectedRange) -> Option<(f64, f64)> {
    let (y0, d) = (p.national?, p.spread?);
    Some((y0 - rules.z_somewhat * d, y0 + rules.z_somewhat * d))
}

fn item_block(
    trust: &str,
    i: &ItemLook,
    looks: &[PastLook],
    labels: &[String],
    rules: &ExpectedRange,
) -> Markup {
    let points = series(trust, i, looks);
    let id = format!("chart-{trust}-{}", i.item);
    let name = format!("{} {}", i.item_type, i.item);
    html! {
        div.two.item data-item=(i.item) data-status=(format!("{:?}", i.status)) {
            figure {
                figcaption { (name) ": " (i.status.label()) }
                (chart(&id, &name, &points, labels, rules))
            }
            table.data.compact {
                caption { (name) ", look by look" }
                thead { tr { th { "look" } th { "n" } th { "score" } th { "expected range" } th { "z" } th { "boundary" } th { "status" } } }
                tbody {
                    @for (p, label) in points.iter().zip(labels) {
                        tr data-flagged=(p.is_some_and(|p| p.status.flagged())) {
                            th { (label) }
                            @if let Some(p) = p {
                                td { (p.n) }
                                td { (one_dp(p.score)) }
                                td { (range(p, rules).map_or_else(|| "n/a".to_owned(), |(lo, hi)| format!("{} to {}", one_dp(Some(lo)), one_dp(Some(hi))))) }
                                td { (p.z.map_or_else(|| "n/a".to_owned(), |z| format!("{z:.2}"))) }
                                td { (p.boundary.map_or_else(|| "n/a".to_owned(), |b| format!("{b:.2}"))) }
                                td { (p.status.label()) }
                            } @else {
                                td colspan="6" { "not in this look" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A small line chart: the score at each look (a red ring where it was flagged) over the shaded
/// expected range and the dashed national average.
fn chart(
    id: &str,
    name: &str,
    points: &[Option<&PastItem>],
    labels: &[String],
    rules: &ExpectedRange,
) -> Markup {
    const W: f64 = 340.0;
    const H: f64 = 150.0;
    let (left, right, top, bottom) = (34.0, W - 10.0, 10.0, H - 22.0);
    let values: Vec<f64> = points
        .iter()
        .flatten()
        .flat_map(|p| {
            let r = range(p, rules);
            [p.score, p.national, r.map(|r| r.0), r.map(|r| r.1)]
        })
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min).max(0.0).floor();
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max).min(10.0).ceil();
    let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 10.0) };
    // Score upwards: the scale maps lo to the bottom.
    let y = Scale::new(lo, hi, bottom, top);
    let n = points.len().max(1);
    let x = |k: usize| {
        if n == 1 { (left + right) / 2.0 } else { left + (right - left) * k as f64 / (n - 1) as f64 }
    };
    let bands: Vec<(usize, (f64, f64))> =
        points.iter().enumerate().filter_map(|(k, p)| Some((k, range((*p)?, rules)?))).collect();
    let band = {
        let upper = bands.iter().map(|(k, (_, h))| format!("{:.1},{:.1}", x(*k), y.at(*h)));
        let lower = bands.iter().rev().map(|(k, (l, _))| format!("{:.1},{:.1}", x(*k), y.at(*l)));
        upper.chain(lower).collect::<Vec<_>>().join(" ")
    };
    let scores: Vec<(usize, f64, bool)> = points
        .iter()
        .enumerate()
        .filter_map(|(k, p)| p.and_then(|p| Some((k, p.score?, p.status.flagged()))))
        .collect();
    let line =
        scores.iter().map(|(k, s, _)| format!("{:.1},{:.1}", x(*k), y.at(*s))).collect::<Vec<_>>().join(" ");
    let national = points.iter().flatten().find_map(|p| p.national);
    let desc = format!(
        "{name}: score at each of {} looks against last year's expected range; flagged at {}.",
        points.len(),
        scores
            .iter()
            .filter(|s| s.2)
            .map(|s| labels.get(s.0).map_or("?", String::as_str))
            .collect::<Vec<_>>()
            .join(", ")
    );
    html! {
        svg id=(id) viewBox={"0 0 " (W) " " (H)} width=(W) height=(H) role="img" aria-labelledby={(id) "-d"} {
            desc id={(id) "-d"} { (desc) }
            @if bands.len() > 1 {
                polygon.range points=(band) fill="#c6dbef" stroke="none" {}
            }
            @if let Some(y0) = national {
                line x1=(left) x2=(right) y1=(format!("{:.1}", y.at(y0))) y2=(format!("{:.1}", y.at(y0))) stroke="#555" stroke-dasharray="4 3" {}
            }
            @for v in [lo, hi] {
                text x=(left - 4.0) y=(format!("{:.1}", y.at(v) + 4.0)) text-anchor="end" font-size="10" { (v) }
            }
            @if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
                text x=(left) y=(H - 6.0) font-size="10" { (first) }
                text x=(right) y=(H - 6.0) font-size="10" text-anchor="end" { (last) }
            }
            polyline.score points=(line) fill="none" stroke="#08306b" stroke-width="2" {}
            @for (k, s, flagged) in &scores {
                @if *flagged {
                    circle.flag cx=(format!("{:.1}", x(*k))) cy=(format!("{:.1}", y.at(*s))) r="5" fill="none" stroke="#cb181d" stroke-width="2" {}
                } @else {
                    circle.point cx=(format!("{:.1}", x(*k))) cy=(format!("{:.1}", y.at(*s))) r="2.5" fill="#08306b" {}
                }
            }
        }
    }
}
