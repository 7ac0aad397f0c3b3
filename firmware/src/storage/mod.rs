//! A tally that survives power cuts: two slots (A/B) on NOR flash, each holding the last
//! export's sequence number and the tally's binary image (the kernel's `tally::image`) behind a
//! CRC-checked header.
//!
//! Saving writes the slot that does *not* hold the newest good copy: erase it, stream the
//! document into it, then write its header last. A cut at any point leaves the other slot
//! intact, and a slot whose header or document does not check is ignored, so recovery always
//! finds the newest *completed* save. The kiosk acknowledges a response only once its save has
//! returned (docs/design.md, "Why the firmware is laid out as it is"; the host test
//! `power_cut` cuts at every erase and write of a session).
//!
//! Recovery reads the image in place from memory-mapped flash with `Tally::read_image`, which
//! checks its instrument hash and the consistency of its counts, so no RAM buffer of the
//! image's size is needed and a damaged image is refused rather than merged.

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind};
use surveybench_kernel::export::{Header, Sink};
use surveybench_kernel::tally::image::{ImageError, image_len};
use surveybench_kernel::{Instrument, Tally};

use crate::crc::{Crc32, crc32};

/// Flash whose whole contents can also be read as memory (internal flash of an MCU, or the
/// RAM-backed flash on QEMU), so a document can be decoded where it lies.
pub trait MappedFlash: NorFlash {
    /// The device's contents, `capacity()` bytes from offset 0.
    fn mapped(&self) -> &[u8];
}

/// Bytes of a slot header: magic, generation, length, document CRC, header CRC, padding.
pub const HEADER_LEN: usize = 32;
/// Bytes buffered before each program operation.
pub const PAGE: usize = 256;
const MAGIC: u32 = u32::from_le_bytes(*b"SBK2");
/// Bytes of the sequence number stored before the image.
const SEQUENCE_LEN: usize = 4;

/// Bytes of a slot for `instrument` on flash with erase blocks of `erase` bytes: header,
/// sequence number and image, rounded up to whole erase blocks.
#[must_use]
pub const fn slot_len(instrument: &Instrument<'_>, erase: usize) -> usize {
    (HEADER_LEN + SEQUENCE_LEN + image_len(instrument)).div_ceil(erase) * erase
}

/// Why storage failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The flash reported an error of this kind (a cut, on the host mock).
    Flash(NorFlashErrorKind),
    /// The document does not fit a slot: the slots are too small for this instrument.
    SlotTooSmall,
    /// The region is not a whole number of erase blocks, or too small for two slots.
    Layout,
}

impl<E: NorFlashError> From<E> for StorageError {
    fn from(e: E) -> Self {
        Self::Flash(e.kind())
    }
}

/// Which slot holds the newest good save, and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Newest {
    generation: u32,
}

/// The A/B store: `2 * slot_len` bytes of `flash` from `base`.
pub struct Store<F> {
    flash: F,
    base: u32,
    slot_len: u32,
    newest: Option<Newest>,
}

/// What recovery found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The last export's sequence number.
    pub sequence: u32,
    /// How many saves the slot's content is the result of.
    pub generation: u32,
}

impl<F: MappedFlash> Store<F> {
    /// A store over `2 * slot_len` bytes of `flash` from `base`. Nothing is read yet.
    ///
    /// # Errors
    /// [`StorageError::Layout`] when the slots are not whole erase blocks or do not fit.
    pub fn new(flash: F, base: u32, slot_len: u32) -> Result<Self, StorageError> {
        let erase = u32::try_from(F::ERASE_SIZE).map_err(|_| StorageError::Layout)?;
        let end = slot_len.checked_mul(2).and_then(|l| l.checked_add(base)).ok_or(StorageError::Layout)?;
        let aligned = erase != 0 && base.is_multiple_of(erase) && slot_len.is_multiple_of(erase);
        let written = PAGE.is_multiple_of(F::WRITE_SIZE) && HEADER_LEN.is_multiple_of(F::WRITE_SIZE);
        let fits = usize::try_from(end).is_ok_and(|e| e <= flash.capacity());
        if !aligned || !written || !fits || (slot_len as usize) <= HEADER_LEN {
            return Err(StorageError::Layout);
        }
        Ok(Self { flash, base, slot_len, newest: None })
    }

    /// The flash, for tests and the board (e.g. to erase it all at first boot).
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Whether a document of `len` bytes fits a slot.
    #[must_use]
    pub fn fits(&self, len: usize) -> bool {
        len.checked_add(HEADER_LEN).is_some_and(|n| n <= self.slot_len as usize)
    }

    fn slot_start(&self, generation: u32) -> u32 {
        self.base + (generation % 2) * self.slot_len
    }

    /// The document of slot `index` (0 or 1) and its generation, if its header and CRC check.
    fn check_slot(&self, index: u32) -> Option<(u32, &[u8])> {
        let start = (self.base + index * self.slot_len) as usize;
        let slot = self.flash.mapped().get(start..start + self.slot_len as usize)?;
        let (head, body) = slot.split_at_checked(HEADER_LEN)?;
        let word = |i: usize| {
            let b = head.get(i * 4..i * 4 + 4)?;
            Some(u32::from_le_bytes(b.try_into().ok()?))
        };
        let (generation, len, doc_crc) = (word(1)?, word(2)? as usize, word(3)?);
        let header_ok = word(0)? == MAGIC && word(4)? == crc32(head.get(..16)?);
        if !header_ok || generation % 2 != index || generation == 0 {
            return None;
        }
        let doc = body.get(..len)?;
        (crc32(doc) == doc_crc).then_some((generation, doc))
    }

