//! The kiosk's flash under a harsh fault model (issue 10, deliverables 5 and 6), on both
//! instruments: power cuts at every flash operation of a session (before it, half-way, or
//! inside one word with some bits programmed; an erase cut leaving arbitrary data), two cuts in
//! a row (the second during recovery), transient write failures, and bit flips in finished data.
//!
//! After every power cut and reboot the recovered tally must equal exactly the tally of the
//! events the kiosk acknowledged, the export sequence must be the last acknowledged export's,
//! and no fault may be counted (a cut is not damage). After a bit flip the kiosk either
//! recovers exactly, or counts a storage fault; its sequence never goes back.

mod common;

use common::{Act, Cut, CutFlash, Led, SECTOR, Screens, key, respond};
use proptest::prelude::*;
use surveybench_firmware::buttons::Gesture;
use surveybench_firmware::config::Config;
use surveybench_firmware::flow::{Event, Kiosk};
use surveybench_firmware::leds::Leds;
use surveybench_firmware::script::SplitMix as Rng;
use surveybench_firmware::storage::{Layout, Store};
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::tally::capacity;
use surveybench_kernel::{Instrument, Tally};

const CONFIG: Config = Config::BUILD;

const CQ: usize = capacity::questions(&CMH_2024);
const CC: usize = capacity::cells(&CMH_2024);
const CP: usize = capacity::pairs(&CMH_2024);
const FQ: usize = capacity::questions(&FFT);
const FC: usize = capacity::cells(&FFT);
const FP: usize = capacity::pairs(&FFT);

type TestKiosk<'t, const Q: usize, const C: usize, const P: usize> =
    Kiosk<'static, 't, CutFlash, Led, Led, Screens, Q, C, P>;

/// One visit to the kiosk.
#[derive(Clone, Copy, Debug)]
enum Visit {
    /// A respondent answers (seeded), slowly enough to be plausible.
    Complete(u64),
    /// Someone mashes answer 1 through the questionnaire: rejected.
    Mash,
    /// A respondent answers a question or two and walks away: abandoned on the idle timeout.
    WalkAway,
    /// The staff command.
    Export,
}

fn visit() -> impl Strategy<Value = Visit> {
    prop_oneof![
        6 => any::<u64>().prop_map(Visit::Complete),
        1 => Just(Visit::Mash),
        1 => Just(Visit::WalkAway),
        1 => Just(Visit::Export),
    ]
}

/// A seeded session of `n` visits, most of them respondents.
fn seeded_session(seed: u64, n: usize) -> Vec<Visit> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| match rng.below(10) {
            0 => Visit::Mash,
            1 => Visit::WalkAway,
            2 => Visit::Export,
            _ => Visit::Complete(seed ^ i as u64),
        })
        .collect()
}

/// An instrument, its layout (a one-sector journal, so sessions cross snapshots), and the
/// state a kiosk must have: the tally of the acknowledged events and the last export's number.
struct Rig<const Q: usize, const C: usize, const P: usize> {
    instrument: &'static Instrument<'static>,
    layout: Layout,
}

struct Expected<const Q: usize, const C: usize, const P: usize> {
    tally: Box<Tally<'static, Q, C, P>>,
    sequence: u32,
}

impl<const Q: usize, const C: usize, const P: usize> Rig<Q, C, P> {
    fn new(instrument: &'static Instrument<'static>) -> Self {
        let layout = Layout { journal_len: SECTOR as u32, ..Layout::of(instrument, SECTOR) };
        Self { instrument, layout }
    }

