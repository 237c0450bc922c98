//! Failed-credential throttling per client address: after [`MAX_FAILURES`] wrong admin tokens
//! (dashboard logins or API bearer tokens) within [`WINDOW`], the address gets 429 with
//! `Retry-After` until the window that began at its first failure ends, whatever it sends.
//! IPv6 clients are counted per /64, the block one host usually holds. The address is the TCP
//! peer's (a forwarded-for header can be forged). The table is bounded: past
//! [`MAX_CLIENTS`] addresses, expired entries are dropped first, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong credentials accepted per window and client.
pub const MAX_FAILURES: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Client addresses tracked at most.
pub const MAX_CLIENTS: usize = 10_000;

/// A client as the throttle counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

impl ClientKey {
    /// The key of an address (IPv6: its /64; IPv4 and IPv4-mapped IPv6: the address).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(u128::from(u32::from(v4))),
                None => ClientKey(u128::from(v6) & !((1u128 << 64) - 1) | (1 << 32)),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    first: Instant,
    failures: u32,
}

/// The throttle's table.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<ClientKey, Entry>>,
}

/// Refused for now: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Whole seconds until the client may try again (at least 1).
    pub retry_after_secs: u64,
}

impl Throttle {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `client` may present a credential now.
    pub fn check(&self, client: ClientKey, now: Instant) -> Result<(), Throttled> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&client) {
            Some(e) if e.failures >= MAX_FAILURES => {
                let elapsed = now.saturating_duration_since(e.first);
                if elapsed >= WINDOW {
                    Ok(())
                } else {
                    let left = WINDOW - elapsed;
                    Err(Throttled {
                        retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
                    })
                }
            }
            _ => Ok(()),
        }
    }

    /// Records a wrong credential from `client`.
    pub fn failed(&self, client: ClientKey, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CLIENTS && !entries.contains_key(&client) {
            entries.retain(|_, e| now.saturating_duration_since(e.first) < WINDOW);
            if entries.len() >= MAX_CLIENTS {
                if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.first).map(|(k, _)| *k) {
                    entries.remove(&oldest);
                }
            }
        }
        let entry = entries.entry(client).or_insert(Entry {
            first: now,
            failures: 0,
        });
        if now.saturating_duration_since(entry.first) >= WINDOW {
            *entry = Entry {
                first: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
    }

    /// Clients tracked right now.
    pub fn tracked(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The client key of a request's TCP peer.
pub fn client_of(req: &actix_web::HttpRequest) -> ClientKey {
    ClientKey::of(
        req.peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip()),
    )
}

/// The shared guard against guessing the admin token: the throttle and the bounded failure log.
#[derive(Debug, Default)]
pub struct AuthGuard {
    /// Failures per client.
    pub throttle: Throttle,
    /// Failure log lines, at a bounded rate.
    pub log: crate::http::log_rate::LogRate,
}

impl AuthGuard {
    /// Whether the request's client may present a credential now.
    pub fn check(&self, req: &actix_web::HttpRequest) -> Result<(), Throttled> {
        self.throttle.check(client_of(req), Instant::now())
    }

    /// Records (and logs, at a bounded rate) a wrong credential; `what` says which kind.
    pub fn failed(&self, req: &actix_web::HttpRequest, what: &'static str) {
        self.throttle.failed(client_of(req), Instant::now());
        if let Some(suppressed) = self.log.admit() {
            tracing::warn!(
                credential = what,
                peer = ?req.peer_addr(),
                suppressed,
                "a wrong admin token"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn n_failures_then_refused_until_the_window_ends() {
        let t = Throttle::new();
        let c = key("192.0.2.1");
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.check(c, t0), Ok(()));
            t.failed(c, t0);
        }
        let refused = t.check(c, t0 + Duration::from_millis(1500)).unwrap_err();
        assert_eq!(refused.retry_after_secs, 59);
        // Others are not affected.
        assert_eq!(t.check(key("192.0.2.2"), t0), Ok(()));
        // The window over: allowed again, and a new failure starts a new window.
        assert_eq!(t.check(c, t0 + WINDOW), Ok(()));
        t.failed(c, t0 + WINDOW);
        assert_eq!(t.check(c, t0 + WINDOW), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("::1"), key("0.0.0.1"));
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = Throttle::new();
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 50) {
            t.failed(ClientKey::of(IpAddr::from(i.to_be_bytes())), t0);
        }
        assert!(t.tracked() <= MAX_CLIENTS);
    }
}
