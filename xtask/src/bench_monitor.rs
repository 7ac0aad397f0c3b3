//! `cargo xtask bench-monitor`: the in-year early warning (method.md §12) measured on
//! simulation (docs/monitor-benchmark.md). Runs only when asked, never in `ci`.
//!
//! For each seed: simulate two years with weekly exports (`simulate --weekly`), benchmark the
//! earlier year, and run `monitor` on every week's exports of the later year. A trust-item is
//! in last year's expected range when its true score (`truth.json`) lies in the band "about
//! the same" of a trust measured without error: |true - national| <= z_somewhat x tau (method.md
//! §8 step 5 with s_i = 0). A flag on an in-range trust-item is a false alarm. Then the same
//! seed again with chosen trusts dropping one point after week 26: weeks from the drop to the
//! first "heading below" flag.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::measure::surveybench;
use crate::run::{cargo, root};

/// Seeds of the simulations.
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
/// Weeks in the simulated year.
const WEEKS: usize = 52;
/// Degraded trusts: every tenth in simulation order, from the first.
const DEGRADE_EVERY: usize = 10;
/// The last week before the drop, and the drop in points.
const DROP_AFTER: usize = 26;
const DROP: f64 = 1.0;
/// The looks compared: every week, quarterly, and the year's end.
const QUARTERLY: [usize; 4] = [13, 26, 39, 52];

/// A trust-item: trust code, item type, item id.
type Key = (String, String, String);

/// Per item type and id, last year's national mean and tau.
type Ranges = HashMap<(String, String), (f64, f64)>;

/// A trust-item's truth: its key, whether its trust is degraded, and its true score before and
/// after the drop against last year's range.
type TrueItem = (Key, bool, Truly, Truly);

/// What one simulated year's 52 looks say about each trust-item.
#[derive(Default)]
struct Looks {
    /// Per trust-item, per week (1-based index - 1): the status.
    status: HashMap<Key, Vec<String>>,
}

impl Looks {
    fn flagged(&self, key: &Key, weeks: &[usize]) -> bool {
        self.status
            .get(key)
            .is_some_and(|s| weeks.iter().any(|&w| s.get(w - 1).is_some_and(|x| x.starts_with("heading_"))))
    }

    fn judged(&self, key: &Key) -> bool {
        self.status
            .get(key)
            .is_some_and(|s| s.iter().any(|x| x == "within_range" || x.starts_with("heading_")))
    }