    fn empty(&self) -> Box<Tally<'static, Q, C, P>> {
        Box::new(Tally::new(self.instrument).unwrap())
    }

    fn expected(&self) -> Expected<Q, C, P> {
        Expected { tally: self.empty(), sequence: 0 }
    }

    fn flash(&self, seed: u64) -> CutFlash {
        CutFlash::seeded(self.layout.bytes(), seed)
    }

    fn boot<'t>(&self, flash: CutFlash, tally: &'t mut Tally<'static, Q, C, P>) -> TestKiosk<'t, Q, C, P> {
        let store = Store::new(flash, 0, self.layout).unwrap();
        let leds = Leds::new(Led(false), Led(false)).unwrap();
        Kiosk::boot(CONFIG, tally, Ok(key()), store, leds, Screens::default())
    }

    /// Runs `visit` from time `*t`; returns whether the kiosk acknowledged it, updating
    /// `expected` if so.
    fn visit(
        &self,
        kiosk: &mut TestKiosk<'_, Q, C, P>,
        visit: Visit,
        t: &mut u32,
        e: &mut Expected<Q, C, P>,
    ) -> bool {
        let mut press = |kiosk: &mut TestKiosk<'_, Q, C, P>, g: Gesture, gap: u32| {
            *t += gap;
            kiosk.on_gesture(g, *t)
        };
        let acked = match visit {
            Visit::Complete(seed) => {
                let mut rng = Rng(seed);
                let (gestures, response) = respond(self.instrument, |_, options| match rng.below(20) {
                    0 => Act::Skip,
                    _ => Act::Answer(rng.below(options)),
                });
                let ok = gestures.iter().map(|g| press(kiosk, *g, 1_000)).last() == Some(Event::Committed);
                if ok {
                    e.tally.commit(&response).unwrap();
                }
                ok
            }
            Visit::Mash => {
                let (gestures, _) = respond(self.instrument, |_, _| Act::Answer(0));
                let ok = gestures.iter().map(|g| press(kiosk, *g, 50)).last() == Some(Event::Rejected);
                if ok {
                    e.tally.record_rejected().unwrap();
                }
                ok
            }
            Visit::WalkAway => {
                let (gestures, _) = respond(self.instrument, |_, _| Act::Answer(0));
                let n = (gestures.len() - 1).min(2);
                for g in &gestures[..n] {
                    press(kiosk, *g, 1_000);
                }
                *t += CONFIG.idle_timeout_ms;
                let ok = kiosk.on_tick(*t) == Event::Abandoned;
                if ok {
                    e.tally.record_abandoned().unwrap();
                }
                ok
            }
            Visit::Export => {
                assert_eq!(press(kiosk, Gesture::Staff, 1_000), Event::ExportRequested);
                let mut out = Vec::new();
                let ok = kiosk.export(&mut VecSink(&mut out)).is_ok();
                if ok {
                    e.sequence += 1;
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

    /// Runs `visits` until the first one the kiosk does not acknowledge (power is then gone);
    /// returns how many were.
    fn session(
        &self,
        kiosk: &mut TestKiosk<'_, Q, C, P>,
        visits: &[Visit],
        e: &mut Expected<Q, C, P>,
    ) -> usize {
        let mut t = 10_000;
        visits.iter().take_while(|v| self.visit(kiosk, **v, &mut t, e)).count()
    }

    /// Flash operations an uncut run of `visits` makes (boot included).
    fn operations(&self, visits: &[Visit]) -> usize {
        let mut tally = self.empty();
        let mut kiosk = self.boot(self.flash(1), &mut tally);
        assert_eq!(self.session(&mut kiosk, visits, &mut self.expected()), visits.len());
        kiosk.store_mut().flash_mut().ops
    }

    /// The export text of `tally` with a fixed header: equal texts mean equal tallies.
    fn text(&self, tally: &Tally<'static, Q, C, P>) -> String {
        let mut buf = vec![0; export::max_encoded_len(self.instrument)];
        let header = Header::new("test-kiosk", "RT5", "2024", 0).unwrap();
        let n = export::encode(tally, &header, &mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Reboots `flash` and checks the kiosk holds exactly `e`, with no storage fault; then one
    /// more respondent must be counted and survive the next reboot. `what` names the case.
    fn check_exact(&self, flash: CutFlash, e: &mut Expected<Q, C, P>, what: &str) {
        let (mut first, mut second) = (self.empty(), self.empty());
        let mut kiosk = self.boot(flash, &mut first);
        assert_eq!(self.text(kiosk.tally()), self.text(&e.tally), "{what}: tally");
        assert_eq!(kiosk.sequence(), e.sequence, "{what}: sequence");
        assert_eq!(kiosk.storage_faults(), 0, "{what}: a cut is not a fault");
        let mut t = 5_000_000;
        assert!(self.visit(&mut kiosk, Visit::Complete(99), &mut t, e), "{what}: counts again");
        let again = self.boot(kiosk.into_parts().0.into_flash().reboot(), &mut second);
        assert_eq!(self.text(again.tally()), self.text(&e.tally), "{what}: after the next reboot");
    }

    /// One power cut at operation `at` during `visits`, then a reboot; with `second`, the
    /// first reboot is cut too at that operation of recovery, and the kiosk boots once more.
    fn cut(&self, visits: &[Visit], at: usize, how: Cut, second: Option<(usize, Cut)>, seed: u64) {
        let mut flash = self.flash(seed);
        flash.cut_at = Some((at, how));
        let mut tally = self.empty();
        let mut kiosk = self.boot(flash, &mut tally);
        let mut e = self.expected();
        let acked = self.session(&mut kiosk, visits, &mut e);
        let mut flash = kiosk.into_parts().0.into_flash().reboot();
        if let Some(cut) = second {
            flash.cut_at = Some(cut);
            let mut scratch = self.empty();
            flash = self.boot(flash, &mut scratch).into_parts().0.into_flash().reboot();
        }
        let what = format!("cut at op {at} ({how:?}), second {second:?}, after {acked} acknowledged visits");
        self.check_exact(flash, &mut e, &what);
    }

    /// Every operation of `visits` cut in every manner; returns the cuts checked.
    fn every_cut(&self, visits: &[Visit]) -> usize {
        let total = self.operations(visits);
        for at in 0..total {
            for (k, how) in [Cut::Before, Cut::Torn, Cut::Bits].into_iter().enumerate() {
                // The second cut lands on one of the first operations of recovery.
                let second = (at % 3 == 0).then_some(((at / 3) % 6, how));
                self.cut(visits, at, how, second, (at * 3 + k) as u64);
            }
        }
        3 * total
    }

    /// Operation `at` of `visits` fails once (the flash works again after): the visit it hits
    /// is not acknowledged, and neither RAM nor flash counts it.
    fn failed_save(&self, visits: &[Visit], at: usize) {
        let mut flash = self.flash(at as u64);
        flash.fail_at = Some(at);
        let mut tally = self.empty();
        let mut kiosk = self.boot(flash, &mut tally);
        let mut e = self.expected();
        let mut t = 10_000;
        let mut failed = 0;
        for v in visits {
            if !self.visit(&mut kiosk, *v, &mut t, &mut e) {
                failed += 1;
            }
        }
        assert!(failed <= 1, "op {at}: one failed write fails at most one visit");
        assert_eq!(
            self.text(kiosk.tally()),
            self.text(&e.tally),
            "op {at}: RAM holds exactly the acknowledged"
        );
        if failed == 1 {
            assert!(
                kiosk.into_parts().2.0.iter().any(|s| s == "StorageFailed"),
                "op {at}: the kiosk says so"
            );
            return self.failed_flash_check(visits, at, e);
        }
        self.check_exact(kiosk.into_parts().0.into_flash().reboot(), &mut e, &format!("failed op {at}"));
    }

    fn failed_flash_check(&self, visits: &[Visit], at: usize, mut e: Expected<Q, C, P>) {
        // Replay the same run to get the flash back (the kiosk was taken apart for its screens).
        let mut flash = self.flash(at as u64);
        flash.fail_at = Some(at);
        let mut tally = self.empty();
        let mut kiosk = self.boot(flash, &mut tally);
        let mut t = 10_000;
        let mut scratch = self.expected();
        for v in visits {
            self.visit(&mut kiosk, *v, &mut t, &mut scratch);
        }
        self.check_exact(
            kiosk.into_parts().0.into_flash().reboot(),
            &mut e,
            &format!("failed op {at}, flash"),
        );
    }
}

struct VecSink<'a>(&'a mut Vec<u8>);

impl surveybench_kernel::export::Sink for VecSink<'_> {
    type Error = ();
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Visits enough to fill a one-sector journal and go on into the next epoch.
fn long_session<const Q: usize, const C: usize, const P: usize>(rig: &Rig<Q, C, P>, seed: u64) -> Vec<Visit> {
    seeded_session(seed, rig.layout.records() as usize + 8)
}

/// Every cut of a session long enough to cross a snapshot, reported with its instrument.
fn every_cut_of_a_long_session<const Q: usize, const C: usize, const P: usize>(
    rig: &Rig<Q, C, P>,
    seed: u64,
) {
    let checked = rig.every_cut(&long_session(rig, seed));
    eprintln!(
        "power_cut: {}, {checked} cuts (every operation before, torn and bit-level; every third \
         followed by a second cut during recovery)",
        rig.instrument.id
    );
}

#[test]
fn every_power_cut_of_a_cmh_session_recovers_exactly_the_acknowledged_events() {
    every_cut_of_a_long_session(&Rig::<CQ, CC, CP>::new(&CMH_2024), 1);
}

#[test]
fn every_power_cut_of_an_fft_session_recovers_exactly_the_acknowledged_events() {
    every_cut_of_a_long_session(&Rig::<FQ, FC, FP>::new(&FFT), 2);
}

#[test]
fn a_failed_write_leaves_neither_ram_nor_flash_holding_the_response() {
    let rig = Rig::<CQ, CC, CP>::new(&CMH_2024);
    let visits = long_session(&rig, 3);
    let total = rig.operations(&visits);
    for at in 0..total {
        rig.failed_save(&visits, at);
    }
    eprintln!("power_cut: cmh-2024, {total} transient write failures checked");
}

/// Every bit of the region that a flip can reach is sampled: after the flip the kiosk must
/// recover exactly with no fault, or count one fault; its sequence never goes back.
fn bit_flips<const Q: usize, const C: usize, const P: usize>(
    rig: &Rig<Q, C, P>,
    flips: usize,
) -> (usize, usize, usize) {
    let visits = long_session(rig, 4);
    let mut tally = rig.empty();
    let mut kiosk = rig.boot(rig.flash(1), &mut tally);
    let mut e = rig.expected();
    assert_eq!(rig.session(&mut kiosk, &visits, &mut e), visits.len());
    let flash = kiosk.into_parts().0.into_flash();
    let written: Vec<usize> = (0..flash.bytes.len()).filter(|&i| flash.bytes[i] != 0xFF).collect();
    // The one flip no check can see (docs/design.md): inside the commit word of the journal's
    // last record it reads as a cut while that word was programmed, so that event is lost.
    let (journal, len) = (2 * rig.layout.slot_len as usize, rig.layout.record_len as usize);
    let last = (journal..rig.layout.bytes() - len + 1)
        .step_by(len)
        .rfind(|&r| flash.bytes[r..r + len].iter().any(|&b| b != 0xFF));
    let blind = last.map_or(0..0, |r| r + len - 4..r + len);
    let mut rng = Rng(5);
    let (mut exact, mut faulted, mut blinded) = (0, 0, 0);
    for _ in 0..flips {
        let byte = written[rng.below(written.len())];
        let bit = rng.below(8);
        let mut damaged = flash.reboot();
        damaged.bytes[byte] ^= 1 << bit;
        let mut t2 = rig.empty();
        let mut k = rig.boot(damaged, &mut t2);
        let same = rig.text(k.tally()) == rig.text(&e.tally) && k.sequence() == e.sequence;
        match k.storage_faults() {
            0 if blind.contains(&byte) => blinded += 1,
            0 => {
                assert!(same, "flip of byte {byte} bit {bit}: recovered differently and no fault counted");
                exact += 1;
            }
            1 => faulted += 1,
            n => panic!("flip of byte {byte} bit {bit}: {n} faults"),
        }
        assert!(k.sequence() >= e.sequence, "flip of byte {byte} bit {bit}: sequence went back");
        let mut out = Vec::new();
        let next = k.export(&mut VecSink(&mut out)).unwrap();
        assert!(next > e.sequence, "flip of byte {byte} bit {bit}: sequence {next} reused");
    }
    (exact, faulted, blinded)
}

#[test]
fn a_bit_flip_in_finished_data_is_recovered_exactly_or_counted_as_a_fault() {
    let cmh = bit_flips(&Rig::<CQ, CC, CP>::new(&CMH_2024), 1_500);
    let fft = bit_flips(&Rig::<FQ, FC, FP>::new(&FFT), 1_500);
    eprintln!(
        "power_cut: bit flips in written bytes: cmh-2024 {} exact, {} faults counted, {} in the last \
         commit word; fft {} exact, {} faults, {} in the last commit word",
        cmh.0, cmh.1, cmh.2, fft.0, fft.1, fft.2
    );
    assert!(cmh.1 > 0 && fft.1 > 0, "some flips hit data that was needed");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Generated sessions on both instruments, one cut anywhere, sometimes a second one
    /// during recovery.
    #[test]
    fn generated_sessions_survive_a_cut_anywhere(
        visits in prop::collection::vec(visit(), 1..90),
        fft in any::<bool>(),
        at in 0.0f64..1.0,
        how in prop_oneof![Just(Cut::Before), Just(Cut::Torn), Just(Cut::Bits)],
        second in prop::option::of(0usize..8),
        seed in any::<u64>(),
    ) {
        let second = second.map(|op| (op, how));
        if fft {
            let rig = Rig::<FQ, FC, FP>::new(&FFT);
            let at = (at * rig.operations(&visits) as f64) as usize;
            rig.cut(&visits, at, how, second, seed);
        } else {
            let rig = Rig::<CQ, CC, CP>::new(&CMH_2024);
            let at = (at * rig.operations(&visits) as f64) as usize;
            rig.cut(&visits, at, how, second, seed);
        }
    }
}
