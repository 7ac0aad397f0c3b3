//! The kiosk's flash: a journal of acknowledged events over a periodic snapshot of the tally,
//! so that each response costs one small record, flash wears slowly, and a power cut at any
//! instant loses nothing the kiosk acknowledged (docs/design.md, "Why a journal over
//! snapshots?"; docs/formats.md, "The kiosk's flash").
//!
//! Layout, from `base`: two snapshot slots (A/B, [`snapshot`]) and a journal of fixed-size
//! records ([`record`]). Each snapshot starts an epoch (its generation); the journal of that
//! epoch opens with a carry record and then holds one record per event since the snapshot.
//! When the journal is full, the tally is snapshotted into the slot that does not hold the
//! newest snapshot, the journal is erased and a new epoch begins.
//!
//! Recovery reads the newest snapshot that checks, replays its epoch's records, and takes the
//! last export's sequence number as the highest the flash records anywhere, so a number is
//! never used twice. A damaged snapshot or record that was acknowledged is a *storage fault*:
//! it is counted in a fault counter kept in every snapshot and carry record, exported with
//! every later export, and the kiosk re-snapshots at once so it never depends on it again.

pub mod record;
pub mod snapshot;

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind};
use surveybench_kernel::tally::image::image_len;
use surveybench_kernel::{Instrument, Response, Tally};

use record::{COMMIT, Kind, MAX_RECORD, Slot as RecordSlot, VOID};
use snapshot::{HEADER_LEN, Meta, PAGE, Pages, Slot as SnapshotSlot};

/// Flash whose whole contents can also be read as memory (internal flash of an MCU, or the
/// RAM mirror of the file-backed flash on QEMU), so a document can be decoded where it lies.
pub trait MappedFlash: NorFlash {
    /// The device's contents, `capacity()` bytes from offset 0.
    fn mapped(&self) -> &[u8];
}

/// Erase blocks of the journal: 32 KiB on 4 KiB sectors (docs/design.md gives the wear figures).
pub const JOURNAL_SECTORS: usize = 8;

/// Where the snapshot slots and the journal lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of one snapshot slot (whole erase blocks).
    pub slot_len: u32,
    /// Bytes of the journal (whole erase blocks).
    pub journal_len: u32,
    /// Bytes of one journal record.
    pub record_len: u32,
}

impl Layout {
    /// The layout for `instrument` on flash with erase blocks of `erase` bytes: slots that hold
    /// its tally's image and a journal of [`JOURNAL_SECTORS`] blocks.
    #[must_use]
    pub const fn of(instrument: &Instrument<'_>, erase: usize) -> Self {
        let slot = (HEADER_LEN + image_len(instrument)).div_ceil(erase) * erase;
        Self {
            slot_len: slot as u32,
            journal_len: (JOURNAL_SECTORS * erase) as u32,
            record_len: record::record_len(instrument) as u32,
        }
    }

    /// Bytes of the whole region: two slots and the journal.
    #[must_use]
    pub const fn bytes(&self) -> usize {
        2 * self.slot_len as usize + self.journal_len as usize
    }

    /// Records one journal epoch holds, its carry record included.
    #[must_use]
    pub const fn records(&self) -> u32 {
        self.journal_len / self.record_len
    }
}

/// Why storage failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The flash reported an error of this kind (a cut, on the host mock).
    Flash(NorFlashErrorKind),
    /// The document does not fit a slot: the slots are too small for this instrument.
    SlotTooSmall,
    /// The region is not a whole number of erase blocks, too small, or its records too long.
    Layout,
    /// A record that failed could not be voided either: the store takes no more saves until
    /// the kiosk restarts (and recovers from what the flash holds).
    Broken,
}

impl<E: NorFlashError> From<E> for StorageError {
    fn from(e: E) -> Self {
        Self::Flash(e.kind())
    }
}

/// An event to make durable.
#[derive(Clone, Copy, Debug)]
pub enum Event<'r, 'i, const R: usize> {
    /// A response about to be committed.
    Commit(&'r Response<'i, R>),
    /// A rejected submission.
    Rejected,
    /// An abandoned response.
    Abandoned,
    /// An export with this sequence number, about to be written.
    Export(u32),
}

/// What recovery found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The last export's sequence number (the highest the flash records).
    pub sequence: u32,
    /// Storage faults so far, this boot's included.
    pub faults: u32,
    /// Whether this boot found a fault (and counted it).
    pub new_fault: bool,
    /// Journal records replayed onto the snapshot.
    pub replayed: u32,
    /// The generation of the snapshot recovered (0: none, a fresh device).
    pub generation: u32,
}

