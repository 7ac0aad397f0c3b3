//! Signed kiosk exports end to end on the host (docs/formats.md §2, §9, §10): `keys new`
//! provisions a kiosk, the kiosk's key (read back from its provisioning image) signs its
//! exports, and `benchmark --keyring` counts the genuine ones and rejects every forgery with
//! exit 2, an error naming the file and the reason, and no figure changed.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use surveybench::ingest::respondents::HostResponse;
use surveybench::keyring::Keyring;
use surveybench::keys::Ed25519ph;
use surveybench_kernel::bundled::FFT;
use surveybench_kernel::export::{self, Header};
use surveybench_kernel::provision::Provision;
use surveybench_kernel::{HostTally, export::decode_into};
use tempfile::TempDir;

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("surveybench").expect("binary built").args(args).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A provisioned kiosk: its image read back as a kiosk would, and its signing key.
struct Kiosk {
    provision: Provision,
    key: SigningKey,
}

/// `surveybench keys new` into `dir` (keyring `dir/keyring.toml`), then the image read back.
fn provision(dir: &Path, device: &str, site: &str, period: &str) -> Kiosk {
    let before: Vec<PathBuf> = images(dir);
    let o = run(&["keys", "new", "--device", device, "--site", site, "--period", period, "--out", s(dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let image = images(dir).into_iter().find(|p| !before.contains(p)).expect("a new image");
    let provision = Provision::decode(&std::fs::read(&image).unwrap()).expect("image decodes");
    let key = SigningKey::from_bytes(&provision.seed);
    Kiosk { provision, key }
}

fn images(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "provision")).collect()
}

/// An `fft` tally of `n` responses, answer codes cycling from `first`.
fn tally(n: usize, first: u8) -> Box<HostTally<'static>> {
    let mut t = Box::new(HostTally::new(&FFT).unwrap());
    let mut r = HostResponse::new(&FFT).unwrap();
    for i in 0..n {
        r.reset();
        r.answer_id("FFT", 1 + (first + i as u8) % 5).unwrap();
        t.commit(&r).unwrap();
    }
    t
}

/// The kiosk's signed export of `t` with `sequence`, as one line.
fn export_of(kiosk: &Kiosk, t: &HostTally<'static>, sequence: u32) -> String {
    signed_as(&kiosk.key, &kiosk.provision.header().unwrap(), t, sequence)
}

/// An export with `header` and `sequence`, signed by `key` (whoever's it is).
fn signed_as(key: &SigningKey, header: &Header, t: &HostTally<'static>, sequence: u32) -> String {
    let header = Header { sequence, ..header.clone() };
    let mut out = Vec::new();
    export::stream_signed(t, &header, Ed25519ph::new(key), &mut out).unwrap();
    String::from_utf8(out).unwrap() + "\n"
}

/// The benchmark JSON without its per-input accounting, for comparing figures.
fn figures(o: &Output) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("benchmark JSON");
    json["national"].as_object_mut().map(|n| n.remove("inputs"));
    json
}

/// A clinic: kiosk `RT5-K1` at RT5 with 40 responses exported (sequence 1), and kiosk `RXX-K1`
/// at another trust, so that a forgery has something to change.
struct Clinic {
    dir: TempDir,
    k1: Kiosk,
    k2: Kiosk,
    exports: PathBuf,
}

