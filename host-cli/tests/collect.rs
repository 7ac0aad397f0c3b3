//! `surveybench collect`: exports read from a kiosk's console line (a file, standard input, a
//! FIFO, a TCP server), verified, and filed as `<device>-<sequence>.json` without ever replacing
//! a file; console chatter counted and passed over; bad lines named and skipped (exit 2).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command as Process, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use surveybench::ingest::respondents::HostResponse;
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::{HostTally, bundled};
use tempfile::TempDir;

fn bin() -> Command {
    Command::cargo_bin("surveybench").expect("binary built")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A Friends and Family Test export of `respondents` answers, encoded by the kernel.
fn export(device: &str, sequence: u32, respondents: u8) -> String {
    export_with_faults(device, sequence, respondents, 0)
}

/// An export like [`export`]'s from a kiosk that reports `faults` storage faults.
fn export_with_faults(device: &str, sequence: u32, respondents: u8, faults: u32) -> String {
    let fft = bundled::by_id("fft").expect("fft");
    let mut tally = Box::new(HostTally::new(fft).unwrap());
    let mut response = HostResponse::new(fft).unwrap();
    for i in 0..respondents {
        response.reset();
        response.answer(0, i % 5 + 1).unwrap();
        tally.commit(&response).unwrap();
    }
    let mut header = Header::new(device, "RT5", "2024", sequence).unwrap();
    header.storage_faults = faults;
    let mut buf = vec![0; export::max_encoded_len(fft)];
    let n = export::encode(&*tally, &header, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The file names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `collect --from SOURCE --out DIR EXTRA...`.
fn collect(from: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["collect", "--from", from, "--out", s(out)];
    args.extend_from_slice(extra);
    run(&args)
}

/// The summary line's figures, e.g. `7 lines read = 2 exports written + 0 already collected +
/// 1 bad + 4 other lines`.
fn summary(read: u64, written: u64, already: u64, bad: u64, other: u64) -> String {
    assert_eq!(read, written + already + bad + other, "the test's own sum");
    format!(
        "{read} lines read = {written} exports written + {already} already collected + {bad} bad + {other} other lines"
    )
}

/// Two exports from `surveybench simulate` among console text, the second with CRLF line
/// ends, and the names they must be filed under.
fn console_text(dir: &Path) -> (String, Vec<(String, String)>) {
    let sim = dir.join("sim");
    let o = run(&["simulate", "--seed", "3", "--trusts", "2", "--respondents", "120", "--out", s(&sim)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let devices = sim.join("2024/devices");
    let mut exports: Vec<String> = names(&devices)
        .iter()
        .filter(|n| !n.contains("-seq1"))
        .map(|n| std::fs::read_to_string(devices.join(n)).unwrap().trim_end().to_owned())
        .collect();
    exports.truncate(2);
    assert_eq!(exports.len(), 2);
    let text = format!(
        "surveybench kiosk console\nstaff> export\n{}\nexport done\n\r\nstaff> export\r\n{}\r\n> ",
        exports[0], exports[1]
    );
    let filed = exports
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(e).unwrap();
            let device = v["device"].as_str().unwrap();
            let expected = surveybench::output::file_name_part(device);
            (format!("{expected}-{:010}.json", v["sequence"].as_u64().unwrap()), format!("{e}\n"))
        })
        .collect();
    (text, filed)
}

/// The keyring of the kiosks whose exports [`console_text`] simulated in `dir`: they are signed,
/// and count only with it (`--keyring`).
fn keyring(dir: &Path) -> String {
    s(&dir.join("sim/2024/keyring.toml")).to_owned()
}

/// `out` holds exactly `filed`: each name with exactly its bytes.
fn assert_filed(out: &Path, filed: &[(String, String)]) {
    let mut expected: Vec<String> = filed.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(names(out), expected);
    for (name, bytes) in filed {
        assert_eq!(&std::fs::read_to_string(out.join(name)).unwrap(), bytes, "{name}");
    }
}

#[test]
fn exports_among_console_text_and_crlf_are_filed_from_a_file() {
    let dir = TempDir::new().unwrap();
    let (text, filed) = console_text(dir.path());
    let input = dir.path().join("console.log");
    std::fs::write(&input, &text).unwrap();
    let out = dir.path().join("collected");
    let o = collect(s(&input), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(&out, &filed);
    assert!(stderr(&o).contains(&summary(8, 2, 0, 0, 6)), "{}", stderr(&o));
    assert!(stderr(&o).contains("(end of input)"), "{}", stderr(&o));
    // What was filed is what a benchmark reads: the same figures as the exports themselves.
    let trusts =
        |o: &Output| serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["trusts"].clone();
    let direct = dir.path().join("direct");
    std::fs::create_dir(&direct).unwrap();
    for (i, (_, bytes)) in filed.iter().enumerate() {
        std::fs::write(direct.join(format!("{i}.json")), bytes).unwrap();
    }
    let ring = keyring(dir.path());
    let (a, b) = (
        run(&["benchmark", "--keyring", &ring, s(&out)]),
        run(&["benchmark", "--keyring", &ring, s(&direct)]),
    );
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    assert_eq!(trusts(&a), trusts(&b));
}

#[test]
fn standard_input_is_read_to_its_end() {
    let dir = TempDir::new().unwrap();
    let (text, filed) = console_text(dir.path());
    let out = dir.path().join("collected");
    let o = bin().args(["collect", "--from", "-", "--out", s(&out)]).write_stdin(text).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(&out, &filed);
    assert!(stderr(&o).contains(&format!("<stdin>: {}", summary(8, 2, 0, 0, 6))), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_until_its_writer_closes_it() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("kiosk.fifo");
    let made = Process::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let out = dir.path().join("collected");
    let (one, two) = (export("RT5-K1", 1, 10), export("RT5-K1", 2, 20));
    let writer = {
        let (fifo, text) = (fifo.clone(), format!("boot ok\r\n{one}\r\nidle\n{two}\n"));
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            // In two parts with a pause, as a serial line delivers it.
            let (a, b) = text.split_at(text.len() / 2);
            f.write_all(a.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            f.write_all(b.as_bytes()).unwrap();
        })
    };
    let o = collect(s(&fifo), &out, &[]);
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(
        &out,
        &[
            ("RT5-K1-0000000001.json".into(), format!("{one}\n")),
            ("RT5-K1-0000000002.json".into(), format!("{two}\n")),
        ],
    );
    assert!(stderr(&o).contains(&summary(4, 2, 0, 0, 2)), "{}", stderr(&o));
}

/// A TCP server on loopback that sends `text` to its first client, then waits `linger` before
/// closing; returns its address.
fn serve(listener: TcpListener, text: String, linger: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(text.as_bytes()).unwrap();
        std::thread::sleep(linger);
    })
}

#[test]
fn a_tcp_server_is_read_until_it_closes_the_connection() {
    let dir = TempDir::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp:{}", listener.local_addr().unwrap());
    let one = export("RT5-K1", 4, 12);
    let server = serve(listener, format!("qemu console\r\n{one}\r\n"), Duration::ZERO);
    let out = dir.path().join("collected");
    let o = collect(&address, &out, &[]);
    server.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(&out, &[("RT5-K1-0000000004.json".into(), format!("{one}\n"))]);
    assert!(stderr(&o).contains(&format!("{address}: {}", summary(2, 1, 0, 0, 1))), "{}", stderr(&o));
}

#[test]
fn a_collector_started_before_the_tcp_server_waits_for_it() {
    let dir = TempDir::new().unwrap();
    // A free port: bound, noted, and released until the server starts.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = dir.path().join("collected");
    let mut collector = bin();
    collector.args(["collect", "--from", &format!("tcp:127.0.0.1:{port}"), "--out", s(&out)]);
    let one = export("RT5-K1", 1, 3);
    let server = {
        let one = one.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
            serve(listener, format!("{one}\n"), Duration::ZERO).join().unwrap();
        })
    };
    let o = collector.output().unwrap();
    server.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(&out, &[("RT5-K1-0000000001.json".into(), format!("{one}\n"))]);
}

