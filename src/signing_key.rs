//! A Standard Webhooks signing key (`whsec_...`): decoded when the settings are read, used by
//! the webhook verification. Its own module so that the settings need not name the HTTP layer.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A Standard Webhooks signing key: the base64-decoded part of a `whsec_...` token.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// Decodes a `whsec_<base64>` token. The error never repeats the token.
    pub fn from_token(token: &str) -> Result<Self, String> {
        let encoded = token
            .trim()
            .strip_prefix("whsec_")
            .ok_or_else(|| "a signing token starts with whsec_".to_string())?;
        let key = B64
            .decode(encoded)
            .map_err(|_| "the part after whsec_ is not valid base64".to_string())?;
        if key.is_empty() {
            return Err("the key is empty".to_string());
        }
        Ok(SigningKey(key))
    }

    /// The raw HMAC-SHA256 over `"{id}.{timestamp}.{body}"`.
    pub fn mac(&self, webhook_id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The `webhook-signature` entry `v1,<base64>` for a delivery.
    pub fn sign(&self, webhook_id: &str, timestamp: &str, body: &[u8]) -> String {
        format!("v1,{}", B64.encode(self.mac(webhook_id, timestamp, body)))
    }
}
