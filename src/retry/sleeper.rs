//! Waiting. The retry loops wait through a [`Sleeper`] so that tests can see the waits without
//! spending them.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

/// Something that waits.
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
