//! Workers: take deliveries from the lanes, run the handler, and record the result in the inbox
//! (done, retry later with backoff, or dead letter after the last attempt).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::task::JoinHandle;

use crate::clock::now_ms;
use crate::gitlab::hooks::parse;
use crate::handlers::{Handler, HandlerError};
use crate::inbox::{Claimed, Inbox};
use crate::lanes::{Job, Lanes};
use crate::metrics::Metrics;
use crate::store::StoreError;
use crate::untrusted::printable;

/// Retry rules.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

/// The delay before attempt `attempts + 1`: `base * 2^(attempts-1)`, capped at `max`, scaled by
/// `jitter` (a factor drawn from 0.8..1.2 so that retries of many deliveries spread out).
pub fn backoff(policy: &RetryPolicy, attempts: u32, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let raw = policy.base.saturating_mul(1u32 << exp).min(policy.max);
    raw.mul_f64(jitter.clamp(0.0, 2.0)).min(policy.max)
}

/// What the workers share.
pub struct WorkerContext {
    /// The durable inbox.
    pub inbox: Inbox,
    /// The schedule.
    pub lanes: Arc<Lanes>,
    /// The reaction.
    pub handler: Arc<dyn Handler>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Count of live workers (readiness).
    pub live: Arc<std::sync::atomic::AtomicUsize>,
}

/// The running workers.
pub struct WorkerPool {
    handles: Vec<JoinHandle<()>>,
    lanes: Arc<Lanes>,
}

impl WorkerPool {
    /// Starts `count` workers.
    pub fn start(ctx: Arc<WorkerContext>, count: usize) -> WorkerPool {
        let handles = (0..count)
            .map(|_| {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let _alive = crate::app::LiveGuard::new(ctx.live.clone());
                    while let Some(job) = ctx.lanes.next().await {
                        run_job(&ctx, job).await;
                    }
                })
            })
            .collect();
        WorkerPool {
            handles,
            lanes: ctx.lanes.clone(),
        }
    }

    /// Number of workers.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether there are no workers (intake-only mode).
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Whether every worker task is still alive.
    pub fn alive(&self) -> bool {
        self.handles.iter().all(|h| !h.is_finished())
    }

    /// Stops taking work and waits up to `timeout` for running handlers. What does not finish
    /// stays in the inbox and is replayed on the next start.
    pub async fn shutdown(self, timeout: Duration) -> bool {
        self.lanes.close();
        let all = futures_join(self.handles);
        tokio::time::timeout(timeout, all).await.is_ok()
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Runs one job to its recorded end. Store failures leave the delivery pending (it is retried
/// after a pause); nothing here panics on bad data.
pub async fn run_job(ctx: &WorkerContext, job: Job) {
    let retry_in = match process(ctx, job).await {
        Ok(retry_in) => retry_in,
        Err(e) => {
            tracing::error!(seq = job.seq, error = %e, "store failure while processing a delivery; will retry");
            Some(ctx.retry.base.max(Duration::from_secs(1)))
        }
    };
    ctx.lanes.finish(job, retry_in);
    ctx.metrics.set_inbox_depth(ctx.lanes.depth());
}

async fn process(ctx: &WorkerContext, job: Job) -> Result<Option<Duration>, StoreError> {
    let seq = job.seq;
    // Claim, ack and retry are a few in-memory store writes (the disk work is the flusher's), so
    // they run inline: a hop to the blocking pool per step cost more than it saved.
    let Some(Claimed { record, body }) = ctx.inbox.claim(seq)? else {
        return Ok(None);
    };
    let kind = record.kind;
    let started = Instant::now();
    if record.attempts > ctx.retry.max_attempts {
        let reason = format!(
            "gave up after {} attempts that did not finish (the process stopped during each)",
            record.attempts - 1
        );
        bury(ctx, seq, reason).await?;
        ctx.metrics.handled(kind, "dead", 0.0);
        return Ok(None);
    }
    let result = match parse(kind, &body) {
        Ok(event) => ctx.handler.handle(&record, &event).await,
        Err(e) => Err(HandlerError::Permanent(e.to_string())),
    };
    let elapsed = started.elapsed().as_secs_f64();
    if let Err(HandlerError::RateLimited {
        message,
        retry_after,
    }) = &result
    {
        // GitLab said when to come back: park until then, whatever the attempt count.
        tracing::warn!(seq, kind = %kind, error = %message, retry_in_s = retry_after.as_secs(), "rate limited by GitLab; delivery parked");
        ctx.inbox
            .park(seq, message, now_ms() + retry_after.as_millis() as i64)?;
        ctx.metrics.handled(kind, "retry", elapsed);
        return Ok(Some(*retry_after));
    }
    match result {
        Ok(outcome) => {
            tracing::info!(seq, kind = %kind, project = ?record.project.map(|p| p.get()), outcome = %printable(&outcome), "delivery handled");
            ctx.inbox.ack(seq, &outcome, now_ms())?;
            ctx.metrics.handled(kind, "done", elapsed);
            Ok(None)
        }
        Err(HandlerError::Transient(error)) if record.attempts < ctx.retry.max_attempts => {
            let jitter = rand::thread_rng().gen_range(0.8..1.2);
            let delay = backoff(&ctx.retry, record.attempts, jitter);
            tracing::warn!(seq, kind = %kind, attempts = record.attempts, error = %printable(&error), retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
            let at = now_ms() + delay.as_millis() as i64;
            ctx.inbox.retry_later(seq, &error, at)?;
            ctx.metrics.handled(kind, "retry", elapsed);
            Ok(Some(delay))
        }
        Err(e) => {
            let reason = match e {
                HandlerError::Transient(error) => {
                    format!("gave up after {} attempts: {error}", record.attempts)
                }
                HandlerError::Permanent(error) => error,
                HandlerError::RateLimited { message, .. } => message,
            };
            tracing::warn!(seq, kind = %kind, reason = %printable(&reason), "delivery moved to the dead letters");
            bury(ctx, seq, reason).await?;
            ctx.metrics.handled(kind, "dead", elapsed);
            Ok(None)
        }
    }
}

async fn bury(ctx: &WorkerContext, seq: u64, reason: String) -> Result<(), StoreError> {
    ctx.inbox.bury(seq, &reason, now_ms())?;
    let count = ctx.inbox.dead_count();
    ctx.metrics.set_dead_letters(count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        };
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(&p, 2, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(&p, 4, 1.0), Duration::from_secs(16));
        assert_eq!(backoff(&p, 10, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&p, 40, 1.2), Duration::from_secs(60));
        assert_eq!(backoff(&p, 1, 0.8), Duration::from_millis(1600));
    }
}