#[test]
fn an_unreachable_source_or_an_uncreatable_folder_exits_1_having_written_nothing() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("collected");
    let missing = dir.path().join("no-such-tty");
    let o = collect(s(&missing), &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{}: cannot open", s(&missing))), "{}", stderr(&o));
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = collect(s(&file), &file.join("inside"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));
}

#[test]
fn a_corrupted_count_and_a_truncated_line_are_errors_naming_their_lines() {
    let dir = TempDir::new().unwrap();
    let good = export("RT5-K1", 1, 10);
    let other = export("RT5-K2", 1, 10);
    let miscounted = other.replacen("\"completed\":10", "\"completed\":11", 1);
    assert_ne!(miscounted, other);
    let truncated = &export("RT5-K3", 1, 10)[..200];
    let input = dir.path().join("console.log");
    std::fs::write(&input, format!("hello\n{miscounted}\n{good}\r\n{truncated}\r\n")).unwrap();
    let out = dir.path().join("collected");
    let o = collect(s(&input), &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: {}:2: not a valid export: header: counts contradict each other",
            s(&input)
        )),
        "{err}"
    );
    assert!(err.contains(&format!("error: {}:4: not a valid export: ", s(&input))), "{err}");
    assert!(err.contains(&summary(4, 1, 0, 2, 1)), "{err}");
    assert_filed(&out, &[("RT5-K1-0000000001.json".into(), format!("{good}\n"))]);
}

