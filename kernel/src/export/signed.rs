//! Signed exports (version 2): which bytes are signed, writing the signature, and finding it
//! again (docs/formats.md §2, "Signed exports").
//!
//! A signed export is the export document with a `key` field, closed by a last field
//! `"signature":"<128 hex digits>"`. The signed message is every byte of the document before
//! `"signature"`: from the opening `{` through the comma before it. The signature is Ed25519ph
//! (RFC 8032 §5.1: Ed25519 over the SHA-512 of the message) with the context [`CONTEXT`], so
//! a device hashes the export while it streams it and never holds it whole. The kernel does no
//! cryptography: the device and the host each bring a [`Signer`] (or a verifier) of their own.

use super::stream::{Sink, StreamError, document};
use super::{ExportError, Header};
use crate::tally::Tally;

/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// The Ed25519ph context of export signatures: a signature made for anything else never
/// verifies as an export's.
pub const CONTEXT: &[u8] = b"surveybench-tally";

/// What closes a signed export before the signature's hex digits.
const OPEN: &[u8] = b"\"signature\":\"";
/// What closes a signed export after them.
const CLOSE: &[u8] = b"\"}";

/// Signs a message given in pieces: SHA-512 of the message, then Ed25519ph with [`CONTEXT`].
pub trait Signer {
    /// Adds the next bytes of the message.
    fn update(&mut self, bytes: &[u8]);
    /// The signature of everything added.
    fn sign(self) -> [u8; SIGNATURE_LEN];
}

/// Writes the signed export of `tally` with `header` (which must name its key, see
/// [`Header::signed_by`]) to `sink`, feeding `signer` exactly the signed bytes on the way.
/// A signer with much state (a device's hash and key) is best passed as `&mut`, with
/// `Signer` implemented for the reference: it is then not moved through the stack.
///
/// # Errors
/// The sink's error, [`ExportError::Header`] for a header field that is not plain, or
/// [`ExportError::Signature`] for a header without a key.
pub fn stream_signed<S: Sink, G: Signer, const Q: usize, const C: usize, const P: usize>(
    tally: &Tally<'_, Q, C, P>,
    header: &Header,
    signer: G,
    sink: &mut S,
) -> Result<(), StreamError<S::Error>> {
    if header.key.is_none() {
        return Err(StreamError::Export(ExportError::Signature));
    }
    let mut tee = Tee { sink, signer, held: None };
    document(tally, header, &mut tee)?;
    // The document ends with the `}` held back: the signature goes before it, after a comma.
    if tee.held != Some(b'}') {
        return Err(StreamError::Export(ExportError::BufferTooSmall));
    }
    tee.signer.update(b",");
    let signature = tee.signer.sign();
    let mut hex = [0u8; 2 * SIGNATURE_LEN];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(signature) {
        pair.copy_from_slice(&hex_byte(byte));
    }
    for piece in [b",".as_slice(), OPEN, &hex, CLOSE] {
        tee.sink.write_all(piece).map_err(StreamError::Sink)?;
    }
    Ok(())
}

/// A signed export taken apart: the signed message and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sealed<'a> {
    /// The signed bytes: the document through the comma before `"signature"`.
    pub message: &'a [u8],
    /// The signature.
    pub signature: [u8; SIGNATURE_LEN],
}

/// Takes a signed export apart (`bytes` without surrounding white space). Only the document's
/// end is read: decode it too ([`super::decode_into`]) before trusting anything in it.
///
/// # Errors
/// [`ExportError::Signature`] when the document does not end with a comma and
/// `"signature":"<128 lower-case hex digits>"}`.
pub fn split(bytes: &[u8]) -> Result<Sealed<'_>, ExportError> {
    let tail = OPEN.len().saturating_add(2 * SIGNATURE_LEN).saturating_add(CLOSE.len());
    let cut = bytes.len().checked_sub(tail).ok_or(ExportError::Signature)?;
    let (message, rest) = bytes.split_at_checked(cut).ok_or(ExportError::Signature)?;
    let digits = rest
        .strip_prefix(OPEN)
        .and_then(|r| r.strip_suffix(CLOSE))
        .filter(|_| message.ends_with(b","))
        .ok_or(ExportError::Signature)?;
    let mut signature = [0u8; SIGNATURE_LEN];
    for (byte, pair) in signature.iter_mut().zip(digits.chunks_exact(2)) {
        let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
            return Err(ExportError::Signature);
        };
        *byte = nibble(hi).and_then(|h| nibble(lo).map(|l| (h << 4) | l)).ok_or(ExportError::Signature)?;
    }
    Ok(Sealed { message, signature })
}

/// Two lower-case hex digits of `b`.
fn hex_byte(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |n: u8| DIGITS.get(usize::from(n & 0xf)).copied().unwrap_or(b'0');
    [digit(b >> 4), digit(b)]
}

/// The value of a lower-case hex digit.
fn nibble(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => d.checked_sub(b'0'),
        b'a'..=b'f' => d.checked_sub(b'a' - 10),
        _ => None,
    }
}

/// Passes every byte to the sink and all but the last to the signer, which is held back: the
/// document's closing brace, which the signature goes before.
struct Tee<'s, S, G> {
    sink: &'s mut S,
    signer: G,
    held: Option<u8>,
}

impl<S: Sink, G: Signer> Sink for Tee<'_, S, G> {
    type Error = S::Error;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), S::Error> {
        let Some((&last, body)) = bytes.split_last() else { return Ok(()) };
        if let Some(held) = self.held.take() {
            self.signer.update(&[held]);
            self.sink.write_all(&[held])?;
        }
        self.signer.update(body);
        self.sink.write_all(body)?;
        self.held = Some(last);
        Ok(())
    }
}
