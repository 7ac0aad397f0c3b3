//! The report's parts in the published report's reading order. Every number comes from the
//! [`Benchmark`] model, rounded only here, for display (one decimal place for scores).

use maud::{Markup, html};

use super::charts::{self, BarSize, PairRow, RangeBar, Years, band_colour};
use crate::benchmark::{Benchmark, ChangeStatus, Group, Item, TrustResult, TrustSummary};
use crate::method::expected_range::Band;
use crate::method::headline::{Gap, ResponseRate};
use crate::report::{one_dp, round1};

/// One trust's view of the benchmark.
pub struct View<'a> {
    /// The whole benchmark.
    pub b: &'a Benchmark,
    /// The trust's headline figures.
    pub summary: &'a TrustSummary,
}

impl<'a> View<'a> {
    fn trust(&self) -> &'a str {
        &self.summary.trust
    }

    fn result(&self, item: &'a Item) -> Option<&'a TrustResult> {
        item.results.iter().find(|r| r.trust == self.summary.trust)
    }

    fn question(&self, id: &str) -> Option<&'a Item> {
        self.b.questions.iter().find(|q| q.id == id)
    }

    fn suppressed_text(&self) -> String {
        format!("suppressed: fewer than {} respondents", self.b.profile.suppression.min_respondents)
    }

    fn band_text(&self, r: &TrustResult) -> String {
        match r.band {
            Some(b) => b.label().to_owned(),
            None if r.suppressed => self.suppressed_text(),
            None => "n/a".to_owned(),
        }
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn rate(r: Option<&ResponseRate>) -> Option<f64> {
    r.and_then(|r| r.rate)
}

fn swatch(band: Band) -> Markup {
    html! { span.swatch style={"background:" (band_colour(band))} aria-hidden="true" {} }
}

/// 1. Background and method in brief.
pub fn background(v: &View<'_>) -> Markup {
    let p = &v.b.profile;
    let e = &p.expected_range;
    html! {
        section #background {
            h2 { "1. Background and method" }
            p {
                "This report compares trust " strong { (v.trust()) } " with the other "
                (v.b.national.trusts.saturating_sub(1)) " trusts in " (v.b.instrument.title) ". It is computed with method profile "
                code { (p.name) } " from the same figures as the benchmark JSON."
            }
            dl.terms {
                dt { "Scores" }
                dd { "Each evaluative answer scores 0 to 10, 10 being the best experience. A trust's question score is the weighted mean of its respondents' scores; a section score is the mean of its question scores." }
                dt { "Standardisation" }
                dd { "Respondents are weighted by age band and sex so that every trust has the national mix of respondents (weights capped at " (p.standardisation.weight_cap) "), so a trust does not look better or worse because of who its service users are." }
                dt { "National average" }
                dd { "The mean of all trusts' scores, each trust counted once." }
                dt { "Expected range and bands" }
                dd {
                    "A trust's score is compared with the national average allowing for its own uncertainty and the usual spread between trusts. "
                    "Its adjusted z is beyond ±" (e.z_somewhat) " for \"somewhat\" better or worse, ±" (e.z_clear)
                    " for better or worse, and ±" (e.z_much) " for much better or worse than expected; otherwise it is \"about the same\". "
                    "The range bars in section 3 show those boundaries in score points for this trust."
                }
                dt { "Suppression" }
                dd { "A result from fewer than " (p.suppression.min_respondents) " respondents is not shown, and nor is a section that contains one." }
                dt { "Change over time" }
                dd { "A change is an increase or decrease when |t| exceeds " (p.change.z) "; new or changed questions are not compared." }
            }
            p.small { "Instrument " code { (v.b.instrument.id) } " (content hash " code { (v.b.instrument.content_hash) } "). " (v.b.instrument.provenance) }
        }
    }
}

