//! Dashboard login: the admin token, posted once, buys a session cookie. The cookie holds the
//! time it was issued and an HMAC (keyed by the admin token) of that time and a random
//! per-process nonce: never the token, and a restart logs everyone out. Sessions last
//! [`SESSION_SECS`]. The CSRF token of forms is an HMAC of the session value.

use std::sync::LazyLock;

use actix_web::HttpRequest;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::secret::Secret;

/// The cookie's name.
pub const COOKIE: &str = "backline_session";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

static NONCE: LazyLock<[u8; 32]> = LazyLock::new(rand::random);

type HmacSha256 = Hmac<Sha256>;

fn mac(token: &Secret, parts: &[&[u8]]) -> String {
    let mut m = match HmacSha256::new_from_slice(token.expose().as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for p in parts {
        m.update(p);
        m.update(b"\0");
    }
    hex::encode(m.finalize().into_bytes())
}

/// A fresh session value issued at `now_secs`.
pub fn issue(token: &Secret, now_secs: i64) -> String {
    let issued = now_secs.to_string();
    let sig = mac(token, &[b"session", &NONCE[..], issued.as_bytes()]);
    format!("{issued}.{sig}")
}

/// Whether `value` is a session this process issued under `token` and not expired.
pub fn valid(token: &Secret, value: &str, now_secs: i64) -> bool {
    let Some((issued, sig)) = value.split_once('.') else {
        return false;
    };
    let Ok(at) = issued.parse::<i64>() else {
        return false;
    };
    if at > now_secs + 60 || now_secs - at > SESSION_SECS {
        return false;
    }
    let expected = mac(token, &[b"session", &NONCE[..], issued.as_bytes()]);
    expected.len() == sig.len() && bool::from(expected.as_bytes().ct_eq(sig.as_bytes()))
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
    fn sessions_are_signed_expire_and_never_hold_the_token() {
        let t = Secret::new("the-admin-token");
        let s = issue(&t, 1_000_000);
        assert!(!s.contains("the-admin-token"));
        assert!(valid(&t, &s, 1_000_000 + 10));
        assert!(!valid(&t, &s, 1_000_000 + SESSION_SECS + 1));
        assert!(!valid(&Secret::new("other"), &s, 1_000_000));
        let forged = s.replacen("1000000", "1000001", 1);
        assert!(!valid(&t, &forged, 1_000_001));
        assert!(!valid(&t, "garbage", 1));
        let c = csrf(&t, &s);
        assert!(csrf_ok(&t, &s, &c));
        assert!(!csrf_ok(&t, &s, "x"));
        assert!(!csrf_ok(&t, &issue(&t, 5), &c));
        assert!(token_matches(&t, "the-admin-token") && !token_matches(&t, ""));
        assert!(set_cookie("v", 10, true).ends_with("; Secure"));
    }
}
