//! The kiosk's provisioning image: who the kiosk is, where and for when it reports, and the key
//! it signs its exports with (docs/formats.md §9). `surveybench keys new` writes it; the
//! firmware reads it from its own flash region at boot, so no key is ever in the firmware's
//! source or binary.
//!
//! The image is [`IMAGE_LEN`] bytes: a magic, four length-prefixed text fields in fixed slots,
//! the Ed25519 secret seed and public key, and a CRC-32 of everything before it. Erased (all
//! `0xFF`) or empty (all `0x00`) flash is [`ProvisionError::Blank`]: a kiosk never provisioned.

use core::fmt;

use heapless::String;

use crate::crc::crc32;
use crate::export::{DEVICE_LEN, ExportError, Field, Header, KEY_ID_LEN, PERIOD_LEN, SITE_LEN, is_plain};

/// The first bytes of an image: the format and its version.
pub const MAGIC: [u8; 8] = *b"SBPROV01";
/// Bytes of an Ed25519 secret seed.
pub const SEED_LEN: usize = 32;
/// Bytes of an Ed25519 public key.
pub const PUBLIC_LEN: usize = 32;

/// Where each part of the image starts: magic, device, site, period, key id (each a length byte
/// and a zero-padded slot), seed, public key, CRC.
const DEVICE_AT: usize = MAGIC.len();
const SITE_AT: usize = DEVICE_AT + 1 + DEVICE_LEN;
const PERIOD_AT: usize = SITE_AT + 1 + SITE_LEN;
const KEY_AT: usize = PERIOD_AT + 1 + PERIOD_LEN;
const SEED_AT: usize = KEY_AT + 1 + KEY_ID_LEN;
const PUBLIC_AT: usize = SEED_AT + SEED_LEN;
const CRC_AT: usize = PUBLIC_AT + PUBLIC_LEN;

/// Bytes of an image (160).
pub const IMAGE_LEN: usize = CRC_AT + 4;

/// A kiosk's identity and signing key, as provisioned.
#[derive(Clone, PartialEq, Eq)]
pub struct Provision {
    /// Device id.
    pub device: String<DEVICE_LEN>,
    /// Site (trust code) the kiosk reports for.
    pub site: String<SITE_LEN>,
    /// Survey period it reports for.
    pub period: String<PERIOD_LEN>,
    /// Id of its key, as in the keyring and every export it signs.
    pub key_id: String<KEY_ID_LEN>,
    /// Ed25519 secret seed.
    pub seed: [u8; SEED_LEN],
    /// Ed25519 public key of `seed` (the firmware checks that it is).
    pub public: [u8; PUBLIC_LEN],
}

/// Why an image cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProvisionError {
    /// Erased or empty: the kiosk was never provisioned.
    Blank,
    /// Shorter than [`IMAGE_LEN`], or another format or version.
    Magic,
    /// The CRC does not match: the image is damaged.
    Checksum,
    /// A text field is empty, too long, or not plain (see [`is_plain`]).
    Field(Field),
    /// The public key is not the secret seed's (found by the firmware, which derives it).
    KeyMismatch,
}

impl fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blank => write!(f, "no provisioning image (the kiosk has no key)"),
            Self::Magic => write!(f, "not a provisioning image of this version"),
            Self::Checksum => write!(f, "provisioning image damaged (CRC mismatch)"),
            Self::Field(field) => write!(f, "provisioning image: bad {}", field.key()),
            Self::KeyMismatch => write!(f, "provisioning image: public key is not the seed's"),
        }
    }
}

impl core::error::Error for ProvisionError {}

impl fmt::Debug for Provision {
    /// Everything but the secret seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provision")
            .field("device", &self.device)
            .field("site", &self.site)
            .field("period", &self.period)
            .field("key_id", &self.key_id)
            .field("seed", &"<secret>")
            .finish_non_exhaustive()
    }
}

impl Provision {
    /// A provisioning, checking the text fields.
    ///
    /// # Errors
    /// [`ProvisionError::Field`] naming a field that is empty, too long or not plain.
    pub fn new(
        device: &str,
        site: &str,
        period: &str,
        key_id: &str,
        seed: [u8; SEED_LEN],
        public: [u8; PUBLIC_LEN],
    ) -> Result<Self, ProvisionError> {
        Ok(Self {
            device: text(device, Field::Device)?,
            site: text(site, Field::Site)?,
            period: text(period, Field::Period)?,
            key_id: text(key_id, Field::Key)?,
            seed,
            public,
        })
    }

    /// The image of this provisioning.
    #[must_use]
    pub fn encode(&self) -> [u8; IMAGE_LEN] {
        let mut image = [0u8; IMAGE_LEN];
        put(&mut image, 0, &MAGIC);
        for (at, value) in self.texts() {
            let len = u8::try_from(value.len()).unwrap_or(0);
            put(&mut image, at, &[len]);
            put(&mut image, at.saturating_add(1), value.as_bytes());
        }
        put(&mut image, SEED_AT, &self.seed);
        put(&mut image, PUBLIC_AT, &self.public);
        let crc = crc32(image.get(..CRC_AT).unwrap_or(&[]));
        put(&mut image, CRC_AT, &crc.to_le_bytes());
        image
    }

