//! Whether to try again and after how long: bounded attempts, the backoff schedule, and the
//! server's `Retry-After` honoured within a cap.

use std::time::Duration;

use super::backoff::{Backoff, Jitter};

/// What to do with a `Retry-After` longer than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRule {
    /// Give up: the server asked for longer than this loop waits (the GitLab client, whose
    /// caller then parks the delivery until then).
    GiveUpBeyond(Duration),
    /// Wait the cap at most (the registries).
    ClampTo(Duration),
}

/// The answer for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryIn(Duration),
    /// Stop: attempts used up, or the server asked for longer than the cap.
    GiveUp,
}

/// The retry rules of one loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first included); at least 1.
    pub max_attempts: u32,
    /// The schedule when the server says nothing.
    pub backoff: Backoff,
    /// How the server's `Retry-After` is honoured.
    pub retry_after: AfterRule,
}

impl Default for RetryPolicy {
    /// The GitLab client's: 5 attempts from 250 ms up to 15 s, `Retry-After` up to 120 s.
    fn default() -> Self {
        RetryPolicy::gitlab()
    }
}

impl RetryPolicy {
    /// The GitLab client's: 5 attempts from 250 ms up to 15 s, jittered in the upper half; a
    /// `Retry-After` over 120 s ends the retries (the delivery is parked instead).
    pub fn gitlab() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff {
                base: Duration::from_millis(250),
                max: Duration::from_secs(15),
                jitter: Jitter::UpperHalf,
            },
            retry_after: AfterRule::GiveUpBeyond(Duration::from_secs(120)),
        }
    }

    /// A package registry's: `attempts` from `base` (up to 30 s), jittered in the upper
    /// half; a `Retry-After` is waited 30 s at most.
    pub fn registry(attempts: u32, base: Duration) -> Self {
        RetryPolicy {
            max_attempts: attempts,
            backoff: Backoff {
                base,
                max: Duration::from_secs(30),
                jitter: Jitter::UpperHalf,
            },
            retry_after: AfterRule::ClampTo(Duration::from_secs(30)),
        }
    }

    /// The inbox's redelivery (`BACKLINE_MAX_ATTEMPTS`, `BACKLINE_RETRY_BASE_MS`,
    /// `BACKLINE_RETRY_MAX_MS`), ±20 %. GitLab's own `Retry-After` parks a delivery before it
    /// gets here, so the rule is only a bound.
    pub fn inbox(max_attempts: u32, base: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            backoff: Backoff {
                base,
                max,
                jitter: Jitter::Spread,
            },
            retry_after: AfterRule::ClampTo(max),
        }
    }

    /// After `attempt` failed attempts (counted from 1), with the server's `Retry-After` if it
    /// sent one and a random `draw` in [0, 1] for the jitter.
    pub fn decide(&self, attempt: u32, retry_after: Option<Duration>, draw: f64) -> Decision {
        if attempt >= self.max_attempts.max(1) {
            return Decision::GiveUp;
        }
        match (retry_after, self.retry_after) {
            (Some(asked), AfterRule::GiveUpBeyond(cap)) if asked > cap => Decision::GiveUp,
            (Some(asked), AfterRule::GiveUpBeyond(_)) => Decision::RetryIn(asked),
            (Some(asked), AfterRule::ClampTo(cap)) => Decision::RetryIn(asked.min(cap)),
            (None, _) => Decision::RetryIn(self.backoff.delay(attempt, draw)),
        }
    }

    /// [`RetryPolicy::decide`] with a fresh random draw.
    pub fn next(&self, attempt: u32, retry_after: Option<Duration>) -> Decision {
        self.decide(attempt, retry_after, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::inbox(3, Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(
            p.decide(1, None, 0.5),
            Decision::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(
            p.decide(2, None, 0.5),
            Decision::RetryIn(Duration::from_secs(4))
        );
        assert_eq!(p.decide(3, None, 0.5), Decision::GiveUp);
        let once = RetryPolicy {
            max_attempts: 0,
            ..p
        };
        assert_eq!(once.decide(1, None, 0.5), Decision::GiveUp);
    }

    #[test]
    fn gitlab_retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::gitlab();
        assert_eq!(
            p.decide(1, Some(Duration::from_secs(7)), 0.0),
            Decision::RetryIn(Duration::from_secs(7))
        );
        assert_eq!(
            p.decide(1, Some(Duration::from_secs(3600)), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(1, None, 1.0),
            Decision::RetryIn(Duration::from_millis(250))
        );
    }

    #[test]
    fn registry_retry_after_is_clamped() {
        let p = RetryPolicy::registry(3, Duration::from_millis(500));
        assert_eq!(
            p.decide(1, Some(Duration::from_secs(3600)), 0.0),
            Decision::RetryIn(Duration::from_secs(30))
        );
        assert_eq!(
            p.decide(2, None, 1.0),
            Decision::RetryIn(Duration::from_secs(1))
        );
        assert_eq!(p.decide(3, Some(Duration::ZERO), 0.0), Decision::GiveUp);
    }

    #[test]
    fn next_draws_within_the_schedule() {
        let p = RetryPolicy::inbox(8, Duration::from_secs(10), Duration::from_secs(600));
        for _ in 0..100 {
            let Decision::RetryIn(d) = p.next(2, None) else {
                panic!("gave up")
            };
            assert!(
                d >= Duration::from_secs(16) && d <= Duration::from_secs(24),
                "{d:?}"
            );
        }
    }
}
