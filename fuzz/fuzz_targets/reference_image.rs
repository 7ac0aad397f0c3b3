//! The reference image reader (`reference::Reference::parse`, docs/formats.md §11) on
//! arbitrary bytes, as they come and with their last four bytes replaced by the CRC of the rest
//! (so that mutations get past the checksum into the header and record checks): it must never
//! panic, and whatever it accepts must encode back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use surveybench_kernel::crc::crc32;
use surveybench_kernel::reference::{Reference, encode};

fn check(data: &[u8]) {
    let Ok(image) = Reference::parse(data) else { return };
    let header = image.header();
    let records: Vec<_> = (0..header.records()).map(|i| image.record(i).expect("checked by parse")).collect();
    let mut out = vec![0u8; data.len()];
    let n = encode(header, &records, &mut out).expect("an accepted image encodes");
    assert_eq!(&out[..n], data, "an accepted image encodes to the same bytes");
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(body) = data.len().checked_sub(4) {
        let mut sealed = data.to_vec();
        let crc = crc32(&data[..body]);
        sealed[body..].copy_from_slice(&crc.to_le_bytes());
        check(&sealed);
    }
});
