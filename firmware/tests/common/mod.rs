//! Host test doubles for the kiosk: a NOR flash that can lose power at any operation, LEDs and
//! a display that record, a model respondent that turns answers into gestures, and a test
//! provisioning (key) with an independent verifier of its signatures.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::convert::Infallible;
use std::sync::OnceLock;

use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_storage::nor_flash::{
    ErrorType as FlashErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use surveybench_firmware::buttons::{ANSWERS, Button, Gesture};
use surveybench_firmware::display::{Display, Screen};
use surveybench_firmware::flow::PER_PAGE;
use surveybench_firmware::key::Key;
use surveybench_firmware::storage::MappedFlash;
use surveybench_kernel::export::signed::CONTEXT;
use surveybench_kernel::export::split;
use surveybench_kernel::provision::{IMAGE_LEN, Provision};
use surveybench_kernel::{Instrument, Response};

/// Erase block of the mock flash.
pub const SECTOR: usize = 4096;

/// How a fault hits the flash operation it lands on (issue 10, deliverable 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Power is lost before the operation: it does not happen at all.
    Before,
    /// Power is lost half-way: half of its bytes (or sectors' bytes) change.
    Torn,
    /// Power is lost inside one word of a write: the words before it are programmed, some of
    /// that word's bits are (chosen by the seed), the rest of the write is not. For an erase:
    /// the sector is left holding arbitrary data (random bytes, a random prefix of it erased).
    Bits,
}

/// A NOR flash (4-byte writes that only clear bits, 4 KiB erases) whose power fails at
/// operation number `cut_at` (0-based; every sector erase and every write call is one
/// operation); after that every operation fails. With `fail_at` instead, that one operation
/// fails in the manner of [`Cut::Bits`] and the flash works again afterwards (a transient
/// program failure, not a power cut). `erases` counts erases per sector (wear).
pub struct CutFlash {
    pub bytes: Vec<u8>,
    pub ops: usize,
    pub cut_at: Option<(usize, Cut)>,
    pub fail_at: Option<usize>,
    pub dead: bool,
    pub erases: Vec<u32>,
    rng: u64,
}

impl CutFlash {
    /// An erased flash of `len` bytes that never loses power.
    pub fn new(len: usize) -> Self {
        let sectors = len.div_ceil(SECTOR);
        Self {
            bytes: vec![0xFF; len],
            ops: 0,
            cut_at: None,
            fail_at: None,
            dead: false,
            erases: vec![0; sectors],
            rng: 1,
        }
    }

    /// The same, with `seed` choosing which bits a [`Cut::Bits`] fault programs.
    pub fn seeded(len: usize, seed: u64) -> Self {
        Self { rng: seed | 1, ..Self::new(len) }
    }

