//! Small SVG chart templates (maud), each with `role="img"`, a `<title>` and a `<desc>`; the
//! numbers they draw are always printed in a table beside them by the caller. Geometry is kept
//! in plain functions so it can be tested without a browser.

use maud::{Markup, html};

use crate::benchmark::NationalFigures;
use crate::method::expected_range::Band;
use crate::profile::ExpectedRange;

/// Fill of each band: a blue-orange diverging scale (colour-blind safe, ColorBrewer PuOr/RdBu
/// family), grey for "about the same". Band names are always printed beside the colour.
#[must_use]
pub fn band_colour(band: Band) -> &'static str {
    match band {
        Band::MuchBetter => "#08519c",
        Band::Better => "#4292c6",
        Band::SomewhatBetter => "#9ecae1",
        Band::AboutTheSame => "#d9d9d9",
        Band::SomewhatWorse => "#fdbe85",
        Band::Worse => "#f07f2d",
        Band::MuchWorse => "#a63603",
    }
}

/// Okabe-Ito blue: the trust.
pub const TRUST: &str = "#0072b2";
/// Okabe-Ito vermillion: the national figure.
pub const NATIONAL: &str = "#b84b00";

/// Coordinates in SVG attributes, one decimal place.
fn c(v: f64) -> String {
    format!("{:.1}", crate::report::round1(v))
}

/// A linear map from `[lo, hi]` in score space to `[x0, x1]` in pixels, clamped to the ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// Lowest value.
    pub lo: f64,
    /// Highest value.
    pub hi: f64,
    /// Pixel of `lo`.
    pub x0: f64,
    /// Pixel of `hi`.
    pub x1: f64,
}

impl Scale {
    /// The scale; a zero-width range is widened by half a point each way so it still draws.
    #[must_use]
    pub fn new(lo: f64, hi: f64, x0: f64, x1: f64) -> Self {
        if hi - lo > 1e-9 { Self { lo, hi, x0, x1 } } else { Self { lo: lo - 0.5, hi: hi + 0.5, x0, x1 } }
    }

    /// Pixel of `v`, clamped to the scale.
    #[must_use]
    pub fn at(&self, v: f64) -> f64 {
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        self.x0 + t * (self.x1 - self.x0)
    }
}

/// The seven expected-range bands of one trust in score space, worst first, each `(band, from,
/// to)` clipped to the lowest-to-highest span `[lo, hi]` (empty bands have `from == to`).
/// Boundaries are `mean ± z* × sqrt(se² + tau²)` for the profile's three thresholds (method.md
/// §8: a trust's adjusted z is `(score - mean) / sqrt(se² + tau²)`).
#[must_use]
pub fn band_segments(
    mean: f64,
    se: f64,
    tau2: f64,
    rules: &ExpectedRange,
    (lo, hi): (f64, f64),
) -> [(Band, f64, f64); 7] {
    // `max`/`min` rather than `clamp`, which panics on a NaN or an inverted range.
    let hi = hi.max(lo);
    let d = (se * se + tau2).sqrt();
    let edge = |z: f64| (mean + z * d).max(lo).min(hi);
    let e = [
        lo,
        edge(-rules.z_much),
        edge(-rules.z_clear),
        edge(-rules.z_somewhat),
        edge(rules.z_somewhat),
        edge(rules.z_clear),
        edge(rules.z_much),
        hi,
    ];
    let order = [
        Band::MuchWorse,
        Band::Worse,
        Band::SomewhatWorse,
        Band::AboutTheSame,
        Band::SomewhatBetter,
        Band::Better,
        Band::MuchBetter,
    ];
    let mut out = [(Band::AboutTheSame, lo, lo); 7];
    for (i, (slot, band)) in out.iter_mut().zip(order).enumerate() {
        *slot = (band, e[i], e[i + 1]);
    }
    out
}

/// Size of a range bar: the section one is large and labelled, a question's is small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarSize {
    /// 560 px wide, with the national average and axis labels.
    Large,
    /// 200 px wide, for a table row that prints the lowest and highest.
    Small,
}

