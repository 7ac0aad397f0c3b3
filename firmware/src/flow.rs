//! The kiosk's question flow: start on any answer button, walk the instrument's questions in
//! order, skip what routing excludes (`Response::applies`), page options past six, commit when
//! the last question is answered or skipped, then lock out for a while.
//!
//! Every way a response ends is counted in the tally (method.md §11): committed, rejected as
//! implausibly fast (`record_rejected`), or abandoned on an idle timeout (`record_abandoned`,
//! or submitted, by setting). Each is made durable in the store's journal first, then counted in
//! the tally, then acknowledged: a save that fails leaves neither flash nor RAM holding it, and
//! the kiosk shows that storage failed.
//!
//! Exports are signed with the kiosk's provisioned [`Key`], and carry its identity. A kiosk
//! without a valid provisioning still collects and saves responses, so that none is lost, but
//! refuses to export ([`Failure::NotProvisioned`]) and shows that it has no key.

use embedded_hal::digital::OutputPin;
use surveybench_kernel::export::{Header, Sink, StreamError, stream_signed};
use surveybench_kernel::provision::ProvisionError;
use surveybench_kernel::{Response, Tally, TallyError};

use crate::buttons::{ANSWERS, Button, Gesture};
use crate::config::{Config, IdleAction};
use crate::display::{Display, Screen};
use crate::key::Key;
use crate::leds::{Leds, Signal};
use crate::storage::{self, MappedFlash, Recovered, StorageError, Store};

/// Options shown per page when a question has more options than answer buttons: the last
/// button then turns the page.
pub const PER_PAGE: usize = ANSWERS - 1;

/// Where the kiosk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Waiting for a respondent.
    Idle,
    /// Asking question `question`, showing options page `page`.
    Asking {
        /// Index of the question.
        question: usize,
        /// Page of options shown.
        page: u8,
    },
    /// After a submission: presses are ignored until `until`.
    Locked {
        /// End of the lock-out.
        until: u32,
    },
}

/// What a gesture or tick did, for the board's log and for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing worth telling.
    None,
    /// A response began.
    Started,
    /// A press was ignored (lock-out, a button with no option, a chord).
    Ignored,
    /// A response was committed and saved.
    Committed,
    /// A submission was rejected as implausibly fast; counted and saved.
    Rejected,
    /// A response was abandoned on the idle timeout; counted and saved.
    Abandoned,
    /// The staff asked for an export: call [`Kiosk::export`].
    ExportRequested,
    /// Storage or the tally failed; the event is not acknowledged.
    Failed(Failure),
}

/// Why an action could not be completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Saving failed.
    Storage(StorageError),
    /// The tally refused (a count would overflow).
    Tally(TallyError),
    /// An LED could not be driven.
    Led,
    /// The kiosk has no valid provisioning, so no key to sign with: it does not export.
    NotProvisioned(ProvisionError),
}

/// The kiosk: its tally, the response in progress, its key, store, LEDs and display.
///
/// The tally is borrowed, not owned: at 17 KB for `cmh-2024` it lives in one place the board
/// chooses (a `static`, built there with `Tally::init`), and is never moved through the stack.
/// `'t` is what the kiosk borrows: the tally and the provisioning image its key is read from.
pub struct Kiosk<'i, 't, F, G, R, D, const Q: usize, const C: usize, const P: usize> {
    config: Config,
    tally: &'t mut Tally<'i, Q, C, P>,
    response: Response<'i, Q>,
    key: Result<Key<'t>, ProvisionError>,
    sequence: u32,
    store: Store<F>,
    leds: Leds<G, R>,
    display: D,
    mode: Mode,
    started_at: u32,
    last_press: u32,
    recovered: Result<Recovered, StorageError>,
}

/// How a response ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Committed,
    Rejected,
    Abandoned,
}

/// How many option pages question `options` needs.
#[must_use]
pub fn pages(options: usize) -> u8 {
    if options <= ANSWERS { 1 } else { u8::try_from(options.div_ceil(PER_PAGE)).unwrap_or(u8::MAX) }
}

