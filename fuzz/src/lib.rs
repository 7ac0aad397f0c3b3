//! What the fuzz targets share: scratch tallies, and the round trip every tally that came in
//! from outside must survive (export it, read the export back, export again: same bytes).

use std::cell::RefCell;

use surveybench_kernel::export::signed::SIGNATURE_LEN;
use surveybench_kernel::export::{Header, Signer, decode_into, encode, max_encoded_len, stream_signed};
use surveybench_kernel::{HostTally, Instrument};

/// An empty host tally of `instrument` (a bundled one, which always fits).
#[must_use]
pub fn tally(instrument: &'static Instrument<'static>) -> Box<HostTally<'static>> {
    Box::new(HostTally::new(instrument).expect("a bundled instrument fits a HostTally"))
}

thread_local! {
    static SCRATCH: RefCell<Vec<Box<HostTally<'static>>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch tally of `instrument` (a bundled one: they are told apart by id),
/// kept between runs (a host tally is 115 KB).
pub fn with_scratch<R>(
    instrument: &'static Instrument<'static>,
    f: impl FnOnce(&mut HostTally<'static>) -> R,
) -> R {
    let mut t = SCRATCH
        .with(|s| {
            let mut s = s.borrow_mut();
            let at = s.iter().position(|t| t.instrument().id == instrument.id)?;
            Some(s.swap_remove(at))
        })
        .unwrap_or_else(|| tally(instrument));
    let r = f(&mut t);
    SCRATCH.with(|s| s.borrow_mut().push(t));
    r
}

/// A signer whose every signature is zeros: the decoder checks a signature's form and place,
/// not its value (the keyring does), so a round trip of a signed export needs no key.
struct Zeros;

impl Signer for Zeros {
    fn update(&mut self, _: &[u8]) {}
    fn sign(self) -> [u8; SIGNATURE_LEN] {
        [0; SIGNATURE_LEN]
    }
}

/// Encodes `t` with `header` (signed with [`Zeros`] when the header has a key); the bytes must
/// fit [`max_encoded_len`].
#[must_use]
pub fn export(t: &HostTally<'static>, header: &Header) -> Vec<u8> {
    if header.key.is_some() {
        let mut out = Vec::new();
        stream_signed(t, header, Zeros, &mut out).expect("a decoded header exports");
        assert!(out.len() <= max_encoded_len(t.instrument()), "signed export longer than max_encoded_len");
        return out;
    }
    let mut buf = vec![0u8; max_encoded_len(t.instrument())];
    let n = encode(t, header, &mut buf).expect("an export fits max_encoded_len");
    buf.truncate(n);
    buf
}

/// Exports `t`, decodes the export into a fresh tally and exports that again: the decoder must
/// accept what the encoder wrote, and both exports must be equal.
pub fn assert_round_trip(t: &HostTally<'static>, header: &Header) {
    let bytes = export(t, header);
    with_scratch(t.instrument(), |back| {
        let got = decode_into(&bytes, back);
        assert_eq!(got.as_ref(), Ok(header), "the decoder refused the encoder's export");
        assert_eq!(back.counters(), t.counters());
        assert_eq!(export(back, header), bytes, "export, decode, export changed the bytes");
    });
}