impl Clinic {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let keys = dir.path().join("keys");
        let k1 = provision(&keys, "RT5-K1", "RT5", "2024");
        let k2 = provision(&keys, "RXX-K1", "RXX", "2024");
        let exports = dir.path().join("exports");
        std::fs::create_dir_all(&exports).unwrap();
        std::fs::write(exports.join("k1.json"), export_of(&k1, &tally(40, 0), 1)).unwrap();
        std::fs::write(exports.join("k2.json"), export_of(&k2, &tally(35, 2), 1)).unwrap();
        Self { dir, k1, k2, exports }
    }

    fn keyring(&self) -> PathBuf {
        self.dir.path().join("keys/keyring.toml")
    }

    fn benchmark(&self, extra: &[&Path], flags: &[&str]) -> Output {
        let keyring = self.keyring();
        let mut args = vec!["benchmark", "--instrument", "fft", "--keyring", s(&keyring)];
        args.extend_from_slice(flags);
        args.push(s(&self.exports));
        args.extend(extra.iter().map(|p| s(p)));
        run(&args)
    }

    /// Writes `text` as a further input file.
    fn forged(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Asserts that adding `text` as an input is an error naming the file and `reason`, exit
    /// 2, with every figure as without it.
    fn rejects(&self, name: &str, text: &str, reason: &str) {
        let baseline = self.benchmark(&[], &[]);
        assert!(baseline.status.success(), "{}", stderr(&baseline));
        let path = self.forged(name, text);
        let o = self.benchmark(&[&path], &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        let line = err
            .lines()
            .find(|l| l.contains(s(&path)))
            .unwrap_or_else(|| panic!("{name}: file not named: {err}"));
        assert!(line.starts_with("error: ") && line.contains(reason), "{name}: want `{reason}` in: {line}");
        assert_eq!(figures(&o), figures(&baseline), "{name}: a rejected export changed a figure");
    }
}

#[test]
fn keys_new_makes_an_image_the_kernel_reads_and_a_keyring_entry_for_its_public_key() {
    let dir = TempDir::new().unwrap();
    let kiosk = provision(dir.path(), "RT5-K1", "RT5", "2024");
    let p = &kiosk.provision;
    assert_eq!((p.device.as_str(), p.site.as_str(), p.period.as_str()), ("RT5-K1", "RT5", "2024"));
    assert_eq!(kiosk.key.verifying_key().to_bytes(), p.public, "the image's public key is its seed's");
    let image = dir.path().join(format!("RT5-K1-{}.provision", p.key_id));
    assert_eq!(std::fs::metadata(&image).unwrap().len(), 160);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&image).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the image holds a private key: owner only, not {mode:o}");
    }
    let ring = std::fs::read_to_string(dir.path().join("keyring.toml")).unwrap();
    assert!(ring.contains(&format!("id = \"{}\"", p.key_id)), "{ring}");
    assert!(ring.contains(&surveybench::keyring::hex(&p.public)), "{ring}");
    assert!(!ring.contains(&surveybench::keyring::hex(&p.seed)), "the keyring must hold no private key");
    // A second key for the same device (rotation) is added beside the first.
    let newer = provision(dir.path(), "RT5-K1", "RT5", "2024");
    assert_ne!(newer.provision.key_id, p.key_id);
    let ring = std::fs::read_to_string(dir.path().join("keyring.toml")).unwrap();
    assert_eq!(ring.matches("device = \"RT5-K1\"").count(), 2, "{ring}");
    // Bad input is refused before anything is written.
    let o = run(&[
        "keys",
        "new",
        "--device",
        "has space",
        "--site",
        "RT5",
        "--period",
        "2024",
        "--out",
        s(dir.path()),
    ]);
    assert!(!o.status.success());
    assert_eq!(images(dir.path()).len(), 2);
}

