//! Instruments compiled into the kernel: `cmh-2024` and `fft`.
//!
//! They are `'static` data, so the firmware needs no allocator or file system to use them, and
//! the host prints them as JSON (`surveybench instrument show ID`) in the schema it loads back.

pub mod cmh2024;
pub mod fft;
pub mod scales;

use crate::instrument::Instrument;

/// The NHS Community Mental Health Survey 2024, reconstructed from the published benchmark
/// report (see its provenance field).
pub const CMH_2024: Instrument<'static> = cmh2024::INSTRUMENT;

/// The NHS Friends and Family Test, the commonest kiosk survey.
pub const FFT: Instrument<'static> = fft::INSTRUMENT;

/// Every bundled instrument.
pub const ALL: [&Instrument<'static>; 2] = [&CMH_2024, &FFT];

/// The bundled instrument with this id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static Instrument<'static>> {
    ALL.iter().copied().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_instrument_is_valid() {
        for instrument in ALL {
            assert_eq!(instrument.validate(), Ok(()), "{}", instrument.id);
        }
    }

    #[test]
    fn bundled_instruments_are_found_by_id() {
        assert_eq!(by_id("fft").map(|i| i.id), Some("fft"));
        assert_eq!(by_id("cmh-2024").map(|i| i.id), Some("cmh-2024"));
        assert!(by_id("nope").is_none());
    }

    #[test]
    fn content_hashes_differ_between_instruments() {
        assert_ne!(CMH_2024.content_hash(), FFT.content_hash());
    }
}
