//! The kiosk's signing key: read from its provisioning image (the kernel's `provision`, which
//! the board finds in its own flash region), checked, and used to sign every export with
//! Ed25519ph and the export context (the kernel's `export::signed`, docs/formats.md §2).
//!
//! A [`Key`] holds no secret: it keeps where the image is, the export header the image gives
//! (device, site, period, key id) and the public key, which [`Key::from_image`] derives from the
//! seed once, at boot, to check that it is the image's. Each export reads the seed again from
//! the image ([`Key::signer`]) into salty's secret key, which clears itself when the signature
//! is made; the decoded copy of the seed is cleared at once. So the seed is in RAM only while
//! an export is written, and never in a log: nothing here formats it.

use core::fmt;

use salty::{Keypair, PublicKey, SecretKey, Sha512};
use surveybench_kernel::export::signed::{CONTEXT, SIGNATURE_LEN, Signer};
use surveybench_kernel::export::{ExportError, Header};
use surveybench_kernel::provision::{PUBLIC_LEN, Provision, ProvisionError};
use zeroize::Zeroize;

/// A provisioned kiosk's key and identity, from the provisioning image at `'r`.
#[derive(Clone)]
pub struct Key<'r> {
    image: &'r [u8],
    header: Header,
    public: PublicKey,
}

impl<'r> Key<'r> {
    /// The key of the provisioning image at the start of `image` (a flash region may be
    /// longer than the image): decodes it, derives the public key from its seed and checks that
    /// it is the image's.
    ///
    /// # Errors
    /// What [`Provision::decode`] finds ([`ProvisionError::Blank`] for erased flash), or
    /// [`ProvisionError::KeyMismatch`] when the public key is not the seed's.
    pub fn from_image(image: &'r [u8]) -> Result<Self, ProvisionError> {
        let (secret, provision) = secret(image)?;
        let public = PublicKey::from(&secret);
        drop(secret);
        if *public.as_bytes() != provision.public {
            return Err(ProvisionError::KeyMismatch);
        }
        let header = provision.header().map_err(|e| match e {
            ExportError::Header(field) => ProvisionError::Field(field),
            _ => ProvisionError::Magic,
        })?;
        Ok(Self { image, header, public })
    }

    /// The header of this kiosk's exports: its device, site, period and key id (sequence 0).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The key id, as in every export it signs.
    pub fn id(&self) -> &str {
        self.header.key.as_deref().unwrap_or_default()
    }

    /// The Ed25519 public key.
    pub fn public(&self) -> &[u8; PUBLIC_LEN] {
        self.public.as_bytes()
    }

    /// A signer for one export: the seed read again from the image, and a running SHA-512 of
    /// the message.
    ///
    /// # Errors
    /// The image no longer decodes, or now holds another key than at boot.
    // Not inlined: the decoded image's temporaries then take no room in the export's frame.
    #[inline(never)]
    pub fn signer(&self) -> Result<Signing, ProvisionError> {
        let (secret, provision) = secret(self.image)?;
        if provision.public != *self.public.as_bytes() {
            return Err(ProvisionError::KeyMismatch);
        }
        Ok(Signing { keypair: Keypair { secret, public: self.public.clone() }, hash: Sha512::new() })
    }
}

/// Everything but the image, which holds the seed.
impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("header", &self.header)
            .field("public", self.public.as_bytes())
            .finish_non_exhaustive()
    }
}

/// The secret key of the image in `image`, and the image's provisioning with its seed cleared.
fn secret(image: &[u8]) -> Result<(SecretKey, Provision), ProvisionError> {
    let mut provision = Provision::decode(image)?;
    let secret = SecretKey::from(&provision.seed);
    provision.seed.zeroize();
    Ok((secret, provision))
}

/// Signs one export: SHA-512 of the bytes given, then Ed25519ph with the export context
/// ([`CONTEXT`]). Its secret key clears itself when it is dropped (salty's `ZeroizeOnDrop`).
///
/// The signer is `&mut Signing`, so that the kernel's export moves a reference instead of the
/// 456 bytes of key and hash state.
pub struct Signing {
    keypair: Keypair,
    hash: Sha512,
}

impl Signer for &mut Signing {
    fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    // Not inlined: signing's temporaries take room only while it signs.
    #[inline(never)]
    fn sign(self) -> [u8; SIGNATURE_LEN] {
        let digest = core::mem::take(&mut self.hash).finalize();
        self.keypair.sign_prehashed(&digest, Some(CONTEXT)).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, SigningKey};
    use sha2::{Digest, Sha512 as DalekSha512};
    use surveybench_kernel::bundled::CMH_2024;
    use surveybench_kernel::export::{Sink, split, stream_signed};
    use surveybench_kernel::provision::IMAGE_LEN;

    use super::*;
    use crate::KioskTally;

    const SEED: [u8; 32] = [0x5A; 32];

    fn image_of(seed: [u8; 32], public: [u8; 32]) -> [u8; IMAGE_LEN] {
        Provision::new("kiosk-07", "RT5", "2024", "0011223344556677", seed, public).unwrap().encode()
    }

