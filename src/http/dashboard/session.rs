//! Dashboard login: the admin token, posted once, buys a session cookie. The cookie holds the
//! time it was issued, a random session id and an HMAC (keyed by the admin token) of both and a
//! random per-process nonce: never the token, and a restart logs everyone out. The server keeps
//! the live session ids ([`SessionStore`]): logout removes one, so its cookie stops working even
//! if it was copied. Sessions last [`SESSION_SECS`]. The CSRF token of forms is an HMAC of the
//! session value.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use actix_web::HttpRequest;
use hmac::Mac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::secret::Secret;

/// The cookie's name.
pub const COOKIE: &str = "backline_session";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

static NONCE: LazyLock<[u8; 32]> = LazyLock::new(rand::random);

fn mac(token: &Secret, parts: &[&[u8]]) -> String {
    let mut m = crate::secret::hmac_sha256(token.expose().as_bytes());
    for p in parts {
        m.update(p);
        m.update(b"\0");
    }
    hex::encode(m.finalize().into_bytes())
}

/// Most sessions alive at once; past it, the oldest is dropped (logged out).
pub const MAX_SESSIONS: usize = 1000;

/// The sessions this process issued and has not revoked: a cookie is valid only while its id is
/// here, so logging out ends it on the server, not only in the browser.
#[derive(Debug, Default)]
pub struct SessionStore {
    live: Mutex<HashMap<String, i64>>,
}

impl SessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh session value issued at `now_secs`: `<issued>.<id>.<hmac>`.
    pub fn issue(&self, token: &Secret, now_secs: i64) -> String {
        let issued = now_secs.to_string();
        let id = hex::encode(rand::random::<[u8; 16]>());
        let sig = mac(
            token,
            &[b"session", &NONCE[..], issued.as_bytes(), id.as_bytes()],
        );
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, at| now_secs - *at <= SESSION_SECS);
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
            {
                live.remove(&oldest);
            }
        }
        live.insert(id.clone(), now_secs);
        format!("{issued}.{id}.{sig}")
    }

    /// Whether `value` is a live session this process issued under `token`, not expired.
    pub fn valid(&self, token: &Secret, value: &str, now_secs: i64) -> bool {
        let Some((issued, id)) = signed_parts(token, value) else {
            return false;
        };
        let Ok(at) = issued.parse::<i64>() else {
            return false;
        };
        if at > now_secs + 60 || now_secs - at > SESSION_SECS {
            return false;
        }
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(id) == Some(&at)
    }

    /// Ends a session (logout); later requests with its cookie are refused.
    pub fn revoke(&self, token: &Secret, value: &str) {
        if let Some((_, id)) = signed_parts(token, value) {
            self.live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
        }
    }
}

/// `(issued, id)` of a value whose HMAC is right (constant-time comparison).
fn signed_parts<'a>(token: &Secret, value: &'a str) -> Option<(&'a str, &'a str)> {
    let mut parts = value.splitn(3, '.');
    let (issued, id, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let expected = mac(
        token,
        &[b"session", &NONCE[..], issued.as_bytes(), id.as_bytes()],
    );
    (expected.len() == sig.len() && bool::from(expected.as_bytes().ct_eq(sig.as_bytes())))
        .then_some((issued, id))
}

/// The CSRF token of a session.
pub fn csrf(token: &Secret, session: &str) -> String {
    let full = mac(token, &[b"csrf", session.as_bytes()]);
    full[..32.min(full.len())].to_string()
}

/// Whether the given CSRF token is the session's.
pub fn csrf_ok(token: &Secret, session: &str, given: &str) -> bool {
    let expected = csrf(token, session);
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Whether a login attempt gave the admin token (constant time).
pub fn token_matches(token: &Secret, given: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.expose().as_bytes());
    !given.is_empty() && bool::from(a.ct_eq(&b))
}

/// The session cookie's value in a request.
pub fn cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether cookies must be `Secure`: the request came over HTTPS, or the public URL is https.
pub fn secure(req: &HttpRequest, settings: &Settings) -> bool {
    req.connection_info().scheme() == "https"
        || settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

/// The `Set-Cookie` value for `value` (empty with `max_age` 0 clears it).
pub fn set_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_is_keyed_by_any_token_and_never_empty() {
        for token in ["", "t", &"long".repeat(100)] {
            let sig = mac(&Secret::new(token), &[b"a", b"b"]);
            assert_eq!(sig.len(), 64, "{token:?}");
            assert_ne!(sig, mac(&Secret::new(format!("{token}x")), &[b"a", b"b"]));
        }
    }

    #[test]
    fn sessions_are_signed_expire_and_never_hold_the_token() {
        let t = Secret::new("the-admin-token");
        let store = SessionStore::new();
        let s = store.issue(&t, 1_000_000);
        assert!(!s.contains("the-admin-token"));
        assert!(store.valid(&t, &s, 1_000_000 + 10));
        assert!(!store.valid(&t, &s, 1_000_000 + SESSION_SECS + 1));
        assert!(!store.valid(&Secret::new("other"), &s, 1_000_000));
        let forged = s.replacen("1000000", "1000001", 1);
        assert!(!store.valid(&t, &forged, 1_000_001));
        assert!(!store.valid(&t, "garbage", 1));
        let c = csrf(&t, &s);
        assert!(csrf_ok(&t, &s, &c));
        assert!(!csrf_ok(&t, &s, "x"));
        assert!(!csrf_ok(&t, &store.issue(&t, 5), &c));
        assert!(token_matches(&t, "the-admin-token") && !token_matches(&t, ""));
        assert!(set_cookie("v", 10, true).ends_with("; Secure"));
    }

    #[test]
    fn a_revoked_session_is_refused_and_others_live_on() {
        let t = Secret::new("tok");
        let store = SessionStore::new();
        let a = store.issue(&t, 100);
        let b = store.issue(&t, 100);
        store.revoke(&t, &a);
        assert!(!store.valid(&t, &a, 101));
        assert!(store.valid(&t, &b, 101));
        // Another store (another process) never issued it.
        assert!(!SessionStore::new().valid(&t, &b, 101));
    }

    #[test]
    fn the_store_stays_bounded() {
        let t = Secret::new("tok");
        let store = SessionStore::new();
        let first = store.issue(&t, 0);
        for i in 0..MAX_SESSIONS as i64 {
            store.issue(&t, i + 1);
        }
        assert!(store.live.lock().unwrap().len() <= MAX_SESSIONS);
        assert!(!store.valid(&t, &first, 10), "the oldest was dropped");
    }
}
