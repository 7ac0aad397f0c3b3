//! The full national benchmark, respondent CSV in and JSON out, on the simulated national data
//! set (about 14,600 respondents) and on a 100x larger one (the national respondents repeated
//! 100 times, about 1.46 million). Prints respondents per second for each.
//!
//! Run with `cargo bench -p surveybench`.

#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use surveybench::benchmark::{Inputs, benchmark};
use surveybench::ingest::{Options, ingest};
use surveybench::profile::Profile;
use surveybench::report;
use surveybench::simulate::{Plan, simulate};
use surveybench_kernel::bundled::CMH_2024;

/// Ingest, benchmark and render JSON: the whole `surveybench benchmark` but for writing.
fn run(input: &Path, profile: &Profile) -> (u64, usize) {
    let data = ingest(&CMH_2024, &[input.to_owned()], &Options::default()).expect("ingest");
    let b = benchmark(&Inputs { instrument: &CMH_2024, profile, current: &data, previous: None });
    let json = report::json::render(&b).expect("render");
    (b.national.respondents, json.len())
}

fn repeat(csv: &Path, times: usize, out: &Path) -> PathBuf {
    let text = std::fs::read_to_string(csv).expect("national CSV");
    let (header, body) = text.split_once('\n').expect("header");
    let mut big = String::with_capacity(text.len() * times);
    big.push_str(header);
    big.push('\n');
    for _ in 0..times {
        big.push_str(body);
    }
    let path = out.join("respondents-x100.csv");
    std::fs::write(&path, big).expect("write");
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let years = simulate(&CMH_2024, &Plan::national(2024), dir.path()).expect("simulate");
    let national = years[1].join("respondents.csv");
    let big = repeat(&national, 100, dir.path());
    let profile = Profile::npsp_2024();
    for (name, path) in [("national", &national), ("national x100", &big)] {
        let start = Instant::now();
        let (respondents, bytes) = run(path, &profile);
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {respondents} respondents in {secs:.3} s ({:.0} respondents/s), JSON {bytes} bytes, {} threads",
            respondents as f64 / secs,
            rayon::current_num_threads()
        );
    }
    let mut group = c.benchmark_group("benchmark CSV to JSON");
    group.sample_size(10);
    group.bench_function("national", |b| b.iter(|| run(&national, &profile)));
    group.bench_function("national x100", |b| b.iter(|| run(&big, &profile)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