#[test]
fn the_same_export_collected_twice_is_one_file_and_a_note() {
    let dir = TempDir::new().unwrap();
    let one = export("RT5-K1", 3, 10);
    let input = dir.path().join("console.log");
    std::fs::write(&input, format!("{one}\n{one}\r\n")).unwrap();
    let out = dir.path().join("collected");
    let first = collect(s(&input), &out, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stderr(&first).contains(&summary(2, 1, 1, 0, 0)), "{}", stderr(&first));
    let again = collect(s(&input), &out, &[]);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{err}");
    let name = "RT5-K1-0000000003.json";
    let note = format!(
        "note: {}:1: device RT5-K1 sequence 3: already collected in {}",
        s(&input),
        s(&out.join(name))
    );
    assert!(err.contains(&note), "{err}");
    assert!(err.contains(&summary(2, 0, 2, 0, 0)), "{err}");
    assert_filed(&out, &[(name.into(), format!("{one}\n"))]);
}

#[test]
fn a_different_export_with_the_same_device_and_sequence_is_an_error_and_the_first_file_stays() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("collected");
    let (first, second) = (export("RT5-K1", 5, 10), export("RT5-K1", 5, 11));
    let input = dir.path().join("first.log");
    std::fs::write(&input, format!("{first}\n")).unwrap();
    assert_eq!(collect(s(&input), &out, &[]).status.code(), Some(0));
    let input = dir.path().join("second.log");
    std::fs::write(&input, format!("{second}\n")).unwrap();
    let o = collect(s(&input), &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let name = "RT5-K1-0000000005.json";
    let message = format!(
        "error: {}:1: device RT5-K1 sequence 5 differs from the export already in {}, which is left as it was",
        s(&input),
        s(&out.join(name))
    );
    assert!(err.contains(&message), "{err}");
    assert!(err.contains(&summary(1, 0, 0, 1, 0)), "{err}");
    assert_filed(&out, &[(name.into(), format!("{first}\n"))]);
}

#[test]
fn device_ids_with_slash_or_colon_get_safe_file_names() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("collected");
    let (slash, colon, dots) = (export("../K/1", 1, 4), export("RT5:K1", 2, 4), export("..", 3, 4));
    let input = dir.path().join("console.log");
    std::fs::write(&input, format!("{slash}\n{colon}\n{dots}\n")).unwrap();
    let o = collect(s(&input), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_filed(
        &out,
        &[
            ("_2e_2e_2fK_2f1-0000000001.json".into(), format!("{slash}\n")),
            ("RT5_3aK1-0000000002.json".into(), format!("{colon}\n")),
            ("_2e_2e-0000000003.json".into(), format!("{dots}\n")),
        ],
    );
    assert_eq!(names(dir.path()), ["collected", "console.log"]);
}

/// The peak resident memory of a running process, in bytes (Linux).
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn an_over_long_line_is_skipped_without_being_held_in_memory() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("collected");
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("surveybench"))
        .args(["collect", "--from", "-", "--out", s(&out)])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let long: u64 = 96 << 20;
    let chunk = vec![b'x'; 1 << 20];
    stdin.write_all(b"{").unwrap();
    for _ in 0..(long >> 20) {
        stdin.write_all(&chunk).unwrap();
    }
    // All but a pipe's worth is read by now: a collector holding the line would hold ~96 MB.
    let peak = peak_rss(child.id());
    let one = export("RT5-K1", 1, 5);
    stdin.write_all(format!("\r\n{one}\n").as_bytes()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(peak < 40 << 20, "peak RSS {peak} bytes while reading a {long}-byte line");
    assert_eq!(o.status.code(), Some(2), "{err}");
    let message = format!("error: <stdin>:1: line of {} bytes, longer than any export can be", long + 3);
    assert!(err.contains(&message), "{err}");
    assert!(err.contains(&summary(2, 1, 0, 1, 0)), "{err}");
    assert_filed(&out, &[("RT5-K1-0000000001.json".into(), format!("{one}\n"))]);
}

#[test]
fn idle_timeout_ends_a_silent_line() {
    let dir = TempDir::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp:{}", listener.local_addr().unwrap());
    let one = export("RT5-K1", 1, 5);
    // The server keeps the connection open, silent, far longer than the idle time.
    let _server = serve(listener, format!("{one}\n"), Duration::from_secs(60));
    let out = dir.path().join("collected");
    let started = Instant::now();
    let o = collect(&address, &out, &["--idle-timeout", "0.5"]);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("(no byte for 0.5 s, --idle-timeout)"), "{}", stderr(&o));
    assert_filed(&out, &[("RT5-K1-0000000001.json".into(), format!("{one}\n"))]);
}

