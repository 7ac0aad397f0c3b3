//! Host test doubles for the kiosk: a NOR flash that can lose power at any operation, LEDs and
//! a display that record, and a model respondent that turns answers into gestures.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_storage::nor_flash::{
    ErrorType as FlashErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use surveybench_firmware::buttons::{ANSWERS, Button, Gesture};
use surveybench_firmware::display::{Display, Screen};
use surveybench_firmware::flow::PER_PAGE;
use surveybench_firmware::storage::MappedFlash;
use surveybench_kernel::{Instrument, Response};

/// Erase block of the mock flash.
pub const SECTOR: usize = 4096;

/// How the power cut hits the operation it lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The operation does not happen at all.
    Before,
    /// The operation is torn: half of its bytes (or sectors' bytes) change, then power is lost.
    Torn,
}

/// A NOR flash whose power fails at operation number `cut_at` (0-based; every sector erase
/// and every write call is one operation); after that every operation fails.
pub struct CutFlash {
    pub bytes: Vec<u8>,
    pub ops: usize,
    pub cut_at: Option<(usize, Cut)>,
    pub dead: bool,
}

impl CutFlash {
    /// An erased flash of `len` bytes that never loses power.
    pub fn new(len: usize) -> Self {
        Self { bytes: vec![0xFF; len], ops: 0, cut_at: None, dead: false }
    }

    /// The same contents after a reboot: power back, no cut planned.
    pub fn reboot(&self) -> Self {
        Self { bytes: self.bytes.clone(), ops: 0, cut_at: None, dead: false }
    }

    /// Counts an operation; `Some(cut)` if power fails on it.
    fn step(&mut self) -> Result<Option<Cut>, CutError> {
        if self.dead {
            return Err(CutError);
        }
        let n = self.ops;
        self.ops += 1;
        match self.cut_at {
            Some((at, how)) if at == n => {
                self.dead = true;
                Ok(Some(how))
            }
            _ => Ok(None),
        }
    }
}

/// The power is gone.
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
            match self.step()? {
                None => self.bytes[sector..sector + SECTOR].fill(0xFF),
                Some(Cut::Before) => return Err(CutError),
                Some(Cut::Torn) => {
                    self.bytes[sector..sector + SECTOR / 2].fill(0xFF);
                    return Err(CutError);
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), CutError> {
        let o = offset as usize;
        assert!(o.is_multiple_of(4) && bytes.len().is_multiple_of(4), "unaligned write");
        let n = match self.step()? {
            None => bytes.len(),
            Some(Cut::Before) => return Err(CutError),
            Some(Cut::Torn) => bytes.len() / 2,
        };
        for (cell, b) in self.bytes[o..o + n].iter_mut().zip(bytes) {
            assert_eq!(*cell & *b, *b, "write over unerased flash at {o}");
            *cell &= *b;
        }
        if n < bytes.len() {
            return Err(CutError);
        }
        Ok(())
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
