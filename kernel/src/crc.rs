//! CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), for the kiosk's saved data and its
//! provisioning image. Computed four bits at a time from a 16-entry table: 64 bytes of flash
//! for about four times the speed of the bitwise loop, which matters because every save
//! checksums the whole stored tally (12-18 KB for `cmh-2024`).

/// The CRC of each 4-bit value, for the reflected polynomial 0xEDB88320.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of bounds fails the build"
)]
const NIBBLE: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut n = 0;
    while n < 16 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 4 {
            c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// A running CRC-32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A CRC of no bytes yet.
    #[must_use]
    pub const fn new() -> Self {
        Self(0xFFFF_FFFF)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            for _ in 0..2 {
                // The low nibble indexes the table; `& 0xF` keeps the index in bounds.
                let nibble = (self.0 & 0xF) as usize;
                self.0 = (self.0 >> 4) ^ NIBBLE.get(nibble).copied().unwrap_or(0);
            }
        }
    }

    /// The CRC of everything added.
    #[must_use]
    pub const fn finish(self) -> u32 {
        !self.0
    }
}

/// The CRC-32 of `bytes`.
#[must_use]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn crc32_in_pieces_equals_crc32_at_once() {
        let mut c = Crc32::new();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.finish(), crc32(b"123456789"));
    }
}
