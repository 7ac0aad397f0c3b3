//! A tally's binary image: its integers in layout order, little-endian, for a device to keep in
//! flash. Fixed length for an instrument ([`image_len`]), written through any
//! [`Sink`] without a buffer, and read back with the instrument hash and
//! the export's consistency checks, so a corrupted or foreign image is refused, never merged.
//!
//! Layout: magic `SBI1`, instrument hash (u64), strata (u32), the four response counters, the
//! completed responses per stratum, each question's three cleaning counters, every count cell,
//! then every pair cell as `m, sum_k, sum_l` (u32) and `sum_kl` (u64). Integers are u32 unless
//! noted. Only the cells the instrument uses are written.

use core::fmt;

use super::{PairSums, Tally, capacity};
use crate::export::{Record, Sink};
use crate::instrument::Instrument;
use crate::stratum::strata_count;

/// The first four bytes of every image.
pub const MAGIC: [u8; 4] = *b"SBI1";

/// Bytes of the image of a tally of `instrument`.
#[must_use]
pub const fn image_len(instrument: &Instrument<'_>) -> usize {
    let strata = strata_count(instrument.age_bands.len());
    // magic (4) and hash (8), then u32 words, then 20-byte pair cells.
    let words = strata
        .saturating_add(5)
        .saturating_add(capacity::questions(instrument).saturating_mul(3))
        .saturating_add(capacity::cells(instrument));
    words.saturating_mul(4).saturating_add(12).saturating_add(capacity::pairs(instrument).saturating_mul(20))
}

/// Why an image was refused. The tally is left empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImageError {
    /// Not the length an image of this instrument has.
    Length,
    /// Does not start with [`MAGIC`].
    Magic,
    /// Made for another instrument (content hash or strata differ).
    Instrument,
    /// Counts that contradict each other, at this record.
    Inconsistent(Record),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length => write!(f, "image has the wrong length for this instrument"),
            Self::Magic => write!(f, "not a tally image"),
            Self::Instrument => write!(f, "image is of another instrument"),
            Self::Inconsistent(r) => write!(f, "image counts contradict each other at {r}"),
        }
    }
}

impl core::error::Error for ImageError {}

/// Gathers small writes into 64-byte chunks for the sink.
struct Chunks<'s, S: Sink> {
    sink: &'s mut S,
    buf: [u8; 64],
    used: usize,
}

impl<S: Sink> Chunks<'_, S> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), S::Error> {
        if self.used.saturating_add(bytes.len()) > self.buf.len() {
            self.flush()?;
        }
        match self.buf.get_mut(self.used..self.used.saturating_add(bytes.len())) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.used = self.used.saturating_add(bytes.len());
                Ok(())
            }
            None => self.sink.write_all(bytes),
        }
    }

    fn flush(&mut self) -> Result<(), S::Error> {
        let pending = self.buf.get(..self.used).unwrap_or(&[]);
        self.used = 0;
        if pending.is_empty() { Ok(()) } else { self.sink.write_all(pending) }
    }
}

