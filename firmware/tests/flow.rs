//! The kiosk flow and drivers on the host: buttons and LEDs through embedded-hal-mock, the
//! flow's routing, paging, back, skip, idle timeout, lock-out and misuse rules, and its signed
//! exports (or none, for a kiosk without a key).

mod common;

use common::{Act, CutFlash, KEY_ID, Led, SECTOR, Screens, key, presses_for, respond, verifies};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use surveybench_firmware::buttons::{BACK, Button, Buttons, COUNT, Gesture, SKIP};
use surveybench_firmware::config::{Config, IdleAction};
use surveybench_firmware::flow::{Event, Failure, Kiosk, Mode};
use surveybench_firmware::key::Key;
use surveybench_firmware::leds::{Leds, Signal};
use surveybench_firmware::storage::{Layout, Store};
use surveybench_firmware::{CELLS, INSTRUMENT, KioskTally, PAIRS, QUESTIONS};
use surveybench_kernel::provision::{Provision, ProvisionError};
use surveybench_kernel::{HostTally, Response, bundled, export};

type TestKiosk<G, R> = Kiosk<'static, 'static, CutFlash, G, R, Screens, QUESTIONS, CELLS, PAIRS>;

fn store() -> Store<CutFlash> {
    let layout = Layout::of(INSTRUMENT, SECTOR);
    Store::new(CutFlash::new(layout.bytes()), 0, layout).unwrap()
}

fn kiosk(config: Config) -> TestKiosk<Led, Led> {
    kiosk_with(config, Ok(key()), store())
}

fn kiosk_with(
    config: Config,
    key: Result<Key<'static>, ProvisionError>,
    store: Store<CutFlash>,
) -> TestKiosk<Led, Led> {
    let leds = Leds::new(Led(false), Led(false)).unwrap();
    let tally = Box::leak(Box::new(KioskTally::new(INSTRUMENT).unwrap()));
    Kiosk::boot(config, tally, key, store, leds, Screens::default())
}

/// Plays `gestures` `gap` ms apart from `t`; returns the last event and the end time.
fn play<G, R, const Q: usize, const C: usize, const P: usize>(
    k: &mut Kiosk<'static, '_, CutFlash, G, R, Screens, Q, C, P>,
    gestures: &[Gesture],
    t: u32,
    gap: u32,
) -> (Event, u32)
where
    G: embedded_hal::digital::OutputPin,
    R: embedded_hal::digital::OutputPin,
{
    let mut now = t;
    let mut last = Event::None;
    for g in gestures {
        now += gap;
        last = k.on_gesture(*g, now);
    }
    (last, now)
}

fn screens(k: TestKiosk<Led, Led>) -> Vec<String> {
    k.into_parts().2.0
}

fn q(id: &str) -> usize {
    INSTRUMENT.question_index(id).unwrap()
}

#[test]
fn routing_skips_questions_the_filter_answer_excludes() {
    let mut k = kiosk(Config::BUILD);
    let no = |question: usize, _| {
        if question == q("Q5") { Act::Answer(1) } else { Act::Answer(0) }
    };
    let (gestures, response) = respond(INSTRUMENT, no);
    let (event, _) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(event, Event::Committed);
    assert_eq!(k.tally().counters().completed, 1);
    assert!(!response.applies(q("Q6")) && !response.applies(q("Q7")));
    let shown = screens(k);
    assert!(shown.contains(&"Q5#0".to_owned()));
    assert!(!shown.iter().any(|s| s.starts_with("Q6#") || s.starts_with("Q7#")), "{shown:?}");
    assert_eq!(shown.last().map(String::as_str), Some("Thanks"));
}

#[test]
fn options_past_six_are_paged_by_the_last_button() {
    let q40 = q("Q40");
    assert_eq!(INSTRUMENT.questions[q40].options.len(), 11);
    assert_eq!(presses_for(10, 11).len(), 3);
    let mut k = kiosk(Config::BUILD);
    let choose = |question: usize, _| if question == q40 { Act::Answer(10) } else { Act::Skip };
    let (gestures, response) = respond(INSTRUMENT, choose);
    play(&mut k, &gestures, 0, 1_000);
    assert_eq!(response.code(q40), Some(11));
    let unknown = k.tally().strata() - 1;
    assert_eq!(k.tally().counts(q40, unknown)[10], 1);
    let shown = screens(k);
    assert!(shown.contains(&"Q40#1".to_owned()) && shown.contains(&"Q40#2".to_owned()));
}