    fn image() -> [u8; IMAGE_LEN] {
        image_of(SEED, SigningKey::from_bytes(&SEED).verifying_key().to_bytes())
    }

    struct Bytes(Vec<u8>);

    impl Sink for Bytes {
        type Error = ();
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
    }

    /// Verifies a signed export with ed25519-dalek against the public key of `SEED`.
    fn verifies(bytes: &[u8]) -> bool {
        let Ok(sealed) = split(bytes) else { return false };
        let hash = DalekSha512::new_with_prefix(sealed.message);
        let signature = Signature::from_bytes(&sealed.signature);
        let public = SigningKey::from_bytes(&SEED).verifying_key();
        public.verify_prehashed_strict(hash, Some(CONTEXT), &signature).is_ok()
    }

    fn signed_export(key: &Key<'_>) -> Vec<u8> {
        let mut tally = Box::new(KioskTally::new(&CMH_2024).unwrap());
        tally.record_abandoned().unwrap();
        let header = Header { sequence: 3, ..key.header().clone() };
        let mut out = Bytes(Vec::new());
        stream_signed(&*tally, &header, &mut key.signer().unwrap(), &mut out).unwrap();
        out.0
    }

    #[test]
    fn a_signed_export_verifies_with_an_independent_ed25519ph() {
        let image = image();
        let key = Key::from_image(&image).unwrap();
        assert_eq!(key.id(), "0011223344556677");
        assert_eq!((key.header().device.as_str(), key.header().site.as_str()), ("kiosk-07", "RT5"));
        assert_eq!(*key.public(), SigningKey::from_bytes(&SEED).verifying_key().to_bytes());
        let bytes = signed_export(&key);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains("\"version\":2,") && text.contains("\"key\":\"0011223344556677\""), "{text}");
        assert!(verifies(&bytes), "{text}");
    }

    #[test]
    fn a_flipped_byte_fails_verification() {
        let image = image();
        let bytes = signed_export(&Key::from_image(&image).unwrap());
        for at in [1, bytes.len() / 2, bytes.len() - 140, bytes.len() - 3] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            assert!(!verifies(&bad), "flipped byte {at} still verifies");
        }
    }

    #[test]
    fn a_signature_is_that_of_the_whole_message_hashed_in_any_pieces() {
        let image = image();
        let key = Key::from_image(&image).unwrap();
        let message: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = {
            let mut signing = key.signer().unwrap();
            let mut s = &mut signing;
            s.update(&message);
            s.sign()
        };
        // SHA-512 blocks are 128 bytes: pieces that cross, fill and straddle them.
        let pieces = {
            let mut signing = key.signer().unwrap();
            let mut s = &mut signing;
            for chunk in message.chunks(1).take(5).chain(message[5..].chunks(127)) {
                s.update(chunk);
            }
            s.sign()
        };
        assert_eq!(whole, pieces);
        let hash = DalekSha512::new_with_prefix(&message);
        let dalek = SigningKey::from_bytes(&SEED).sign_prehashed(hash, Some(CONTEXT)).unwrap();
        assert_eq!(whole, dalek.to_bytes(), "Ed25519 is deterministic: the same signature as dalek's");
    }

    #[test]
    fn an_image_whose_public_key_is_not_the_seeds_is_refused() {
        let other = SigningKey::from_bytes(&[0x11; 32]).verifying_key().to_bytes();
        let image = image_of(SEED, other);
        assert_eq!(Key::from_image(&image).unwrap_err(), ProvisionError::KeyMismatch);
    }

    #[test]
    fn erased_flash_is_blank_and_a_damaged_image_is_refused() {
        let region = [0xFF; 4096];
        assert_eq!(Key::from_image(&region).unwrap_err(), ProvisionError::Blank);
        let mut image = image();
        image[100] ^= 0x04;
        assert_eq!(Key::from_image(&image).unwrap_err(), ProvisionError::Checksum);
    }

    #[test]
    fn a_key_in_a_longer_region_reads_the_same() {
        let mut region = [0xFF; 4096];
        region[..IMAGE_LEN].copy_from_slice(&image());
        let key = Key::from_image(&region).unwrap();
        assert!(verifies(&signed_export(&key)));
    }

    #[test]
    fn an_image_changed_after_boot_signs_nothing() {
        let first = image();
        let booted = Key::from_image(&first).unwrap();
        // Another valid image in its place, as if the kiosk were reprovisioned while it runs.
        let seed = [0x22; 32];
        let second = image_of(seed, SigningKey::from_bytes(&seed).verifying_key().to_bytes());
        let moved = Key { image: &second, ..booted };
        assert_eq!(moved.signer().err(), Some(ProvisionError::KeyMismatch));
    }

    #[test]
    fn the_seed_is_never_printed() {
        let image = image();
        let text = format!("{:?}", Key::from_image(&image).unwrap());
        assert!(text.contains("kiosk-07"), "{text}");
        assert!(!text.contains("90, 90, 90"), "the seed (0x5A = 90) is printed: {text}");
    }
}
