//! Snapshot slots: the whole tally's binary image (the kernel's `tally::image`) behind a
//! CRC-checked header that also carries the generation (the epoch of the journal that follows
//! it), the last export's sequence number and the storage fault count. The header is written
//! last, so a slot whose header checks holds a finished snapshot unless it was damaged later,
//! which its document CRC then shows.

use embedded_storage::nor_flash::NorFlash;
use surveybench_kernel::export::Sink;

use super::StorageError;
use surveybench_kernel::crc::{Crc32, crc32};

/// Bytes of a slot header.
pub const HEADER_LEN: usize = 32;
/// Bytes buffered before each program operation.
pub const PAGE: usize = 256;
const MAGIC: u32 = u32::from_le_bytes(*b"SBK3");

/// What a snapshot header records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// How many snapshots came before this one, plus one; the newest has the highest.
    pub generation: u32,
    /// The last export's sequence number when it was taken.
    pub sequence: u32,
    /// The storage fault count when it was taken.
    pub faults: u32,
}

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot<'a> {
    /// Its header checks and so does its document: a finished snapshot.
    Finished(Meta, &'a [u8]),
    /// Its header checks but its document does not: a finished snapshot damaged since.
    Damaged(Meta),
    /// No header that checks: never finished (a cut while it was written), or erased.
    Unfinished,
}

fn word(head: &[u8], i: usize) -> u32 {
    let mut w = [0xFF; 4];
    if let Some(b) = head.get(i * 4..i * 4 + 4) {
        w.copy_from_slice(b);
    }
    u32::from_le_bytes(w)
}

/// Reads the slot `bytes` (one whole slot).
#[must_use]
pub fn read(bytes: &[u8]) -> Slot<'_> {
    let Some((head, body)) = bytes.split_at_checked(HEADER_LEN) else {
        return Slot::Unfinished;
    };
    let header_ok = word(head, 0) == MAGIC && word(head, 7) == crc32(head.get(..28).unwrap_or(&[]));
    if !header_ok {
        return Slot::Unfinished;
    }
    let meta = Meta { generation: word(head, 1), sequence: word(head, 4), faults: word(head, 5) };
    let len = word(head, 2) as usize;
    match body.get(..len) {
        Some(doc) if crc32(doc) == word(head, 3) => Slot::Finished(meta, doc),
        _ => Slot::Damaged(meta),
    }
}

/// The header of a snapshot of a `len`-byte document with CRC `crc`.
#[must_use]
pub fn header(meta: Meta, len: u32, crc: u32) -> [u8; HEADER_LEN] {
    let mut head = [0xFF_u8; HEADER_LEN];
    let words = [MAGIC, meta.generation, len, crc, meta.sequence, meta.faults, 0];
    for (chunk, w) in head.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    let crc = crc32(head.get(..28).unwrap_or(&[]));
    if let Some(b) = head.get_mut(28..) {
        b.copy_from_slice(&crc.to_le_bytes());
    }
    head
}

/// Streams a document into flash a page at a time, counting and checksumming it.
pub struct Pages<'f, F> {
    flash: &'f mut F,
    next: u32,
    end: u32,
    buf: [u8; PAGE],
    used: usize,
    crc: Crc32,
    len: u32,
}

impl<'f, F: NorFlash> Pages<'f, F> {
    /// A writer of the flash from `start` up to `end` (erased).
    pub fn new(flash: &'f mut F, start: u32, end: u32) -> Self {
        Self { flash, next: start, end, buf: [0xFF; PAGE], used: 0, crc: Crc32::new(), len: 0 }
    }

    /// Programs what is buffered and returns the document's length and CRC.
    ///
    /// # Errors
    /// A flash error, or the document does not fit.
    pub fn finish(mut self) -> Result<(u32, u32), StorageError> {
        self.flush()?;
        Ok((self.len, self.crc.finish()))
    }

    /// Programs the buffered bytes, padded with erased bytes to the write size.
    fn flush(&mut self) -> Result<(), StorageError> {
        if self.used == 0 {
            return Ok(());
        }
        let padded = self.used.div_ceil(F::WRITE_SIZE) * F::WRITE_SIZE;
        let page = self.buf.get_mut(..padded).ok_or(StorageError::Layout)?;
        page.get_mut(self.used..).unwrap_or(&mut []).fill(0xFF);
        let n = u32::try_from(padded).map_err(|_| StorageError::Layout)?;
        if self.next.checked_add(n).is_none_or(|e| e > self.end) {
            return Err(StorageError::SlotTooSmall);
        }
        self.flash.write(self.next, page)?;
        self.next += n;
        self.used = 0;
        Ok(())
    }
}

impl<F: NorFlash> Sink for Pages<'_, F> {
    type Error = StorageError;

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), StorageError> {
        self.crc.update(bytes);
        self.len = self.len.saturating_add(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        while !bytes.is_empty() {
            let room = PAGE - self.used;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            if let Some(dst) = self.buf.get_mut(self.used..self.used + now.len()) {
                dst.copy_from_slice(now);
            }
            self.used += now.len();
            bytes = rest;
            if self.used == PAGE {
                self.flush()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_checks_and_any_flip_in_it_or_the_document_is_caught() {
        let doc = [7u8; 40];
        let meta = Meta { generation: 3, sequence: 9, faults: 1 };
        let mut slot = std::vec::Vec::from(header(meta, 40, crc32(&doc)));
        slot.extend_from_slice(&doc);
        slot.resize(128, 0xFF);
        assert_eq!(read(&slot), Slot::Finished(meta, &doc[..]));
        for bit in 0..(HEADER_LEN + doc.len()) * 8 {
            let mut s = slot.clone();
            s[bit / 8] ^= 1 << (bit % 8);
            match read(&s) {
                Slot::Finished(..) => panic!("flip of bit {bit} not caught"),
                Slot::Damaged(m) => assert!(bit >= HEADER_LEN * 8 && m == meta, "bit {bit}"),
                Slot::Unfinished => assert!(bit < HEADER_LEN * 8, "bit {bit}"),
            }
        }
    }
}
