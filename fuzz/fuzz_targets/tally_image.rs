//! The tally image reader (`Tally::read_image`, docs/formats.md §8). The first byte chooses
//! the instrument (bit 0: `fft` instead of `cmh-2024`) and whether to read the rest as it is
//! (bit 1 clear) or repaired into a plausible image (bit 1 set: cut or zero-padded to the
//! image length, with the right magic, instrument hash and strata), so that the fuzzer reaches
//! the consistency checks. A refused image must leave the tally empty; an accepted one must
//! write back the same bytes and survive the export round trip.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use surveybench_fuzz::{assert_round_trip, tally, with_scratch};
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::{Header, Sink};
use surveybench_kernel::tally::image::{MAGIC, image_len};
use surveybench_kernel::{Counters, HostTally, Instrument};

struct VecSink(Vec<u8>);

impl Sink for VecSink {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn repair(instrument: &Instrument<'_>, rest: &[u8]) -> Vec<u8> {
    let mut image = rest.to_vec();
    image.resize(image_len(instrument), 0);
    image[..4].copy_from_slice(&MAGIC);
    image[4..12].copy_from_slice(&instrument.content_hash().to_le_bytes());
    let strata = u32::try_from(instrument.strata()).expect("a few strata");
    image[12..16].copy_from_slice(&strata.to_le_bytes());
    image
}

fn image_of(t: &HostTally<'static>) -> Vec<u8> {
    let mut sink = VecSink(Vec::new());
    t.write_image(&mut sink).expect("a Vec takes any image");
    sink.0
}

/// The image of an empty tally of each instrument, `cmh-2024` first.
fn empty_images() -> &'static [Vec<u8>; 2] {
    static EMPTY: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    EMPTY.get_or_init(|| [image_of(&tally(&CMH_2024)), image_of(&tally(&FFT))])
}

fn check(t: &mut HostTally<'static>, image: &[u8], empty: &[u8]) {
    match t.read_image(image) {
        Ok(()) => {
            assert_eq!(image_of(t), image, "read then written, an image changed");
            let header = Header::new("fuzz", "RT5", "2024", 1).expect("a plain header");
            assert_round_trip(t, &header);
        }
        Err(_) => {
            assert_eq!(t.counters(), Counters::default(), "a refused image left counters behind");
            assert_eq!(image_of(t), empty, "a refused image left counts behind");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (instrument, empty) =
        if mode & 1 == 0 { (&CMH_2024, &empty_images()[0]) } else { (&FFT, &empty_images()[1]) };
    with_scratch(instrument, |t| {
        if mode & 2 == 0 {
            check(t, rest, empty);
        } else {
            check(t, &repair(instrument, rest), empty);
        }
    });
});
