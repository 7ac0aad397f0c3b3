//! Seeded random kiosk sessions: what respondents do, the button script that does it, and the
//! tallies the host expects the firmware to export.
//!
//! The walk through the questionnaire follows the kiosk's documented rules (questions in order,
//! those `Response::applies` excludes skipped, more than six options paged by the last answer
//! button, back returns to the previous question that applies) but is written here again, so a
//! bug in the firmware's flow shows as a mismatch instead of being copied into the expectation.

use std::fmt::Write as _;

use surveybench_firmware::buttons::{ANSWERS, BACK, SKIP};
use surveybench_firmware::config::Config;
use surveybench_firmware::flow::PER_PAGE;
use surveybench_firmware::script::format_held;
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument, Response};

/// Seeded randomness for sessions (the firmware's SplitMix64).
pub use surveybench_firmware::script::SplitMix as Rng;

/// The answer button a session's respondents press to start (any answer button starts).
pub fn session_start(rng: &mut Rng) -> Press {
    Press(1 << rng.below(ANSWERS))
}

/// A press of one set of buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Press(pub u8);

/// Walks `instrument` as a kiosk respondent who answers at random (sometimes skipping, now
/// and then going back to change an answer); returns the presses after the start press and
/// the response they make.
pub fn respondent<'i>(instrument: &'i Instrument<'i>, rng: &mut Rng) -> (Vec<Press>, Response<'i>) {
    let mut response: Response<'i> = Response::new(instrument).expect("instrument fits");
    let mut presses = Vec::new();
    let n = instrument.questions.len();
    let mut at = (0..n).find(|&q| response.applies(q));
    let mut backs = 0;
    while let Some(q) = at {
        let options = instrument.questions[q].options.len();
        let roll = rng.below(100);
        if roll < 3 && backs < 2 {
            backs += 1;
            presses.push(Press(BACK));
            if let Some(prev) = (0..q).rev().find(|&p| response.applies(p)) {
                at = Some(prev);
            }
            continue;
        }
        if roll < 10 {
            presses.push(Press(SKIP));
            response.clear(q).expect("question exists");
        } else {
            let p = rng.below(options);
            presses.extend(answer_presses(p, options));
            let code = instrument.questions[q].options[p].code;
            response.answer(q, code).expect("option exists");
        }
        at = (q + 1..n).find(|&j| response.applies(j));
    }
    (presses, response)
}

/// How many presses answer every question that applies with its first option.
#[must_use]
pub fn first_option_walk(instrument: &Instrument<'_>) -> usize {
    let mut response: Response<'_> = Response::new(instrument).expect("instrument fits");
    let mut presses = 0;
    for (q, question) in instrument.questions.iter().enumerate() {
        if response.applies(q) {
            presses += 1;
            let code = question.options[0].code;
            response.answer(q, code).expect("option exists");
        }
    }
    presses
}

/// The presses choosing option position `p` of a question with `options` options.
#[must_use]
pub fn answer_presses(p: usize, options: usize) -> Vec<Press> {
    let button = |i: usize| Press(1 << i);
    if options <= ANSWERS {
        return vec![button(p)];
    }
    let mut v = vec![button(ANSWERS - 1); p / PER_PAGE];
    v.push(button(p % PER_PAGE));
    v
}

/// A session being written: the script text and the clock.
#[derive(Debug, Default)]
pub struct Script {
    text: String,
    now: u32,
}

impl Script {
    fn hold(&mut self, at: u32, held: u8) {
        let mut buf = [0; 8];
        let _ = writeln!(self.text, "{at} {}", format_held(held, &mut buf));
    }

    /// Presses `buttons` after `gap` ms, with contact bounce on both edges, and releases them.
    pub fn press(&mut self, Press(buttons): Press, gap: u32, rng: &mut Rng) {
        let t = self.now + gap;
        // Bounce: a few level changes shorter than the debounce time on each edge.
        let bounce = rng.between(0, 3);
        let mut at = t;
        for _ in 0..bounce {
            self.hold(at, buttons);
            self.hold(at + 2, 0);
            at += 4;
        }
        self.hold(at, buttons);
        let hold = rng.between(60, 150);
        let up = at + hold;
        self.hold(up, 0);
        for i in 0..bounce {
            self.hold(up + 3 + 4 * i, buttons);
            self.hold(up + 5 + 4 * i, 0);
        }
        self.now = up + 5 + 4 * bounce;
    }

    /// Lets `ms` pass.
    pub fn wait(&mut self, ms: u32) {
        self.now += ms;
    }

    /// The staff command: back, then skip, held together, released.
    pub fn staff(&mut self) {
        let t = self.now + 1_000;
        self.hold(t, BACK);
        self.hold(t + 40, BACK | SKIP);
        self.hold(t + 400, SKIP);
        self.hold(t + 430, 0);
        self.now = t + 430;
    }

    /// The script text, ended.
    #[must_use]
    pub fn finish(mut self) -> String {
        let end = self.now + 2_000;
        let _ = writeln!(self.text, "{end} end");
        self.text
    }
}

