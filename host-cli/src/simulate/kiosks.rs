//! The simulated kiosks: each trust's respondents split over its kiosks, each kiosk's signed
//! export for the year and, with `--weekly`, its cumulative export at the end of every week.

use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, Instrument};

use super::{Respondent, Trust, WEEKS, weekly};
use crate::ingest::respondents::HostResponse;
use crate::{keyring, keys};

/// Where and for when a trust's simulated kiosks report, and the seed their keys come from.
pub(super) struct Kiosks<'a> {
    pub(super) seed: u64,
    pub(super) period: String,
    pub(super) dir: &'a Path,
    /// The weekly export folders, week 1 first; empty when no weekly exports are written.
    pub(super) weeks: &'a [PathBuf],
}

impl Kiosks<'_> {
    /// The key of simulated kiosk `device`: from the simulation's seed, the device and the
    /// period, so the same seed gives the same keys (they are not secrets).
    fn key(&self, device: &str, site: &str) -> Result<keys::Made> {
        let seed = Sha256::digest(format!("surveybench simulate {} {device} {}", self.seed, self.period));
        keys::make(seed.into(), device, site, &self.period)
    }

    /// Writes `tally`'s export, signed by `key`, as `name` with the header's sequence.
    fn write(&self, tally: &HostTally<'_>, key: &keys::Made, sequence: u32, name: &str) -> Result<()> {
        self.write_in(self.dir, tally, key, sequence, name)
    }

    /// Writes weekly exports of `tally` for weeks `*next` to `to`, each with its week as its
    /// sequence, and moves `*next` past them.
    fn write_weeks(&self, tally: &HostTally<'_>, key: &keys::Made, next: &mut u32, to: u32) -> Result<()> {
        while *next <= to {
            let Some(dir) = usize::try_from(*next - 1).ok().and_then(|w| self.weeks.get(w)) else { break };
            self.write_in(dir, tally, key, *next, &format!("{}.json", key.entry.device))?;
            *next += 1;
        }
        Ok(())
    }

    /// Writes `tally`'s export, signed by `key`, as `name` in `dir` with sequence `sequence`.
    fn write_in(
        &self,
        dir: &Path,
        tally: &HostTally<'_>,
        key: &keys::Made,
        sequence: u32,
        name: &str,
    ) -> Result<()> {
        let header = Header::new(&key.entry.device, &key.entry.site, &self.period, sequence)
            .and_then(|h| h.signed_by(&key.entry.id))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut out = Vec::new();
        export::stream_signed(tally, &header, keys::Ed25519ph::new(&key.signing), &mut out)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        out.push(b'\n');
        crate::output::write(&dir.join(name), &out)
    }
}

/// Splits a trust's respondents over its kiosks and writes each kiosk's signed export; returns
/// their keyring entries. In the first [`SNAPSHOT_TRUSTS`](super::SNAPSHOT_TRUSTS) trusts the
/// first kiosk also leaves an older snapshot (sequence 1, half its respondents) beside its
/// final export (sequence 2), as a device exported twice in the period would; the host must
/// count it once. With weekly folders, every kiosk also writes its tally at the end of each
/// week there, sequence = the week.
pub(super) fn write_devices(
    instrument: &'static Instrument<'static>,
    (trust, snapshot): (&Trust, bool),
    people: &[Respondent],
    kiosks: &Kiosks<'_>,
) -> Result<Vec<keyring::Entry>> {
    let mut r = HostResponse::new(instrument)?;
    let mut entries = Vec::new();
    for kiosk in 0..trust.kiosks {
        let mine: Vec<&Respondent> = people.iter().skip(kiosk).step_by(trust.kiosks).collect();
        let device = format!("{}-kiosk{}", trust.code, kiosk + 1);
        let key = kiosks.key(&device, &trust.code)?;
        let mut tally = Box::new(HostTally::new(instrument)?);
        let half = mine.len() / 2;
        let mut week = 1;
        for (i, p) in mine.iter().enumerate() {
            if snapshot && kiosk == 0 && i == half {
                kiosks.write(&tally, &key, 1, &format!("{device}-seq1.json"))?;
            }
            // Weeks that ended before this respondent's week get the tally so far.
            let own = weekly::week_of(kiosk + i * trust.kiosks, people.len());
            kiosks.write_weeks(&tally, &key, &mut week, own - 1)?;
            r.reset();
            for (k, &code) in p.answers.iter().enumerate() {
                if code != 0 {
                    r.answer(k, code)?;
                }
            }
            tally.commit(&r)?;
        }
        kiosks.write_weeks(&tally, &key, &mut week, u32::from(WEEKS))?;
        let sequence = if snapshot && kiosk == 0 { 2 } else { 1 };
        kiosks.write(&tally, &key, sequence, &format!("{device}.json"))?;
        entries.push(key.entry);
    }
    Ok(entries)
}