#[test]
fn back_lets_the_respondent_change_an_answer() {
    let mut k = kiosk(Config::BUILD);
    let q8 = q("Q8");
    let mut went_back = false;
    let choose = |question: usize, _| {
        if question == q("Q9") && !went_back {
            went_back = true;
            return Act::Back;
        }
        if question == q8 && went_back { Act::Answer(2) } else { Act::Answer(0) }
    };
    let (gestures, response) = respond(INSTRUMENT, choose);
    assert!(gestures.contains(&Gesture::Press(Button::Back)));
    let (event, _) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(event, Event::Committed);
    assert_eq!(response.code(q8), Some(3));
    let mut host = KioskTally::new(INSTRUMENT).unwrap();
    host.commit(&response).unwrap();
    let g = usize::from(response.stratum().0);
    assert_eq!(k.tally().counts(q8, g), host.counts(q8, g));
    assert_eq!(k.tally().counts(q8, g)[2], 1);
}

#[test]
fn an_idle_timeout_discards_by_default_and_counts_it_abandoned() {
    let mut k = kiosk(Config::BUILD);
    assert_eq!(k.on_gesture(Gesture::Press(Button::Answer(0)), 100), Event::Started);
    k.on_gesture(Gesture::Press(Button::Answer(0)), 1_100);
    assert_eq!(k.on_tick(1_100 + Config::BUILD.idle_timeout_ms - 1), Event::None);
    assert_eq!(k.on_tick(1_100 + Config::BUILD.idle_timeout_ms), Event::Abandoned);
    let c = k.tally().counters();
    assert_eq!((c.started, c.completed, c.abandoned), (1, 0, 1));
}

#[test]
fn an_idle_timeout_set_to_submit_commits_what_was_answered() {
    let config = Config { idle_action: IdleAction::Submit, ..Config::BUILD };
    let mut k = kiosk(config);
    k.on_gesture(Gesture::Press(Button::Answer(0)), 0);
    k.on_gesture(Gesture::Press(Button::Answer(0)), 1_000); // Q1, option 1
    assert_eq!(k.on_tick(1_000 + config.idle_timeout_ms), Event::Committed);
    assert_eq!(k.tally().counters().completed, 1);
    // With nothing answered, the timeout counts the response abandoned even so.
    let mut k = kiosk(config);
    k.on_gesture(Gesture::Press(Button::Answer(0)), 0);
    assert_eq!(k.on_tick(config.idle_timeout_ms), Event::Abandoned);
}

#[test]
fn mashing_through_is_rejected_and_counted_not_tallied() {
    let mut k = kiosk(Config::BUILD);
    let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
    let (event, _) = play(&mut k, &gestures, 0, 100);
    assert_eq!(event, Event::Rejected);
    let c = k.tally().counters();
    assert_eq!((c.started, c.completed, c.rejected), (1, 0, 1));
    let unknown = k.tally().strata() - 1;
    assert!(k.tally().counts(q("Q8"), unknown).iter().all(|n| *n == 0));
    assert_eq!(screens(k).last().map(String::as_str), Some("Rejected"));
}

#[test]
fn presses_in_the_lockout_are_ignored() {
    let mut k = kiosk(Config::BUILD);
    let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
    let (event, end) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(event, Event::Committed);
    let start = Gesture::Press(Button::Answer(0));
    assert_eq!(k.on_gesture(start, end + 10), Event::Ignored);
    assert_eq!(k.on_gesture(Gesture::Staff, end + 20), Event::Ignored);
    k.on_tick(end + Config::BUILD.lockout_ms);
    assert_eq!(k.mode(), Mode::Idle);
    assert_eq!(k.on_gesture(start, end + Config::BUILD.lockout_ms + 10), Event::Started);
}

#[test]
fn the_staff_command_exports_with_an_increasing_sequence_only_when_idle() {
    let mut k = kiosk(Config::BUILD);
    let mut out = Vec::new();
    assert_eq!(k.on_gesture(Gesture::Staff, 10), Event::ExportRequested);
    assert_eq!(k.export(&mut Sink(&mut out)), Ok(1));
    assert_eq!(k.export(&mut Sink(&mut out)), Ok(2));
    k.on_gesture(Gesture::Press(Button::Answer(0)), 20);
    assert_eq!(k.on_gesture(Gesture::Staff, 30), Event::Ignored);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"sequence\":1,") && text.contains("\"sequence\":2,"));
}