/// The store's view of the flash between operations.
#[derive(Clone, Copy, Debug, Default)]
struct State {
    /// Highest snapshot generation on the flash (the current epoch once the journal is open).
    generation: u32,
    /// Which slot (0 or 1) holds the snapshot the tally was recovered from or last saved to.
    current: Option<u32>,
    /// Offset in the journal of the next record; `None` while the journal is not open for the
    /// current epoch (it is then erased and opened before the next record).
    next: Option<u32>,
    sequence: u32,
    faults: u32,
    broken: bool,
}

/// The journal-over-snapshot store: [`Layout::len`] bytes of `flash` from `base`.
pub struct Store<F> {
    flash: F,
    base: u32,
    layout: Layout,
    state: State,
}

impl<F: MappedFlash> Store<F> {
    /// A store over `layout` in `flash` from `base`. Nothing is read yet: call
    /// [`Store::recover`].
    ///
    /// # Errors
    /// [`StorageError::Layout`] when slots or journal are not whole erase blocks, do not fit, or
    /// records are longer than [`MAX_RECORD`] or not whole write units.
    pub fn new(flash: F, base: u32, layout: Layout) -> Result<Self, StorageError> {
        let erase = F::ERASE_SIZE;
        let blocks = |n: u32| erase != 0 && (n as usize).is_multiple_of(erase) && n > 0;
        let end = (base as usize).checked_add(layout.bytes());
        let fits = end.is_some_and(|e| e <= flash.capacity());
        let record = layout.record_len as usize;
        let records_ok = record <= MAX_RECORD
            && record.is_multiple_of(F::WRITE_SIZE)
            && F::WRITE_SIZE <= 4
            && layout.records() >= 2;
        let aligned =
            blocks(layout.slot_len) && blocks(layout.journal_len) && (base as usize).is_multiple_of(erase);
        if !aligned || !fits || !records_ok || !PAGE.is_multiple_of(F::WRITE_SIZE) {
            return Err(StorageError::Layout);
        }
        Ok(Self { flash, base, layout, state: State::default() })
    }

    /// The layout.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The flash, for tests and the board.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// The last export's sequence number.
    #[must_use]
    pub fn sequence(&self) -> u32 {
        self.state.sequence
    }

    /// Storage faults detected so far.
    #[must_use]
    pub fn faults(&self) -> u32 {
        self.state.faults
    }

    /// The current snapshot generation (the journal's epoch).
    #[must_use]
    pub fn generation(&self) -> u32 {
        self.state.generation
    }

    fn slot_start(&self, index: u32) -> u32 {
        self.base + index * self.layout.slot_len
    }

    fn journal_start(&self) -> u32 {
        self.base + 2 * self.layout.slot_len
    }

    fn bytes(&self, start: u32, len: u32) -> &[u8] {
        let start = start as usize;
        self.flash.mapped().get(start..start.saturating_add(len as usize)).unwrap_or(&[])
    }

