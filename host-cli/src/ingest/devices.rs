//! One count per kiosk: the newest export of each device, and conflicts as errors
//! (docs/formats.md §2).
//!
//! A device's exports are snapshots of one growing tally, so only the highest sequence counts;
//! older snapshots and repeated copies are superseded (a note). What cannot be told apart from
//! a forged or misconfigured export is an error that skips every export of the device, since
//! no choice between them can be shown to be right: one device reporting two sites or two
//! periods, or two different exports with one sequence number. So is an export for another
//! period than `--period`.

use std::collections::BTreeMap;

use super::export::DeviceExport;
use super::{Dataset, Problem};

/// An export with the index of its file's totals in [`Dataset::inputs`].
type Indexed = (usize, DeviceExport);

/// `file:line` of an export, for messages.
fn place(e: &DeviceExport) -> String {
    format!("{}:{}", e.path.display(), e.line)
}

/// Keeps the newest export of every device that has no conflict, updating each file's totals
/// (superseded, or skipped) and reporting every export not counted.
pub fn latest(exports: Vec<Indexed>, period: Option<&str>, data: &mut Dataset) -> Vec<Indexed> {
    let mut by_device: BTreeMap<String, Vec<Indexed>> = BTreeMap::new();
    for (input, e) in exports {
        if let Some(p) = period.filter(|p| *p != e.header.period.as_str()) {
            let message = format!(
                "device {} reports period {}, not the survey period {p} (--period); export skipped",
                e.header.device.as_str(),
                e.header.period.as_str()
            );
            skip(data, input, &e, message);
            continue;
        }
        by_device.entry(e.header.device.as_str().to_owned()).or_default().push((input, e));
    }
    let mut out = Vec::new();
    for (device, mut exports) in by_device {
        if let Some(message) = conflict(&device, &exports) {
            for (input, e) in &exports {
                skip(data, *input, e, message.clone());
            }
            continue;
        }
        exports.sort_by_key(|(_, e)| e.header.sequence);
        let Some(newest) = exports.pop() else { continue };
        let faults = newest.1.header.storage_faults;
        if faults > 0 {
            let message = format!(
                "device {device} sequence {}: the kiosk reports {faults} storage fault(s): damaged \
                 saved data it recovered from, so responses it acknowledged may be missing; counted as exported",
                newest.1.header.sequence
            );
            data.problems.push(Problem::doubtful(&newest.1.path, Some(newest.1.line), message));
        }
        for (input, e) in &exports {
            let (seq, kept) = (e.header.sequence, newest.1.header.sequence);
            let why = if seq == kept { "the same export given twice" } else { "an older snapshot" };
            let message = format!(
                "device {device} sequence {seq}: {why}; superseded by sequence {kept} in {}",
                place(&newest.1)
            );
            data.problems.push(Problem::note(&e.path, Some(e.line), message));
            if let Some(t) = data.inputs.get_mut(*input) {
                t.used = t.used.saturating_sub(1);
                t.superseded += 1;
            }
        }
        out.push(newest);
    }
    out
}

/// Reports an export as skipped and moves it from used to skipped in its file's totals.
fn skip(data: &mut Dataset, input: usize, e: &DeviceExport, message: String) {
    data.problems.push(Problem::error(&e.path, Some(e.line), message));
    if let Some(t) = data.inputs.get_mut(input) {
        t.unuse(1);
    }
}

/// The error that makes every export of `device` doubtful, if any: two sites, two periods,
/// or one sequence number with two contents.
fn conflict(device: &str, exports: &[Indexed]) -> Option<String> {
    let (_, first) = exports.first()?;
    for (_, e) in exports.iter().skip(1) {
        let (a, b) = (&first.header, &e.header);
        let fields =
            [("site", a.site.as_str(), b.site.as_str()), ("period", a.period.as_str(), b.period.as_str())];
        if let Some((field, x, y)) = fields.into_iter().find(|(_, x, y)| x != y) {
            return Some(format!(
                "device {device} reports {field} {x} in {} and {field} {y} in {}; every export of the device skipped",
                place(first),
                place(e)
            ));
        }
    }
    let mut by_sequence: BTreeMap<u32, &DeviceExport> = BTreeMap::new();
    for (_, b) in exports {
        match by_sequence.get(&b.header.sequence) {
            Some(a) if a.hash != b.hash => {
                return Some(format!(
                    "device {device} sequence {} differs between {} and {}; every export of the device skipped",
                    b.header.sequence,
                    place(a),
                    place(b)
                ));
            }
            Some(_) => {}
            None => {
                by_sequence.insert(b.header.sequence, b);
            }
        }
    }
    None
}
