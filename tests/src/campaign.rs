//! The system-level power-cut campaign (issue 10, deliverable 4): QEMU runs the kiosk with its
//! flash in a host file and is killed (SIGKILL) at seeded random instants during scripted
//! sessions; after every restart the kiosk's first act is an export, which must hold exactly
//! the responses acknowledged before the kill, and whose sequence number must be above every
//! one exported before.
//!
//! "Acknowledged" is read from the kiosk's log of the screens it shows: each event's screen
//! (thank you, too fast, timed out, export written) is shown after its save returned. A kill
//! between the save and that line leaves an event durable but unlogged, so the
//! recovered tally must equal the tally of the logged events or of those and the next one, and
//! nothing else (docs/design.md, "Why a journal over snapshots?").

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use surveybench_firmware::config::Config;
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument, Response};

use crate::provision;
use crate::qemu::root;
use crate::scenario::{Press, Rng, Script, first_option_walk, respondent, session_start};

/// What one visitor of a segment does to the tally.
#[derive(Clone, Debug)]
pub enum Act {
    /// A response committed.
    Commit(Box<Response<'static>>),
    /// A submission rejected as implausibly fast.
    Reject,
    /// A response abandoned on the idle timeout.
    Abandon,
}

/// One run of the kiosk: the staff export first, then visitors.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The button board script.
    pub script: String,
    /// What each visitor after the export does, in order.
    pub acts: Vec<Act>,
}

/// A segment of `visitors` seeded visitors on `instrument`, opened by the staff command.
#[must_use]
pub fn segment(instrument: &'static Instrument<'static>, seed: u64, visitors: usize) -> Segment {
    let config = Config::BUILD;
    let mut rng = Rng(seed);
    let mut script = Script::default();
    script.staff();
    script.wait(config.lockout_ms);
    let start = session_start(&mut rng);
    let mut acts = Vec::new();
    for _ in 0..visitors {
        script.wait(1_000);
        match rng.below(8) {
            0 => {
                script.press(start, 0, &mut rng);
                for _ in 0..first_option_walk(instrument) + 3 {
                    script.press(Press(1), 30, &mut rng);
                }
                acts.push(Act::Reject);
            }
            1 => {
                script.press(start, 0, &mut rng);
                script.press(Press(1), 1_000, &mut rng);
                script.wait(config.idle_timeout_ms + 1_000);
                acts.push(Act::Abandon);
            }
            _ => {
                let (presses, response) = respondent(instrument, &mut rng);
                script.press(start, 0, &mut rng);
                for p in presses {
                    let gap = rng.between(700, 1_000);
                    script.press(p, gap, &mut rng);
                }
                acts.push(Act::Commit(Box::new(response)));
            }
        }
        script.wait(config.lockout_ms + 500);
    }
    Segment { script: script.finish(), acts }
}

/// `base` with `acts` applied.
#[must_use]
pub fn apply(base: &HostTally<'static>, acts: &[Act]) -> Box<HostTally<'static>> {
    let mut t = Box::new(base.clone());
    for act in acts {
        match act {
            Act::Commit(r) => t.commit(r).map(|_| ()),
            Act::Reject => t.record_rejected(),
            Act::Abandon => t.record_abandoned(),
        }
        .expect("no overflow");
    }
    t
}

/// Events the kiosk acknowledged, in order: the screens it shows only after an event's save
/// returned (thank you, too fast, timed out, export written).
#[must_use]
pub fn logged_events(log: &str) -> usize {
    const ACKNOWLEDGED: [&str; 4] =
        ["screen: thank you", "screen: too fast", "screen: timed out", "screen: export"];
    log.lines().filter(|l| ACKNOWLEDGED.iter().any(|m| l.contains(m))).count()
}

/// What one run gave.
#[derive(Debug)]
pub struct Killed {
    /// The decoded log (as far as it got).
    pub log: String,
    /// The console's complete export lines (a last line cut by the kill is left out).
    pub exports: Vec<String>,
    /// Whether the kill came before the firmware ended by itself.
    pub killed: bool,
    /// Wall time of the run.
    pub wall: Duration,
}

/// Runs `elf`, provisioned with the test key, with `script` on UART0 and its flash in `flash`,
/// and kills QEMU with SIGKILL after `after` (never, with `None`).
///
/// # Errors
/// QEMU could not be started or a file written.
pub fn run_killed(
    elf: &Path,
    script: &str,
    flash: &Path,
    dir: &Path,
    after: Option<Duration>,
) -> Result<Killed, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script_path = dir.join("script.txt");
    let console = dir.join("console.txt");
    std::fs::write(&script_path, script).map_err(|e| e.to_string())?;
    let image = provision::write_image(dir)?;
    let _ = std::fs::remove_file(&console);
    let start = Instant::now();
    let mut child = Command::new(root().join("firmware/qemu-run.sh"))
        .arg(elf)
        .env("KIOSK_SCRIPT", &script_path)
        .env("KIOSK_CONSOLE_FILE", &console)
        .env("KIOSK_FLASH", flash)
        .env("KIOSK_PROVISION", &image)
        .env_remove("KIOSK_BUTTONS")
        .env_remove("KIOSK_CONSOLE")
        .env_remove("KIOSK_CONSOLE_INPUT")
        .env("QEMU_TIMEOUT", "300")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run firmware/qemu-run.sh: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        let _ = stdout.read_to_string(&mut log);
        log
    });
    let mut killed = false;
    if let Some(after) = after {
        while start.elapsed() < after {
            if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_none() {
            // QEMU and its `timeout` wrapper are the processes with the flash file on their
            // command line; defmt-print then sees the end of its input and exits.
            let pattern = format!("flash={}", flash.display());
            let _ = Command::new("pkill").args(["-KILL", "-f", &pattern]).status();
            killed = true;
        }
    }
    let _ = child.wait();
    let log = reader.join().unwrap_or_default();
    let wall = start.elapsed();
    let text = std::fs::read_to_string(&console).unwrap_or_default();
    let mut exports: Vec<String> =
        text.lines().filter(|l| l.starts_with('{') && l.ends_with('}')).map(str::to_owned).collect();
    // A kill while the kiosk was writing an export cuts its last line, perhaps just after an
    // inner `}`: a line with no signature at its end. Only that line can be cut, and only by a
    // kill; it is no export and is dropped (the kiosk's state is as before it, and the segment
    // runs again). A complete line with a bad signature is kept, and fails the check below.
    if killed && exports.last().is_some_and(|l| export::signed::split(l.as_bytes()).is_err()) {
        exports.pop();
    }
    Ok(Killed { log, exports, killed, wall })
}