#[test]
fn an_export_is_signed_by_the_provisioned_key_and_carries_its_identity() {
    let mut k = kiosk(Config::BUILD);
    let (gestures, response) = respond(INSTRUMENT, |_, _| Act::Answer(0));
    let (_, end) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(k.key().map(Key::id), Ok(KEY_ID));
    let mut out = Vec::new();
    k.on_tick(end + Config::BUILD.lockout_ms);
    assert_eq!(k.export(&mut Sink(&mut out)), Ok(1));
    assert!(verifies(&out), "{}", String::from_utf8_lossy(&out));
    let mut got = Box::new(HostTally::new(INSTRUMENT).unwrap());
    let header = export::decode_into(&out, &mut *got).unwrap();
    assert_eq!(
        (header.device.as_str(), header.site.as_str(), header.period.as_str(), header.key.as_deref()),
        ("test-kiosk", "RT5", "2024", Some(KEY_ID))
    );
    assert_eq!(header.sequence, 1);
    let mut host = Box::new(HostTally::new(INSTRUMENT).unwrap());
    host.commit(&response).unwrap();
    assert_eq!(got.counters(), host.counters());
    // One flipped byte, and the export no longer verifies.
    let mut bad = out.clone();
    let at = bad.iter().position(|&b| b == b'2').unwrap();
    bad[at] = b'3';
    assert!(!verifies(&bad));
    assert_eq!(screens(k).last().map(String::as_str), Some("Exported(1)"));
}

#[test]
fn a_kiosk_without_a_key_collects_responses_but_refuses_to_export() {
    let mut k = kiosk_with(Config::BUILD, Err(ProvisionError::Blank), store());
    let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
    let (event, end) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(event, Event::Committed, "the response is saved and counted");
    k.on_tick(end + Config::BUILD.lockout_ms);
    assert_eq!(k.on_gesture(Gesture::Staff, end + Config::BUILD.lockout_ms + 10), Event::ExportRequested);
    let mut out = Vec::new();
    assert_eq!(k.export(&mut Sink(&mut out)), Err(Failure::NotProvisioned(ProvisionError::Blank)));
    assert!(out.is_empty(), "nothing written: {}", String::from_utf8_lossy(&out));
    assert_eq!(k.sequence(), 0);
    assert_eq!(k.key().err(), Some(ProvisionError::Blank));
    let (store, _, shown) = k.into_parts();
    assert_eq!(shown.0.last().map(String::as_str), Some("NotProvisioned"));
    // Provisioned later, the kiosk recovers the response and exports it as its first export:
    // the refused one used no sequence number.
    let flash = store.into_flash().reboot();
    let layout = Layout::of(INSTRUMENT, SECTOR);
    let mut k = kiosk_with(Config::BUILD, Ok(key()), Store::new(flash, 0, layout).unwrap());
    assert_eq!(k.tally().counters().completed, 1);
    assert_eq!(k.export(&mut Sink(&mut out)), Ok(1));
    assert!(verifies(&out));
}

#[test]
fn a_kiosk_whose_image_holds_another_public_key_refuses_to_export() {
    let other = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
    let image = Provision::new("test-kiosk", "RT5", "2024", KEY_ID, common::SEED, other).unwrap().encode();
    let refused = Key::from_image(&image).unwrap_err();
    assert_eq!(refused, ProvisionError::KeyMismatch);
    let mut k = kiosk_with(Config::BUILD, Err(refused), store());
    let mut out = Vec::new();
    assert_eq!(k.export(&mut Sink(&mut out)), Err(Failure::NotProvisioned(ProvisionError::KeyMismatch)));
    assert!(out.is_empty());
}

struct Sink<'a>(&'a mut Vec<u8>);

impl surveybench_kernel::export::Sink for Sink<'_> {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

#[test]
fn leds_acknowledge_a_stored_response_and_go_dark_after_the_lockout() {
    let green = PinMock::new(&[Pin::set(State::Low), Pin::set(State::High), Pin::set(State::Low)]);
    let red = PinMock::new(&[Pin::set(State::Low), Pin::set(State::Low), Pin::set(State::Low)]);
    let leds = Leds::new(green, red).unwrap();
    let mut tally = KioskTally::new(INSTRUMENT).unwrap();
    let mut k = Kiosk::boot(Config::BUILD, &mut tally, Ok(key()), store(), leds, Screens::default());
    let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
    let (event, end) = play(&mut k, &gestures, 0, 1_000);
    assert_eq!(event, Event::Committed);
    k.on_tick(end + Config::BUILD.lockout_ms);
    let (mut g, mut r) = k.into_parts().1.release();
    g.done();
    r.done();
}