impl<'i, 't, F, G, R, D, const Q: usize, const C: usize, const P: usize> Kiosk<'i, 't, F, G, R, D, Q, C, P>
where
    F: MappedFlash,
    G: OutputPin,
    R: OutputPin,
    D: Display,
{
    /// Boots the kiosk: recovers the tally, the export sequence and the storage fault count from
    /// `store` (a fresh device starts empty), and shows the welcome screen, or that storage
    /// failed when the store could not be made ready.
    ///
    /// `tally` must be an empty tally of the kiosk's instrument; recovery fills it. `key` is
    /// the kiosk's key and identity from its provisioning image, or why it has none: a kiosk
    /// without one collects responses all the same, but does not export.
    pub fn boot(
        config: Config,
        tally: &'t mut Tally<'i, Q, C, P>,
        key: Result<Key<'t>, ProvisionError>,
        mut store: Store<F>,
        leds: Leds<G, R>,
        mut display: D,
    ) -> Self {
        let mut response = Response::new(tally.instrument()).unwrap_or_else(|_| unreachable_capacity());
        let recovered = store.recover(tally, &mut response);
        let sequence = store.sequence();
        display.show(if recovered.is_ok() { Screen::Welcome } else { Screen::StorageFailed });
        Self {
            config,
            tally,
            response,
            key,
            sequence,
            store,
            leds,
            display,
            mode: Mode::Idle,
            started_at: 0,
            last_press: 0,
            recovered,
        }
    }

    /// What booting recovered from the store, or why the store could not be made ready.
    pub fn recovered(&self) -> Result<Recovered, StorageError> {
        self.recovered
    }

    /// The tally.
    pub fn tally(&self) -> &Tally<'i, Q, C, P> {
        self.tally
    }

    /// The kiosk's key, with its identity (the exports' header), or why it has none.
    pub fn key(&self) -> Result<&Key<'t>, ProvisionError> {
        self.key.as_ref().map_err(|e| *e)
    }

    /// The last export's sequence number (0 before the first).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Storage faults found and survived since the kiosk was first started (in every export).
    pub fn storage_faults(&self) -> u32 {
        self.store.faults()
    }

    /// Where the kiosk is.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The store (tests inspect the flash through it).
    pub fn store_mut(&mut self) -> &mut Store<F> {
        &mut self.store
    }

    /// Takes the kiosk apart (tests).
    pub fn into_parts(self) -> (Store<F>, Leds<G, R>, D) {
        (self.store, self.leds, self.display)
    }

    /// Handles a finished button gesture at `now` (milliseconds).
    pub fn on_gesture(&mut self, gesture: Gesture, now: u32) -> Event {
        match (self.mode, gesture) {
            (Mode::Locked { .. }, _) | (_, Gesture::Chord(_)) => Event::Ignored,
            (Mode::Idle, Gesture::Staff) => Event::ExportRequested,
            (Mode::Idle, Gesture::Press(Button::Answer(_))) => self.start(now),
            (Mode::Idle | Mode::Asking { .. }, _) => {
                let Mode::Asking { question, page } = self.mode else {
                    return Event::Ignored;
                };
                self.last_press = now;
                match gesture {
                    Gesture::Press(b) => self.press(question, page, b, now),
                    _ => Event::Ignored,
                }
            }
        }
    }

    /// Advances time to `now`: ends the lock-out, applies the idle timeout.
    pub fn on_tick(&mut self, now: u32) -> Event {
        match self.mode {
            Mode::Locked { until } if now.wrapping_sub(until) < u32::MAX / 2 => {
                self.mode = Mode::Idle;
                self.display.show(Screen::Welcome);
                self.signal(Signal::Off).err().unwrap_or(Event::None)
            }
            Mode::Asking { .. } if now.wrapping_sub(self.last_press) >= self.config.idle_timeout_ms => {
                let answered =
                    (0..self.tally.instrument().questions.len()).any(|i| self.response.code(i).is_some());
                match self.config.idle_action {
                    IdleAction::Submit if answered => self.finish(now),
                    _ => self.abandon(now),
                }
            }
            _ => Event::None,
        }
    }

    /// Writes the export to `sink`, signed with the kiosk's key, with the next sequence
    /// number, which is saved first so that no number is ever used twice.
    ///
    /// # Errors
    /// [`Failure::NotProvisioned`] (nothing was written or saved: the kiosk shows that it has
    /// no key), saving failed (nothing was written), or the sink failed mid-document.
    pub fn export<S: Sink>(&mut self, sink: &mut S) -> Result<u32, Failure> {
        let signing =
            self.key.as_ref().map_err(|e| *e).and_then(|key| Ok((key.header().clone(), key.signer()?)));
        let (identity, mut signer) = match signing {
            Ok(signing) => signing,
            Err(e) => {
                self.display.show(Screen::NotProvisioned);
                return Err(Failure::NotProvisioned(e));
            }
        };
        let next = self.sequence.wrapping_add(1);
        if let Err(e) = self.store.save(self.tally, storage::Event::Export::<Q>(next)) {
            self.fail(Failure::Storage(e));
            return Err(Failure::Storage(e));
        }
        self.sequence = next;
        let header = Header { sequence: next, storage_faults: self.store.faults(), ..identity };
        stream_signed(self.tally, &header, &mut signer, sink).map_err(|e| match e {
            StreamError::Sink(_) | StreamError::Export(_) => Failure::Storage(StorageError::Layout),
        })?;
        self.display.show(Screen::Exported(next));
        Ok(next)
    }

    fn start(&mut self, now: u32) -> Event {
        self.response = Response::new(self.tally.instrument()).unwrap_or_else(|_| unreachable_capacity());
        self.started_at = now;
        self.last_press = now;
        match self.next_applicable(0) {
            Some(q) => {
                self.ask(q, 0);
                Event::Started
            }
            None => Event::Ignored,
        }
    }

    fn press(&mut self, question: usize, page: u8, button: Button, now: u32) -> Event {
        let options = self.tally.instrument().question(question).map_or(0, |q| q.options.len());
        match button {
            Button::Answer(k) => {
                let k = usize::from(k);
                let paged = options > ANSWERS;
                if paged && k == ANSWERS - 1 {
                    let turned = (page + 1) % pages(options);
                    self.ask(question, turned);
                    return Event::None;
                }
                let position = if paged { usize::from(page) * PER_PAGE + k } else { k };
                let code = self
                    .tally
                    .instrument()
                    .question(question)
                    .and_then(|q| q.options.get(position))
                    .map(|o| o.code);
                let Some(code) = code else {
                    return Event::Ignored;
                };
                if self.response.answer(question, code).is_err() {
                    return Event::Ignored;
                }
                self.advance(question, now)
            }
            Button::Skip => {
                let _ = self.response.clear(question);
                self.advance(question, now)
            }
            Button::Back => {
                if let Some(q) = (0..question).rev().find(|&q| self.response.applies(q)) {
                    self.ask(q, 0);
                }
                Event::None
            }
        }
    }

    fn next_applicable(&self, from: usize) -> Option<usize> {
        (from..self.tally.instrument().questions.len()).find(|&q| self.response.applies(q))
    }

    fn advance(&mut self, question: usize, now: u32) -> Event {
        match self.next_applicable(question + 1) {
            Some(q) => {
                self.ask(q, 0);
                Event::None
            }
            None => self.finish(now),
        }
    }

    fn ask(&mut self, index: usize, page: u8) {
        self.mode = Mode::Asking { question: index, page };
        if let Some(question) = self.tally.instrument().question(index) {
            self.display.show(Screen::Question {
                index,
                question,
                page,
                pages: pages(question.options.len()),
            });
        }
    }

    /// The least plausible time for this response: per question that applies to it.
    fn min_time(&self) -> u32 {
        let shown =
            (0..self.tally.instrument().questions.len()).filter(|&q| self.response.applies(q)).count();
        u32::try_from(shown).unwrap_or(u32::MAX).saturating_mul(self.config.min_ms_per_question)
    }

    fn finish(&mut self, now: u32) -> Event {
        let plausible = now.wrapping_sub(self.started_at) >= self.min_time();
        self.conclude(if plausible { Outcome::Committed } else { Outcome::Rejected }, now)
    }

    fn abandon(&mut self, now: u32) -> Event {
        self.conclude(Outcome::Abandoned, now)
    }

    /// Saves how the response ended, then (only then) counts it, acknowledges it and locks out.
    fn conclude(&mut self, outcome: Outcome, now: u32) -> Event {
        self.mode = Mode::Locked { until: now.wrapping_add(self.config.lockout_ms) };
        let event = match outcome {
            Outcome::Committed => storage::Event::Commit(&self.response),
            Outcome::Rejected => storage::Event::Rejected,
            Outcome::Abandoned => storage::Event::Abandoned,
        };
        if let Err(e) = self.store.save(self.tally, event) {
            return self.fail(Failure::Storage(e));
        }
        let counted = match outcome {
            Outcome::Committed => self.tally.commit(&self.response).map(|_| ()),
            Outcome::Rejected => self.tally.record_rejected(),
            Outcome::Abandoned => self.tally.record_abandoned(),
        };
        if let Err(e) = counted {
            // Saved but not countable (a count would overflow): the record must not count later.
            let _ = self.store.void_last();
            return self.fail(Failure::Tally(e));
        }
        let (event, screen, signal) = match outcome {
            Outcome::Committed => (Event::Committed, Screen::Thanks, Signal::Ack),
            Outcome::Rejected => (Event::Rejected, Screen::Rejected, Signal::Alert),
            Outcome::Abandoned => (Event::Abandoned, Screen::TimedOut, Signal::Off),
        };
        self.display.show(screen);
        self.signal(signal).err().unwrap_or(event)
    }

    fn fail(&mut self, failure: Failure) -> Event {
        self.display.show(Screen::StorageFailed);
        let _ = self.leds.show(Signal::Alert);
        Event::Failed(failure)
    }

    fn signal(&mut self, signal: Signal) -> Result<(), Event> {
        self.leds.show(signal).map_err(|_| Event::Failed(Failure::Led))
    }
}

/// `Tally::new` already checked that the instrument fits `Q` questions, which is all
/// `Response::new` checks; this cannot be reached.
#[cold]
fn unreachable_capacity() -> ! {
    unreachable!("a response always fits the tally's question capacity")
}
