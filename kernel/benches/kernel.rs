//! Kernel benchmarks: committing one `cmh-2024` response, and encoding/decoding an export.
//!
//! Also prints the figures the firmware budget depends on: `size_of` the exactly sized
//! `cmh-2024` tally and its maximum export length. Run with `cargo bench -p surveybench-kernel`.

#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use surveybench_kernel::bundled::CMH_2024;
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::tally::capacity::{cells, pairs, questions};
use surveybench_kernel::{Response, Tally};

type CmhTally = Tally<'static, { questions(&CMH_2024) }, { cells(&CMH_2024) }, { pairs(&CMH_2024) }>;
type CmhResponse = Response<'static, { questions(&CMH_2024) }>;

/// A respondent who answers every question with its first option, as a plausible worst case:
/// every question applies and every pair of a section is updated.
fn full_response() -> CmhResponse {
    let mut r = CmhResponse::new(&CMH_2024).expect("fits");
    for (i, q) in CMH_2024.questions.iter().enumerate() {
        let code = q.options.iter().find(|o| o.score.is_some()).unwrap_or(&q.options[0]).code;
        r.answer(i, code).expect("valid code");
    }
    r
}

fn figures() {
    let max = export::max_encoded_len(&CMH_2024);
    eprintln!(
        "cmh-2024: size_of tally = {} bytes ({} questions, {} count cells, {} pair cells); max export = {max} bytes",
        size_of::<CmhTally>(),
        questions(&CMH_2024),
        cells(&CMH_2024),
        pairs(&CMH_2024),
    );
}

fn bench(c: &mut Criterion) {
    figures();
    let response = full_response();
    let mut tally = Box::new(CmhTally::new(&CMH_2024).expect("fits"));
    c.bench_function("commit one cmh-2024 response", |b| {
        b.iter(|| tally.commit(black_box(&response)).expect("no overflow"));
    });
    let mut fresh = Box::new(CmhTally::new(&CMH_2024).expect("fits"));
    for _ in 0..1000 {
        fresh.commit(&response).expect("no overflow");
    }
    let header = Header::new("kiosk-01", "RT5", "2024", 1).expect("plain header");
    let mut buf = vec![0u8; export::max_encoded_len(&CMH_2024)];
    c.bench_function("encode a cmh-2024 export", |b| {
        b.iter(|| export::encode(black_box(&*fresh), &header, &mut buf).expect("fits"));
    });
    let len = export::encode(&*fresh, &header, &mut buf).expect("fits");
    let mut scratch = Box::new(CmhTally::new(&CMH_2024).expect("fits"));
    c.bench_function("decode a cmh-2024 export", |b| {
        b.iter(|| export::decode_into(black_box(&buf[..len]), &mut *scratch).expect("valid"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