fn group_rows<'g>(trust: &'g [Group], national: &'g [Group]) -> Vec<(&'g str, u64, f64, f64)> {
    let share = |g: &[Group], x: u64| {
        let total: u64 = g.iter().map(|g| g.respondents).sum();
        if total == 0 { 0.0 } else { 100.0 * x as f64 / total as f64 }
    };
    trust
        .iter()
        .map(|t| {
            let nat = national.iter().find(|n| n.group == t.group).map_or(0, |n| n.respondents);
            (t.group.as_str(), t.respondents, share(trust, t.respondents), share(national, nat))
        })
        .collect()
}

fn breakdown(v: &View<'_>, id: &str, what: &str, trust: &[Group], national: &[Group]) -> Markup {
    let rows = group_rows(trust, national);
    let pairs: Vec<PairRow<'_>> =
        rows.iter().map(|r| PairRow { label: r.0, trust: r.2, national: r.3 }).collect();
    let desc = rows
        .iter()
        .map(|r| format!("{} {:.0}% (all trusts {:.0}%)", r.0, r.2, r.3))
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        figure {
            figcaption { "Respondents by " (what) ", percent" }
            (charts::paired_bars(id, &format!("Respondents by {what}: {} and all trusts", v.trust()), &desc, &pairs, "%"))
            table.data {
                thead { tr { th scope="col" { (what) } th scope="col" { "respondents" } th scope="col" { "this trust" } th scope="col" { "all trusts" } } }
                tbody {
                    @for (g, n, t, nat) in &rows {
                        tr { th scope="row" { (g) } td { (n) } td { (format!("{t:.0}%")) } td { (format!("{nat:.0}%")) } }
                    }
                }
            }
        }
    }
}

/// 2. Headline results: who took part.
pub fn who_took_part(v: &View<'_>) -> Markup {
    let s = v.summary;
    let n = &v.b.national;
    html! {
        section #who-took-part {
            h3 { "Who took part" }
            ul.figures {
                li { strong { (s.response_rate.map_or_else(|| "n/a".to_owned(), |r| r.invited.to_string())) } " invited to take part" }
                li { strong { (s.respondents) } " completed" }
                li { strong { (pct(rate(s.response_rate.as_ref()))) } " response rate" }
                li { strong { (pct(rate(n.response_rate.as_ref()))) } " response rate for all trusts" }
                li { strong { (pct(rate(s.previous_response_rate.as_ref()))) } " response rate for this trust last year" }
            }
            p.small { "Response rate = completed ÷ (invited − undeliverable − deceased)." }
            div.two {
                (breakdown(v, "age", "age band", &s.who_took_part.age, &n.who_took_part.age))
                (breakdown(v, "sex", "sex", &s.who_took_part.sex, &n.who_took_part.sex))
            }
        }
    }
}

/// 2. Headline results: questions per band and change counts.
pub fn summary_of_findings(v: &View<'_>) -> Markup {
    let s = v.summary;
    let c = &s.changes;
    html! {
        section #summary {
            h3 { "Summary of findings" }
            div.two {
                table.data {
                    caption { "Questions by comparison with other trusts" }
                    tbody {
                        @for band in Band::ALL {
                            tr data-band=(band_key(band)) { th scope="row" { (swatch(band)) (band.label()) } td { (s.bands.get(band)) } }
                        }
                        tr { th scope="row" { (v.suppressed_text()) } td { (s.bands.suppressed) } }
                    }
                }
                table.data {
                    caption { "Questions by change since last year" }
                    tbody {
                        tr { th scope="row" { "Increase" } td { (c.increase) } }
                        tr { th scope="row" { "Decrease" } td { (c.decrease) } }
                        tr { th scope="row" { "No change" } td { (c.no_change) } }
                        tr { th scope="row" { "Not tested" } td { (c.not_tested) } }
                    }
                }
            }
        }
    }
}

fn band_key(band: Band) -> &'static str {
    match band {
        Band::MuchBetter => "much_better",
        Band::Better => "better",
        Band::SomewhatBetter => "somewhat_better",
        Band::AboutTheSame => "about_the_same",
        Band::SomewhatWorse => "somewhat_worse",
        Band::Worse => "worse",
        Band::MuchWorse => "much_worse",
    }
}

