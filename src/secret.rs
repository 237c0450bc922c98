//! A wrapper for secrets (tokens, webhook secrets) that never prints its content.

use std::fmt;

/// A secret string. `Debug` and `Display` show `[redacted]`; the value is reachable only through
/// [`Secret::expose`], so every use is visible in the code.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for comparison or for sending where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An HMAC-SHA256 keyed by `key`. HMAC takes a key of any length (a longer one is hashed
/// first, a shorter one padded), so keying cannot fail: an invariant, not an error to handle.
pub fn hmac_sha256(key: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    match <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
