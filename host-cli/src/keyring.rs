//! The keyring: which kiosks may report, with which public keys, for which site and periods
//! (docs/formats.md §10), and the check every signed export must pass before it counts.
//!
//! The analyst's side holds public keys only. A device may have several keys (an old and a new
//! one after rotation); each export names the key that signed it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ed25519_dalek::{Signature, VerifyingKey};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use surveybench_kernel::export::{self, Header, signed::CONTEXT};

/// The `format` line of every keyring file.
pub const FORMAT: &str = "surveybench-keyring";
/// The keyring file version this build reads and writes.
pub const VERSION: u32 = 1;

/// A keyring file as written: a format line, a version and one `[[key]]` table per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The keys, in the order added.
    #[serde(default, rename = "key")]
    pub keys: Vec<Entry>,
}

/// One device key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The device the key belongs to.
    pub device: String,
    /// The key id: [`key_id`] of the public key.
    pub id: String,
    /// The Ed25519 public key, 64 lower-case hex digits.
    pub public_key: String,
    /// The only site (trust code) the device may report.
    pub site: String,
    /// The survey periods the device may report.
    pub periods: Vec<String>,
    /// A revoked key signs nothing that counts, however old.
    #[serde(default)]
    pub revoked: bool,
}

/// A checked key: its entry, its parsed public key, and the file it came from.
#[derive(Clone, Debug)]
struct Key {
    entry: Entry,
    public: VerifyingKey,
    file: PathBuf,
}

/// Every key of one or more keyring files, by device and key id.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: BTreeMap<(String, String), Key>,
    files: Vec<PathBuf>,
}

/// The key id of an Ed25519 public key: the first 8 bytes of its SHA-256, as 16 lower-case hex
/// digits.
#[must_use]
pub fn key_id(public: &[u8; 32]) -> String {
    hex(&Sha256::digest(public)[..8])
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// 32 bytes from 64 lower-case hex digits.
fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl File {
    /// An empty keyring file.
    #[must_use]
    pub fn new() -> Self {
        Self { format: FORMAT.to_owned(), version: VERSION, keys: Vec::new() }
    }

    /// Reads a keyring file, or an empty one when `path` does not exist yet.
    ///
    /// # Errors
    /// The file cannot be read or is not a keyring.
    pub fn load_or_new(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Ok(Self::new());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let file: File =
            toml::from_str(&text).with_context(|| format!("{}: not a keyring", path.display()))?;
        if file.format != FORMAT || file.version != VERSION {
            bail!("{}: not a {FORMAT} version {VERSION} file", path.display());
        }
        Ok(file)
    }

    /// The file as TOML, with a comment saying what it is.
    ///
    /// # Errors
    /// Never in practice (every field serialises).
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self).context("keyring as TOML")?;
        Ok(format!(
            "# surveybench keyring (docs/formats.md §10): public keys only; keep it where exports cannot\n\
             # change it. Revoke a key with `revoked = true`.\n{body}"
        ))
    }
}

impl Keyring {
    /// Loads and checks keyring files, merged. A key listed in two files must be listed the
    /// same in both.
    ///
    /// # Errors
    /// A file cannot be read or is not a keyring; a key is malformed, its id is not its public
    /// key's, or it is listed twice differently; a device or site is not plain.
    pub fn load(paths: &[PathBuf]) -> Result<Self> {
        let mut ring = Keyring::default();
        for path in paths {
            if !path.exists() {
                bail!("{}: keyring not found", path.display());
            }
            let file = File::load_or_new(path)?;
            // Each key is checked on its own (a point decompression each), in parallel.
            let checked: Vec<Result<VerifyingKey>> = file.keys.par_iter().map(public_key).collect();
            for (n, (entry, public)) in file.keys.into_iter().zip(checked).enumerate() {
                let context = || format!("{}: key {}", path.display(), n + 1);
                ring.add(path, entry, public.with_context(context)?).with_context(context)?;
            }
            ring.files.push(path.clone());
        }
        Ok(ring)
    }

