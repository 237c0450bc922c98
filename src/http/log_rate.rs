//! Log lines at a bounded rate: refusals (bad tokens, bad logins) can come thousands a second,
//! and one line each would flood the log. At most `per_window` lines per window are admitted;
//! the next admitted line says how many were left out meanwhile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bounded-rate gate for one kind of log line.
#[derive(Debug)]
pub struct LogRate {
    per_window: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogRate {
    /// At most `per_window` lines per `window`.
    pub fn new(per_window: u32, window: Duration) -> Self {
        LogRate {
            per_window,
            window,
            state: Mutex::new(Window {
                started: Instant::now(),
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines left out since the last admitted one)` when a line may be logged now.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    /// [`LogRate::admit`] at a given instant.
    pub fn admit_at(&self, now: Instant) -> Option<u64> {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(w.started) >= self.window {
            w.started = now;
            w.logged = 0;
        }
        if w.logged < self.per_window {
            w.logged += 1;
            Some(std::mem::take(&mut w.suppressed))
        } else {
            w.suppressed += 1;
            None
        }
    }
}

impl Default for LogRate {
    /// Ten lines a minute.
    fn default() -> Self {
        LogRate::new(10, Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_a_few_per_window_and_counts_the_rest() {
        let rate = LogRate::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(rate.admit_at(t0), Some(0));
        assert_eq!(rate.admit_at(t0), Some(0));
        for _ in 0..1000 {
            assert_eq!(rate.admit_at(t0), None);
        }
        let later = t0 + Duration::from_secs(61);
        assert_eq!(rate.admit_at(later), Some(1000));
        assert_eq!(rate.admit_at(later), Some(0));
        assert_eq!(rate.admit_at(later), None);
    }
}
