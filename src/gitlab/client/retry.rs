//! When to try a GitLab call again, and how long to wait: bounded attempts, jittered exponential
//! backoff, and GitLab's own `Retry-After` honoured (capped) on 429 and 503.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rand::Rng;

/// Retry settings of the client.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all (the first included); at least 1.
    pub max_attempts: u32,
    /// First backoff; doubled each attempt.
    pub base: Duration,
    /// Largest backoff.
    pub max: Duration,
    /// Largest `Retry-After` honoured; a longer one ends the retries with `RateLimited`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(250),
            max: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Whether a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 429: GitLab did not process the request.
    RateLimited,
    /// 502, 503, 504: a proxy or an unavailable GitLab; the request did not run.
    Unavailable,
    /// 500 or another 5xx: the request may have run.
    ServerError,
    /// No connection could be made: the request was not sent.
    ConnectFailed,
    /// Timed out or the connection dropped mid-way: the request may have run.
    Interrupted,
    /// GitLab's TLS certificate was refused: trying again at once cannot help.
    CertificateRefused,
}

impl Outcome {
    /// Whether to try again. A request that is not idempotent (POST: create a commit, an MR, a
    /// note) is repeated only when GitLab cannot have run it, so a retry never makes a second
    /// commit or a second comment. The caller's handler is itself retried by the inbox, and it
    /// looks at GitLab's state before acting again.
    pub fn retryable(self, idempotent: bool) -> bool {
        match self {
            Outcome::RateLimited | Outcome::Unavailable | Outcome::ConnectFailed => true,
            Outcome::ServerError | Outcome::Interrupted => idempotent,
            Outcome::CertificateRefused => false,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), given GitLab's
    /// `Retry-After` if it sent one. `None`: GitLab asked for longer than we wait.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(asked) = retry_after {
            return (asked <= self.max_retry_after).then_some(asked);
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max);
        // Full jitter in [ceiling/2, ceiling]: spreads a crowd of workers without ever waiting
        // close to nothing.
        let half = ceiling / 2;
        let jitter = if half.is_zero() {
            Duration::ZERO
        } else {
            rand::thread_rng().gen_range(Duration::ZERO..=half)
        };
        Some(half + jitter)
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Something that waits. The client waits through it so that tests can see the waits without
/// spending them.
#[async_trait]
pub trait Sleeper: Send + Sync + 'static {
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);
}

/// Waits on the tokio timer.
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Records each wait and returns at once (for tests).
#[derive(Default)]
pub struct RecordingSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    /// The waits asked for so far.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        if let Ok(mut w) = self.waits.lock() {
            w.push(duration);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None).unwrap();
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3, None).unwrap();
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = p.delay(9, None).unwrap();
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
        }
        assert_eq!(
            p.delay(40, None).map(|d| d <= Duration::from_secs(1)),
            Some(true)
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600))), None);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_requests_that_cannot_have_run_are_repeated_when_not_idempotent() {
        for o in [
            Outcome::RateLimited,
            Outcome::Unavailable,
            Outcome::ConnectFailed,
        ] {
            assert!(o.retryable(false) && o.retryable(true));
        }
        for o in [Outcome::ServerError, Outcome::Interrupted] {
            assert!(!o.retryable(false) && o.retryable(true));
        }
        assert!(!Outcome::CertificateRefused.retryable(true));
    }
}
