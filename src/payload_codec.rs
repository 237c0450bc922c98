//! How delivery bodies are kept in the store: deflate-compressed behind a magic prefix. Bodies
//! stored before compression (raw JSON, which never starts with a NUL byte) are read as they
//! are. Inflating is capped at the length the delivery record names, so a damaged or forged
//! value cannot expand without bound.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// The prefix of a compressed body.
const MAGIC: &[u8] = b"\0bz1";

/// Why a stored body could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The compressed data is damaged.
    #[error("stored body is damaged: {0}")]
    Damaged(#[from] std::io::Error),
    /// The body inflates beyond the length recorded for it.
    #[error("stored body inflates past its recorded {0} bytes")]
    TooLong(u64),
}

/// The stored form of a body (fast compression: it runs on the intake path).
pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 4 + MAGIC.len() + 16);
    out.extend_from_slice(MAGIC);
    let mut encoder = DeflateEncoder::new(out, Compression::fast());
    // Writing to a Vec cannot fail.
    encoder
        .write_all(body)
        .expect("compressing into memory cannot fail");
    encoder
        .finish()
        .expect("compressing into memory cannot fail")
}

/// The body of a stored value, which must be at most `max_len` bytes once inflated.
pub fn decode(stored: &[u8], max_len: u64) -> Result<Vec<u8>, CodecError> {
    let Some(compressed) = stored.strip_prefix(MAGIC) else {
        return Ok(stored.to_vec());
    };
    let mut out = Vec::new();
    DeflateDecoder::new(compressed)
        .take(max_len.saturating_add(1))
        .read_to_end(&mut out)?;
    if out.len() as u64 > max_len {
        return Err(CodecError::TooLong(max_len));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_smaller_and_legacy_raw_bodies_read_as_they_are() {
        let body = br#"{"object_kind":"push","commits":[]}"#.repeat(500);
        let stored = encode(&body);
        assert!(stored.len() * 10 < body.len(), "{} bytes", stored.len());
        assert_eq!(decode(&stored, body.len() as u64).unwrap(), body);
        let legacy = br#"{"object_kind":"push"}"#;
        assert_eq!(decode(legacy, 1).unwrap(), legacy.to_vec());
    }

    #[test]
    fn inflation_past_the_recorded_length_is_an_error() {
        let body = vec![b'a'; 1 << 20];
        let stored = encode(&body);
        assert!(matches!(
            decode(&stored, 1000),
            Err(CodecError::TooLong(1000))
        ));
        let mut damaged = stored.clone();
        damaged.truncate(MAGIC.len() + 3);
        damaged.push(0xff);
        assert!(decode(&damaged, 1 << 20).is_err() || decode(&damaged, 1 << 20).unwrap() != body);
    }
}