/// Reads little-endian integers from the front of a slice.
struct Reader<'b>(&'b [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some((head, rest)) = self.0.split_first_chunk::<N>() {
            out = *head;
            self.0 = rest;
        }
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

impl<const Q: usize, const CELLS: usize, const PAIRS: usize> Tally<'_, Q, CELLS, PAIRS> {
    /// Bytes of this tally's image (see [`image_len`]).
    #[must_use]
    pub fn image_len(&self) -> usize {
        image_len(self.instrument)
    }

    fn used(&self) -> (usize, usize, usize) {
        let i = self.instrument;
        (i.questions.len(), capacity::cells(i), capacity::pairs(i))
    }

    /// Writes the image to `sink` in chunks of at most 64 bytes.
    ///
    /// # Errors
    /// The sink's error; what was written is then an incomplete image.
    pub fn write_image<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error> {
        let (questions, cells, pairs) = self.used();
        let mut out = Chunks { sink, buf: [0; 64], used: 0 };
        out.put(&MAGIC)?;
        out.put(&self.hash.to_le_bytes())?;
        out.put(&u32::from(self.strata).to_le_bytes())?;
        let c = self.counters;
        for v in [c.started, c.completed, c.abandoned, c.rejected] {
            out.put(&v.to_le_bytes())?;
        }
        for v in self.respondents.iter().take(self.strata()) {
            out.put(&v.to_le_bytes())?;
        }
        for q in self.cleaned.iter().take(questions) {
            for v in [q.routed, q.invalid, q.multi] {
                out.put(&v.to_le_bytes())?;
            }
        }
        for v in self.cells.iter().take(cells) {
            out.put(&v.to_le_bytes())?;
        }
        for p in self.pairs.iter().take(pairs) {
            for v in [p.m, p.sum_k, p.sum_l] {
                out.put(&v.to_le_bytes())?;
            }
            out.put(&p.sum_kl.to_le_bytes())?;
        }
        out.flush()
    }

    /// Replaces this tally's counts with those of `image`, after checking its length, magic,
    /// instrument and consistency. On error the tally is left empty.
    ///
    /// # Errors
    /// See [`ImageError`].
    pub fn read_image(&mut self, image: &[u8]) -> Result<(), ImageError> {
        self.clear();
        let result =
            self.fill_from(image).and_then(|()| self.check_consistency().map_err(ImageError::Inconsistent));
        if result.is_err() {
            self.clear();
        }
        result
    }

    fn fill_from(&mut self, image: &[u8]) -> Result<(), ImageError> {
        if image.len() != self.image_len() {
            return Err(ImageError::Length);
        }
        let mut r = Reader(image);
        if r.take::<4>() != MAGIC {
            return Err(ImageError::Magic);
        }
        if r.u64() != self.hash || r.u32() != u32::from(self.strata) {
            return Err(ImageError::Instrument);
        }
        let (questions, cells, pairs) = self.used();
        let strata = self.strata();
        let [started, completed, abandoned, rejected] = [r.u32(), r.u32(), r.u32(), r.u32()];
        self.counters = super::Counters { started, completed, abandoned, rejected };
        for v in self.respondents.iter_mut().take(strata) {
            *v = r.u32();
        }
        for q in self.cleaned.iter_mut().take(questions) {
            (q.routed, q.invalid, q.multi) = (r.u32(), r.u32(), r.u32());
        }
        for v in self.cells.iter_mut().take(cells) {
            *v = r.u32();
        }
        for p in self.pairs.iter_mut().take(pairs) {
            *p = PairSums { m: r.u32(), sum_k: r.u32(), sum_l: r.u32(), sum_kl: r.u64() };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::CMH_2024;
    use crate::response::Response;

    type Cmh = Tally<'static, 44, 1350, 441>;

    struct VecSink(std::vec::Vec<u8>);

    impl Sink for VecSink {
        type Error = ();
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn sample() -> std::boxed::Box<Cmh> {
        let mut t = std::boxed::Box::new(Cmh::new(&CMH_2024).unwrap());
        for (i, code) in [1u8, 2, 3, 1].into_iter().enumerate() {
            let mut r: Response<'_, 44> = Response::new(&CMH_2024).unwrap();
            for (k, q) in CMH_2024.questions.iter().enumerate() {
                let c = q.options.get(usize::from(code) - 1).map_or(1, |o| o.code);
                r.answer(k, c).unwrap();
            }
            r.set_age_sex(Some(20 + 15 * i as u16), Some(code % 2 + 1));
            t.commit(&r).unwrap();
        }
        t.record_abandoned().unwrap();
        t
    }

    #[test]
    fn an_image_has_the_stated_length_and_reads_back_equal() {
        let t = sample();
        let mut sink = VecSink(std::vec::Vec::new());
        t.write_image(&mut sink).unwrap();
        assert_eq!(sink.0.len(), image_len(&CMH_2024));
        // 4 + 8 + 4 * (1 + 4 + 9 strata + 3 * 44 questions + 1350 cells) + 20 * 441 pair cells.
        assert_eq!(image_len(&CMH_2024), 14_816);
        let mut back = std::boxed::Box::new(Cmh::new(&CMH_2024).unwrap());
        back.read_image(&sink.0).unwrap();
        let mut again = VecSink(std::vec::Vec::new());
        back.write_image(&mut again).unwrap();
        assert_eq!(sink.0, again.0);
        assert_eq!(back.counters(), t.counters());
        assert_eq!(back.pair(4, 5, 0), t.pair(4, 5, 0));
    }

    #[test]
    fn damaged_or_foreign_images_are_refused_and_leave_the_tally_empty() {
        let t = sample();
        let mut sink = VecSink(std::vec::Vec::new());
        t.write_image(&mut sink).unwrap();
        let mut back = std::boxed::Box::new(Cmh::new(&CMH_2024).unwrap());
        assert_eq!(back.read_image(&sink.0[1..]), Err(ImageError::Length));
        let mut bad = sink.0.clone();
        bad[0] = b'X';
        assert_eq!(back.read_image(&bad), Err(ImageError::Magic));
        let mut bad = sink.0.clone();
        bad[5] ^= 1;
        assert_eq!(back.read_image(&bad), Err(ImageError::Instrument));
        // Started (bytes 16..20) one more than completed + abandoned + rejected.
        let mut bad = sink.0.clone();
        bad[16] = bad[16].wrapping_add(1);
        assert_eq!(back.read_image(&bad), Err(ImageError::Inconsistent(Record::Header)));
        assert_eq!(back.counters(), super::super::Counters::default());
    }

    #[test]
    fn an_image_with_more_answers_in_a_stratum_than_its_respondents_is_refused() {
        // The image reader runs the export's consistency checks, the per-stratum one included:
        // one more completed response, counted in one stratum, answered in another.
        let t = sample();
        let mut sink = VecSink(std::vec::Vec::new());
        t.write_image(&mut sink).unwrap();
        let strata = t.strata();
        let empty = (0..strata).find(|&g| t.respondents(g) == 0).unwrap();
        let full = (0..strata).find(|&g| t.respondents(g) > 0).unwrap();
        let q = (0..CMH_2024.questions.len()).find(|&q| CMH_2024.questions[q].is_scored()).unwrap();
        let width = CMH_2024.questions[q].options.len();
        let cell = usize::from(t.slots[q].cell) + empty * width;
        let words = [4 * 4, 5 * 4, 32 + 4 * full, 32 + 4 * strata + 12 * CMH_2024.questions.len() + 4 * cell];
        let mut bad = sink.0.clone();
        for at in words {
            let v = u32::from_le_bytes(bad[at..at + 4].try_into().unwrap()) + 1;
            bad[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut back = std::boxed::Box::new(Cmh::new(&CMH_2024).unwrap());
        let want =
            Record::Counts { question: u16::try_from(q).unwrap(), stratum: u16::try_from(empty).unwrap() };
        assert_eq!(back.read_image(&bad), Err(ImageError::Inconsistent(want)));
        assert_eq!(back.counters(), super::super::Counters::default());
    }
}
