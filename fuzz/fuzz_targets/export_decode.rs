//! The device export decoder (`export::decode_into`, docs/formats.md §2) on arbitrary bytes,
//! against both bundled instruments: it must never panic, and whatever it accepts must export
//! back to a document it accepts again, byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use surveybench_fuzz::{assert_round_trip, with_scratch};
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::decode_into;

fuzz_target!(|data: &[u8]| {
    for instrument in [&CMH_2024, &FFT] {
        with_scratch(instrument, |t| {
            if let Ok(header) = decode_into(data, t) {
                assert_round_trip(t, &header);
            }
        });
    }
});
