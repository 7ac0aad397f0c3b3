//! A respondent CSV file (`ingest::respondents::read_bytes`, docs/formats.md §3) of arbitrary
//! bytes, read against `cmh-2024` with a survey year. Beyond never panicking: no more
//! respondents are counted than the file has lines, every trust code is one the export format
//! allows, every tally is made of completed responses only, the first trust's survives the
//! export round trip, and every problem names a line the file has.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use surveybench::ingest::Trusts;
use surveybench::ingest::respondents::read_bytes;
use surveybench_fuzz::assert_round_trip;
use surveybench_kernel::bundled::CMH_2024;
use surveybench_kernel::export::{Header, SITE_LEN, is_plain};

/// The trusts out of what `read_bytes` returns: the map itself, or a pair that starts with it
/// (the reader may return per-file totals beside the trusts).
trait IntoTrusts {
    fn into_trusts(self) -> Trusts;
}

impl IntoTrusts for Trusts {
    fn into_trusts(self) -> Trusts {
        self
    }
}

impl<T> IntoTrusts for (Trusts, T) {
    fn into_trusts(self) -> Trusts {
        self.0
    }
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.csv");
    let mut problems = Vec::new();
    let trusts = read_bytes(path, data, &CMH_2024, Some(2024), &mut problems).into_trusts();
    // Every respondent row but the last ends with a line break, and so does the header.
    let breaks = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    let mut respondents = 0u64;
    for (i, (code, tally)) in trusts.iter().enumerate() {
        assert!(is_plain(code) && code.len() <= SITE_LEN, "trust code {code:?}");
        let c = tally.counters();
        assert_eq!((c.started, c.abandoned, c.rejected), (c.completed, 0, 0), "trust {code}");
        respondents += u64::from(c.completed);
        // Every trust's tally is made the same way; one round trip per input keeps the
        // target fast (a cmh-2024 export is tens of kilobytes).
        if i == 0 {
            let header = Header::new("fuzz", code, "2024", 1).expect("a plain trust code");
            assert_round_trip(tally, &header);
        }
    }
    assert!(respondents <= breaks as u64, "{respondents} respondents from {breaks} line breaks");
    for p in &problems {
        if let Some(line) = p.line {
            assert!((1..=breaks as u64 + 1).contains(&line), "line {line} of {breaks} + 1: {}", p.message);
        }
    }
});