#[test]
fn genuine_signed_exports_count_and_an_older_genuine_one_is_superseded() {
    let c = Clinic::new();
    let o = c.benchmark(&[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let trusts: Vec<&str> =
        json["trusts"].as_array().unwrap().iter().map(|t| t["trust"].as_str().unwrap()).collect();
    assert_eq!(trusts, ["RT5", "RXX"]);
    assert!(json["national"]["inputs"].as_array().unwrap().iter().all(|i| i["unsigned"] == 0));
    // A later genuine export (more responses) wins; replaying the older one changes nothing.
    let newer = c.forged("k1-seq2.json", &export_of(&c.k1, &tally(60, 1), 2));
    let older = c.forged("k1-seq1-again.json", &std::fs::read_to_string(c.exports.join("k1.json")).unwrap());
    let with_newer = c.benchmark(&[&newer], &[]);
    let replayed = c.benchmark(&[&newer, &older], &[]);
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    assert_eq!(figures(&replayed), figures(&with_newer));
    assert!(stderr(&replayed).contains("superseded by sequence 2"), "{}", stderr(&replayed));
    assert_ne!(figures(&with_newer), figures(&c.benchmark(&[], &[])), "the newer export must count");
}

#[test]
fn changed_counts_a_raised_sequence_and_a_moved_site_or_period_break_the_signature() {
    let c = Clinic::new();
    let genuine = std::fs::read_to_string(c.exports.join("k1.json")).unwrap();
    let raised = genuine.replace("\"sequence\":1,", "\"sequence\":4294967295,");
    c.rejects("raised.json", &raised, "bad signature");
    // Forty answers spread 8 to an option; the forger moves eight from "Good" to "Very good",
    // keeping every total consistent so that only the signature can tell.
    let counts = genuine.replacen("[8,8,8,8,8,0]", "[16,0,8,8,8,0]", 1);
    assert_ne!(counts, genuine);
    let mut t = Box::new(HostTally::new(&FFT).unwrap());
    assert!(decode_into(counts.trim_end().as_bytes(), &mut *t).is_ok(), "the forgery is a consistent export");
    c.rejects("counts.json", &counts, "bad signature");
    c.rejects("site.json", &genuine.replace("\"site\":\"RT5\"", "\"site\":\"RXX\""), "bad signature");
    c.rejects("period.json", &genuine.replace("\"period\":\"2024\"", "\"period\":\"2025\""), "bad signature");
    // Edits that make a bigger tally: the forger's aim.
    let bigger = export_of(&c.k1, &tally(200, 0), 1);
    let swapped = format!(
        "{}{}",
        &bigger[..bigger.rfind(",\"signature\"").unwrap()],
        &genuine[genuine.rfind(",\"signature\"").unwrap()..]
    );
    c.rejects("swapped.json", &swapped, "bad signature");
}

#[test]
fn another_devices_key_a_truncated_signature_and_unlisted_devices_are_rejected() {
    let c = Clinic::new();
    let h1 = c.k1.provision.header().unwrap();
    // RXX-K1's key signs an export claiming to be RT5-K1, naming RT5-K1's key id...
    c.rejects("k2-as-k1.json", &signed_as(&c.k2.key, &h1, &tally(90, 0), 7), "bad signature");
    // ...or naming its own key id, which RT5-K1 does not have.
    let own = h1.clone().signed_by(&c.k2.provision.key_id).unwrap();
    c.rejects("k2-id.json", &signed_as(&c.k2.key, &own, &tally(90, 0), 7), "has no key");
    // A device the keyring has never heard of.
    let stranger = Header::new("RT5-K9", "RT5", "2024", 1).unwrap().signed_by("0011223344556677").unwrap();
    c.rejects(
        "stranger.json",
        &signed_as(&SigningKey::from_bytes(&[5; 32]), &stranger, &tally(90, 0), 1),
        "not in the keyring",
    );
    // A truncated signature.
    let genuine = std::fs::read_to_string(c.exports.join("k1.json")).unwrap();
    let cut = genuine.trim_end().len() - 4;
    c.rejects("truncated.json", &format!("{}\"}}\n", &genuine[..cut]), "signature: not 128 hex digits");
    // The signature of another export of the same kiosk.
    let other = export_of(&c.k1, &tally(90, 3), 2);
    let foreign = format!(
        "{}{}",
        &genuine[..genuine.rfind(",\"signature\"").unwrap()],
        &other[other.rfind(",\"signature\"").unwrap()..]
    );
    c.rejects("foreign-signature.json", &foreign, "bad signature");
}

#[test]
fn the_keyring_decides_site_period_and_revocation_even_for_good_signatures() {
    let c = Clinic::new();
    let h1 = c.k1.provision.header().unwrap();
    // Genuinely signed by RT5-K1's key, but for a site or period the keyring does not allow
    // (a kiosk moved without being re-provisioned, or an old image).
    let moved = Header::new("RT5-K1", "RXX", "2024", 5).unwrap().signed_by(&h1.key.clone().unwrap()).unwrap();
    c.rejects("moved.json", &signed_as(&c.k1.key, &moved, &tally(90, 0), 5), "may report site RT5 only");
    let later = Header::new("RT5-K1", "RT5", "2025", 5).unwrap().signed_by(&h1.key.clone().unwrap()).unwrap();
    c.rejects("later.json", &signed_as(&c.k1.key, &later, &tally(90, 0), 5), "may not report period 2025");
    // Revoked: even the genuine export no longer counts.
    let ring = std::fs::read_to_string(c.keyring()).unwrap();
    let at = ring.find(&format!("id = \"{}\"", c.k1.provision.key_id)).unwrap();
    let revoked = format!("{}{}", &ring[..at], ring[at..].replacen("revoked = false", "revoked = true", 1));
    std::fs::write(c.keyring(), revoked).unwrap();
    let o = c.benchmark(&[], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("key {} of device RT5-K1 is revoked", c.k1.provision.key_id)),
        "{}",
        stderr(&o)
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["trusts"].as_array().unwrap().len(), 1, "only RXX is left");
}

#[test]
fn a_rotated_key_counts_beside_the_old_one_until_the_old_one_is_revoked() {
    let c = Clinic::new();
    let keys = c.dir.path().join("keys");
    let newer = provision(&keys, "RT5-K1", "RT5", "2024");
    let seq2 = c.forged("k1-new-key.json", &export_of(&newer, &tally(60, 1), 2));
    let o = c.benchmark(&[&seq2], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("superseded by sequence 2"), "{}", stderr(&o));
    // Revoking the old key loses nothing: the new key's export holds every response.
    let ring = std::fs::read_to_string(c.keyring()).unwrap();
    let at = ring.find(&format!("id = \"{}\"", c.k1.provision.key_id)).unwrap();
    std::fs::write(
        c.keyring(),
        format!("{}{}", &ring[..at], ring[at..].replacen("revoked = false", "revoked = true", 1)),
    )
    .unwrap();
    let after = c.benchmark(&[&seq2], &[]);
    assert_eq!(after.status.code(), Some(2), "the old export is now an error");
    assert_eq!(figures(&after), figures(&o));
}

#[test]
fn unsigned_exports_count_only_with_allow_unsigned_and_are_recorded() {
    let c = Clinic::new();
    let mut buf = vec![0; export::max_encoded_len(&FFT)];
    let header = Header::new("OLD-K1", "ROLD", "2024", 3).unwrap();
    let n = export::encode(&*tally(45, 4), &header, &mut buf).unwrap();
    let unsigned = String::from_utf8_lossy(&buf[..n]).into_owned() + "\n";
    c.rejects("unsigned.json", &unsigned, "unsigned export (format version 1)");
    let path = c.dir.path().join("unsigned.json");
    let o = c.benchmark(&[&path], &["--allow-unsigned"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 unsigned export(s) admitted by --allow-unsigned"), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let inputs = json["national"]["inputs"].as_array().unwrap();
    let mine = inputs.iter().find(|i| i["path"].as_str().unwrap().ends_with("unsigned.json")).unwrap();
    assert_eq!((mine["unsigned"].as_u64(), mine["used"].as_u64()), (Some(1), Some(1)));
    assert!(json["trusts"].as_array().unwrap().iter().any(|t| t["trust"] == "ROLD"));
    // --allow-unsigned admits unsigned exports only: a forgery stays an error.
    let genuine = std::fs::read_to_string(c.exports.join("k1.json")).unwrap();
    let raised = c.forged("raised.json", &genuine.replace("\"sequence\":1,", "\"sequence\":9,"));
    let o = c.benchmark(&[&raised], &["--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn without_a_keyring_a_signed_export_cannot_count() {
    let c = Clinic::new();
    let o = run(&["benchmark", "--instrument", "fft", "--allow-unsigned", s(&c.exports)]);
    assert_eq!(o.status.code(), Some(1), "no usable input: {}", stderr(&o));
    assert!(stderr(&o).contains("no keyring was given"), "{}", stderr(&o));
}

#[test]
fn a_malformed_keyring_is_refused_before_any_input_is_read() {
    let c = Clinic::new();
    let ring = std::fs::read_to_string(c.keyring()).unwrap();
    let bad_id =
        ring.replacen(&format!("id = \"{}\"", c.k1.provision.key_id), "id = \"0000000000000000\"", 1);
    std::fs::write(c.keyring(), bad_id).unwrap();
    let o = c.benchmark(&[], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not the id of its public key"), "{}", stderr(&o));
    let o =
        run(&["benchmark", "--instrument", "fft", "--keyring", "/nonexistent/keyring.toml", s(&c.exports)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("keyring not found"), "{}", stderr(&o));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Flipping any bits of any one byte of a signed export gets it rejected: it no longer
    /// decodes, or the keyring no longer verifies it.
    #[test]
    fn every_flipped_byte_of_a_signed_export_is_rejected(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let (ring, export) = flip_fixture();
        let mut bytes = export.trim_end().as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let mut t = Box::new(HostTally::new(&FFT).unwrap());
        let accepted = decode_into(&bytes, &mut *t).is_ok_and(|h| ring.verify(&bytes, &h).is_ok());
        prop_assert!(!accepted, "byte {} ^ {:#04x} accepted", i, mask);
    }
}

/// One keyring and one genuine export for every case of the proptest (made once).
fn flip_fixture() -> &'static (Keyring, String) {
    static FIXTURE: std::sync::OnceLock<(Keyring, String)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = TempDir::new().unwrap().keep();
        let kiosk = provision(&dir, "RT5-K1", "RT5", "2024");
        let export = export_of(&kiosk, &tally(40, 0), 1);
        let ring = Keyring::load(&[dir.join("keyring.toml")]).unwrap();
        let mut t = Box::new(HostTally::new(&FFT).unwrap());
        let h = decode_into(export.trim_end().as_bytes(), &mut *t).unwrap();
        assert_eq!(ring.verify(export.trim_end().as_bytes(), &h), Ok(()), "the genuine export verifies");
        (ring, export)
    })
}