/// What a range bar shows.
pub struct RangeBar<'a> {
    /// Unique id for the title/desc ids.
    pub id: &'a str,
    /// Short name for the title, e.g. "Q6" or "Section S1 Support while waiting".
    pub name: &'a str,
    /// The item's national figures.
    pub national: &'a NationalFigures,
    /// The trust's score and standard error.
    pub score: f64,
    /// Standard error of the trust's score.
    pub se: f64,
    /// The trust's band, in words in the description.
    pub band: Option<Band>,
}

/// A range bar: the lowest-to-highest span of trust scores divided into this trust's seven
/// expected-range bands, with the trust's score as a black marker.
#[must_use]
pub fn range_bar(bar: &RangeBar<'_>, rules: &ExpectedRange, size: BarSize) -> Markup {
    let nat = bar.national;
    let (w, h, pad, top, bar_h) = match size {
        BarSize::Large => (560.0, 76.0, 16.0, 24.0, 24.0),
        BarSize::Small => (200.0, 36.0, 8.0, 16.0, 14.0),
    };
    let scale = Scale::new(nat.min, nat.max, pad, w - pad);
    let segments = band_segments(nat.mean, bar.se, nat.tau2, rules, (scale.lo, scale.hi));
    let mx = scale.at(bar.score);
    let band = bar.band.map_or("no band", Band::label);
    let (tid, did) = (format!("{}-t", bar.id), format!("{}-d", bar.id));
    let font = if size == BarSize::Large { "12" } else { "11" };
    let nx = scale.at(nat.mean);
    // The national average is named under the bar unless it would run into the end labels.
    let name_national = size == BarSize::Large && nx - scale.x0 > 90.0 && scale.x1 - nx > 90.0;
    html! {
        svg class="range-bar" width=(c(w)) height=(c(h)) viewBox={"0 0 " (c(w)) " " (c(h))}
            role="img" aria-labelledby={(tid) " " (did)} font-size=(font) {
            title id=(tid) { (bar.name) ": trust score " (c(bar.score)) ", " (band) }
            desc id=(did) {
                "Range of trust scores from " (c(nat.min)) " to " (c(nat.max)) ", national average "
                (c(nat.mean)) ", divided into this trust's expected-range bands. The trust scores "
                (c(bar.score)) ": " (band) "."
            }
            @for (b, from, to) in segments {
                @if to > from {
                    rect x=(c(scale.at(from))) y=(c(top)) width=(c(scale.at(to) - scale.at(from)))
                        height=(c(bar_h)) fill=(band_colour(b)) { title { (b.label()) } }
                }
            }
            rect x=(c(scale.x0)) y=(c(top)) width=(c(scale.x1 - scale.x0)) height=(c(bar_h))
                fill="none" stroke="#555" stroke-width="0.5" {}
            @if size == BarSize::Large {
                line x1=(c(nx)) x2=(c(nx)) y1=(c(top)) y2=(c(top + bar_h + 6.0)) stroke="#333" stroke-dasharray="3 2" {}
            }
            @if name_national {
                text x=(c(nx)) y=(c(h - 3.0)) text-anchor="middle" fill="#333" { "national average " (c(nat.mean)) }
            }
            line class="marker" x1=(c(mx)) x2=(c(mx)) y1=(c(top - 6.0)) y2=(c(top + bar_h + 4.0))
                stroke="#000" stroke-width="3" {}
            // The score label stays inside the chart when the trust is the lowest or highest.
            text x=(c(mx.clamp(14.0, w - 14.0))) y=(c(top - 8.0)) text-anchor="middle" font-weight="bold" { (c(bar.score)) }
            // A question's lowest and highest are in its table row; a section's are printed here.
            @if size == BarSize::Large {
                text x=(c(scale.x0)) y=(c(h - 3.0)) text-anchor="start" fill="#333" { (c(nat.min)) }
                text x=(c(scale.x1)) y=(c(h - 3.0)) text-anchor="end" fill="#333" { (c(nat.max)) }
            }
        }
    }
}

