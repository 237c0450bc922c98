//! Fault injection per route: failures with GitLab's bodies, latency, dropped connections.
//!
//! Patterns are route patterns as recorded (`/projects/:id/repository/tree`, with or without
//! the `/api/v4` prefix), or `*` for every route.
//!
//! A *dropped connection* answers with a response whose body fails before its first byte: the
//! server (actix-http) then closes the socket without writing the response, so the client sees
//! the connection closed with no answer (reqwest: a `hyper` "connection closed before message
//! completed" error from `send()`). No handler panics.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::recorder::route_key;

#[derive(Debug, Clone)]
enum Kind {
    Fail {
        status: u16,
        retry_after: u64,
        json: bool,
    },
    Drop,
    Latency(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    key: String,
    kind: Kind,
    remaining: Option<usize>,
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultDecision {
    /// Wait this long before answering.
    pub latency: Option<Duration>,
    /// Answer this failure status instead (with its `Retry-After` seconds for 429).
    pub fail: Option<(u16, u64)>,
    /// Close the connection without an answer.
    pub drop: bool,
    /// A 429 from GitLab's application rate limiter (a JSON body) rather than Rack::Attack's
    /// text.
    pub json: bool,
}

/// The fault table, shared with the server.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` requests matching answer `status` with GitLab's body for it (429 comes with
    /// `Retry-After: 1` and the body `Retry later`).
    pub fn fail_next(&self, method: &str, pattern: &str, n: usize, status: u16) {
        self.fail_next_retry_after(method, pattern, n, status, 1);
    }

    /// Like [`Faults::fail_next`] with a chosen `Retry-After` (seconds) for 429.
    pub fn fail_next_retry_after(
        &self,
        method: &str,
        pattern: &str,
        n: usize,
        status: u16,
        retry_after: u64,
    ) {
        self.lock().push(Rule {
            key: route_key(method, pattern),
            kind: Kind::Fail {
                status,
                retry_after,
                json: false,
            },
            remaining: Some(n),
        });
    }

    /// The next `n` matching requests answer 429 as GitLab's application rate limiter does
    /// (`lib/api/helpers/rate_limiter.rb`: a JSON `message`), with `Retry-After` seconds.
    pub fn rate_limit_json_next(&self, method: &str, pattern: &str, n: usize, retry_after: u64) {
        self.lock().push(Rule {
            key: route_key(method, pattern),
            kind: Kind::Fail {
                status: 429,
                retry_after,
                json: true,
            },
            remaining: Some(n),
        });
    }

    /// Every matching request waits `d` before being answered (until [`Faults::clear`]).
    pub fn add_latency(&self, method: &str, pattern: &str, d: Duration) {
        self.lock().push(Rule {
            key: route_key(method, pattern),
            kind: Kind::Latency(d),
            remaining: None,
        });
    }

    /// The next `n` matching requests get their connection closed without an answer.
    pub fn drop_connection_next(&self, method: &str, pattern: &str, n: usize) {
        self.lock().push(Rule {
            key: route_key(method, pattern),
            kind: Kind::Drop,
            remaining: Some(n),
        });
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Consumes matching rules for one request to `route` (`METHOD /pattern`).
    pub fn decide(&self, method: &str, route: &str) -> FaultDecision {
        let mut d = FaultDecision::default();
        let any = format!("{} *", method.to_ascii_uppercase());
        let mut rules = self.lock();
        for r in rules.iter_mut() {
            if r.key != route && r.key != any && r.key != "* *" {
                continue;
            }
            if r.remaining == Some(0) {
                continue;
            }
            match r.kind {
                Kind::Latency(l) => d.latency = Some(d.latency.unwrap_or_default() + l),
                Kind::Fail {
                    status,
                    retry_after,
                    json,
                } if d.fail.is_none() && !d.drop => {
                    d.fail = Some((status, retry_after));
                    d.json = json;
                    r.remaining = r.remaining.map(|n| n - 1);
                }
                Kind::Drop if d.fail.is_none() && !d.drop => {
                    d.drop = true;
                    r.remaining = r.remaining.map(|n| n - 1);
                }
                _ => {}
            }
        }
        rules.retain(|r| r.remaining != Some(0));
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_then_passes() {
        let f = Faults::default();
        f.fail_next("get", "/api/v4/projects", 2, 429);
        assert_eq!(f.decide("GET", "GET /projects").fail, Some((429, 1)));
        assert_eq!(f.decide("GET", "GET /projects").fail, Some((429, 1)));
        assert_eq!(f.decide("GET", "GET /projects"), FaultDecision::default());
    }
}