    /// Reads an image from the start of `bytes` (a flash region may be longer).
    ///
    /// # Errors
    /// See [`ProvisionError`]; [`ProvisionError::KeyMismatch`] is left to the caller, which
    /// holds the cryptography.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProvisionError> {
        let image = bytes.get(..IMAGE_LEN).ok_or(ProvisionError::Magic)?;
        if image.iter().all(|&b| b == 0xFF) || image.iter().all(|&b| b == 0) {
            return Err(ProvisionError::Blank);
        }
        if image.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(ProvisionError::Magic);
        }
        let (body, crc) = image.split_at_checked(CRC_AT).ok_or(ProvisionError::Magic)?;
        let crc = <[u8; 4]>::try_from(crc).map_err(|_| ProvisionError::Magic)?;
        if crc32(body) != u32::from_le_bytes(crc) {
            return Err(ProvisionError::Checksum);
        }
        Self::new(
            slot(image, DEVICE_AT, DEVICE_LEN, Field::Device)?,
            slot(image, SITE_AT, SITE_LEN, Field::Site)?,
            slot(image, PERIOD_AT, PERIOD_LEN, Field::Period)?,
            slot(image, KEY_AT, KEY_ID_LEN, Field::Key)?,
            array(image, SEED_AT)?,
            array(image, PUBLIC_AT)?,
        )
    }

    /// The header of this kiosk's exports (sequence 0, signed by its key).
    ///
    /// # Errors
    /// Never for a provisioning made by [`Provision::new`] or [`Provision::decode`], whose
    /// fields are already checked.
    pub fn header(&self) -> Result<Header, ExportError> {
        Header::new(&self.device, &self.site, &self.period, 0)?.signed_by(&self.key_id)
    }

    fn texts(&self) -> [(usize, &str); 4] {
        [
            (DEVICE_AT, self.device.as_str()),
            (SITE_AT, self.site.as_str()),
            (PERIOD_AT, self.period.as_str()),
            (KEY_AT, self.key_id.as_str()),
        ]
    }
}

fn text<const N: usize>(s: &str, field: Field) -> Result<String<N>, ProvisionError> {
    if !is_plain(s) {
        return Err(ProvisionError::Field(field));
    }
    String::try_from(s).map_err(|_| ProvisionError::Field(field))
}

/// Copies `bytes` into `image` at `at` (the layout's slots always fit).
fn put(image: &mut [u8; IMAGE_LEN], at: usize, bytes: &[u8]) {
    if let Some(dest) = image.get_mut(at..at.saturating_add(bytes.len())) {
        dest.copy_from_slice(bytes);
    }
}

/// The text in the slot at `at`: its length byte, then that many of its `cap` bytes.
fn slot(image: &[u8], at: usize, cap: usize, field: Field) -> Result<&str, ProvisionError> {
    let len = usize::from(*image.get(at).ok_or(ProvisionError::Field(field))?);
    if len > cap {
        return Err(ProvisionError::Field(field));
    }
    let start = at.saturating_add(1);
    let bytes = image.get(start..start.saturating_add(len)).ok_or(ProvisionError::Field(field))?;
    core::str::from_utf8(bytes).map_err(|_| ProvisionError::Field(field))
}

fn array<const N: usize>(image: &[u8], at: usize) -> Result<[u8; N], ProvisionError> {
    image.get(at..at.saturating_add(N)).and_then(|b| <[u8; N]>::try_from(b).ok()).ok_or(ProvisionError::Magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provision {
        Provision::new("kiosk-01", "RT5", "2024", "0123456789abcdef", [7; 32], [9; 32]).unwrap()
    }

    #[test]
    fn an_image_reads_back_as_written() {
        let p = sample();
        let image = p.encode();
        assert_eq!(image.len(), 160);
        assert_eq!(&image[..8], b"SBPROV01");
        assert_eq!(Provision::decode(&image).unwrap(), p);
        // A flash region longer than the image reads the same.
        let mut region = [0xFFu8; 4096];
        region[..IMAGE_LEN].copy_from_slice(&image);
        assert_eq!(Provision::decode(&region).unwrap(), p);
    }

    #[test]
    fn erased_or_empty_flash_is_not_provisioned() {
        assert_eq!(Provision::decode(&[0xFF; 4096]), Err(ProvisionError::Blank));
        assert_eq!(Provision::decode(&[0; 4096]), Err(ProvisionError::Blank));
        assert_eq!(Provision::decode(&[0; 10]), Err(ProvisionError::Magic));
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let image = sample().encode();
        for i in 0..IMAGE_LEN {
            let mut bad = image;
            bad[i] ^= 0x20;
            let err = Provision::decode(&bad).unwrap_err();
            let expected = if i < 8 { ProvisionError::Magic } else { ProvisionError::Checksum };
            assert_eq!(err, expected, "byte {i}");
        }
    }

    #[test]
    fn a_field_longer_than_its_slot_is_refused_even_with_a_good_crc() {
        let mut image = sample().encode();
        image[DEVICE_AT] = 40;
        let crc = crc32(&image[..CRC_AT]);
        image[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Provision::decode(&image), Err(ProvisionError::Field(Field::Device)));
    }

    #[test]
    fn the_seed_is_never_printed() {
        let text = format!("{:?}", sample());
        assert!(text.contains("kiosk-01") && !text.contains("7, 7"), "{text}");
    }

    #[test]
    fn its_header_names_the_key() {
        let h = sample().header().unwrap();
        assert_eq!(
            (h.device.as_str(), h.site.as_str(), h.key.as_deref()),
            ("kiosk-01", "RT5", Some("0123456789abcdef"))
        );
    }
}