    /// The first week after `after` with a "heading below" flag.
    fn first_worse_after(&self, key: &Key, after: usize) -> Option<usize> {
        let s = self.status.get(key)?;
        (after + 1..=WEEKS).find(|&w| s.get(w - 1).is_some_and(|x| x == "heading_worse"))
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `monitor` on each week's exports of the later year in `sim`, against `benchmark`.
fn look_every_week(sim: &Path, benchmark: &Path) -> Result<Looks, String> {
    let mut looks = Looks::default();
    let keyring = s(&sim.join("2024/keyring.toml"));
    for week in 1..=WEEKS {
        let devices = s(&sim.join(format!("2024/weeks/{week:02}/devices")));
        let args =
            ["monitor", "--reference", &s(benchmark), "--keyring", &keyring, &devices, "--format", "json"];
        let look: Value = serde_json::from_slice(&surveybench(&args)?).map_err(|e| e.to_string())?;
        for t in look["trusts"].as_array().into_iter().flatten() {
            let trust = t["trust"].as_str().unwrap_or_default();
            for i in t["items"].as_array().into_iter().flatten() {
                let key = (
                    trust.to_owned(),
                    i["item_type"].as_str().unwrap_or_default().to_owned(),
                    i["item"].as_str().unwrap_or_default().to_owned(),
                );
                let status = looks.status.entry(key).or_insert_with(|| vec![String::new(); WEEKS]);
                if let Some(slot) = status.get_mut(week - 1) {
                    *slot = i["status"].as_str().unwrap_or_default().to_owned();
                }
            }
        }
    }
    Ok(looks)
}

/// Last year's national mean and tau per item type and id, and the profile's z_somewhat.
fn expected_ranges(benchmark: &Value) -> (Ranges, f64) {
    let mut out = HashMap::new();
    for (part, kind) in [("questions", "question"), ("sections", "section")] {
        for q in benchmark[part].as_array().into_iter().flatten() {
            let (Some(id), Some(mean), Some(tau2)) =
                (q["id"].as_str(), q["national"]["mean"].as_f64(), q["national"]["tau2"].as_f64())
            else {
                continue;
            };
            out.insert((kind.to_owned(), id.to_owned()), (mean, tau2.max(0.0).sqrt()));
        }
    }
    let z = benchmark["profile"]["expected_range"]["z_somewhat"].as_f64().unwrap_or(1.645);
    (out, z)
}

/// One true score against last year's expected range: inside, below or above.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Truly {
    Inside,
    Below,
    Above,
}

fn truly(value: f64, (mean, tau): (f64, f64), z: f64) -> Truly {
    if (value - mean).abs() <= z * tau {
        Truly::Inside
    } else if value < mean {
        Truly::Below
    } else {
        Truly::Above
    }
}

/// Per trust-item of `truth`: its key, whether its trust is degraded, and its true score
/// before and after the drop against last year's range.
fn truths(truth: &Value, benchmark: &Value) -> Vec<TrueItem> {
    let (ranges, z) = expected_ranges(benchmark);
    let mut out = Vec::new();
    for t in truth["trusts"].as_array().into_iter().flatten() {
        let trust = t["trust"].as_str().unwrap_or_default();
        for i in t["items"].as_array().into_iter().flatten() {
            let kind = i["item_type"].as_str().unwrap_or_default().to_owned();
            let id = i["item"].as_str().unwrap_or_default().to_owned();
            let (Some(&range), Some(before), Some(after)) =
                (ranges.get(&(kind.clone(), id.clone())), i["before"].as_f64(), i["after"].as_f64())
            else {
                continue;
            };
            let degraded = t["degraded"].as_bool().unwrap_or(false);
            out.push((
                (trust.to_owned(), kind, id),
                degraded,
                truly(before, range, z),
                truly(after, range, z),
            ));
        }
    }
    out
}

/// Counts over all seeds.
#[derive(Default)]
struct Tally {
    /// In-range trust-items judged, and those ever flagged at every week, quarterly, at week 52.
    inside: u64,
    false_alarms: [u64; 3],
    /// Per seed: (inside, flagged at 52 looks).
    per_seed: Vec<(u64, u64)>,
    /// Truly outside trust-items judged, and those ever flagged on the right side (52 looks).
    outside: u64,
    outside_flagged: u64,
    /// Degraded trust-items judged; flagged "heading below" before the drop; weeks from the
    /// drop to the first such flag after it; the same for those truly below the range after.
    degraded: u64,
    degraded_before: u64,
    delays: Vec<usize>,
    below_after: u64,
    below_delays: Vec<usize>,
}

fn null_run(looks: &Looks, truth: &[TrueItem], tally: &mut Tally) {
    let every: Vec<usize> = (1..=WEEKS).collect();
    let sets: [&[usize]; 3] = [&every, &QUARTERLY, &[WEEKS]];
    let (mut inside, mut flagged) = (0, 0);
    for (key, _, before, _) in truth.iter().filter(|t| looks.judged(&t.0)) {
        if *before == Truly::Inside {
            inside += 1;
            for (n, set) in tally.false_alarms.iter_mut().zip(sets) {
                *n += u64::from(looks.flagged(key, set));
            }
            flagged += u64::from(looks.flagged(key, &every));
        } else {
            tally.outside += 1;
            let side = if *before == Truly::Below { "heading_worse" } else { "heading_better" };
            let right = looks.status.get(key).is_some_and(|s| s.iter().any(|x| x == side));
            tally.outside_flagged += u64::from(right);
        }
    }
    tally.inside += inside;
    tally.per_seed.push((inside, flagged));
}

fn degraded_run(looks: &Looks, truth: &[TrueItem], tally: &mut Tally) {
    for (key, _, _, after) in truth.iter().filter(|t| t.1 && looks.judged(&t.0)) {
        tally.degraded += 1;
        let before: Vec<usize> = (1..=DROP_AFTER).collect();
        let early = looks
            .status
            .get(key)
            .is_some_and(|s| before.iter().any(|&w| s.get(w - 1).is_some_and(|x| x == "heading_worse")));
        tally.degraded_before += u64::from(early);
        let delay = looks.first_worse_after(key, DROP_AFTER).map(|w| w - DROP_AFTER);
        if *after == Truly::Below {
            tally.below_after += 1;
            tally.below_delays.extend(delay);
        }
        tally.delays.extend(delay);
    }
}

/// One seed: the null year and the degraded one, into `tally`.
fn seed(dir: &Path, seed: u64, tally: &mut Tally) -> Result<(), String> {
    let seed_s = seed.to_string();
    let null = dir.join(format!("seed{seed}/null"));
    surveybench(&["simulate", "--seed", &seed_s, "--weekly", "--out", &s(&null)])?;
    let benchmark = dir.join(format!("seed{seed}/benchmark-2023.json"));
    let last = null.join("2023");
    let keyring = s(&last.join("keyring.toml"));
    surveybench(&["benchmark", "--keyring", &keyring, &s(&last.join("devices")), "--out", &s(&benchmark)])?;
    let bench = read_json(&benchmark)?;
    let truth = read_json(&null.join("2024/truth.json"))?;
    null_run(&look_every_week(&null, &benchmark)?, &truths(&truth, &bench), tally);
    let codes: Vec<&str> = truth["trusts"]
        .as_array()
        .into_iter()
        .flatten()
        .step_by(DEGRADE_EVERY)
        .filter_map(|t| t["trust"].as_str())
        .collect();
    let degraded = dir.join(format!("seed{seed}/degraded"));
    let (codes, week, by) = (codes.join(","), DROP_AFTER.to_string(), DROP.to_string());
    let args =
        ["simulate", "--seed", &seed_s, "--weekly", "--degrade", &codes, "--from-week", &week, "--by", &by];
    surveybench(&[&args[..], &["--out", &s(&degraded)]].concat())?;
    // The earlier year is drawn before any degradation: last year's benchmark is the same.
    let same = std::fs::read(last.join("respondents.csv")).ok()
        == std::fs::read(degraded.join("2023/respondents.csv")).ok();
    if !same {
        return Err(format!("seed {seed}: the degraded simulation changed the earlier year"));
    }
    let truth = read_json(&degraded.join("2024/truth.json"))?;
    degraded_run(&look_every_week(&degraded, &benchmark)?, &truths(&truth, &bench), tally);
    std::fs::remove_dir_all(dir.join(format!("seed{seed}"))).map_err(|e| e.to_string())
}

fn share(k: u64, n: u64) -> String {
    if n == 0 {
        return "n/a".to_owned();
    }
    let p = k as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    format!("{:.2}% ({k} of {n}, binomial SE {:.2}%)", 100.0 * p, 100.0 * se)
}

fn median(v: &[usize]) -> String {
    let mut v = v.to_vec();
    v.sort_unstable();
    match v.len() {
        0 => "n/a".to_owned(),
        n if n % 2 == 1 => v[n / 2].to_string(),
        n => format!("{}", (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0),
    }
}

fn quartiles(v: &[usize]) -> String {
    let mut v = v.to_vec();
    v.sort_unstable();
    let q = |f: f64| v.get(((v.len() as f64 - 1.0) * f).round() as usize).copied();
    match (q(0.25), q(0.75)) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "n/a".to_owned(),
    }
}

fn report(t: &Tally) -> String {
    let mut out = String::new();
    let [every, quarterly, last] = t.false_alarms;
    let _ = writeln!(out, "No trust degraded ({} seeds, {WEEKS} weekly looks each):\n", SEEDS.len());
    let _ = writeln!(out, "| looks | in-range trust-items ever flagged (pooled) |\n|---|---|");
    let _ = writeln!(out, "| 52 (every week) | {} |", share(every, t.inside));
    let _ = writeln!(out, "| 4 (weeks 13, 26, 39, 52) | {} |", share(quarterly, t.inside));
    let _ = writeln!(out, "| 1 (week 52) | {} |", share(last, t.inside));
    let seeds: Vec<String> = SEEDS
        .iter()
        .zip(&t.per_seed)
        .map(|(s, (n, k))| format!("seed {s}: {:.2}%", 100.0 * *k as f64 / (*n).max(1) as f64))
        .collect();
    let _ = writeln!(out, "\nPer seed, 52 looks: {}.", seeds.join(", "));
    let _ = writeln!(
        out,
        "Trust-items truly outside last year's range, flagged on their side at some look: {}.\n",
        share(t.outside_flagged, t.outside)
    );
    let _ = writeln!(
        out,
        "Every tenth trust dropping {DROP} point after week {DROP_AFTER} ({} seeds): \
         {} degraded trust-items judged; \
         {} already flagged below before the drop.",
        SEEDS.len(),
        t.degraded,
        t.degraded_before
    );
    let never = t.degraded - t.delays.len() as u64;
    let _ = writeln!(
        out,
        "- all degraded trust-items: flagged below after the drop {}; median weeks from the drop to the \
         first flag {} (quartiles {}); never flagged by week 52: {}.",
        share(t.delays.len() as u64, t.degraded),
        median(&t.delays),
        quartiles(&t.delays),
        share(never, t.degraded)
    );
    let never_below = t.below_after - t.below_delays.len() as u64;
    let _ = writeln!(
        out,
        "- those whose true score after the drop lies below last year's range ({}): median weeks to the \
         first flag {} (quartiles {}); never flagged by week 52: {}.",
        t.below_after,
        median(&t.below_delays),
        quartiles(&t.below_delays),
        share(never_below, t.below_after)
    );
    out
}

/// `cargo xtask bench-monitor`: builds the release binary, runs every seed in a temporary
/// folder, prints the figures and writes them to docs/monitor-benchmark.md.
pub fn bench_monitor() -> Result<(), String> {
    cargo(&["build", "--release", "-p", "surveybench", "--locked"])?;
    let dir = std::env::temp_dir().join(format!("surveybench-bench-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let result = SEEDS.iter().try_for_each(|&s| {
        eprintln!("xtask: bench-monitor seed {s}");
        seed(&dir, s, &mut tally)
    });
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    let figures = report(&tally);
    println!("{figures}");
    let doc = format!(
        "# In-year early warning, measured on simulation\n\n\
         Written by `cargo xtask bench-monitor` (xtask/src/bench_monitor.rs); do not edit by hand. \
         Machine: {}; {:.0} s.\n\n\
         Seeds {SEEDS:?}; each simulates the national survey (53 trusts, about 14,600 respondents a year) \
         with `simulate --seed S --weekly`, benchmarks 2023's device exports, and runs `monitor --reference` \
         that benchmark on each of 2024's 52 weekly folders of cumulative exports. A trust-item (question \
         or section) is in last year's expected range when its true score (`truth.json`) is within \
         z_somewhat x tau of last year's national average (the band \"about the same\" for a trust measured \
         without error, method.md §8); only trust-items the monitor judged at some look (30 or more \
         responses, in last year's benchmark) count. A flag either way on an in-range trust-item is a \
         false alarm. The SE treats trust-items as independent; items of one trust are correlated, so \
         the true uncertainty is somewhat larger. The same seeds are then simulated with every tenth trust \
         (5 a seed) dropping {DROP} point on every scored question after week {DROP_AFTER} \
         (`--degrade ... --from-week {DROP_AFTER} --by {DROP}`); weeks to a flag count from the drop to \
         the first look after it flagging \"heading below\".\n\n{figures}",
        crate::bench::machine(),
        started.elapsed().as_secs_f64()
    );
    std::fs::write(root().join("docs/monitor-benchmark.md"), doc).map_err(|e| e.to_string())?;
    println!("written to docs/monitor-benchmark.md");
    Ok(())
}
