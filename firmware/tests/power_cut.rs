//! Power cuts at every flash operation of a scripted kiosk session (issue: "storage that
//! survives power cuts"). After each cut and a reboot, the recovered tally must equal the tally
//! of exactly the events the kiosk acknowledged before the cut, and the recovered export
//! sequence the last acknowledged export's; the rebooted kiosk must then go on counting.

mod common;

use common::{Act, Cut, CutFlash, Led, SECTOR, Screens, respond};
use surveybench_firmware::buttons::Gesture;
use surveybench_firmware::config::Config;
use surveybench_firmware::flow::{Event, Kiosk};
use surveybench_firmware::leds::Leds;
use surveybench_firmware::script::SplitMix as Rng;
use surveybench_firmware::storage::{self, Store};
use surveybench_firmware::{CELLS, INSTRUMENT, KioskTally, PAIRS, QUESTIONS};
use surveybench_kernel::export::{self, Header};

type TestKiosk<'t> = Kiosk<'static, 't, CutFlash, Led, Led, Screens, QUESTIONS, CELLS, PAIRS>;

const CONFIG: Config = Config::BUILD;

fn slot_len() -> u32 {
    storage::slot_len(INSTRUMENT, SECTOR) as u32
}

fn identity() -> Header {
    Header::new("test-kiosk", "RT5", "2024", 0).unwrap()
}

/// An empty tally for a kiosk to boot with (each boot gets its own, as a device's RAM is new).
fn empty() -> Box<KioskTally> {
    Box::new(KioskTally::new(INSTRUMENT).unwrap())
}

fn boot(flash: CutFlash, tally: &mut KioskTally) -> TestKiosk<'_> {
    let store = Store::new(flash, 0, slot_len()).unwrap();
    let leds = Leds::new(Led(false), Led(false)).unwrap();
    Kiosk::boot(CONFIG, tally, identity(), store, leds, Screens::default())
}

/// One visit to the kiosk.
#[derive(Clone, Copy, Debug)]
enum Visit {
    /// A respondent answers (seeded), slowly enough to be plausible.
    Complete(u64),
    /// Someone mashes answer 1 through the questionnaire: rejected.
    Mash,
    /// A respondent answers three questions and walks away: abandoned on the idle timeout.
    WalkAway,
    /// The staff command.
    Export,
}

const SESSION: [Visit; 6] =
    [Visit::Complete(1), Visit::Mash, Visit::Complete(2), Visit::WalkAway, Visit::Export, Visit::Complete(3)];

/// The expected state: a host tally of the acknowledged events, and the export sequence.
struct Expected {
    tally: Box<KioskTally>,
    sequence: u32,
}

impl Expected {
    fn new() -> Self {
        Self { tally: empty(), sequence: 0 }
    }
}

fn seeded_choice(seed: u64) -> impl FnMut(usize, usize) -> Act {
    let mut rng = Rng(seed);
    move |_, options| match rng.below(20) {
        0 => Act::Skip,
        _ => Act::Answer(rng.below(options)),
    }
}

/// Runs `visit` from time `*t`; returns whether the kiosk acknowledged it, updating `expected`.
fn run_visit(kiosk: &mut TestKiosk<'_>, visit: Visit, t: &mut u32, expected: &mut Expected) -> bool {
    let mut press = |kiosk: &mut TestKiosk<'_>, g: Gesture, gap: u32| {
        *t += gap;
        kiosk.on_gesture(g, *t)
    };
    let acked = match visit {
        Visit::Complete(seed) => {
            let (gestures, response) = respond(INSTRUMENT, seeded_choice(seed));
            let last = gestures.iter().map(|g| press(kiosk, *g, 1_000)).last();
            let ok = last == Some(Event::Committed);
            if ok {
                expected.tally.commit(&response).unwrap();
            }
            ok
        }
        Visit::Mash => {
            let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
            let last = gestures.iter().map(|g| press(kiosk, *g, 50)).last();
            let ok = last == Some(Event::Rejected);
            if ok {
                expected.tally.record_rejected().unwrap();
            }
            ok
        }
        Visit::WalkAway => {
            let (gestures, _) = respond(INSTRUMENT, |_, _| Act::Answer(0));
            for g in &gestures[..3] {
                press(kiosk, *g, 1_000);
            }
            *t += CONFIG.idle_timeout_ms;
            let ok = kiosk.on_tick(*t) == Event::Abandoned;
            if ok {
                expected.tally.record_abandoned().unwrap();
            }
            ok
        }
        Visit::Export => {
            assert_eq!(press(kiosk, Gesture::Staff, 1_000), Event::ExportRequested);
            let mut out = Vec::new();
            let ok = kiosk.export(&mut VecSink(&mut out)).is_ok();
            if ok {
                expected.sequence += 1;
                assert!(out.starts_with(b"{\"format\""));
            }
            ok
        }
    };
    // Wait out the lock-out.
    *t += CONFIG.lockout_ms + 100;
    kiosk.on_tick(*t);
    acked
}

