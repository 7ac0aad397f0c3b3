//! The streaming encoder writes exactly what the slice encoder writes, and reports its sink's
//! errors.

mod common;

use common::{cmh_tally_of, fft_tally_of, tally_input};
use proptest::prelude::*;
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::{ExportError, Header, Sink, StreamError, encode, max_encoded_len, stream};
use surveybench_kernel::{Instrument, Tally};

struct VecSink(Vec<u8>);

impl Sink for VecSink {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Accepts `left` bytes, then fails.
struct Short(usize);

impl Sink for Short {
    type Error = &'static str;
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), &'static str> {
        self.0 = self.0.checked_sub(bytes.len()).ok_or("full")?;
        Ok(())
    }
}

fn both<const Q: usize, const C: usize, const P: usize>(
    t: &Tally<'_, Q, C, P>,
    i: &Instrument<'_>,
) -> (Vec<u8>, Vec<u8>) {
    let header = Header::new("kiosk-7", "RT5", "2024-Q3", 42).unwrap();
    let mut buf = vec![0u8; max_encoded_len(i)];
    let n = encode(t, &header, &mut buf).unwrap();
    buf.truncate(n);
    let mut sink = VecSink(Vec::new());
    stream(t, &header, &mut sink).unwrap();
    (buf, sink.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn streaming_equals_slice_encoding_for_cmh(input in tally_input(&CMH_2024, 0..40)) {
        let (slice, streamed) = both(&*cmh_tally_of(&input), &CMH_2024);
        prop_assert_eq!(slice, streamed);
    }

    #[test]
    fn streaming_equals_slice_encoding_for_fft(input in tally_input(&FFT, 0..60)) {
        let (slice, streamed) = both(&*fft_tally_of(&input), &FFT);
        prop_assert_eq!(slice, streamed);
    }
}

#[test]
fn a_failing_sink_ends_the_stream_with_its_error() {
    let t = common::cmh_tally();
    let header = Header::new("kiosk-7", "RT5", "2024", 1).unwrap();
    assert_eq!(stream(&*t, &header, &mut Short(100)), Err(StreamError::Sink("full")));
}

#[test]
fn a_header_that_is_not_plain_is_refused_before_writing() {
    let t = common::fft_tally();
    let mut header = Header::new("kiosk-7", "RT5", "2024", 1).unwrap();
    header.site = heapless::String::try_from("R\"5").unwrap();
    let mut sink = VecSink(Vec::new());
    assert_eq!(
        stream(&*t, &header, &mut sink),
        Err(StreamError::Export(ExportError::Header(surveybench_kernel::export::Field::Site)))
    );
    assert!(sink.0.is_empty());
}
