//! Registry outages: which registry (host) is down, since when, and when to ask it again.
//! Backing off per registry, not per package, keeps one unreachable index from costing every
//! package of every project its full round of retries. Pure: the caller passes the time.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// A registry could not be reached: the fix waits and is tried again later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// The registry, as `host` or `host:port`.
    pub registry: String,
    /// What went wrong (without the URL asked).
    pub error: String,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "registry unreachable: {}: {}", self.registry, self.error)
    }
}

impl std::error::Error for Unreachable {}

/// `host` or `host:port` of a registry URL (the port only when it is not the scheme's).
pub fn registry_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("").to_string();
            match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }
        }
        Err(_) => url.to_string(),
    }
}

#[derive(Debug, Clone)]
struct Outage {
    failures: u32,
    until: Instant,
    error: String,
}

/// The registries currently backed off.
#[derive(Debug)]
pub struct Outages {
    base: Duration,
    max: Duration,
    down: HashMap<String, Outage>,
}

impl Outages {
    /// The first outage waits `base`, each further one twice as long, up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Outages {
            base,
            max: max.max(base),
            down: HashMap::new(),
        }
    }

    /// When `registry` is backed off at `now`: its last error and how long is left.
    pub fn blocked(&self, registry: &str, now: Instant) -> Option<(String, Duration)> {
        let o = self.down.get(registry)?;
        let left = o.until.checked_duration_since(now)?;
        (!left.is_zero()).then(|| (o.error.clone(), left))
    }

    /// `registry` failed (after the request's own retries): backs it off; returns the wait.
    pub fn failed(&mut self, registry: &str, error: &str, now: Instant) -> Duration {
        let failures = self.down.get(registry).map_or(0, |o| o.failures) + 1;
        let wait = self
            .base
            .saturating_mul(1u32 << (failures - 1).min(16))
            .min(self.max);
        self.down.insert(
            registry.to_string(),
            Outage {
                failures,
                until: now + wait,
                error: error.to_string(),
            },
        );
        wait
    }

    /// `registry` answered: no more backing off.
    pub fn answered(&mut self, registry: &str) {
        self.down.remove(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_per_registry_doubling_up_to_the_cap_and_forgets_on_an_answer() {
        let t0 = Instant::now();
        let mut o = Outages::new(Duration::from_secs(30), Duration::from_secs(100));
        assert_eq!(o.blocked("index.crates.io", t0), None);
        assert_eq!(
            o.failed("index.crates.io", "connection refused", t0),
            Duration::from_secs(30)
        );
        let (error, left) = o.blocked("index.crates.io", t0).unwrap();
        assert_eq!(
            (error.as_str(), left),
            ("connection refused", Duration::from_secs(30))
        );
        // Another registry is not affected.
        assert_eq!(o.blocked("registry.npmjs.org", t0), None);
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(o.blocked("index.crates.io", t1), None, "time to ask again");
        assert_eq!(
            o.failed("index.crates.io", "e", t1),
            Duration::from_secs(60)
        );
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(
            o.failed("index.crates.io", "e", t2),
            Duration::from_secs(100)
        );
        o.answered("index.crates.io");
        assert_eq!(o.blocked("index.crates.io", t2), None);
        assert_eq!(
            o.failed("index.crates.io", "e", t2),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn names_the_registry_by_host_and_port() {
        assert_eq!(
            registry_of("https://index.crates.io/se/rd/serde"),
            "index.crates.io"
        );
        assert_eq!(
            registry_of("http://127.0.0.1:9/registry/crates/1/a"),
            "127.0.0.1:9"
        );
        let u = Unreachable {
            registry: "index.crates.io".into(),
            error: "connection refused".into(),
        };
        assert_eq!(
            u.to_string(),
            "registry unreachable: index.crates.io: connection refused"
        );
    }
}
