//! Dashboard login: the admin token, posted once, buys a session cookie. The cookie holds the
//! time it was issued, a random session id and an HMAC (keyed by the admin token) of both and a
//! random nonce: never the token. The live sessions are kept in the store ([`SessionStore`],
//! the `sessions` table, on sled or PostgreSQL), and the nonce in its `meta` table, so a session
//! issued by one replica is accepted by every other one on the same database and outlives a
//! restart; logout removes it, so its cookie stops working everywhere even if it was copied.
//! Sessions last [`SESSION_SECS`]; expired ones are pruned with the finished deliveries.
//! The CSRF token of forms is an HMAC of the session value.

use std::sync::{Arc, OnceLock};

use actix_web::HttpRequest;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::secret::Secret;
use crate::store::{Bytes, Store, StoreError, Table};

/// The cookie's name.
pub const COOKIE: &str = "backline_session";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

/// The store's tree of live sessions (session id → [`LiveSession`]).
pub const SESSIONS_TREE: &str = "sessions";
/// The tree and key of the nonce every replica signs with (32 random bytes, made once).
const NONCE_TREE: &str = "meta";
const NONCE_KEY: &str = "dashboard_session_nonce";

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

/// A live session as stored. Fields are append-only (postcard encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    /// When it was issued (Unix seconds).
    pub issued_secs: i64,
}

/// The sessions issued and not revoked, in the store: a cookie is valid only while its id is
/// there, so logging out ends it on the server (on every replica), not only in the browser.
/// Store calls block: async code calls these through [`Store::run`]. Cheap to clone.
#[derive(Clone)]
pub struct SessionStore {
    sessions: Table<String, LiveSession>,
    nonces: Table<String, Vec<u8>, Bytes>,
    /// The nonce, once read (it never changes while the store lives).
    nonce: Arc<OnceLock<[u8; 32]>>,
}

