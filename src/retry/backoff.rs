//! The backoff schedule: `base * 2^(attempt - 1)`, capped at `max`, then jittered so that a
//! crowd of retries spreads out.

use std::time::Duration;

/// How a delay is spread around the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the schedule.
    None,
    /// A factor in 0.8..=1.2 (still capped at `max`): the inbox's ±20 %.
    Spread,
    /// Somewhere in [ceiling/2, ceiling]: spreads a crowd of clients without ever waiting
    /// close to nothing.
    UpperHalf,
}

/// An exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay; doubled each attempt.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How the delay is spread.
    pub jitter: Jitter,
}

impl Backoff {
    /// The schedule before jitter, after `attempt` attempts (counted from 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }

    /// The delay after `attempt` attempts for a random `draw` in [0, 1].
    pub fn delay(&self, attempt: u32, draw: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let draw = if draw.is_nan() {
            0.0
        } else {
            draw.clamp(0.0, 1.0)
        };
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Spread => ceiling.mul_f64(0.8 + 0.4 * draw).min(self.max),
            Jitter::UpperHalf => {
                let half = ceiling / 2;
                half + (ceiling - half).mul_f64(draw)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_schedule_doubles_and_caps_with_twenty_per_cent_spread() {
        let b = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            jitter: Jitter::Spread,
        };
        // draw 0.5 is the factor 1.0, 0.0 is 0.8, 1.0 is 1.2.
        assert_eq!(b.delay(1, 0.5), Duration::from_secs(2));
        assert_eq!(b.delay(2, 0.5), Duration::from_secs(4));
        assert_eq!(b.delay(4, 0.5), Duration::from_secs(16));
        assert_eq!(b.delay(10, 0.5), Duration::from_secs(60));
        assert_eq!(b.delay(40, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(1600));
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(2400));
    }

    #[test]
    fn the_client_schedule_grows_is_jittered_and_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: Jitter::UpperHalf,
        };
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(200));
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(b.delay(9, 0.0), Duration::from_millis(500));
        assert_eq!(b.delay(40, 1.0), Duration::from_secs(1));
        for draw in [0.1, 0.37, 0.9] {
            let d = b.delay(3, draw);
            assert!(d > Duration::from_millis(200) && d < Duration::from_millis(400));
        }
        assert_eq!(b.delay(1, f64::NAN), Duration::from_millis(50));
    }

    #[test]
    fn without_jitter_the_schedule_is_exact() {
        let b = Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            jitter: Jitter::None,
        };
        assert_eq!(b.delay(1, 0.3), Duration::from_millis(500));
        assert_eq!(b.delay(2, 0.3), Duration::from_secs(1));
        assert_eq!(b.delay(9, 0.3), Duration::from_secs(30));
    }
}