    /// Finds the newest good save and reads it into `tally`. With no good save, `tally` is
    /// left empty and `None` returned: a fresh device.
    ///
    /// # Errors
    /// Only an image whose CRCs check but which the tally refuses (another instrument in this
    /// flash); the tally is then empty and the store will overwrite the slots.
    pub fn recover<const Q: usize, const C: usize, const P: usize>(
        &mut self,
        tally: &mut Tally<'_, Q, C, P>,
    ) -> Result<Option<Recovered>, ImageError> {
        let generation_of = |i| self.check_slot(i).map(|(g, _)| (g, i));
        let (a, b) = (generation_of(0), generation_of(1));
        // Newest first.
        let order = if a.map(|(g, _)| g) >= b.map(|(g, _)| g) { [a, b] } else { [b, a] };
        let mut result = Ok(None);
        for (generation, index) in order.into_iter().flatten() {
            let Some((_, doc)) = self.check_slot(index) else {
                continue;
            };
            let (sequence, image) = doc.split_at_checked(SEQUENCE_LEN).unwrap_or((&[0; SEQUENCE_LEN], &[]));
            let sequence = u32::from_le_bytes(sequence.try_into().unwrap_or([0; SEQUENCE_LEN]));
            match tally.read_image(image) {
                Ok(()) => {
                    result = Ok(Some(Recovered { sequence, generation }));
                    break;
                }
                Err(e) => result = Err(e),
            }
        }
        // An undecodable slot keeps its generation, so the next save does not reuse it.
        self.newest = order.into_iter().flatten().next().map(|(generation, _)| Newest { generation });
        if let Ok(Some(r)) = &result {
            self.newest = Some(Newest { generation: r.generation });
        }
        result
    }

    /// The generation of the newest good save (0 when there is none).
    #[must_use]
    pub fn generation(&self) -> u32 {
        self.newest.map_or(0, |n| n.generation)
    }

    /// Saves `tally`, and the sequence number of `header`, to the other slot; when this
    /// returns `Ok` the save is durable, and until then the previous save is.
    ///
    /// # Errors
    /// A flash error (the previous save is still the newest), or a document too large.
    pub fn save<const Q: usize, const C: usize, const P: usize>(
        &mut self,
        tally: &Tally<'_, Q, C, P>,
        header: &Header,
    ) -> Result<(), StorageError> {
        let generation = self.generation().wrapping_add(1).max(1);
        let start = self.slot_start(generation);
        self.flash.erase(start, start + self.slot_len)?;
        let body = start + HEADER_LEN as u32;
        let mut pages = Pages {
            flash: &mut self.flash,
            next: body,
            end: start + self.slot_len,
            buf: [0xFF; PAGE],
            used: 0,
            crc: Crc32::new(),
            len: 0,
        };
        pages.write_all(&header.sequence.to_le_bytes())?;
        tally.write_image(&mut pages)?;
        pages.flush()?;
        let (len, doc_crc) = (pages.len, pages.crc.finish());
        let mut head = [0xFF_u8; HEADER_LEN];
        for (i, w) in [MAGIC, generation, len, doc_crc].into_iter().enumerate() {
            head[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        let head_crc = crc32(&head[..16]);
        head[16..20].copy_from_slice(&head_crc.to_le_bytes());
        self.flash.write(start, &head)?;
        self.newest = Some(Newest { generation });
        Ok(())
    }
}

/// Streams a document into flash a page at a time, counting and checksumming it.
struct Pages<'f, F> {
    flash: &'f mut F,
    next: u32,
    end: u32,
    buf: [u8; PAGE],
    used: usize,
    crc: Crc32,
    len: u32,
}

impl<F: NorFlash> Pages<'_, F> {
    /// Programs the buffered bytes, padded with erased bytes to the write size.
    fn flush(&mut self) -> Result<(), StorageError> {
        if self.used == 0 {
            return Ok(());
        }
        let padded = self.used.div_ceil(F::WRITE_SIZE) * F::WRITE_SIZE;
        self.buf[self.used..padded].fill(0xFF);
        let n = padded as u32;
        if self.next + n > self.end {
            return Err(StorageError::SlotTooSmall);
        }
        self.flash.write(self.next, &self.buf[..padded])?;
        self.next += n;
        self.used = 0;
        Ok(())
    }
}

impl<F: NorFlash> Sink for Pages<'_, F> {
    type Error = StorageError;

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), StorageError> {
        self.crc.update(bytes);
        self.len += bytes.len() as u32;
        while !bytes.is_empty() {
            let room = PAGE - self.used;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf[self.used..self.used + now.len()].copy_from_slice(now);
            self.used += now.len();
            bytes = rest;
            if self.used == PAGE {
                self.flush()?;
            }
        }
        Ok(())
    }
}