#[test]
fn max_exports_ends_the_run_once_that_many_are_filed() {
    let dir = TempDir::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp:{}", listener.local_addr().unwrap());
    let (one, two, three) = (export("RT5-K1", 1, 5), export("RT5-K1", 2, 6), export("RT5-K1", 3, 7));
    let _server = serve(listener, format!("{one}\nchatter\n{two}\n{three}\n"), Duration::from_secs(60));
    let out = dir.path().join("collected");
    let started = Instant::now();
    let o = collect(&address, &out, &["--max-exports", "2"]);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&summary(3, 2, 0, 0, 1)), "{}", stderr(&o));
    assert!(stderr(&o).contains("(2 exports filed, --max-exports)"), "{}", stderr(&o));
    assert_filed(
        &out,
        &[
            ("RT5-K1-0000000001.json".into(), format!("{one}\n")),
            ("RT5-K1-0000000002.json".into(), format!("{two}\n")),
        ],
    );
}

#[test]
fn text_from_the_line_is_printed_inert() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("console.log");
    let line =
        export("RT5-K1", 1, 5).replacen("\"instrument\":\"fft\"", "\"instrument\":\"\u{1b}[2J\u{202e}x\"", 1);
    std::fs::write(&input, format!("{line}\n")).unwrap();
    let o = collect(s(&input), &dir.path().join("collected"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains(['\u{1b}', '\u{202e}']), "{err:?}");
    let message = format!(
        "error: {}:1: not a valid export: export is for instrument `\\x1b[2J\\u{{202e}}x`, which this build does not bundle",
        s(&input)
    );
    assert!(err.contains(&message), "{err}");
}

#[test]
fn an_export_reporting_storage_faults_is_filed_with_a_note() {
    let dir = TempDir::new().unwrap();
    let faulty = export_with_faults("RT5-K1", 9, 5, 2);
    assert!(faulty.contains("\"storage_faults\":2"), "{faulty}");
    let input = dir.path().join("console.log");
    std::fs::write(&input, format!("{faulty}\n")).unwrap();
    let out = dir.path().join("collected");
    let o = collect(s(&input), &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let note =
        format!("note: {}:1: device RT5-K1 sequence 9: the kiosk reports 2 storage fault(s)", s(&input));
    assert!(err.contains(&note), "{err}");
    assert_filed(&out, &[("RT5-K1-0000000009.json".into(), format!("{faulty}\n"))]);
}

/// With `--keyring`, only exports that verify are filed: a genuine signed export is, while an
/// edited copy of it, an unsigned export and a device the keyring does not list are bad lines.
#[test]
fn with_a_keyring_only_verified_exports_are_filed() {
    let dir = TempDir::new().unwrap();
    let keys = dir.path().join("keys");
    let o =
        run(&["keys", "new", "--device", "RT5-K1", "--site", "RT5", "--period", "2024", "--out", s(&keys)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let image = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "provision"))
        .unwrap();
    let provision = surveybench_kernel::provision::Provision::decode(&std::fs::read(image).unwrap()).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&provision.seed);
    let fft = bundled::by_id("fft").unwrap();
    let mut tally = Box::new(HostTally::new(fft).unwrap());
    let mut response = HostResponse::new(fft).unwrap();
    response.answer(0, 2).unwrap();
    tally.commit(&response).unwrap();
    let header = Header { sequence: 3, ..provision.header().unwrap() };
    let mut out = Vec::new();
    export::stream_signed(&*tally, &header, surveybench::keys::Ed25519ph::new(&key), &mut out).unwrap();
    let genuine = String::from_utf8(out).unwrap();
    let edited = genuine.replace("\"sequence\":3,", "\"sequence\":4,");
    let console =
        format!("{genuine}\r\n{edited}\n{}\n{}\nok\n", export("RT5-K1", 5, 2), export("RT5-K9", 1, 2));
    let input = dir.path().join("console.txt");
    std::fs::write(&input, console).unwrap();
    let filed = dir.path().join("filed");
    let keyring = keys.join("keyring.toml");
    let o = collect(s(&input), &filed, &["--keyring", s(&keyring)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(names(&filed), ["RT5-K1-0000000003.json"], "{err}");
    assert!(err.contains(&summary(5, 1, 0, 3, 1)), "{err}");
    assert!(err.contains(":2: export not verified: bad signature"), "{err}");
    assert!(err.contains(":3: export not verified: unsigned export"), "{err}");
    assert!(err.contains(":4: export not verified: unsigned export"), "{err}");
    assert_eq!(
        std::fs::read_to_string(filed.join("RT5-K1-0000000003.json")).unwrap(),
        format!("{genuine}\n")
    );
    // Without a keyring, collect files whatever decodes (benchmark checks signatures later).
    let o = collect(s(&input), &dir.path().join("all"), &[]);
    assert_eq!(names(&dir.path().join("all")).len(), 4, "{}", stderr(&o));
}