/// One row of a horizontal bar chart of two series (trust and national).
pub struct PairRow<'a> {
    /// Row label.
    pub label: &'a str,
    /// Trust value.
    pub trust: f64,
    /// National value.
    pub national: f64,
}

/// The accessible frame of a bar chart: an SVG of `w` x `h` with `role="img"`, and its title
/// and description wired to it by id.
fn chart(id: &str, (w, h): (f64, f64), (title, desc): (&str, &str), body: Markup) -> Markup {
    let (tid, did) = (format!("{id}-t"), format!("{id}-d"));
    html! {
        svg class="chart" width=(c(w)) height=(c(h)) viewBox={"0 0 " (c(w)) " " (c(h))} role="img"
            aria-labelledby={(tid) " " (did)} font-size="12" {
            title id=(tid) { (title) }
            desc id=(did) { (desc) }
            (body)
        }
    }
}

/// Horizontal bars, trust and national side by side per row, `0..=max`, values printed with
/// `unit` (e.g. "%").
#[must_use]
pub fn paired_bars(id: &str, title: &str, desc: &str, rows: &[PairRow<'_>], unit: &str) -> Markup {
    let (w, label_w, row_h) = (560.0, 150.0, 34.0);
    let h = 24.0 + row_h * rows.len() as f64;
    let max = rows.iter().map(|r| r.trust.max(r.national)).fold(1.0_f64, f64::max);
    let scale = Scale::new(0.0, max, label_w, w - 50.0);
    let body = html! {
        rect x=(c(label_w)) y="4" width="10" height="10" fill=(TRUST) {}
        text x=(c(label_w + 14.0)) y="13" { "this trust" }
        rect x=(c(label_w + 90.0)) y="4" width="10" height="10" fill=(NATIONAL) {}
        text x=(c(label_w + 104.0)) y="13" { "all trusts" }
        @for (i, r) in rows.iter().enumerate() {
            @let y = 24.0 + row_h * i as f64;
            text x=(c(label_w - 6.0)) y=(c(y + 17.0)) text-anchor="end" { (r.label) }
            @for (k, (v, fill)) in [(r.trust, TRUST), (r.national, NATIONAL)].into_iter().enumerate() {
                @let by = y + 3.0 + 14.0 * k as f64;
                rect x=(c(label_w)) y=(c(by)) width=(c(scale.at(v) - label_w)) height="12" fill=(fill) {}
                text x=(c(scale.at(v) + 4.0)) y=(c(by + 10.0)) font-size="11" { (c(v)) (unit) }
            }
        }
    };
    chart(id, (w, h), (title, desc), body)
}

/// Bars diverging from zero (the national average): `(label, difference)`, positive to the
/// right in blue, negative to the left in orange, on a scale of `±reach` (at least 0.5), so
/// that charts given the same reach compare.
#[must_use]
pub fn diverging_bars(id: &str, title: &str, desc: &str, rows: &[(&str, f64)], reach: f64) -> Markup {
    let (w, label_w, row_h) = (560.0, 80.0, 26.0);
    let h = 30.0 + row_h * rows.len() as f64;
    let reach = rows.iter().map(|r| r.1.abs()).fold(reach.max(0.5), f64::max);
    let scale = Scale::new(-reach, reach, label_w + 40.0, w - 40.0);
    let zero = scale.at(0.0);
    let body = html! {
        text x=(c(zero)) y="12" text-anchor="middle" fill="#333" { "national average" }
        line x1=(c(zero)) x2=(c(zero)) y1="16" y2=(c(h - 4.0)) stroke="#333" {}
        @for (i, (label, d)) in rows.iter().enumerate() {
            @let y = 22.0 + row_h * i as f64;
            @let (x, fill, anchor, tx) = if *d >= 0.0 {
                (zero, band_colour(Band::Better), "start", scale.at(*d) + 4.0)
            } else {
                (scale.at(*d), band_colour(Band::Worse), "end", scale.at(*d) - 4.0)
            };
            text x=(c(label_w)) y=(c(y + 14.0)) text-anchor="end" { (label) }
            rect x=(c(x)) y=(c(y + 2.0)) width=(c((scale.at(*d) - zero).abs())) height="16" fill=(fill) {}
            text x=(c(tx)) y=(c(y + 14.0)) text-anchor=(anchor) { (format!("{:+.1}", crate::report::round1(*d))) }
        }
    };
    chart(id, (w, h), (title, desc), body)
}

/// Two years of a trust's and the national score: `(last year, this year)` each.
pub struct Years {
    /// The trust's scores.
    pub trust: (Option<f64>, Option<f64>),
    /// The national averages.
    pub national: (Option<f64>, Option<f64>),
}

/// The y range of a change chart: the values' span padded by half a point, within 0-10.
#[must_use]
pub fn change_range(y: &Years) -> (f64, f64) {
    let v = [y.trust.0, y.trust.1, y.national.0, y.national.1];
    let (lo, hi) =
        v.iter().flatten().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if lo > hi { (0.0, 10.0) } else { ((lo - 0.5).floor().max(0.0), (hi + 0.5).ceil().min(10.0)) }
}

/// A small line chart of trust (solid blue) and national (dashed vermillion) scores by year.
#[must_use]
pub fn change_line(id: &str, name: &str, y: &Years) -> Markup {
    let (w, h) = (210.0, 130.0);
    let (lo, hi) = change_range(y);
    // Vertical: the scale runs from bottom (lo) to top (hi).
    let vy = Scale::new(lo, hi, h - 24.0, 14.0);
    let xs = [65.0, 160.0];
    let (tid, did) = (format!("{id}-t"), format!("{id}-d"));
    let text_of = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), c);
    let series = [(y.trust, TRUST, ""), (y.national, NATIONAL, "4 3")];
    // Per year, the higher value's label goes above its point and the lower one's below.
    let above = |k: usize, i: usize| {
        let pick = |p: (Option<f64>, Option<f64>)| if i == 0 { p.0 } else { p.1 };
        let (t, n) = (pick(y.trust).unwrap_or(f64::MIN), pick(y.national).unwrap_or(f64::MIN));
        (k == 0) == (t >= n)
    };
    html! {
        svg class="chart change" width=(c(w)) height=(c(h)) viewBox={"0 0 " (c(w)) " " (c(h))} role="img"
            aria-labelledby={(tid) " " (did)} font-size="11" {
            title id=(tid) { (name) ": score last year and this year" }
            desc id=(did) {
                "Trust " (text_of(y.trust.0)) " last year, " (text_of(y.trust.1)) " this year; national average "
                (text_of(y.national.0)) " last year, " (text_of(y.national.1)) " this year."
            }
            line x1="40" x2=(c(w - 20.0)) y1=(c(vy.x0)) y2=(c(vy.x0)) stroke="#999" {}
            text x="34" y=(c(vy.x0 + 4.0)) text-anchor="end" fill="#333" { (c(lo)) }
            text x="34" y=(c(vy.x1 + 4.0)) text-anchor="end" fill="#333" { (c(hi)) }
            text x=(c(xs[0])) y=(c(h - 6.0)) text-anchor="middle" { "last year" }
            text x=(c(xs[1])) y=(c(h - 6.0)) text-anchor="middle" { "this year" }
            @for (k, ((a, b), colour, dash)) in series.into_iter().enumerate() {
                @if let (Some(a), Some(b)) = (a, b) {
                    line x1=(c(xs[0])) x2=(c(xs[1])) y1=(c(vy.at(a))) y2=(c(vy.at(b))) stroke=(colour)
                        stroke-width="2" stroke-dasharray=(dash) {}
                }
                @for (i, (x, v)) in xs.iter().zip([a, b]).enumerate() {
                    @if let Some(v) = v {
                        @let dy = if above(k, i) { -7.0 } else { 14.0 };
                        circle cx=(c(*x)) cy=(c(vy.at(v))) r="3.5" fill=(colour) {}
                        text x=(c(*x)) y=(c(vy.at(v) + dy)) text-anchor="middle" fill=(colour) { (c(v)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    /// Regression: `f64::clamp` panicked on a NaN mean or an inverted span.
    #[test]
    fn band_segments_do_not_panic_on_nan_or_an_inverted_span() {
        let rules = Profile::npsp_2024().expected_range;
        let _ = band_segments(f64::NAN, 0.2, 0.1, &rules, (5.0, 9.0));
        let s = band_segments(7.0, 0.2, 0.1, &rules, (8.0, 7.0));
        assert!(s.iter().all(|&(_, from, to)| from <= to));
    }

    #[test]
    fn band_boundaries_are_ordered_and_within_the_bar() {
        let rules = Profile::npsp_2024().expected_range;
        for (mean, se, tau2, lo, hi) in
            [(7.0, 0.3, 0.1, 5.0, 9.0), (7.0, 0.0, 0.0, 6.0, 8.0), (5.0, 2.0, 1.0, 4.9, 5.2)]
        {
            let s = band_segments(mean, se, tau2, &rules, (lo, hi));
            assert_eq!(s[0].1, lo);
            assert_eq!(s[6].2, hi);
            for w in s.windows(2) {
                assert_eq!(w[0].2, w[1].1, "segments touch");
            }
            for (_, from, to) in s {
                assert!(lo <= from && from <= to && to <= hi, "{from}..{to} outside {lo}..{hi}");
            }
        }
    }

    #[test]
    fn band_boundaries_are_the_profile_thresholds_in_score_space() {
        let rules = Profile::npsp_2024().expected_range;
        // se 0.3, tau2 0.16: d = sqrt(0.09 + 0.16) = 0.5.
        let s = band_segments(7.0, 0.3, 0.16, &rules, (0.0, 10.0));
        assert!((s[3].1 - (7.0 - 1.645 * 0.5)).abs() < 1e-12);
        assert!((s[3].2 - (7.0 + 1.645 * 0.5)).abs() < 1e-12);
        assert!((s[6].1 - (7.0 + 2.576 * 0.5)).abs() < 1e-12);
        assert_eq!(s[3].0, Band::AboutTheSame);
        assert_eq!(s[0].0, Band::MuchWorse);
    }

    #[test]
    fn the_marker_of_a_known_score_sits_where_the_scale_says() {
        let s = Scale::new(4.0, 9.0, 16.0, 544.0);
        assert!((s.at(6.5) - 280.0).abs() < 1e-9);
        assert_eq!(s.at(4.0), 16.0);
        assert_eq!(s.at(12.0), 544.0, "clamped to the bar");
        let flat = Scale::new(5.0, 5.0, 0.0, 100.0);
        assert!((flat.at(5.0) - 50.0).abs() < 1e-9, "a single trust sits mid-bar");
    }

    #[test]
    fn the_range_bar_draws_the_marker_at_the_score() {
        let nat = NationalFigures {
            mean: 6.5,
            min: 4.0,
            max: 9.0,
            trusts: 5,
            phi: None,
            tau2: 0.0,
            previous_mean: None,
            shares: None,
        };
        let bar = RangeBar {
            id: "q",
            name: "Q1",
            national: &nat,
            score: 6.5,
            se: 0.2,
            band: Some(Band::AboutTheSame),
        };
        let svg = range_bar(&bar, &Profile::npsp_2024().expected_range, BarSize::Large).into_string();
        assert!(svg.contains(r#"<line class="marker" x1="280.0" x2="280.0""#), "{svg}");
        assert!(svg.contains("role=\"img\"") && svg.contains("<title") && svg.contains("<desc"));
    }

    #[test]
    fn change_range_pads_and_stays_on_the_scale() {
        let y = Years { trust: (Some(9.8), Some(9.6)), national: (Some(9.1), None) };
        assert_eq!(change_range(&y), (8.0, 10.0));
        assert_eq!(change_range(&Years { trust: (None, None), national: (None, None) }), (0.0, 10.0));
    }
}
