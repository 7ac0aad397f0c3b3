//! The firmware's streaming export writer produces byte for byte what the kernel's
//! `export::encode` produces, for random tallies of both bundled instruments.

mod common;

use common::{Act, Rng, respond};
use surveybench_firmware::export::{Sink, write};
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument, bundled};

struct VecSink(Vec<u8>);

impl Sink for VecSink {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn random_tally<'i>(instrument: &'i Instrument<'i>, seed: u64, n: usize) -> Box<HostTally<'i>> {
    let mut rng = Rng(seed);
    let mut tally = Box::new(HostTally::new(instrument).unwrap());
    for _ in 0..n {
        match rng.below(10) {
            0 => tally.record_rejected().unwrap(),
            1 => tally.record_abandoned().unwrap(),
            _ => {
                let mut r = rng.clone();
                let (_, response) = respond(instrument, |_, options| match r.below(8) {
                    0 => Act::Skip,
                    _ => Act::Answer(r.below(options)),
                });
                rng.next();
                tally.commit(&response).unwrap();
            }
        }
    }
    tally
}

#[test]
fn the_stream_equals_the_kernel_encoding() {
    for instrument in bundled::ALL {
        for (seed, n) in [(1, 0), (2, 1), (3, 17), (4, 300)] {
            let tally = random_tally(instrument, seed, n);
            let header = Header::new("dev-1", "RT5", "2024", seed as u32).unwrap();
            let mut buf = vec![0; export::max_encoded_len(instrument)];
            let len = export::encode(&*tally, &header, &mut buf).unwrap();
            let mut sink = VecSink(Vec::new());
            write(&*tally, &header, &mut sink).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&sink.0),
                String::from_utf8_lossy(&buf[..len]),
                "{} seed {seed}",
                instrument.id
            );
        }
    }
}
