//! End to end: seeded random respondents on the host become button presses, the firmware runs
//! them under QEMU, and every export it writes must be exactly the tally the host computes for
//! the same visitors (issue 4, deliverable 5), signed with the key it was provisioned with
//! (issue 9), or, for a kiosk never provisioned, no export at all.

use clap::Parser;
use surveybench::app::Outcome;
use surveybench::cli::Cli;
use surveybench_kernel::HostTally;
use surveybench_kernel::bundled::CMH_2024;
use surveybench_kernel::export;
use surveybench_tests::provision;
use surveybench_tests::qemu::{self, Options};
use surveybench_tests::scenario::{self, Script, Visitor};

#[test]
fn firmware_exports_equal_the_host_tally_of_the_same_session() {
    let elf = qemu::firmware_elf().expect("firmware builds");
    let session = scenario::session(&CMH_2024, 2024, 60);
    let dir = std::env::temp_dir().join(format!("surveybench-e2e-{}", std::process::id()));
    let run = qemu::run(&elf, &session.script, &dir).expect("QEMU runs");
    let tail: String = run.log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
    assert_eq!(run.code, Some(0), "firmware failed; last log lines (reversed):\n{tail}");
    assert_eq!(run.exports.len(), session.exports.len(), "exports written");
    let count = |k| session.visitors.iter().filter(|v| **v == k).count();
    eprintln!(
        "e2e: {} respondents, {} mashers, {} walked away, {} exports, script {} lines",
        count(Visitor::Respondent),
        count(Visitor::Masher),
        count(Visitor::WalkAway),
        count(Visitor::Staff),
        session.script.lines().count()
    );
    for (i, (text, expected)) in run.exports.iter().zip(&session.exports).enumerate() {
        let mut got = Box::new(HostTally::new(&CMH_2024).unwrap());
        let header = export::decode_into(text.as_bytes(), &mut *got)
            .unwrap_or_else(|e| panic!("export {i} does not decode: {e}"));
        assert_eq!(header.sequence, i as u32 + 1, "sequence of export {i}");
        assert_eq!(header.device.as_str(), provision::DEVICE);
        let key = provision::key_id(&provision::public_key());
        assert_eq!(header.key.as_deref(), Some(key.as_str()), "export {i} names the test key");
        assert!(provision::verifies(text.as_bytes()), "export {i}: the signature does not verify");
        assert_eq!(
            scenario::export_text(&got, &header),
            scenario::export_text(expected, &header),
            "export {i} differs from the host's tally"
        );
        assert_eq!(*text, scenario::export_text(expected, &header), "export {i}, byte for byte");
    }
    let last = session.exports.last().unwrap().counters();
    assert!(last.completed > 0 && last.rejected > 0 && last.abandoned > 0, "{last:?}");
    let (peak, reserved) = qemu::stack_peak(&run.log).expect("the firmware logs its peak stack");
    eprintln!("e2e: peak stack {peak} B of {reserved} B reserved");
    assert!(peak > 0 && peak < reserved, "{peak} of {reserved}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The stack overflow guard: flip-link puts the stack below the statics, so unbounded recursion
/// must fault at the bottom of RAM (HardFault, exit 102) instead of running over the tally.
#[test]
fn a_stack_overflow_faults() {
    let elf = qemu::stack_overflow_elf().expect("firmware builds");
    let dir = std::env::temp_dir().join(format!("surveybench-overflow-{}", std::process::id()));
    let run = qemu::run(&elf, "", &dir).expect("QEMU runs");
    assert_eq!(run.code, Some(102), "log:\n{}", run.log);
    assert!(run.log.contains("HardFault: stack overflow"), "log:\n{}", run.log);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kiosk's exports travel as they would from a clinic: the kiosk is provisioned with
/// `surveybench keys new`, then UART1 (a TCP server in QEMU) -> `surveybench collect
/// --keyring` -> a folder -> `surveybench benchmark --keyring`, which must give the same JSON
/// as a respondent file of the same responses (issue 4 deliverable 5, issue 10 deliverable 3,
/// issue 9 deliverable 6).
#[test]
fn exports_collected_from_the_kiosk_uart_benchmark_like_the_csv_of_the_same_responses() {
    let elf = qemu::firmware_elf().expect("firmware builds");
    let session = scenario::session(&CMH_2024, 7, 50);
    let dir = std::env::temp_dir().join(format!("surveybench-e2e-bench-{}", std::process::id()));
    let collected = dir.join("collected");
    // A free loopback port: QEMU listens on it and waits for the collector to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let from = format!("tcp:127.0.0.1:{port}");
    let out = collected.to_str().unwrap().to_owned();
    // The clinic's IT team provisions the kiosk: its image, and its public key in the keyring.
    let keys = dir.join("keys");
    let new = ["surveybench", "keys", "new", "--device", "RT5-K1", "--site", "RT5", "--period", "2024"];
    let args = [new.as_slice(), &["--out", keys.to_str().unwrap()]].concat();
    assert!(matches!(surveybench::app::run(Cli::parse_from(args)), Ok(Outcome::Clean)), "keys new");
    let image = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "provision"))
        .expect("keys new wrote an image");
    let keyring = keys.join("keyring.toml");
    let ring = keyring.to_str().unwrap().to_owned();
    let collector = std::thread::spawn(move || {
        let args = ["surveybench", "collect", "--from", &from, "--out", &out, "--keyring", &ring];
        surveybench::app::run(Cli::parse_from(args))
    });
    let chardev = format!("socket,host=127.0.0.1,port={port},server=on,wait=on");
    let options =
        qemu::Options { console: Some(&chardev), provision: Some(&image), ..qemu::Options::default() };
    let run = qemu::run_with(&elf, &session.script, &dir, &options).expect("QEMU runs");
    assert_eq!(run.code, Some(0), "firmware failed");
    assert!(run.log.contains("provision: device RT5-K1, site RT5"), "log:\n{}", run.log);
    match collector.join().expect("collect ends when the kiosk's line closes") {
        Ok(Outcome::Clean) => {}
        other => panic!("collect: {other:?}"),
    }
    let files = std::fs::read_dir(&collected).unwrap().count();
    assert_eq!(files, session.exports.len(), "one file per export");
    // Signed with the key `keys new` made, named in every export.
    let id = std::fs::read_to_string(&keyring).unwrap();
    for file in std::fs::read_dir(&collected).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let key = text.split("\"key\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        assert!(id.contains(&format!("id = \"{key}\"")), "export signed by key {key}, not in {id}");
    }
    let export_file = collected.clone();
    let csv_file = dir.join("respondents.csv");
    std::fs::write(&csv_file, scenario::respondents_csv(&CMH_2024, &session.responses, "RT5")).unwrap();
    let benchmark = |input: &std::path::Path, out: &std::path::Path| {
        let (input, out, ring) = (input.to_str().unwrap(), out.to_str().unwrap(), keyring.to_str().unwrap());
        let args = ["surveybench", "benchmark", input, "--out", out, "--keyring", ring];
        match surveybench::app::run(Cli::parse_from(args)) {
            Ok(Outcome::Clean) => std::fs::read_to_string(out).unwrap(),
            Ok(Outcome::Skipped) => panic!("{input} had input skipped"),
            Err(e) => panic!("{input}: {e:#}"),
        }
    };
    let from_device = benchmark(&export_file, &dir.join("device.json"));
    let from_csv = benchmark(&csv_file, &dir.join("csv.json"));
    assert!(from_device.contains("\"respondents\": "), "{from_device}");
    // Every figure equal; only the per-input accounting names other files.
    let figures = |text: &str| {
        let mut json: serde_json::Value = serde_json::from_str(text).unwrap();
        let inputs = json["national"].as_object_mut().and_then(|n| n.remove("inputs"));
        (json, inputs.and_then(|i| i.as_array().map(|a| a.len())))
    };
    assert_eq!(figures(&from_device).1, Some(files), "every collected file is an input");
    assert!(figures(&from_device).0 == figures(&from_csv).0, "the figures differ");
    let json: serde_json::Value = serde_json::from_str(&from_device).unwrap();
    assert_eq!(json["national"]["respondents"].as_u64(), Some(session.responses.len() as u64));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script that only does the staff export, `wait` ms after its first line.