/// The export text of `tally` under `header`: two tallies are equal when these are.
#[must_use]
pub fn text(tally: &HostTally<'_>) -> String {
    let header = Header::new("campaign", "RT5", "2024", 0).expect("plain header");
    crate::scenario::export_text(tally, &header)
}

/// The outcome of a campaign.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Kills made.
    pub kills: usize,
    /// Runs that ended by themselves (calibration, or the kill came too late).
    pub finished: usize,
    /// Restarts whose export was checked against the acknowledged responses.
    pub checked: usize,
    /// Of those, how many found the event in flight when killed durable (saved, not logged).
    pub in_flight_kept: usize,
    /// Events logged as acknowledged over the campaign.
    pub acknowledged: usize,
}

/// Runs the campaign on `elf` (built for `instrument`) until `kills` kills, in `dir`.
///
/// # Panics
/// When a restart's tally is not that of the acknowledged events (or those and the one in
/// flight), a sequence number repeats or goes back, or a storage fault is reported.
#[must_use]
pub fn campaign(
    elf: &Path,
    instrument: &'static Instrument<'static>,
    kills: usize,
    seed: u64,
    dir: &Path,
) -> Outcome {
    let flash: PathBuf = dir.join("kiosk-flash.bin");
    let _ = std::fs::remove_file(&flash);
    let mut rng = Rng(seed);
    let mut out = Outcome::default();
    let mut candidates = vec![Box::new(HostTally::new(instrument).expect("instrument fits"))];
    let mut highest = 0u32;
    let mut pending: Option<Segment> = None;
    let mut calibrated: Option<Duration> = None;
    let mut n = 0u64;
    let mut previous = String::new();
    while out.kills < kills {
        n += 1;
        let seg = pending.take().unwrap_or_else(|| segment(instrument, seed ^ n, 1 + rng.below(3)));
        let after = calibrated.map(|wall| wall.mul_f64(rng.below(1_000) as f64 / 1_000.0));
        let run = run_killed(elf, &seg.script, &flash, &dir.join("run"), after).expect("QEMU runs");
        if calibrated.is_none() {
            calibrated = Some(run.wall);
        }
        if run.killed {
            out.kills += 1
        } else {
            out.finished += 1
        }
        let Some(first) = run.exports.first() else {
            // Killed before its first export: nothing changed but perhaps a sequence number.
            pending = Some(seg);
            continue;
        };
        let mut got = Box::new(HostTally::new(instrument).expect("instrument fits"));
        let header = export::decode_into(first.as_bytes(), &mut *got).expect("the kiosk's export decodes");
        let at = candidates.iter().position(|c| text(c) == text(&got));
        let Some(at) = at else {
            let counters: Vec<_> = candidates.iter().map(|c| c.counters()).collect();
            panic!(
                "restart {n}: the recovered tally ({:?}) is none of the acknowledged ones ({counters:?})\n\
                 previous run's log:\n{previous}\nthis run's log:\n{}",
                got.counters(),
                run.log
            )
        };
        out.in_flight_kept += usize::from(at == 1);
        assert!(header.sequence > highest, "restart {n}: sequence {} after {highest}", header.sequence);
        assert_eq!(header.storage_faults, 0, "restart {n}: a kill is not a storage fault");
        for e in &run.exports {
            let mut t = Box::new(HostTally::new(instrument).expect("instrument fits"));
            let h = export::decode_into(e.as_bytes(), &mut *t).expect("export decodes");
            assert!(provision::verifies(e.as_bytes()), "restart {n}: an export's signature does not verify");
            assert!(h.sequence >= header.sequence, "sequence went back within a run");
            highest = highest.max(h.sequence);
        }
        out.checked += 1;
        previous = run.log.clone();
        let base = candidates.swap_remove(at);
        // The export is on the console, so it was done even if the kill beat its log line.
        let k = logged_events(&run.log).max(1);
        out.acknowledged += k;
        let done = (k - 1).min(seg.acts.len());
        let mut next = vec![apply(&base, &seg.acts[..done])];
        if done < seg.acts.len() && run.killed {
            next.push(apply(&base, &seg.acts[..=done]));
        }
        candidates = next;
    }
    out
}