/// What one visitor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visitor {
    /// Answers at a plausible pace and finishes: committed.
    Respondent,
    /// Mashes the first button through the questionnaire, then a few more times during the
    /// lock-out: one rejected submission, the rest ignored.
    Masher,
    /// Answers a few questions and walks away: abandoned on the idle timeout.
    WalkAway,
    /// The staff command: an export.
    Staff,
}

/// A generated session: the script and, for each export it makes, the expected tally.
pub struct Session {
    /// The kiosk script (see the firmware's `script` module).
    pub script: String,
    /// The expected tally at each export, in order.
    pub exports: Vec<Box<HostTally<'static>>>,
    /// Visitors of each kind, for the report.
    pub visitors: Vec<Visitor>,
    /// The committed responses, in order.
    pub responses: Vec<Response<'static>>,
}

/// A random session of `visitors` on `instrument`, seeded by `seed`, ending with an export.
#[must_use]
pub fn session(instrument: &'static Instrument<'static>, seed: u64, visitors: usize) -> Session {
    let config = Config::BUILD;
    let mut rng = Rng(seed);
    let mut script = Script::default();
    let mut tally = Box::new(HostTally::new(instrument).expect("instrument fits"));
    let mut exports = Vec::new();
    let mut kinds = Vec::new();
    let mut responses = Vec::new();
    let start = session_start(&mut rng);
    for i in 0..visitors {
        let kind = match rng.below(10) {
            _ if i + 1 == visitors => Visitor::Staff,
            0 => Visitor::Masher,
            1 => Visitor::WalkAway,
            2 if i > 0 => Visitor::Staff,
            _ => Visitor::Respondent,
        };
        kinds.push(kind);
        script.wait(1_000);
        match kind {
            Visitor::Respondent => {
                let (presses, response) = respondent(instrument, &mut rng);
                script.press(start, 0, &mut rng);
                for p in presses {
                    let gap = rng.between(800, 2_500);
                    script.press(p, gap, &mut rng);
                }
                tally.commit(&response).expect("no overflow");
                responses.push(response);
            }
            Visitor::Masher => {
                script.press(start, 0, &mut rng);
                for _ in 0..first_option_walk(instrument) + 6 {
                    script.press(Press(1), 30, &mut rng);
                }
                tally.record_rejected().expect("no overflow");
            }
            Visitor::WalkAway => {
                script.press(start, 0, &mut rng);
                for _ in 0..3 {
                    script.press(Press(1), 1_000, &mut rng);
                }
                script.wait(config.idle_timeout_ms + 1_000);
                tally.record_abandoned().expect("no overflow");
            }
            Visitor::Staff => {
                script.staff();
                exports.push(tally.clone());
            }
        }
        // Out of the lock-out before the next visitor.
        script.wait(config.lockout_ms + 500);
    }
    Session { script: script.finish(), exports, visitors: kinds, responses }
}

/// The export text of `tally` under `header`: two tallies are equal when these are. A header
/// that names a key gives the signed export, signed by the test kiosk's key
/// ([`crate::provision`]): what the test kiosk writes.
#[must_use]
pub fn export_text(tally: &HostTally<'_>, header: &Header) -> String {
    if header.key.is_some() {
        return crate::provision::signed_export(tally, header);
    }
    let mut buf = vec![0; export::max_encoded_len(tally.instrument())];
    let n = export::encode(tally, header, &mut buf).expect("buffer is max_encoded_len");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The committed responses as a respondent file for `surveybench benchmark` (trust `site`):
/// the age-band answer becomes the band's lowest age, "prefer not to say" a blank.
#[must_use]
pub fn respondents_csv(instrument: &Instrument<'_>, responses: &[Response<'_>], site: &str) -> String {
    use surveybench_kernel::QuestionKind;
    let demographic = |k: QuestionKind| matches!(k, QuestionKind::AgeBand | QuestionKind::Sex);
    let mut csv = String::from("trust,age,sex");
    for q in instrument.questions.iter().filter(|q| !demographic(q.kind)) {
        let _ = write!(csv, ",{}", q.id);
    }
    csv.push('\n');
    let code_of = |r: &Response<'_>, kind| instrument.find_kind(kind).and_then(|k| r.code(k));
    for r in responses {
        let age = code_of(r, QuestionKind::AgeBand)
            .and_then(|c| instrument.age_bands.get(usize::from(c).checked_sub(1)?))
            .map_or(String::new(), |a| a.to_string());
        let sex = code_of(r, QuestionKind::Sex).map_or(String::new(), |s| s.to_string());
        let _ = write!(csv, "{site},{age},{sex}");
        for (k, q) in instrument.questions.iter().enumerate() {
            if !demographic(q.kind) {
                csv.push(',');
                if let Some(c) = r.code(k) {
                    let _ = write!(csv, "{c}");
                }
            }
        }
        csv.push('\n');
    }
    csv
}
