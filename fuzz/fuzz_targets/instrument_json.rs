//! An instrument file (`instrument_file::parse`, docs/formats.md §1) of arbitrary text. What
//! it accepts must fit a host tally, print back as JSON that parses to the same instrument
//! with the same content hash.
//!
//! `parse` leaks each instrument it builds, by design (one per run, docs/design.md): run this
//! target with `-detect_leaks=0`; `cargo xtask fuzz-smoke` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use surveybench::instrument_file::{parse, to_json};
use surveybench_kernel::HostTally;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(instrument) = parse(text) else { return };
    assert!(HostTally::new(instrument).is_ok(), "parse accepted an instrument a host tally cannot hold");
    let json = to_json(instrument).expect("a valid instrument prints");
    let back = parse(&json).expect("a printed instrument parses");
    assert_eq!(back, instrument);
    assert_eq!(back.content_hash(), instrument.content_hash());
});