fn staff_only(wait: u32) -> String {
    let mut script = Script::default();
    script.wait(wait);
    script.staff();
    script.finish()
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("surveybench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `session` on a kiosk whose flash is the file `flash` (created by the run) and checks
/// that it exported what the host expects.
fn commit_to_flash_file(elf: &std::path::Path, session: &scenario::Session, dir: &std::path::Path) {
    let flash = dir.join("flash.bin");
    let run =
        qemu::run_with(elf, &session.script, dir, &Options { flash: Some(&flash), ..Options::default() })
            .expect("QEMU runs");
    assert_eq!(run.code, Some(0), "log:\n{}", run.log);
    assert!(run.log.contains("(created, erased)"), "log:\n{}", run.log);
    assert_eq!(std::fs::metadata(&flash).expect("the flash file exists").len(), 128 * 1024);
    assert_eq!(run.exports.len(), session.exports.len(), "exports written");
}

/// The export `text` decodes, has sequence `sequence`, and is byte for byte the export of
/// `expected` under its header.
fn assert_export_of(text: &str, expected: &HostTally<'_>, sequence: u32) {
    let mut got = Box::new(HostTally::new(&CMH_2024).unwrap());
    let header = export::decode_into(text.as_bytes(), &mut *got).expect("the export decodes");
    assert_eq!(header.sequence, sequence);
    assert!(provision::verifies(text.as_bytes()), "the signature does not verify");
    assert_eq!(text, scenario::export_text(expected, &header), "the export differs from the host's tally");
}

/// Issue 10, deliverable 4: the kiosk's flash, backed by a host file, outlives the QEMU run.
/// A second run on the same file, whose button board only does the staff export, exports the
/// tally the first run committed, under the next sequence number.
#[test]
fn the_flash_file_survives_the_qemu_run() {
    let elf = qemu::firmware_elf().expect("firmware builds");
    let dir = scratch("flash");
    let session = scenario::session(&CMH_2024, 11, 12);
    commit_to_flash_file(&elf, &session, &dir);
    let expected = session.exports.last().expect("the session ends with an export");
    let options = Options { flash: Some(&dir.join("flash.bin")), ..Options::default() };
    let run = qemu::run_with(&elf, &staff_only(0), &dir, &options).expect("QEMU runs");
    assert_eq!(run.code, Some(0), "log:\n{}", run.log);
    let recovered = format!("storage: recovered the tally: {} completed", expected.counters().completed);
    assert!(run.log.contains(&recovered), "log:\n{}", run.log);
    assert_eq!(run.exports.len(), 1, "console:\n{}", run.console);
    assert_export_of(&run.exports[0], expected, session.exports.len() as u32 + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10, deliverable 2: a kiosk that hangs (the test firmware's console command `hang`
/// stops feeding the watchdog) gets the watchdog's NMI, which logs, and then its reset; the
/// rebooted kiosk recovers its tally from the flash file and goes on to export it.
#[test]
fn a_hung_kiosk_resets_and_recovers_its_tally() {
    let elf = qemu::firmware_elf().expect("firmware builds");
    let hang = qemu::hang_on_command_elf().expect("firmware builds");
    let dir = scratch("watchdog");
    let session = scenario::session(&CMH_2024, 5, 8);
    commit_to_flash_file(&elf, &session, &dir);
    let expected = session.exports.last().expect("the session ends with an export");
    // What the hung kiosk has read of its button board is lost at the reset: a step due at
    // once, then more than the eight it queues, due 5 s later, so that it stops reading
    // among these (the rebooted kiosk drops the tail of a line it finds first).
    let padding = format!("0 -\n{}", "5000 -\n".repeat(12));
    let script = padding + &staff_only(5_000);
    let options =
        Options { flash: Some(&dir.join("flash.bin")), console_input: Some("hang\n"), ..Options::default() };
    let run = qemu::run_with(&hang, &script, &dir, &options).expect("QEMU runs");
    assert_eq!(run.code, Some(0), "log:\n{}", run.log);
    let hung = run.log.find("watchdog: kiosk hung, resetting").expect("the NMI handler logs");
    assert!(run.log[..hung].contains("console: hang (test hook)"), "log:\n{}", run.log);
    let rebooted = &run.log[hung..];
    assert!(rebooted.contains("surveybench kiosk: instrument cmh-2024"), "log:\n{}", run.log);
    // QEMU loads the provisioning image again at the reset (a loader blob): still provisioned.
    let provisioned = format!("provision: device {}, site {}", provision::DEVICE, provision::SITE);
    assert_eq!(run.log.matches(&provisioned).count(), 2, "provisioned at both boots; log:\n{}", run.log);
    let recovered = format!("storage: recovered the tally: {} completed", expected.counters().completed);
    assert_eq!(run.log.matches(&recovered).count(), 2, "recovered at both boots; log:\n{}", run.log);
    assert!(rebooted.contains(&recovered), "log:\n{}", run.log);
    assert_eq!(run.exports.len(), 1, "console:\n{}", run.console);
    assert_export_of(&run.exports[0], expected, session.exports.len() as u32 + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 9: a kiosk never provisioned (nothing in its provisioning region) says so in its log
/// and on its console, and writes no export when asked, by the console or the staff gesture.
#[test]
fn an_unprovisioned_kiosk_says_so_and_writes_no_export() {
    let elf = qemu::firmware_elf().expect("firmware builds");
    let dir = scratch("unprovisioned");
    let options =
        Options { console_input: Some("status\nexport\n"), unprovisioned: true, ..Options::default() };
    let run = qemu::run_with(&elf, &staff_only(2_000), &dir, &options).expect("QEMU runs");
    // The refused exports are failed actions.
    assert_eq!(run.code, Some(3), "log:\n{}", run.log);
    assert!(run.log.contains("provision: not provisioned: no provisioning image"), "log:\n{}", run.log);
    assert_eq!(run.log.matches("screen: no key").count(), 2, "log:\n{}", run.log);
    let reason = "not provisioned: no provisioning image (the kiosk has no key)";
    let console: Vec<&str> = run.console.lines().collect();
    assert_eq!(
        console,
        [
            "surveybench kiosk (not provisioned): console ready; commands: export, status, help".to_owned(),
            format!("status: completed 0, rejected 0, abandoned 0, last export 0, {reason}"),
            format!("export refused: {reason}"),
            format!("export refused: {reason}"),
        ],
        "console:\n{}",
        run.console
    );
    assert!(run.exports.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
