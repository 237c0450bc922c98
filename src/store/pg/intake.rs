//! Group commit: concurrent webhook requests hand their deliveries to one task, which stores
//! whatever has gathered in one transaction and answers each request once it is committed. The
//! durable 202 holds (nothing is answered before its row is committed) while one commit, one
//! WAL flush, serves many requests.
//!
//! While `in_flight` batches are committing, new requests wait in the channel and form the next
//! batch: the busier the intake, the larger the batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::queue::{Admitted, PgInbox};
use super::PgError;
use crate::inbox::{Enqueued, NewDelivery};

/// How the intake batches.
#[derive(Debug, Clone, Copy)]
pub struct IntakeConfig {
    /// Most deliveries in one transaction.
    pub max_batch: usize,
    /// Batches committing at once (each on its own connection).
    pub in_flight: usize,
    /// Most bytes the stored bodies may take; past it, [`Enqueued::Full`].
    pub max_payload_bytes: u64,
    /// How often the stored bodies' size is read again from the database (bodies freed by
    /// other replicas' acks are seen then).
    pub usage_refresh: Duration,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_batch: 256,
            in_flight: 4,
            max_payload_bytes: crate::config::DEFAULT_INBOX_MAX_BYTES,
            usage_refresh: Duration::from_secs(1),
        }
    }
}

struct Request {
    admitted: Admitted,
    reply: oneshot::Sender<Result<Enqueued, PgError>>,
}

/// The handle requests enqueue through. Cheap to clone; the task stops when every handle is
/// dropped, after committing what it holds.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Request>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    deliveries: AtomicU64,
}

/// What the intake has committed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeStats {
    /// Transactions committed.
    pub batches: u64,
    /// Deliveries answered from them (accepted or duplicate).
    pub deliveries: u64,
}

impl Intake {
    /// Starts the batching task.
    pub fn start(inbox: PgInbox, config: IntakeConfig) -> (Intake, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.max_batch.max(1) * config.in_flight.max(1) * 4);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(inbox, config, rx, counters.clone()));
        (Intake { tx, counters }, task)
    }

    /// Transactions and deliveries committed so far.
    pub fn stats(&self) -> IntakeStats {
        IntakeStats {
            batches: self.counters.batches.load(Ordering::SeqCst),
            deliveries: self.counters.deliveries.load(Ordering::SeqCst),
        }
    }

    /// Stores a delivery, answering once the transaction holding it has committed.
    pub async fn enqueue(&self, delivery: NewDelivery, body: &[u8]) -> Result<Enqueued, PgError> {
        let admitted = Admitted {
            stored: crate::payload_codec::encode(body),
            body_len: body.len() as u64,
            delivery,
        };
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request { admitted, reply })
            .await
            .map_err(|_| PgError::IntakeStopped)?;
        answer.await.map_err(|_| PgError::IntakeStopped)?
    }
}

/// Which of `sizes` fit under `limit` given `used`, in order: each admitted one counts against
/// the next. Pure.
pub fn admit(used: u64, limit: u64, sizes: &[u64]) -> Vec<bool> {
    let mut used = used;
    sizes
        .iter()
        .map(|&size| {
            let fits = used.saturating_add(size) <= limit;
            if fits {
                used = used.saturating_add(size);
            }
            fits
        })
        .collect()
}

async fn run(
    inbox: PgInbox,
    config: IntakeConfig,
    mut rx: mpsc::Receiver<Request>,
    counters: Arc<Counters>,
) {
    let slots = Arc::new(Semaphore::new(config.in_flight.max(1)));
    let used = Arc::new(AtomicU64::new(0));
    let mut measured_at: Option<Instant> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        drain(&mut rx, &mut batch, config.max_batch);
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        // What arrived while the earlier batches committed joins this one.
        drain(&mut rx, &mut batch, config.max_batch);
        if measured_at.is_none_or(|at| at.elapsed() >= config.usage_refresh) {
            match inbox.payload_bytes().await {
                Ok(bytes) => {
                    used.store(bytes, Ordering::SeqCst);
                    measured_at = Some(Instant::now());
                }
                Err(e) => tracing::warn!(error = %e, "could not measure the stored bodies"),
            }
        }
        let sizes: Vec<u64> = batch
            .iter()
            .map(|r| r.admitted.stored.len() as u64)
            .collect();
        let now_used = used.load(Ordering::SeqCst);
        let fits = admit(now_used, config.max_payload_bytes, &sizes);
        let mut admitted = Vec::with_capacity(batch.len());
        for (request, fits) in batch.into_iter().zip(fits) {
            if fits {
                admitted.push(request);
            } else {
                let _ = request.reply.send(Ok(Enqueued::Full {
                    used: now_used,
                    limit: config.max_payload_bytes,
                }));
            }
        }
        if admitted.is_empty() {
            continue;
        }
        let inbox = inbox.clone();
        let used = used.clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            let (deliveries, replies): (Vec<Admitted>, Vec<_>) =
                admitted.into_iter().map(|r| (r.admitted, r.reply)).unzip();
            let sizes: Vec<u64> = deliveries.iter().map(|a| a.stored.len() as u64).collect();
            match inbox.enqueue_batch(deliveries).await {
                Ok(answers) => {
                    counters.batches.fetch_add(1, Ordering::SeqCst);
                    counters
                        .deliveries
                        .fetch_add(answers.len() as u64, Ordering::SeqCst);
                    for ((answer, reply), size) in answers.into_iter().zip(replies).zip(sizes) {
                        if matches!(answer, Enqueued::Accepted { .. }) {
                            used.fetch_add(size, Ordering::SeqCst);
                        }
                        // A request that gave up waiting is gone: its delivery is stored anyway
                        // and the sender's retry is answered `duplicate`.
                        let _ = reply.send(Ok(answer));
                    }
                }
                Err(e) => {
                    let message = match &e {
                        PgError::Query { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    for reply in replies {
                        let _ = reply.send(Err(PgError::Query {
                            op: "storing deliveries",
                            message: message.clone(),
                        }));
                    }
                }
            }
            drop(slot);
        });
    }
    // Every handle is gone: wait for the batches still committing.
    let _ = slots.acquire_many(config.in_flight.max(1) as u32).await;
}

fn drain(rx: &mut mpsc::Receiver<Request>, batch: &mut Vec<Request>, max: usize) {
    while batch.len() < max {
        match rx.try_recv() {
            Ok(r) => batch.push(r),
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_counts_each_admitted_body_against_the_next() {
        assert_eq!(admit(0, 10, &[4, 4, 4, 2]), vec![true, true, false, true]);
        assert_eq!(admit(10, 10, &[1]), vec![false]);
        assert_eq!(admit(u64::MAX, u64::MAX, &[0]), vec![true]);
    }
}