#[test]
fn leds_show_each_signal() {
    let mut green = PinMock::new(&[Pin::set(State::Low), Pin::set(State::Low)]);
    let mut red = PinMock::new(&[Pin::set(State::Low), Pin::set(State::High)]);
    let mut leds = Leds::new(green.clone(), red.clone()).unwrap();
    leds.show(Signal::Alert).unwrap();
    green.done();
    red.done();
}

/// Reads for each of the 8 pins in turn, `levels[i]` (true = pressed, i.e. low) per poll.
fn panel(levels: &[[bool; COUNT]]) -> [PinMock; COUNT] {
    std::array::from_fn(|pin| {
        let reads: Vec<Pin> =
            levels.iter().map(|poll| Pin::get(if poll[pin] { State::Low } else { State::High })).collect();
        PinMock::new(&reads)
    })
}

fn polls(pressed: &[(usize, bool)], n: usize) -> Vec<[bool; COUNT]> {
    (0..n)
        .map(|i| {
            let mut p = [false; COUNT];
            for (pin, down) in pressed {
                p[*pin] = *down && i < n;
            }
            p
        })
        .collect()
}

#[test]
fn a_debounced_press_is_one_gesture_and_bounce_is_ignored() {
    // poll every 5 ms: a 5 ms glitch, then a 40 ms press of answer 3, then release.
    let mut levels = vec![[false; COUNT]; 2];
    levels[1][2] = true; // glitch
    levels.extend(std::iter::repeat_n([false; COUNT], 2));
    levels.extend(polls(&[(2, true)], 8));
    levels.extend(std::iter::repeat_n([false; COUNT], 6));
    let pins = panel(&levels);
    let mut buttons = Buttons::new(pins.clone(), 20);
    let mut gestures = Vec::new();
    for i in 0..levels.len() {
        if let Some(g) = buttons.poll(i as u32 * 5).unwrap() {
            gestures.push(g);
        }
    }
    assert_eq!(gestures, [Gesture::Press(Button::Answer(2))]);
    for mut p in pins {
        p.done();
    }
}

#[test]
fn back_and_skip_together_are_the_staff_command() {
    let (back, skip) = (BACK.trailing_zeros() as usize, SKIP.trailing_zeros() as usize);
    let mut levels = polls(&[(back, true)], 3);
    levels.extend(polls(&[(back, true), (skip, true)], 8));
    levels.extend(polls(&[(skip, true)], 2));
    levels.extend(std::iter::repeat_n([false; COUNT], 6));
    let pins = panel(&levels);
    let mut buttons = Buttons::new(pins.clone(), 20);
    let gestures: Vec<_> = (0..levels.len()).filter_map(|i| buttons.poll(i as u32 * 5).unwrap()).collect();
    assert_eq!(gestures, [Gesture::Staff]);
    for mut p in pins {
        p.done();
    }
}

#[test]
fn the_fft_instrument_walks_its_three_questions() {
    // Independent of the build's instrument: the flow is generic over the tally.
    type FftKiosk<'t> = Kiosk<'static, 't, CutFlash, Led, Led, Screens, 3, 54, 0>;
    let layout = Layout::of(&bundled::FFT, SECTOR);
    let store = Store::new(CutFlash::new(layout.bytes()), 0, layout).unwrap();
    let mut tally = surveybench_kernel::Tally::new(&bundled::FFT).unwrap();
    let leds = Leds::new(Led(false), Led(false)).unwrap();
    let mut k: FftKiosk<'_> =
        Kiosk::boot(Config::BUILD, &mut tally, Ok(key()), store, leds, Screens::default());
    let (gestures, response): (_, Response<'_, 64>) =
        respond(&bundled::FFT, |q, _| Act::Answer(if q == 0 { 1 } else { 0 }));
    assert_eq!(gestures.len(), 4);
    assert_eq!(play(&mut k, &gestures, 0, 1_000).0, Event::Committed);
    assert_eq!(response.stratum().index(), 0); // 16-35, male
    assert_eq!(k.tally().counts(0, 0), [0, 1, 0, 0, 0, 0]);
}