    fn add(&mut self, path: &Path, entry: Entry, public: VerifyingKey) -> Result<()> {
        for (what, value) in [("device", entry.device.as_str()), ("site", entry.site.as_str())] {
            if !export::is_plain(value) {
                bail!("{what} `{value}` is empty or not plain (A-Z a-z 0-9 - _ . : /)");
            }
        }
        let slot = (entry.device.clone(), entry.id.clone());
        if let Some(first) = self.keys.get(&slot) {
            if first.entry != entry {
                bail!(
                    "device {} key {} is listed differently in {}",
                    entry.device,
                    entry.id,
                    first.file.display()
                );
            }
            return Ok(());
        }
        self.keys.insert(slot, Key { entry, public, file: path.to_owned() });
        Ok(())
    }

    /// Whether no file was given.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Checks a decoded export (`bytes`, the document without surrounding white space, and the
    /// `header` it decoded to) against the keyring: the device and key are listed, the key is
    /// not revoked, the signature is good, and the site and period are allowed.
    ///
    /// # Errors
    /// Why the export must not count, in words naming the device, key and keyring.
    pub fn verify(&self, bytes: &[u8], header: &Header) -> Result<(), String> {
        let device = header.device.as_str();
        let Some(key_id) = header.key.as_deref() else {
            return Err("unsigned export (version 1)".to_owned());
        };
        let listed = || self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        if !self.keys.keys().any(|(d, _)| d == device) {
            return Err(format!("device {device} is not in the keyring ({})", listed()));
        }
        let Some(key) = self.keys.get(&(device.to_owned(), key_id.to_owned())) else {
            return Err(format!("device {device} has no key {key_id} in the keyring ({})", listed()));
        };
        if key.entry.revoked {
            return Err(format!("key {key_id} of device {device} is revoked ({})", key.file.display()));
        }
        let sealed = export::split(bytes).map_err(|e| e.to_string())?;
        let signature = Signature::from_bytes(&sealed.signature);
        let digest = Sha512::new_with_prefix(sealed.message);
        if key.public.verify_prehashed_strict(digest, Some(CONTEXT), &signature).is_err() {
            return Err(format!(
                "bad signature: the export was changed after signing, or not signed by key {key_id} of device {device}"
            ));
        }
        if header.site.as_str() != key.entry.site {
            return Err(format!(
                "device {device} may report site {} only, not {} ({})",
                key.entry.site,
                header.site.as_str(),
                key.file.display()
            ));
        }
        if !key.entry.periods.iter().any(|p| p == header.period.as_str()) {
            return Err(format!(
                "device {device} may not report period {} (the keyring allows {}; {})",
                header.period.as_str(),
                key.entry.periods.join(", "),
                key.file.display()
            ));
        }
        Ok(())
    }
}

/// The public key of `entry`, checked: a valid, not weak Ed25519 point whose id is `entry.id`.
fn public_key(entry: &Entry) -> Result<VerifyingKey> {
    let bytes = unhex32(&entry.public_key).context("public_key is not 64 lower-case hex digits")?;
    let public = VerifyingKey::from_bytes(&bytes).ok().context("public_key is not an Ed25519 point")?;
    if public.is_weak() {
        bail!("public_key is a weak (small-order) key");
    }
    if entry.id != key_id(&bytes) {
        bail!("id {} is not the id of its public key ({})", entry.id, key_id(&bytes));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_the_sha256_prefix_of_the_public_key() {
        // SHA-256 of 32 zero bytes begins 66687aadf862bd77 (sha256sum of /dev/zero's first 32 bytes).
        assert_eq!(key_id(&[0; 32]), "66687aadf862bd77");
    }

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(unhex32(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex32(&hex(&bytes).to_uppercase()), None);
        assert_eq!(unhex32("00"), None);
    }
}
