//! Value and key encodings: big-endian numeric keys; values as a schema-version byte followed by
//! postcard. A value that fails to decode is an error naming the tree and key, never a panic.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// Leading byte of every encoded value.
const VALUE_VERSION: u8 = 1;

/// Big-endian key for a number, so that sled's byte order is numeric order.
pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Reads a big-endian key back.
pub fn key_u64(tree: &'static str, key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Decode {
            tree,
            key: printable(key),
            message: format!("expected an 8-byte key, found {} bytes", key.len()),
        })
}

/// Encodes a value for `tree`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![VALUE_VERSION];
    // postcard only fails on types it cannot represent, which ours never are.
    out.extend(postcard::to_stdvec(value).expect("postcard encodes plain data"));
    out
}

/// Decodes a value read from `tree` at `key`.
pub fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    let err = |message: String| StoreError::Decode {
        tree,
        key: printable(key),
        message,
    };
    match bytes.split_first() {
        None => Err(err("empty value".to_string())),
        Some((&VALUE_VERSION, rest)) => postcard::from_bytes(rest).map_err(|e| err(format!("{e}"))),
        Some((v, _)) if *v > VALUE_VERSION => Err(err(format!(
            "value version {v} is newer than this backline understands ({VALUE_VERSION})"
        ))),
        Some((v, _)) => Err(err(format!("unknown value version {v}"))),
    }
}

/// A key as text: numbers for 8-byte keys, the string when it is UTF-8, hex otherwise.
pub fn printable(key: &[u8]) -> String {
    if let Ok(n) = <[u8; 8]>::try_from(key) {
        return u64::from_be_bytes(n).to_string();
    }
    match std::str::from_utf8(key) {
        Ok(s) => s.to_string(),
        Err(_) => hex::encode(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Sample {
        a: u64,
        b: String,
    }

    #[test]
    fn round_trip_and_corruption_is_an_error() {
        let v = Sample {
            a: 7,
            b: "x".into(),
        };
        let bytes = encode(&v);
        assert_eq!(decode::<Sample>("t", &u64_key(1), &bytes).unwrap(), v);
        let err = decode::<Sample>("deliveries", &u64_key(42), &bytes[..2]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("deliveries") && msg.contains("42"), "{msg}");
        let mut newer = bytes.clone();
        newer[0] = 9;
        assert!(decode::<Sample>("t", b"k", &newer)
            .unwrap_err()
            .to_string()
            .contains("newer"));
        assert!(decode::<Sample>("t", b"k", &[]).is_err());
    }

    #[test]
    fn numeric_keys_sort_numerically() {
        assert!(u64_key(255) < u64_key(256));
        assert_eq!(key_u64("t", &u64_key(99)).unwrap(), 99);
        assert!(key_u64("t", b"abc").is_err());
    }
}