fn gap_chart(v: &View<'_>, (id, heading): (&str, &str), gaps: &[Gap], reach: f64) -> Markup {
    let rows: Vec<(&str, f64)> = gaps.iter().map(|g| (g.question.as_str(), g.difference)).collect();
    let desc = gaps
        .iter()
        .map(|g| format!("{} {:+.1}", g.question, round1(g.difference)))
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        h4 { (heading) }
        (charts::diverging_bars(id, &format!("{heading}: difference from the national average"), &desc, &rows, reach))
        table.data {
            thead { tr { th scope="col" { "question" } th scope="col" { "this trust" } th scope="col" { "national average" } th scope="col" { "difference" } } }
            tbody {
                @for g in gaps {
                    tr data-gap=(g.question) {
                        th scope="row" { (g.question) ". " (v.question(&g.question).map_or("", |q| q.title.as_str())) }
                        td { (one_dp(Some(g.score))) } td { (one_dp(Some(g.national))) } td { (format!("{:+.1}", round1(g.difference))) }
                    }
                }
            }
        }
    }
}

/// 2. Headline results: top and bottom five against the national average, on one scale.
pub fn best_and_worst(v: &View<'_>) -> Markup {
    let s = v.summary;
    let reach = s.top_five.iter().chain(&s.bottom_five).map(|g| g.difference.abs()).fold(0.0, f64::max);
    html! {
        section #best-worst {
            h3 { "Best and worst performance relative to the national average" }
            p { "The five results furthest above and furthest below the national average. If none is above (or below), the closest ones are shown." }
            (gap_chart(v, ("top5", "Top five scores"), &v.summary.top_five, reach))
            (gap_chart(v, ("bottom5", "Bottom five scores"), &v.summary.bottom_five, reach))
        }
    }
}

fn bar(v: &View<'_>, item: &Item, r: &TrustResult, size: BarSize, name: &str) -> Markup {
    match (&item.national, r.score) {
        (Some(nat), Some(score)) => {
            let id = format!("rb-{}", item.id);
            let bar = RangeBar { id: &id, name, national: nat, score, se: r.se.unwrap_or(0.0), band: r.band };
            charts::range_bar(&bar, &v.b.profile.expected_range, size)
        }
        _ => html! {},
    }
}

/// 3. Benchmarking: one section's range bar and its questions' table.
fn benchmark_section(v: &View<'_>, section: &Item) -> Markup {
    let Some(r) = v.result(section) else { return html! {} };
    let questions: Vec<&Item> =
        v.b.questions.iter().filter(|q| q.section.as_deref() == Some(section.id.as_str())).collect();
    let name = format!("Section {} {}", section.id, section.title);
    html! {
        div.section-block data-section=(section.id) data-score=(one_dp(r.score)) {
            div.keep {
                h3 id={"bm-" (section.id)} { (name) }
                p.verdict { "Section score: " strong { (one_dp(r.score)) } " — " (v.band_text(r)) }
                (bar(v, section, r, BarSize::Large, &name))
            }
            table.data.questions {
                caption { "Question scores, " (section.title) }
                thead { tr {
                    th scope="col" { "question" } th scope="col" { abbr title="respondents" { "n" } } th scope="col" { "trust" }
                    th scope="col" { "national" } th scope="col" { "lowest" } th scope="col" { "highest" }
                    th scope="col" { "band" } th scope="col" { "range of trusts, this trust marked" }
                } }
                @for q in questions {
                    @if let Some(qr) = v.result(q) { (question_rows(v, q, qr)) }
                }
            }
        }
    }
}

/// A question's text on a row of its own, then its figures and its small range bar.
fn question_rows(v: &View<'_>, q: &Item, qr: &TrustResult) -> Markup {
    let nat = q.national.as_ref();
    html! {
        tbody.question {
            tr.qtitle { td colspan="8" { strong { (q.id) "." } " " (q.title) } }
            tr data-question=(q.id) data-score=(qr.score.map_or_else(|| "suppressed".to_owned(), |s| one_dp(Some(s)))) {
                th scope="row" { (q.id) }
                td { (qr.n) } td.score { (one_dp(qr.score)) } td { (one_dp(nat.map(|n| n.mean))) }
                td { (one_dp(nat.map(|n| n.min))) } td { (one_dp(nat.map(|n| n.max))) }
                td.band { @if let Some(b) = qr.band { (swatch(b)) } (v.band_text(qr)) }
                td.bar { (bar(v, q, qr, BarSize::Small, &q.id)) }
            }
        }
    }
}