struct VecSink<'a>(&'a mut Vec<u8>);

impl surveybench_kernel::export::Sink for VecSink<'_> {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Runs the session until the first unacknowledged visit (power is then gone).
fn run_session(kiosk: &mut TestKiosk<'_>, expected: &mut Expected) -> usize {
    let mut t = 10_000;
    SESSION.iter().take_while(|v| run_visit(kiosk, **v, &mut t, expected)).count()
}

/// The export text of `tally` with a fixed header: equal texts mean equal tallies.
fn text(tally: &KioskTally, sequence: u32) -> String {
    let mut buf = vec![0; export::max_encoded_len(INSTRUMENT)];
    let header = Header::new("test-kiosk", "RT5", "2024", sequence).unwrap();
    let n = export::encode(tally, &header, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn flash_len() -> usize {
    2 * slot_len() as usize
}

#[test]
fn an_uncut_session_is_recovered_whole() {
    let (mut first, mut second) = (empty(), empty());
    let mut kiosk = boot(CutFlash::new(flash_len()), &mut first);
    let mut expected = Expected::new();
    assert_eq!(run_session(&mut kiosk, &mut expected), SESSION.len());
    let c = expected.tally.counters();
    assert_eq!((c.completed, c.rejected, c.abandoned), (3, 1, 1));
    let flash = kiosk.into_parts().0.into_flash().reboot();
    let rebooted = boot(flash, &mut second);
    assert_eq!(rebooted.header().sequence, 1);
    assert_eq!(text(rebooted.tally(), 0), text(&expected.tally, 0));
}

/// Every erase of a sector and every write is a cut point; each is tried with the operation
/// not done and with it torn half-way.
#[test]
fn every_power_cut_recovers_exactly_the_acknowledged_events() {
    let mut probe_tally = empty();
    let mut probe = boot(CutFlash::new(flash_len()), &mut probe_tally);
    run_session(&mut probe, &mut Expected::new());
    let total = probe.store_mut().flash_mut().ops;
    let mut checked = 0;
    for at in 0..total {
        for how in [Cut::Before, Cut::Torn] {
            let mut flash = CutFlash::new(flash_len());
            flash.cut_at = Some((at, how));
            let (mut first, mut second, mut third) = (empty(), empty(), empty());
            let mut kiosk = boot(flash, &mut first);
            let mut expected = Expected::new();
            let acked = run_session(&mut kiosk, &mut expected);
            assert!(acked < SESSION.len(), "cut {at} {how:?} was never reached");
            let flash = kiosk.into_parts().0.into_flash().reboot();
            let mut rebooted = boot(flash, &mut second);
            assert_eq!(
                text(rebooted.tally(), 0),
                text(&expected.tally, 0),
                "cut at operation {at} ({how:?}) after {acked} acknowledged visits"
            );
            assert_eq!(rebooted.header().sequence, expected.sequence, "cut {at} {how:?}");
            // The rebooted kiosk goes on counting, and that survives the next reboot.
            let mut t = 1_000_000;
            assert!(run_visit(&mut rebooted, Visit::Complete(9), &mut t, &mut expected));
            let again = boot(rebooted.into_parts().0.into_flash().reboot(), &mut third);
            assert_eq!(text(again.tally(), 0), text(&expected.tally, 0), "cut {at} {how:?}, after reboot");
            checked += 1;
        }
    }
    eprintln!("power_cut: {total} flash operations, {checked} cuts checked (each before and torn)");
    assert_eq!(checked, 2 * total);
}