    /// The same contents after a reboot: power back, no fault planned, wear kept.
    pub fn reboot(&self) -> Self {
        Self {
            bytes: self.bytes.clone(),
            ops: 0,
            cut_at: None,
            fail_at: None,
            dead: false,
            erases: self.erases.clone(),
            rng: self.rng,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: enough to pick bits; seeded, so every run is the same.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Counts an operation; `Some(cut)` if it is hit, and whether the flash dies with it.
    fn step(&mut self) -> Result<Option<(Cut, bool)>, CutError> {
        if self.dead {
            return Err(CutError);
        }
        let n = self.ops;
        self.ops += 1;
        if self.fail_at == Some(n) {
            return Ok(Some((Cut::Bits, false)));
        }
        match self.cut_at {
            Some((at, how)) if at == n => {
                self.dead = true;
                Ok(Some((how, true)))
            }
            _ => Ok(None),
        }
    }

    /// Programs `bytes` at `o`, only clearing bits.
    fn program(&mut self, o: usize, bytes: &[u8]) {
        for (cell, b) in self.bytes[o..o + bytes.len()].iter_mut().zip(bytes) {
            assert_eq!(*cell & *b, *b, "write over unerased flash at {o}");
            *cell &= *b;
        }
    }
}

/// The power is gone (or the operation failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutError;

impl NorFlashError for CutError {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

impl FlashErrorType for CutFlash {
    type Error = CutError;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), CutError> {
        let o = offset as usize;
        bytes.copy_from_slice(&self.bytes[o..o + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for CutFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), CutError> {
        assert!((from as usize).is_multiple_of(SECTOR) && (to as usize).is_multiple_of(SECTOR));
        for sector in (from as usize..to as usize).step_by(SECTOR) {
            let hit = self.step()?;
            self.erases[sector / SECTOR] += 1;
            let cells = sector..sector + SECTOR;
            match hit {
                None => self.bytes[cells].fill(0xFF),
                Some((Cut::Before, _)) => return Err(CutError),
                Some((Cut::Torn, _)) => {
                    self.bytes[sector..sector + SECTOR / 2].fill(0xFF);
                    return Err(CutError);
                }
                Some((Cut::Bits, _)) => {
                    for i in cells.clone() {
                        self.bytes[i] = self.random() as u8;
                    }
                    let erased = (self.random() as usize) % SECTOR;
                    self.bytes[sector..sector + erased].fill(0xFF);
                    return Err(CutError);
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), CutError> {
        let o = offset as usize;
        assert!(o.is_multiple_of(4) && bytes.len().is_multiple_of(4), "unaligned write");
        let hit = self.step()?;
        match hit {
            None => {
                self.program(o, bytes);
                Ok(())
            }
            Some((Cut::Before, _)) => Err(CutError),
            Some((Cut::Torn, _)) => {
                self.program(o, &bytes[..bytes.len() / 2]);
                Err(CutError)
            }
            Some((Cut::Bits, _)) => {
                let words = bytes.len() / 4;
                let cut = (self.random() as usize) % words.max(1);
                self.program(o, &bytes[..cut * 4]);
                let mask = self.random() as u32;
                let at = o + cut * 4;
                let target = u32::from_le_bytes(bytes[cut * 4..cut * 4 + 4].try_into().unwrap());
                let now = u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap());
                // Each bit the write would clear is cleared or not, as the mask says.
                let half = now & (target | mask);
                self.bytes[at..at + 4].copy_from_slice(&half.to_le_bytes());
                Err(CutError)
            }
        }
    }
}

impl MappedFlash for CutFlash {
    fn mapped(&self) -> &[u8] {
        &self.bytes
    }
}

/// An LED that remembers its level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Led(pub bool);

impl ErrorType for Led {
    type Error = Infallible;
}

impl OutputPin for Led {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0 = false;
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0 = true;
        Ok(())
    }
}

/// A display that records which screens were shown, by name.
#[derive(Debug, Default)]
pub struct Screens(pub Vec<String>);

impl Display for Screens {
    fn show(&mut self, screen: Screen<'_>) {
        self.0.push(match screen {
            Screen::Question { question, page, .. } => format!("{}#{page}", question.id),
            other => format!("{other:?}"),
        });
    }
}

/// What a model respondent does at one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Answer with the option at this position.
    Answer(usize),
    /// Skip the question.
    Skip,
    /// Go back to the previous question that applies.
    Back,
}

/// Walks `instrument` as the kiosk does, asking `choose(question, options)` what to do at each
/// question; returns the gestures (the first one starts the response) and the response that
/// the answers make.
pub fn respond<'i>(
    instrument: &'i Instrument<'i>,
    mut choose: impl FnMut(usize, usize) -> Act,
) -> (Vec<Gesture>, Response<'i, 64>) {
    let mut response: Response<'i, 64> = Response::new(instrument).unwrap();
    let mut gestures = vec![Gesture::Press(Button::Answer(0))];
    let n = instrument.questions.len();
    let mut q = (0..n).find(|&q| response.applies(q));
    let mut guard = 0;
    while let Some(at) = q {
        guard += 1;
        assert!(guard < 10_000, "respondent never finishes");
        let options = instrument.questions[at].options.len();
        match choose(at, options) {
            Act::Back => {
                gestures.push(Gesture::Press(Button::Back));
                if let Some(prev) = (0..at).rev().find(|&p| response.applies(p)) {
                    q = Some(prev);
                }
                continue;
            }
            Act::Skip => {
                gestures.push(Gesture::Press(Button::Skip));
                response.clear(at).unwrap();
            }
            Act::Answer(p) => {
                gestures.extend(presses_for(p, options));
                response.answer(at, instrument.questions[at].options[p].code).unwrap();
            }
        }
        q = (at + 1..n).find(|&j| response.applies(j));
    }
    (gestures, response)
}

/// The presses that choose option position `p` of a question with `options` options: the
/// button itself, or page turns (the last answer button) and then the button on its page.
pub fn presses_for(p: usize, options: usize) -> Vec<Gesture> {
    let press = |i: usize| Gesture::Press(Button::Answer(i as u8));
    if options <= ANSWERS {
        return vec![press(p)];
    }
    let mut v = vec![press(ANSWERS - 1); p / PER_PAGE];
    v.push(press(p % PER_PAGE));
    v
}

/// The secret seed of the test kiosks' key: test-only, never a real kiosk's.
pub const SEED: [u8; 32] = *b"surveybench firmware test seed!!";
/// The id of that key in the test provisioning.
pub const KEY_ID: &str = "f1f2f3f4f5f6f7f8";

/// The provisioning image of the test kiosks: device `test-kiosk`, site RT5, period 2024, the
/// key of [`SEED`] (its public key derived by ed25519-dalek, not by the firmware).
pub fn image() -> &'static [u8; IMAGE_LEN] {
    static IMAGE: OnceLock<[u8; IMAGE_LEN]> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let public = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key().to_bytes();
        Provision::new("test-kiosk", "RT5", "2024", KEY_ID, SEED, public).unwrap().encode()
    })
}

/// The test kiosks' key, read from [`image`] once (deriving it is the slow part).
pub fn key() -> Key<'static> {
    static KEY: OnceLock<Key<'static>> = OnceLock::new();
    KEY.get_or_init(|| Key::from_image(image()).expect("the test image is valid")).clone()
}

/// Whether `export` is a signed export that ed25519-dalek verifies with the test key.
pub fn verifies(export: &[u8]) -> bool {
    use sha2::Digest;
    let Ok(sealed) = split(export) else { return false };
    let hash = sha2::Sha512::new_with_prefix(sealed.message);
    let signature = ed25519_dalek::Signature::from_bytes(&sealed.signature);
    let public = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
    public.verify_prehashed_strict(hash, Some(CONTEXT), &signature).is_ok()
}
