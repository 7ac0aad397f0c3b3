//! The test kiosk's provisioning: the image that every QEMU run of the kiosk gets at its
//! provisioning region (`KIOSK_PROVISION`), made with the kernel's `Provision` and a key that
//! ed25519-dalek derives, independently of the firmware's salty; and what checks the kiosk's
//! signed exports against it.
//!
//! The key is **test-only**: its seed, [`SEED`], is in this source, so anything it signs proves
//! nothing. The key id follows the rule `surveybench keys new` uses: the first 8 bytes of the
//! SHA-256 of the public key, as 16 lower-case hex digits.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha512};
use surveybench_kernel::HostTally;
use surveybench_kernel::export::signed::{CONTEXT, SIGNATURE_LEN, Signer};
use surveybench_kernel::export::{Header, Sink, split, stream_signed};
use surveybench_kernel::provision::{IMAGE_LEN, Provision};

/// The secret seed of the test kiosk's key. Test-only: never provision a real kiosk with it.
pub const SEED: [u8; 32] = *b"surveybench QEMU test kiosk key!";
/// The test kiosk's device id.
pub const DEVICE: &str = "qemu-kiosk-1";
/// The site (trust code) it reports for.
pub const SITE: &str = "RT5";
/// The survey period it reports for.
pub const PERIOD: &str = "2024";
/// The name of the image file [`write_image`] writes.
pub const FILE: &str = "test-kiosk-provision.bin";
/// The name of the keyring file [`write_keyring`] writes.
pub const KEYRING: &str = "test-kiosk-keyring.toml";

/// The test kiosk's signing key.
#[must_use]
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&SEED)
}

/// The test kiosk's public key.
#[must_use]
pub fn public_key() -> VerifyingKey {
    signing_key().verifying_key()
}

/// The id of the key `public`: the first 8 bytes of its SHA-256, in lower-case hex.
#[must_use]
pub fn key_id(public: &VerifyingKey) -> String {
    let digest = Sha256::digest(public.as_bytes());
    digest.iter().take(8).fold(String::with_capacity(16), |mut id, b| {
        let _ = write!(id, "{b:02x}");
        id
    })
}

/// The test kiosk's provisioning image.
///
/// # Panics
/// Never: the fields are plain and fit their slots.
#[must_use]
pub fn image() -> [u8; IMAGE_LEN] {
    let public = public_key();
    Provision::new(DEVICE, SITE, PERIOD, &key_id(&public), SEED, public.to_bytes())
        .expect("the test provisioning's fields are plain")
        .encode()
}

/// Writes [`image`] to `dir`/[`FILE`] (creating `dir`) and returns its path, for
/// `KIOSK_PROVISION`.
///
/// # Errors
/// The folder or the file could not be written.
pub fn write_image(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(FILE);
    std::fs::write(&path, image()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Writes the analyst's keyring for the test kiosk (docs/formats.md §10: its device, key id,
/// public key, site and period) to `dir`/[`KEYRING`] and returns its path, for `--keyring`.
///
/// # Errors
/// The folder or the file could not be written.
pub fn write_keyring(dir: &Path) -> Result<PathBuf, String> {
    let public = public_key();
    let hex = public.as_bytes().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    let text = format!(
        "format = \"surveybench-keyring\"\nversion = 1\n\n[[key]]\ndevice = \"{DEVICE}\"\nid = \"{}\"\n\
         public_key = \"{hex}\"\nsite = \"{SITE}\"\nperiods = [\"{PERIOD}\"]\n",
        key_id(&public)
    );
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(KEYRING);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Whether `export` is a signed export whose signature the test kiosk's public key verifies
/// (Ed25519ph with the export context over the SHA-512 of the document before `"signature"`).
#[must_use]
pub fn verifies(export: &[u8]) -> bool {
    let Ok(sealed) = split(export) else { return false };
    let hash = Sha512::new_with_prefix(sealed.message);
    let signature = Signature::from_bytes(&sealed.signature);
    public_key().verify_prehashed_strict(hash, Some(CONTEXT), &signature).is_ok()
}

/// The signed export of `tally` under `header` (which names a key), signed by the test key:
/// what the test kiosk writes for that tally, byte for byte, as Ed25519 is deterministic.
///
/// # Panics
/// When `header` names no key or is not plain.
#[must_use]
pub fn signed_export(tally: &HostTally<'_>, header: &Header) -> String {
    let mut out = Bytes(Vec::new());
    let signer = Dalek { key: signing_key(), hash: Sha512::new() };
    stream_signed(tally, header, signer, &mut out).expect("a header with a key");
    String::from_utf8(out.0).expect("exports are ASCII")
}

/// ed25519-dalek's Ed25519ph as an export signer.
struct Dalek {
    key: SigningKey,
    hash: Sha512,
}

impl Signer for Dalek {
    fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    fn sign(self) -> [u8; SIGNATURE_LEN] {
        self.key.sign_prehashed(self.hash, Some(CONTEXT)).expect("the context is short").to_bytes()
    }
}

struct Bytes(Vec<u8>);

impl Sink for Bytes {
    type Error = std::convert::Infallible;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_the_test_kiosks_and_its_key_id_is_the_public_keys_hash() {
        let image = image();
        let p = Provision::decode(&image).unwrap();
        assert_eq!((p.device.as_str(), p.site.as_str(), p.period.as_str()), (DEVICE, SITE, PERIOD));
        assert_eq!(p.public, public_key().to_bytes());
        assert_eq!(p.key_id.len(), 16);
        assert!(p.key_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let digest = Sha256::digest(public_key().as_bytes());
        assert_eq!(u64::from_str_radix(&p.key_id, 16).unwrap().to_be_bytes(), digest[..8]);
    }

    #[test]
    fn a_signed_export_verifies_and_a_changed_one_does_not() {
        let tally = HostTally::new(&surveybench_kernel::bundled::FFT).unwrap();
        let header = Header::new(DEVICE, SITE, PERIOD, 1).unwrap().signed_by(&key_id(&public_key())).unwrap();
        let text = signed_export(&tally, &header);
        assert!(verifies(text.as_bytes()), "{text}");
        assert!(!verifies(text.replacen("\"sequence\":1", "\"sequence\":2", 1).as_bytes()));
    }
}
