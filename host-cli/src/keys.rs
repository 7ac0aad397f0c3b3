//! Device keys: `surveybench keys new` makes a kiosk's key pair, its provisioning image and its
//! keyring entry (docs/formats.md §9 and §10); simulated kiosks sign with the same code.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha512};
use surveybench_kernel::export::Signer;
use surveybench_kernel::export::signed::{CONTEXT, SIGNATURE_LEN};
use surveybench_kernel::provision::{IMAGE_LEN, Provision};

use crate::keyring::{self, Entry};
use crate::output;

/// A device key made: the signing key (kept only by the kiosk's image), the image, and the
/// keyring entry.
pub struct Made {
    /// The private key.
    pub signing: SigningKey,
    /// The provisioning image that carries it to the kiosk.
    pub image: [u8; IMAGE_LEN],
    /// The public half, for the keyring.
    pub entry: Entry,
}

/// Makes the key of `device` at `site`, reporting `period`, from a 32-byte secret `seed`.
///
/// # Errors
/// `device`, `site` or `period` is empty, too long or not plain.
pub fn make(seed: [u8; 32], device: &str, site: &str, period: &str) -> Result<Made> {
    let signing = SigningKey::from_bytes(&seed);
    let public = signing.verifying_key().to_bytes();
    let id = keyring::key_id(&public);
    let provision =
        Provision::new(device, site, period, &id, seed, public).map_err(|e| anyhow::anyhow!("{e}"))?;
    let entry = Entry {
        device: device.to_owned(),
        id,
        public_key: keyring::hex(&public),
        site: site.to_owned(),
        periods: vec![period.to_owned()],
        revoked: false,
    };
    Ok(Made { signing, image: provision.encode(), entry })
}

/// What `keys new` wrote.
pub struct Written {
    /// The key's id.
    pub id: String,
    /// The provisioning image (secret).
    pub image: PathBuf,
    /// The keyring it was added to.
    pub keyring: PathBuf,
}

/// `surveybench keys new`: a fresh key from the operating system's random source, its image as
/// `DIR/<device>-<key id>.provision` (never replacing a file) and its entry added to `keyring`
/// (by default `DIR/keyring.toml`, created if missing).
///
/// # Errors
/// Bad device, site or period; the image or keyring cannot be written; the keyring is not one.
pub fn new(device: &str, site: &str, period: &str, dir: &Path, keyring: Option<&Path>) -> Result<Written> {
    let mut seed = [0u8; 32];
    getrandom(&mut seed)?;
    let made = make(seed, device, site, period)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let ring_path = keyring.map_or_else(|| dir.join("keyring.toml"), Path::to_owned);
    let mut ring = keyring::File::load_or_new(&ring_path)?;
    if ring.keys.iter().any(|k| k.id == made.entry.id) {
        bail!("{}: already has key {}", ring_path.display(), made.entry.id);
    }
    let name = format!("{}-{}.provision", output::file_name_part(device), made.entry.id);
    let image = dir.join(name);
    match output::write_new_secret(&image, &made.image)? {
        output::NewFile::Written => {}
        _ => bail!("{}: already exists; not replaced", image.display()),
    }
    let id = made.entry.id.clone();
    ring.keys.push(made.entry);
    output::write(&ring_path, ring.to_toml()?.as_bytes())?;
    Ok(Written { id, image, keyring: ring_path })
}

/// Fills `seed` from the operating system's random source.
fn getrandom(seed: &mut [u8; 32]) -> Result<()> {
    use rand::RngCore as _;
    rand::rngs::OsRng.try_fill_bytes(seed).context("no random source for the key")
}

/// Ed25519ph with the export context, fed a message in pieces: the host's export [`Signer`].
pub struct Ed25519ph<'k> {
    key: &'k SigningKey,
    hash: Sha512,
}

impl<'k> Ed25519ph<'k> {
    /// A signer with `key`.
    #[must_use]
    pub fn new(key: &'k SigningKey) -> Self {
        Self { key, hash: Sha512::new() }
    }
}

impl Signer for Ed25519ph<'_> {
    fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    fn sign(self) -> [u8; SIGNATURE_LEN] {
        // The context is 17 bytes, under Ed25519ph's limit of 255: signing cannot fail.
        self.key.sign_prehashed(self.hash, Some(CONTEXT)).map(|s| s.to_bytes()).unwrap_or([0; SIGNATURE_LEN])
    }
}