/// 3. Scoring and benchmarking.
pub fn benchmarking(v: &View<'_>) -> Markup {
    html! {
        section #benchmarking {
            h2 { "3. Benchmarking by section" }
            p {
                "Each bar spans the lowest to the highest trust score and is divided into this trust's seven expected-range bands. "
                "The black marker is this trust's score; the dashed line on section bars is the national average."
            }
            ul.legend {
                @for band in Band::ALL { li { (swatch(band)) (band.label()) } }
            }
            @for s in &v.b.sections { (benchmark_section(v, s)) }
        }
    }
}

fn change_note(v: &View<'_>, r: &TrustResult) -> String {
    match (r.change_status, r.change) {
        (ChangeStatus::Tested, Some(c)) => {
            format!("{} (t = {:+.2}, p = {:.3})", c.direction.label(), c.statistic, c.p_value)
        }
        (ChangeStatus::NotComparable, _) => "not comparable: new or changed question".to_owned(),
        (ChangeStatus::Suppressed, _) => format!("not tested: {} in one of the years", v.suppressed_text()),
        _ => "not tested: no previous year".to_owned(),
    }
}

fn change_card(v: &View<'_>, item: &Item, name: &str) -> Markup {
    let Some(r) = v.result(item) else { return html! {} };
    let nat = item.national.as_ref();
    let years = Years {
        trust: (r.change.map(|c| c.previous), r.score),
        national: (nat.and_then(|n| n.previous_mean), nat.map(|n| n.mean)),
    };
    html! {
        figure.change-card data-change=(item.id) {
            figcaption { strong { (name) } br; span.label { (change_note(v, r)) } }
            (charts::change_line(&format!("ch-{}", item.id), name, &years))
            table.data.compact {
                thead { tr { th scope="col" { "" } th scope="col" { "last year" } th scope="col" { "this year" } } }
                tbody {
                    tr { th scope="row" { "this trust" } td { (one_dp(years.trust.0)) } td { (one_dp(years.trust.1)) } }
                    tr { th scope="row" { "all trusts" } td { (one_dp(years.national.0)) } td { (one_dp(years.national.1)) } }
                }
            }
        }
    }
}

/// 4. Change over time, by section.
pub fn change_over_time(v: &View<'_>) -> Markup {
    html! {
        section #change {
            h2 { "4. Change over time" }
            p { "This year's score against last year's for this trust (solid) and the national average (dashed), with the significance test of the trust's change." }
            @for s in &v.b.sections {
                h3 id={"ch-" (s.id)} { "Section " (s.id) " " (s.title) }
                div.cards {
                    (change_card(v, s, &format!("Section {}", s.id)))
                    @for q in v.b.questions.iter().filter(|q| q.section.as_deref() == Some(s.id.as_str())) {
                        (change_card(v, q, &format!("{}. {}", q.id, q.title)))
                    }
                }
            }
        }
    }
}

/// 5. Comparison to other trusts: the questions in each band.
pub fn comparison(v: &View<'_>) -> Markup {
    html! {
        section #comparison {
            h2 { "5. Comparison to other trusts" }
            @for band in Band::ALL {
                @let qs: Vec<&Item> = v.b.questions.iter().filter(|q| v.result(q).and_then(|r| r.band) == Some(band)).collect();
                h3 { (swatch(band)) (band.label()) " (" (qs.len()) ")" }
                @if qs.is_empty() {
                    p { "No questions for this trust fall within this band." }
                } @else {
                    ul data-band-list=(band_key(band)) { @for q in qs { li { (q.id) ". " (q.title) } } }
                }
            }
        }
    }
}
