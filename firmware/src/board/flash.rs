//! The kiosk's NOR flash under QEMU: [`STORAGE_LEN`] bytes of RAM outside the kiosk's 32 KiB
//! (`.storage`, firmware/memory.x), read as memory ([`MappedFlash`]), optionally backed by a
//! host file through semihosting so that it survives the QEMU run, and a watchdog reset, as a
//! real flash survives power cycles.
//!
//! With a file, boot reads it into the RAM mirror (a new or short file is filled with 0xFF, an
//! erased flash), and every `write` (4-byte words, bits only cleared) and `erase` (4 KiB
//! sectors to 0xFF) is written through to it before the call returns: the bytes it changed,
//! with SYS_SEEK and SYS_WRITE. Without one the flash is RAM only and erased at boot. QEMU
//! zero-fills the region on a reset (it is a load segment of the ELF), so only the file keeps it.

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};
use semihosting::fs::File;
use semihosting::io::{Read as _, Seek as _, SeekFrom, Write as _};

use crate::storage::MappedFlash;

/// Bytes of the flash region: the store's layout must fit in it (firmware/memory.x reserves
/// up to 1 MiB for it).
pub const STORAGE_LEN: usize = 128 * 1024;
/// Erase block: a typical NOR sector.
pub const SECTOR: usize = 4096;

#[unsafe(link_section = ".storage")]
static mut STORAGE: [u8; STORAGE_LEN] = [0; STORAGE_LEN];
static STORAGE_TAKEN: AtomicBool = AtomicBool::new(false);

/// A NOR flash in RAM, optionally written through to a host file: erase sets bytes to 0xFF, a
/// write can only clear bits.
pub struct RamFlash {
    bytes: &'static mut [u8],
    file: Option<File>,
}

/// How the flash's backing file was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// The file held this many bytes of flash (the rest, if any, was filled with 0xFF).
    Loaded(usize),
    /// There was no file: it was created, erased.
    Created,
}

/// Errors of [`RamFlash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamFlashError(NorFlashErrorKind);

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

/// The host file failed (semihosting).
const FILE_FAILED: RamFlashError = RamFlashError(NorFlashErrorKind::Other);

impl RamFlash {
    /// The storage region, erased and in RAM only (a fresh device each boot). `None` if
    /// already taken.
    pub fn take() -> Option<Self> {
        let bytes = take_region()?;
        bytes.fill(0xFF);
        Some(Self { bytes, file: None })
    }

    /// The storage region backed by the host file `path`: its contents, or a new erased file.
    ///
    /// # Errors
    /// The region is taken (`None`), or the file cannot be opened, created, read or written.
    pub fn backed_by(path: &CStr) -> Result<(Self, Backing), Option<RamFlashError>> {
        let bytes = take_region().ok_or(None)?;
        bytes.fill(0xFF);
        let mut flash = Self { bytes, file: None };
        let backing = flash.attach(path).map_err(Some)?;
        Ok((flash, backing))
    }

    /// Opens `path` without truncating it and loads it, or creates it erased.
    fn attach(&mut self, path: &CStr) -> Result<Backing, RamFlashError> {
        if let Ok(mut file) = File::options().read(true).write(true).open(path) {
            let loaded = read_into(&mut file, self.bytes)?;
            self.file = Some(file);
            if loaded < self.bytes.len() {
                // A short (or empty) file: the rest is erased flash, and now in the file too.
                self.persist(loaded..self.bytes.len())?;
            }
            return Ok(Backing::Loaded(loaded));
        }
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path);
        self.file = Some(file.map_err(|_| FILE_FAILED)?);
        self.persist(0..self.bytes.len())?;
        Ok(Backing::Created)
    }

    /// Writes the mirror's bytes `range` through to the file, if there is one.
    fn persist(&mut self, range: core::ops::Range<usize>) -> Result<(), RamFlashError> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        let bytes = self.bytes.get(range.clone()).ok_or(FILE_FAILED)?;
        file.seek(SeekFrom::Start(range.start as u64)).map_err(|_| FILE_FAILED)?;
        file.write_all(bytes).map_err(|_| FILE_FAILED)
    }

    fn range(&self, offset: u32, len: usize, align: usize) -> Result<core::ops::Range<usize>, RamFlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(RamFlashError(NorFlashErrorKind::NotAligned));
        }
        Ok(start..end)
    }

    /// Applies `change` to each byte of `range`; with a file, then writes the span of bytes
    /// it changed through to it. Without one it is a plain loop, as fast as the flash it
    /// stands for (the instructions per saved response are measured on it).
    fn update(
        &mut self,
        range: core::ops::Range<usize>,
        change: impl Fn(usize, u8) -> u8,
    ) -> Result<(), RamFlashError> {
        let start = range.start;
        let cells = self.bytes.get_mut(range).ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        if self.file.is_none() {
            for (i, cell) in cells.iter_mut().enumerate() {
                *cell = change(i, *cell);
            }
            return Ok(());
        }
        let differs = |(i, cell): (usize, &u8)| change(i, *cell) != *cell;
        let Some(first) = cells.iter().enumerate().position(differs) else { return Ok(()) };
        let last = cells.iter().enumerate().rposition(differs).unwrap_or(first);
        for (i, cell) in cells.iter_mut().enumerate().take(last + 1).skip(first) {
            *cell = change(i, *cell);
        }
        self.persist(start + first..start + last + 1)
    }
}

/// The storage region, handed out once.
fn take_region() -> Option<&'static mut [u8]> {
    if STORAGE_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above hands the region out once, so this is its only reference.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(STORAGE) })
}

/// Reads `file` into `bytes` up to its end or theirs; returns the bytes read.
fn read_into(file: &mut File, bytes: &mut [u8]) -> Result<usize, RamFlashError> {
    let mut loaded = 0;
    while let Some(rest) = bytes.get_mut(loaded..).filter(|r| !r.is_empty()) {
        match file.read(rest).map_err(|_| FILE_FAILED)? {
            0 => break,
            n => loaded += n,
        }
    }
    Ok(loaded)
}

impl ErrorType for RamFlash {
    type Error = RamFlashError;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), 1)?;
        let from = self.bytes.get(r).ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        bytes.copy_from_slice(from);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), RamFlashError> {
        let len = to.checked_sub(from).ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        let r = self.range(from, len as usize, SECTOR)?;
        self.update(r, |_, _| 0xFF)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), Self::WRITE_SIZE)?;
        self.update(r, |i, cell| cell & bytes.get(i).copied().unwrap_or(0xFF))
    }
}

impl MappedFlash for RamFlash {
    fn mapped(&self) -> &[u8] {
        self.bytes
    }
}
