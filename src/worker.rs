//! Workers: take deliveries from the lanes, run the handler, and record the result in the inbox
//! (done, retry later with backoff, or dead letter after the last attempt).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::clock::now_ms;
use crate::engine::ActionRequest;
use crate::gitlab::hooks::{parse, EventKind};
use crate::handlers::{Handler, HandlerError};
use crate::inbox::{Claimed, Inbox};
use crate::lanes::{Job, Lanes};
use crate::metrics::{Handled, Metrics};
use crate::retry::{Decision, RetryPolicy};
use crate::store::StoreError;
use crate::untrusted::printable;

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
    /// Retry rules (the one retry policy, [`RetryPolicy::inbox`]).
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
        if let Some(queue) = ctx.inbox.pg().cloned() {
            return Self::start_pg(ctx, queue, count);
        }
        let handles = (0..count)
            .map(|_| {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let _alive = LiveGuard::new(ctx.live.clone());
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

    /// PostgreSQL: each worker claims the next runnable delivery of any lane from the database
    /// (any replica may have stored it), renews its lease while the handler runs, and sleeps
    /// until woken (a delivery stored here, or by another replica: the database's notification)
    /// or [`PG_POLL`] (a lease that lapsed, a retry that came due, a notification missed while
    /// the listening connection was down). The lanes only say when to stop.
    fn start_pg(ctx: Arc<WorkerContext>, queue: crate::inbox::PgQueue, count: usize) -> WorkerPool {
        let handles = (0..count)
            .map(|_| {
                let (ctx, queue) = (ctx.clone(), queue.clone());
                tokio::spawn(async move {
                    let _alive = LiveGuard::new(ctx.live.clone());
                    while !ctx.lanes.is_closed() {
                        // Read before looking: a wake while the claim finds nothing still counts.
                        let seen = queue.wake_generation();
                        match queue.claim_next().await {
                            Ok(Some((seq, claimed))) => {
                                let renewal = tokio::spawn(renew_lease(queue.clone(), seq));
                                // The project's lane keeps this process's own background work
                                // (scans after a sync) off the project meanwhile, as on sled.
                                let hold = ctx.lanes.hold(crate::inbox::lane_of(claimed.record.project)).await;
                                let result = handle_claimed(&ctx, seq, claimed).await;
                                drop(hold);
                                renewal.abort();
                                if let Err(e) = result {
                                    tracing::error!(seq, error = %e, "store failure while processing a delivery; its lease lapses and it is retried");
                                }
                            }
                            Ok(None) => queue.idle_since(seen, PG_POLL).await,
                            Err(e) => {
                                tracing::error!(error = %e, "could not claim a delivery from the database; trying again");
                                queue.idle(PG_POLL).await;
                            }
                        }
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
            Some(ctx.retry.backoff.base.max(Duration::from_secs(1)))
        }
    };
    ctx.lanes.finish(job, retry_in);
    ctx.metrics.set_inbox_depth(ctx.lanes.depth());
}

/// How often an idle worker on PostgreSQL looks for work it was not woken for.
pub const PG_POLL: Duration = Duration::from_millis(250);

/// Renews the lease on `seq` every third of its length until aborted (the handler ended) or
/// lost.
async fn renew_lease(queue: crate::inbox::PgQueue, seq: u64) {
    let every = (queue.lease() / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        match queue.renew(seq).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(seq, "lease lost while the handler runs: another replica may take this delivery over");
                return;
            }
            Err(e) => tracing::warn!(seq, error = %e, "could not renew a lease; trying again"),
        }
    }
}

async fn process(ctx: &WorkerContext, job: Job) -> Result<Option<Duration>, StoreError> {
    let seq = job.seq;
    // Claim, ack and retry are a few in-memory store writes (the disk work is the flusher's), so
    // they run inline: a hop to the blocking pool per step cost more than it saved.
    let Some(claimed) = ctx.inbox.claim(seq)? else {
        return Ok(None);
    };
    handle_claimed(ctx, seq, claimed).await
}

/// Runs the handler on a claimed delivery and records the result (done, retry later, parked,
/// dead letter); the delay before a retry, for the lanes.
async fn handle_claimed(
    ctx: &WorkerContext,
    seq: u64,
    Claimed { record, body }: Claimed,
) -> Result<Option<Duration>, StoreError> {
    let kind = record.kind;
    let started = Instant::now();
    if record.attempts > ctx.retry.max_attempts {
        let reason = format!(
            "gave up after {} attempts that did not finish (the process stopped during each)",
            record.attempts - 1
        );
        bury(ctx, seq, reason).await?;
        ctx.metrics.handled(kind, Handled::Dead, 0.0);
        return Ok(None);
    }
    let result = if kind == EventKind::Action {
        // An action asked through the API or the dashboard, in its project's lane.
        match ActionRequest::decode(&body) {
            Ok(request) => ctx.handler.act(&record, &request).await,
            Err(e) => Err(HandlerError::Permanent(e.to_string())),
        }
    } else {
        match parse(kind, &body) {
            Ok(event) => ctx.handler.handle(&record, &event).await,
            Err(e) => Err(HandlerError::Permanent(e.to_string())),
        }
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
        ctx.metrics.handled(kind, Handled::Retry, elapsed);
        return Ok(Some(*retry_after));
    }
    let retry_in = match (&result, ctx.retry.next(record.attempts, None)) {
        (Err(HandlerError::Transient(_)), Decision::RetryIn(delay)) => Some(delay),
        _ => None,
    };
    match (result, retry_in) {
        (Ok(outcome), _) => {
            tracing::info!(seq, kind = %kind, project = ?record.project.map(|p| p.get()), outcome = %printable(&outcome), "delivery handled");
            ctx.inbox.ack(seq, &outcome, now_ms())?;
            ctx.metrics.handled(kind, Handled::Done, elapsed);
            Ok(None)
        }
        (Err(HandlerError::Transient(error)), Some(delay)) => {
            tracing::warn!(seq, kind = %kind, attempts = record.attempts, error = %printable(&error), retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
            let at = now_ms() + delay.as_millis() as i64;
            ctx.inbox.retry_later(seq, &error, at)?;
            ctx.metrics.handled(kind, Handled::Retry, elapsed);
            Ok(Some(delay))
        }
        (Err(e), _) => {
            let reason = match e {
                HandlerError::Transient(error) => {
                    format!("gave up after {} attempts: {error}", record.attempts)
                }
                HandlerError::Permanent(error) => error,
                HandlerError::RateLimited { message, .. } => message,
            };
            tracing::warn!(seq, kind = %kind, reason = %printable(&reason), "delivery moved to the dead letters");
            bury(ctx, seq, reason).await?;
            ctx.metrics.handled(kind, Handled::Dead, elapsed);
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

/// Marks a worker alive for as long as it lives (readiness), even if it panics.
pub(crate) struct LiveGuard(pub(crate) Arc<std::sync::atomic::AtomicUsize>);

impl LiveGuard {
    pub(crate) fn new(counter: Arc<std::sync::atomic::AtomicUsize>) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        LiveGuard(counter)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