impl SessionStore {
    /// The sessions of `store` (opens its tables; reads nothing yet).
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(SessionStore {
            sessions: store.table(SESSIONS_TREE)?,
            nonces: store.table(NONCE_TREE)?,
            nonce: Arc::default(),
        })
    }

    /// The nonce every replica signs with: read, or made once (compare-and-swap: of replicas
    /// making it together, one wins and all use its value).
    fn nonce(&self) -> Result<[u8; 32], StoreError> {
        if let Some(n) = self.nonce.get() {
            return Ok(*n);
        }
        let key = NONCE_KEY.to_string();
        let stored = match self.nonces.get(&key)? {
            Some(n) => n,
            None => {
                let fresh = rand::random::<[u8; 32]>().to_vec();
                match self.nonces.compare_and_swap(&key, None, Some(&fresh))? {
                    Ok(()) => fresh,
                    Err(conflict) => conflict.current.unwrap_or(fresh),
                }
            }
        };
        let n: [u8; 32] = stored
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Decode {
                tree: NONCE_TREE,
                key: key.clone(),
                message: format!("expected 32 bytes, found {}", stored.len()),
            })?;
        Ok(*self.nonce.get_or_init(|| n))
    }

    fn sign(&self, token: &Secret, issued: &str, id: &str) -> Result<String, StoreError> {
        let nonce = self.nonce()?;
        Ok(mac(
            token,
            &[b"session", &nonce[..], issued.as_bytes(), id.as_bytes()],
        ))
    }

    /// `(issued, id)` of a value whose HMAC is right (constant-time comparison).
    fn signed_parts<'a>(
        &self,
        token: &Secret,
        value: &'a str,
    ) -> Result<Option<(&'a str, &'a str)>, StoreError> {
        let mut parts = value.splitn(3, '.');
        let (Some(issued), Some(id), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        let expected = self.sign(token, issued, id)?;
        let right =
            expected.len() == sig.len() && bool::from(expected.as_bytes().ct_eq(sig.as_bytes()));
        Ok(right.then_some((issued, id)))
    }

    /// A fresh session value issued at `now_secs`: `<issued>.<id>.<hmac>`, stored as live.
    pub fn issue(&self, token: &Secret, now_secs: i64) -> Result<String, StoreError> {
        let issued = now_secs.to_string();
        let id = hex::encode(rand::random::<[u8; 16]>());
        let sig = self.sign(token, &issued, &id)?;
        if self.sessions.count() >= MAX_SESSIONS {
            self.make_room(now_secs)?;
        }
        self.sessions.insert(
            &id,
            &LiveSession {
                issued_secs: now_secs,
            },
        )?;
        Ok(format!("{issued}.{id}.{sig}"))
    }

    /// At the most kept: drops the expired sessions, then the oldest until there is room for
    /// one more.
    fn make_room(&self, now_secs: i64) -> Result<(), StoreError> {
        self.prune(now_secs)?;
        let mut live: Vec<(String, LiveSession)> =
            self.sessions.iter().collect::<Result<_, _>>()?;
        if live.len() < MAX_SESSIONS {
            return Ok(());
        }
        live.sort_by_key(|(_, s)| s.issued_secs);
        for (id, _) in live.iter().take(live.len() + 1 - MAX_SESSIONS) {
            self.sessions.remove(id)?;
        }
        Ok(())
    }

    /// Whether `value` is a live session issued under `token`, not expired.
    pub fn valid(&self, token: &Secret, value: &str, now_secs: i64) -> Result<bool, StoreError> {
        let Some((issued, id)) = self.signed_parts(token, value)? else {
            return Ok(false);
        };
        let Ok(at) = issued.parse::<i64>() else {
            return Ok(false);
        };
        if expired(at, now_secs) {
            return Ok(false);
        }
        Ok(self.sessions.get(&id.to_string())? == Some(LiveSession { issued_secs: at }))
    }

    /// Ends a session (logout); later requests with its cookie are refused by every replica.
    pub fn revoke(&self, token: &Secret, value: &str) -> Result<(), StoreError> {
        if let Some((_, id)) = self.signed_parts(token, value)? {
            self.sessions.remove(&id.to_string())?;
        }
        Ok(())
    }

    /// Forgets the sessions expired at `now_secs`; returns how many.
    pub fn prune(&self, now_secs: i64) -> Result<usize, StoreError> {
        let mut gone = 0;
        let stale: Vec<String> = self
            .sessions
            .iter()
            .filter_map(|kv| match kv {
                Ok((id, s)) if expired(s.issued_secs, now_secs) => Some(Ok(id)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for id in stale {
            if self.sessions.remove(&id)? {
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Live sessions stored (a walk of the table).
    pub fn count(&self) -> usize {
        self.sessions.count()
    }
}

/// Whether a session issued at `issued_secs` is over at `now_secs` (or claims to come from the
/// future beyond a minute of clock skew). Pure.
fn expired(issued_secs: i64, now_secs: i64) -> bool {
    issued_secs > now_secs + 60 || now_secs - issued_secs > SESSION_SECS
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
    use crate::store::testing::{on_both_stores, Backend, TestStore};

    on_both_stores!(
        sessions_are_signed_expire_and_never_hold_the_token,
        a_revoked_session_is_refused_and_others_live_on,
        sessions_outlive_a_restart_and_are_shared_by_replicas,
        expired_sessions_are_pruned,
        the_store_stays_bounded,
    );

    #[test]
    fn the_mac_is_keyed_by_any_token_and_never_empty() {
        for token in ["", "t", &"long".repeat(100)] {
            let sig = mac(&Secret::new(token), &[b"a", b"b"]);
            assert_eq!(sig.len(), 64, "{token:?}");
            assert_ne!(sig, mac(&Secret::new(format!("{token}x")), &[b"a", b"b"]));
        }
    }

    fn sessions_are_signed_expire_and_never_hold_the_token(backend: Backend) {
        let test = TestStore::open(backend);
        let t = Secret::new("the-admin-token");
        let store = SessionStore::open(&test.store).unwrap();
        let s = store.issue(&t, 1_000_000).unwrap();
        assert!(!s.contains("the-admin-token"));
        assert!(store.valid(&t, &s, 1_000_000 + 10).unwrap());
        assert!(!store.valid(&t, &s, 1_000_000 + SESSION_SECS + 1).unwrap());
        assert!(!store.valid(&Secret::new("other"), &s, 1_000_000).unwrap());
        let forged = s.replacen("1000000", "1000001", 1);
        assert!(!store.valid(&t, &forged, 1_000_001).unwrap());
        assert!(!store.valid(&t, "garbage", 1).unwrap());
        // A well-signed value whose id was never stored (another database's) is refused.
        let (issued, id) = ("1000000", "0".repeat(32));
        let stranger = format!("{issued}.{id}.{}", store.sign(&t, issued, &id).unwrap());
        assert!(!store.valid(&t, &stranger, 1_000_000).unwrap());
        let c = csrf(&t, &s);
        assert!(csrf_ok(&t, &s, &c));
        assert!(!csrf_ok(&t, &s, "x"));
        assert!(!csrf_ok(&t, &store.issue(&t, 5).unwrap(), &c));
        assert!(token_matches(&t, "the-admin-token") && !token_matches(&t, ""));
        assert!(set_cookie("v", 10, true).ends_with("; Secure"));
    }

    fn a_revoked_session_is_refused_and_others_live_on(backend: Backend) {
        let test = TestStore::open(backend);
        let t = Secret::new("tok");
        let store = SessionStore::open(&test.store).unwrap();
        let a = store.issue(&t, 100).unwrap();
        let b = store.issue(&t, 100).unwrap();
        store.revoke(&t, &a).unwrap();
        assert!(!store.valid(&t, &a, 101).unwrap());
        assert!(store.valid(&t, &b, 101).unwrap());
        // A value not signed with the token revokes nothing.
        store.revoke(&Secret::new("other"), &b).unwrap();
        assert!(store.valid(&t, &b, 101).unwrap());
        assert_eq!(store.count(), 1);
    }

    fn sessions_outlive_a_restart_and_are_shared_by_replicas(backend: Backend) {
        let test = TestStore::open(backend);
        let t = Secret::new("tok");
        let first = SessionStore::open(&test.store).unwrap();
        let kept = first.issue(&t, 100).unwrap();
        let ended = first.issue(&t, 100).unwrap();
        if let Some(replica) = test.second() {
            // Another replica on the same database: same sessions, and its logout counts here.
            let other = SessionStore::open(&replica).unwrap();
            assert!(other.valid(&t, &kept, 101).unwrap());
            other.revoke(&t, &ended).unwrap();
            assert!(!first.valid(&t, &ended, 101).unwrap());
            let theirs = other.issue(&t, 102).unwrap();
            assert!(first.valid(&t, &theirs, 103).unwrap());
        } else {
            first.revoke(&t, &ended).unwrap();
        }
        drop(first);
        let test = test.reopen();
        let after = SessionStore::open(&test.store).unwrap();
        assert!(after.valid(&t, &kept, 104).unwrap(), "{:?}", test.backend());
        assert!(!after.valid(&t, &ended, 104).unwrap());
    }

    fn expired_sessions_are_pruned(backend: Backend) {
        let test = TestStore::open(backend);
        let t = Secret::new("tok");
        let store = SessionStore::open(&test.store).unwrap();
        let old = store.issue(&t, 0).unwrap();
        let new = store.issue(&t, SESSION_SECS).unwrap();
        assert_eq!(store.prune(SESSION_SECS).unwrap(), 0, "not over yet");
        assert_eq!(store.prune(SESSION_SECS + 1).unwrap(), 1);
        assert!(!store.valid(&t, &old, 1).unwrap(), "gone from the store");
        assert!(store.valid(&t, &new, SESSION_SECS + 1).unwrap());
        assert_eq!(store.count(), 1);
    }

    fn the_store_stays_bounded(backend: Backend) {
        let test = TestStore::open(backend);
        let t = Secret::new("tok");
        let store = SessionStore::open(&test.store).unwrap();
        let first = store.issue(&t, 0).unwrap();
        let second = store.issue(&t, 1).unwrap();
        // Filled to the most kept at once (one issue per session would be slow on a database).
        let mut batch = crate::store::Batch::default();
        for i in 0..MAX_SESSIONS as i64 - 2 {
            batch.insert(&format!("{i:032x}"), &LiveSession { issued_secs: 5 });
        }
        store.sessions.apply(batch).unwrap();
        assert_eq!(store.count(), MAX_SESSIONS);
        let newest = store.issue(&t, 10).unwrap();
        assert_eq!(store.count(), MAX_SESSIONS);
        assert!(
            !store.valid(&t, &first, 10).unwrap(),
            "the oldest was dropped"
        );
        assert!(store.valid(&t, &second, 10).unwrap());
        assert!(store.valid(&t, &newest, 10).unwrap());
    }
}