    fn slot(&self, index: u32) -> SnapshotSlot<'_> {
        snapshot::read(self.bytes(self.slot_start(index), self.layout.slot_len))
    }

    fn record(&self, i: u32) -> RecordSlot<'_> {
        let len = self.layout.record_len;
        record::classify(self.bytes(self.journal_start() + i * len, len))
    }

    /// Reads the newest good state into `tally` (empty, of the kiosk's instrument), using
    /// `scratch` to rebuild journaled responses. With nothing on the flash the tally stays empty:
    /// a fresh device. When a fault was found, or the journal is not open for the recovered
    /// snapshot's epoch, a new snapshot is written at once.
    ///
    /// # Errors
    /// A flash error while writing that snapshot or opening the journal (the tally then still
    /// holds what was recovered, and the next save tries again).
    pub fn recover<const Q: usize, const C: usize, const P: usize, const R: usize>(
        &mut self,
        tally: &mut Tally<'_, Q, C, P>,
        scratch: &mut Response<'_, R>,
    ) -> Result<Recovered, StorageError> {
        let mut found = self.read_snapshots(tally);
        let carry = self.carry();
        if carry.is_some_and(|(epoch, ..)| epoch > found.generation) {
            // The journal belongs to a snapshot that is gone: what it recorded is lost.
            found.new_fault = true;
        }
        let mut seen = found.generation.max(self.state.generation);
        if let Some((epoch, sequence, faults)) = carry {
            seen = seen.max(epoch);
            found.sequence = found.sequence.max(sequence);
            found.faults = found.faults.max(faults);
        }
        found.sequence = found.sequence.max(self.highest_export());
        // Open for the recovered snapshot's epoch: its carry record is there, or (the carry
        // damaged) records of that epoch are, which only a finished carry lets the kiosk write.
        let epoch_records = self.has_records_of(found.generation);
        let carried = carry.is_some_and(|(epoch, ..)| epoch == found.generation);
        let open = found.generation != 0 && (carried || (carry.is_none() && epoch_records));
        found.new_fault |= open && !carried;
        self.state.next = None;
        if open {
            self.replay(tally, scratch, &mut found)?;
        }
        if found.new_fault {
            found.faults = found.faults.saturating_add(1);
            // A damaged record may have been an export: its number is at most one per record
            // of an epoch past the highest the flash still shows, so skip that far.
            found.sequence = found.sequence.saturating_add(self.layout.records());
        }
        self.state.generation = seen;
        self.state.sequence = found.sequence;
        self.state.faults = found.faults;
        if found.new_fault || found.generation == 0 {
            // Never depend on damaged data again (and give a fresh device its first snapshot).
            self.snapshot(tally)?;
        } else if self.state.next.is_none() {
            // The newest snapshot is whole but its journal is not open yet (a cut after the
            // snapshot, before or while the journal was erased): open it.
            self.state.generation = found.generation;
            self.open_journal()?;
        }
        Ok(found)
    }

    /// Loads the newest snapshot that checks and is accepted by the tally; notes faults for a
    /// newer one that is damaged or refused.
    fn read_snapshots<const Q: usize, const C: usize, const P: usize>(
        &mut self,
        tally: &mut Tally<'_, Q, C, P>,
    ) -> Recovered {
        let mut found = Recovered::default();
        let metas = [0, 1].map(|i| match self.slot(i) {
            SnapshotSlot::Finished(m, _) | SnapshotSlot::Damaged(m) => Some(m),
            SnapshotSlot::Unfinished => None,
        });
        let mut order = [0u32, 1];
        if metas[1].map(|m| m.generation) > metas[0].map(|m| m.generation) {
            order = [1, 0];
        }
        for index in order {
            let Some(meta) = metas.get(index as usize).copied().flatten() else { continue };
            self.state.generation = self.state.generation.max(meta.generation);
            found.sequence = found.sequence.max(meta.sequence);
            found.faults = found.faults.max(meta.faults);
            if self.state.current.is_some() {
                continue;
            }
            // A damaged snapshot, or one the tally refuses (another instrument's), is lost data.
            let loaded = match self.slot(index) {
                SnapshotSlot::Finished(_, doc) => tally.read_image(doc).is_ok(),
                _ => false,
            };
            if loaded {
                self.state.current = Some(index);
                found.generation = meta.generation;
            } else {
                found.new_fault = true;
            }
        }
        found
    }

    /// The journal's carry record, if it opens with one: epoch, sequence, faults.
    fn carry(&self) -> Option<(u32, u32, u32)> {
        match self.record(0) {
            RecordSlot::Finished(e) if e.kind == Kind::Carry => {
                let faults = e.payload.get(..4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes);
                Some((e.epoch, e.value, faults))
            }
            _ => None,
        }
    }

    /// Whether a finished record after the carry belongs to epoch `epoch`.
    fn has_records_of(&self, epoch: u32) -> bool {
        (1..self.layout.records())
            .any(|i| matches!(self.record(i), RecordSlot::Finished(e) if e.epoch == epoch))
    }

    /// The highest export sequence number any finished record of the journal holds.
    fn highest_export(&self) -> u32 {
        (0..self.layout.records())
            .filter_map(|i| match self.record(i) {
                RecordSlot::Finished(e) if e.kind == Kind::Export => Some(e.value),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Replays the open journal's records onto `tally`; sets where the next record goes.
    fn replay<const Q: usize, const C: usize, const P: usize, const R: usize>(
        &mut self,
        tally: &mut Tally<'_, Q, C, P>,
        scratch: &mut Response<'_, R>,
        found: &mut Recovered,
    ) -> Result<(), StorageError> {
        let epoch = found.generation;
        let records = self.layout.records();
        let last = (1..records).rev().find(|&i| self.record(i) != RecordSlot::Blank).unwrap_or(0);
        for i in 1..=last {
            let slot = self.record(i);
            let applied = match slot {
                RecordSlot::Blank | RecordSlot::Voided => true,
                // A cut: only ever the last record, as a torn record is voided at the next boot.
                RecordSlot::Torn => i == last,
                RecordSlot::Damaged => false,
                RecordSlot::Finished(e) if e.epoch != epoch => false,
                RecordSlot::Finished(e) => {
                    found.replayed += 1;
                    match e.kind {
                        Kind::Commit => {
                            record::replay(e.payload, scratch).is_some() && tally.commit(scratch).is_ok()
                        }
                        Kind::Rejected => tally.record_rejected().is_ok(),
                        Kind::Abandoned => tally.record_abandoned().is_ok(),
                        Kind::Export => {
                            found.sequence = found.sequence.max(e.value);
                            true
                        }
                        Kind::Carry => false,
                    }
                }
            };
            found.new_fault |= !applied;
        }
        self.state.next = Some(last + 1);
        if last > 0 && self.record(last) == RecordSlot::Torn {
            // So that a torn record is only ever the last one. A failed void breaks the store,
            // which then refuses every save.
            let _ = self.void(last);
        }
        Ok(())
    }

    /// Writes `tally` as a new snapshot into the slot not holding the current one, then erases
    /// the journal and opens it for the new epoch. Until the snapshot's header is written, the
    /// previous snapshot and its journal are the durable state.
    fn snapshot<const Q: usize, const C: usize, const P: usize>(
        &mut self,
        tally: &Tally<'_, Q, C, P>,
    ) -> Result<(), StorageError> {
        let generation = self.state.generation.checked_add(1).ok_or(StorageError::Layout)?;
        let index = self.state.current.map_or(0, |c| 1 - c);
        let start = self.slot_start(index);
        let end = start + self.layout.slot_len;
        self.state.next = None;
        self.flash.erase(start, end)?;
        let mut pages = Pages::new(&mut self.flash, start + HEADER_LEN as u32, end);
        tally.write_image(&mut pages)?;
        let (len, crc) = pages.finish()?;
        let meta = Meta { generation, sequence: self.state.sequence, faults: self.state.faults };
        self.flash.write(start, &snapshot::header(meta, len, crc))?;
        self.state.generation = generation;
        self.state.current = Some(index);
        self.open_journal()
    }

    /// Erases the journal and writes the carry record of the current epoch.
    fn open_journal(&mut self) -> Result<(), StorageError> {
        let start = self.journal_start();
        self.flash.erase(start, start + self.layout.journal_len)?;
        let (sequence, faults) = (self.state.sequence, self.state.faults);
        self.write_record(0, Kind::Carry, sequence, None::<&Response<'_, 1>>, faults)?;
        self.state.next = Some(1);
        Ok(())
    }

    /// Makes `event` durable before the kiosk acts on it. A full journal is first folded into a
    /// new snapshot of `tally` (which must hold every event saved so far, and nothing else).
    ///
    /// # Errors
    /// A flash error: the event is not saved (a record begun is voided), and the kiosk must
    /// neither count nor acknowledge it. After [`StorageError::Broken`] every save fails.
    pub fn save<const Q: usize, const C: usize, const P: usize, const R: usize>(
        &mut self,
        tally: &Tally<'_, Q, C, P>,
        event: Event<'_, '_, R>,
    ) -> Result<(), StorageError> {
        if self.state.broken {
            return Err(StorageError::Broken);
        }
        let room = self.state.next.is_some_and(|n| n < self.layout.records());
        if !room {
            self.snapshot(tally)?;
        }
        let at = self.state.next.ok_or(StorageError::Layout)?;
        let (kind, value, response) = match event {
            Event::Commit(r) => (Kind::Commit, 0, Some(r)),
            Event::Rejected => (Kind::Rejected, 0, None),
            Event::Abandoned => (Kind::Abandoned, 0, None),
            Event::Export(sequence) => (Kind::Export, sequence, None),
        };
        self.state.next = Some(at + 1);
        self.write_record(at, kind, value, response, 0)?;
        if let Event::Export(sequence) = event {
            self.state.sequence = sequence;
        }
        Ok(())
    }

    /// Undoes the last [`Store::save`], which succeeded, when the kiosk could not count it
    /// after all (the tally refused it): its record is voided.
    ///
    /// # Errors
    /// The void failed: the store is then broken.
    pub fn void_last(&mut self) -> Result<(), StorageError> {
        let at = self.state.next.and_then(|n| n.checked_sub(1)).ok_or(StorageError::Layout)?;
        self.void(at)
    }

    fn void(&mut self, at: u32) -> Result<(), StorageError> {
        let commit = self.journal_start() + (at + 1) * self.layout.record_len - 4;
        self.flash.write(commit, &VOID.to_le_bytes()).map_err(|_| {
            self.state.broken = true;
            StorageError::Broken
        })
    }

    /// Programs record `at`: its body, then its commit word. On a failure the record is voided.
    fn write_record<const R: usize>(
        &mut self,
        at: u32,
        kind: Kind,
        value: u32,
        response: Option<&Response<'_, R>>,
        faults: u32,
    ) -> Result<(), StorageError> {
        let len = self.layout.record_len;
        let start = self.journal_start() + at * len;
        let mut buf = [0u8; MAX_RECORD];
        let bytes = buf.get_mut(..len as usize).ok_or(StorageError::Layout)?;
        let body = record::encode_body(bytes, self.state.generation, kind, value, response, faults);
        let written = self
            .flash
            .write(start, bytes.get(..body).unwrap_or(&[]))
            .and_then(|()| self.flash.write(start + body as u32, &COMMIT.to_le_bytes()));
        if let Err(e) = written {
            self.void(at)?;
            return Err(e.into());
        }
        Ok(())
    }
}
