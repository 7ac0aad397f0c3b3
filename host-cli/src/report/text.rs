//! One trust's report as plain text, in the reading order of the published benchmark report:
//! background, who took part, summary of findings, best and worst, benchmarking by section,
//! change over time, comparison to other trusts.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use super::{one_dp, round1};
use crate::benchmark::{Benchmark, ChangeStatus, Item, TrustResult};
use crate::method::expected_range::Band;
use crate::method::headline::ResponseRate;

fn pct(r: Option<&ResponseRate>) -> String {
    r.and_then(|r| r.rate).map_or_else(|| "n/a".to_owned(), |x| format!("{:.0}%", x * 100.0))
}

fn result<'a>(item: &'a Item, trust: &str) -> Option<&'a TrustResult> {
    item.results.iter().find(|r| r.trust == trust)
}

fn band_text(r: &TrustResult) -> String {
    match r.band {
        Some(b) => b.label().to_owned(),
        None if r.suppressed => "suppressed (fewer respondents than the minimum)".to_owned(),
        None => "n/a".to_owned(),
    }
}

/// The report for trust `trust`.
///
/// # Errors
/// The trust is not in the benchmark.
pub fn render(b: &Benchmark, trust: &str) -> Result<String> {
    let Some(summary) = b.trusts.iter().find(|t| t.trust == trust) else {
        let codes: Vec<_> = b.trusts.iter().map(|t| t.trust.as_str()).collect();
        bail!("trust `{trust}` is not in the data (trusts: {})", codes.join(", "));
    };
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "{} - benchmark report for trust {trust}\n", b.instrument.title);
    let _ = writeln!(w, "1. BACKGROUND AND METHODOLOGY\n");
    let _ = writeln!(
        w,
        "Scores are on a 0-10 scale (10 best), standardised by age and sex to the national respondent profile, \
         and compared with other trusts using the 'expected range' (method profile {}). Results from fewer than {} \
         respondents are suppressed. Instrument: {} (content hash {}).\nProvenance: {}\n",
        b.profile.name,
        b.profile.suppression.min_respondents,
        b.instrument.id,
        b.instrument.content_hash,
        b.instrument.provenance
    );
    let _ = writeln!(w, "2. HEADLINE RESULTS\n\nWho took part");
    let _ = writeln!(
        w,
        "  completed responses: {}; response rate {} (national {}; last year {})",
        summary.respondents,
        pct(summary.response_rate.as_ref()),
        pct(b.national.response_rate.as_ref()),
        pct(summary.previous_response_rate.as_ref()),
    );
    let groups = |g: &[crate::benchmark::Group]| {
        g.iter().map(|x| format!("{} {}", x.group, x.respondents)).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(w, "  age: {}", groups(&summary.who_took_part.age));
    let _ = writeln!(w, "  sex: {}\n", groups(&summary.who_took_part.sex));
    let _ = writeln!(w, "Summary of findings (questions per band)");
    for band in Band::ALL {
        let _ = writeln!(w, "  {:<32} {}", band.label(), summary.bands.get(band));
    }
    let _ = writeln!(w, "  {:<32} {}", "suppressed", summary.bands.suppressed);
    let c = &summary.changes;
    let _ = writeln!(
        w,
        "  change since last year: {} increased, {} decreased, {} no change, {} not tested\n",
        c.increase, c.decrease, c.no_change, c.not_tested
    );
    let heads = [
        "Best performance relative to the national average (top five)",
        "\nWorst performance relative to the national average (bottom five)",
    ];
    for (head, gaps) in heads.into_iter().zip([&summary.top_five, &summary.bottom_five]) {
        let _ = writeln!(w, "{head}");
        for g in gaps {
            let (score, national) = (one_dp(Some(g.score)), one_dp(Some(g.national)));
            let _ = writeln!(
                w,
                "  {:<8} trust {score:>4}  national {national:>4}  difference {:+.1}",
                g.question,
                round1(g.difference)
            );
        }
    }
    scoring(w, b, trust);
    change_over_time(w, b, trust);
    comparison(w, b, trust);
    Ok(o)
}

fn scoring(w: &mut String, b: &Benchmark, trust: &str) {
    let _ = writeln!(w, "\n3. SCORING AND BENCHMARKING\n");
    for section in &b.sections {
        let Some(sr) = result(section, trust) else { continue };
        let _ =
            writeln!(w, "Section {} {}: {} - {}", section.id, section.title, one_dp(sr.score), band_text(sr));
        let _ = writeln!(
            w,
            "  {:<8} {:>5} {:>6} {:>9} {:>7} {:>8}  band",
            "question", "n", "trust", "national", "lowest", "highest"
        );
        for q in b.questions.iter().filter(|q| q.section.as_deref() == Some(section.id.as_str())) {
            let Some(r) = result(q, trust) else { continue };
            let nat = q.national.as_ref();
            let _ = writeln!(
                w,
                "  {:<8} {:>5} {:>6} {:>9} {:>7} {:>8}  {}",
                q.id,
                r.n,
                one_dp(r.score),
                one_dp(nat.map(|n| n.mean)),
                one_dp(nat.map(|n| n.min)),
                one_dp(nat.map(|n| n.max)),
                band_text(r)
            );
        }
        let _ = writeln!(w);
    }
}

fn change_over_time(w: &mut String, b: &Benchmark, trust: &str) {
    let _ = writeln!(w, "4. CHANGE OVER TIME\n");
    for q in b.questions.iter().chain(&b.sections) {
        let Some(r) = result(q, trust) else { continue };
        let line = match (r.change_status, r.change) {
            (ChangeStatus::Tested, Some(c)) => {
                format!(
                    "{} -> {}  {} (t = {:+.2})",
                    one_dp(Some(c.previous)),
                    one_dp(r.score),
                    c.direction.label(),
                    c.statistic
                )
            }
            (ChangeStatus::NotComparable, _) => "not comparable with last year (new or changed)".to_owned(),
            (ChangeStatus::Suppressed, _) => "not tested: suppressed in one of the years".to_owned(),
            _ => "not tested: no previous year".to_owned(),
        };
        let _ = writeln!(w, "  {:<8} {line}", q.id);
    }
}

fn comparison(w: &mut String, b: &Benchmark, trust: &str) {
    let _ = writeln!(w, "\n5. COMPARISON TO OTHER TRUSTS\n");
    for band in Band::ALL {
        let ids: Vec<&str> = b
            .questions
            .iter()
            .filter(|q| result(q, trust).and_then(|r| r.band) == Some(band))
            .map(|q| q.id.as_str())
            .collect();
        let list = if ids.is_empty() { "none".to_owned() } else { ids.join(", ") };
        let _ = writeln!(w, "  {:<32} {list}", band.label());
    }
}
