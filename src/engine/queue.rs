//! Enqueues actions as durable inbox entries (kind `action`) in their project's lane, and waits
//! for one to be over. Answering 202 comes after [`ActionQueue::enqueue`]: the entry is on disk
//! and survives a stop; the workers run it like a delivery (in order within its lane, retried,
//! dead-lettered after the last attempt).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::gitlab::hooks::EventKind;
use crate::inbox::{DeliveryRecord, Enqueued, Inbox, NewDelivery, VerifiedBy};
use crate::lanes::Lanes;
use crate::store::StoreError;

use super::action::{ActionRequest, Requester};

/// How often [`ActionQueue::wait`] reads an action's record on PostgreSQL.
const ACTION_POLL: Duration = Duration::from_millis(50);

/// Why an action could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The store failed (the action was not queued).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The inbox's bodies already take the configured disk cap.
    #[error("the inbox is full ({used} of {limit} bytes); try again later")]
    Full {
        /// Bytes the stored bodies take.
        used: u64,
        /// The cap.
        limit: u64,
    },
}

/// A queued action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The entry's sequence number (`/api/v1/deliveries/{seq}`).
    pub seq: u64,
    /// Its lane.
    pub lane: u64,
}

/// The inbox and the lanes, for actions.
#[derive(Clone)]
pub struct ActionQueue {
    inbox: Inbox,
    lanes: Arc<Lanes>,
}

impl ActionQueue {
    /// Actions over this inbox and schedule.
    pub fn new(inbox: Inbox, lanes: Arc<Lanes>) -> Self {
        ActionQueue { inbox, lanes }
    }

    /// Stores the action durably, then hands it to its lane (on PostgreSQL: wakes the workers).
    pub async fn enqueue(&self, request: ActionRequest) -> Result<Queued, QueueError> {
        let delivery = NewDelivery {
            // Every request is its own entry: a fresh random key, never a duplicate.
            key: format!("action:{:032x}", rand::random::<u128>()),
            kind: EventKind::Action,
            project: request.action.project(),
            event_uuid: None,
            verified_by: match request.by {
                Requester::Api => VerifiedBy::AdminToken,
                Requester::Dashboard => VerifiedBy::Session,
            },
            received_at_ms: now_ms(),
        };
        let body = request.encode();
        let stored = self
            .inbox
            .run(move |inbox| inbox.enqueue(&delivery, &body))
            .await?;
        let (seq, lane) = match stored {
            Enqueued::Accepted { seq, lane } => (seq, lane),
            Enqueued::Full { used, limit } => return Err(QueueError::Full { used, limit }),
            Enqueued::Duplicate { seq } => {
                // A 128-bit random key does not repeat; should it, the entry stands as stored.
                let lane = crate::inbox::lane_of(request.action.project());
                (seq, lane)
            }
        };
        self.inbox.store().durable().await?;
        self.inbox.hand_over(&self.lanes, lane, seq);
        tracing::info!(
            seq,
            action = request.action.name(),
            by = request.by.as_str(),
            "action queued"
        );
        Ok(Queued { seq, lane })
    }

    /// Waits up to `timeout` for a queued action to be over (done, or given up on), then reads
    /// its record; `None` when it is still queued, running or waiting for a retry.
    pub async fn wait(
        &self,
        queued: Queued,
        timeout: Duration,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let seq = queued.seq;
        if self.inbox.pg().is_some() {
            // Any replica may run it: its record says when it is over.
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let record = self.inbox.run(move |inbox| inbox.record(seq)).await?;
                if let Some(over) = record.filter(|r| !r.state.is_pending()) {
                    return Ok(Some(over));
                }
                if tokio::time::Instant::now() >= deadline {
                    return Ok(None);
                }
                tokio::time::sleep(ACTION_POLL).await;
            }
        }
        let over = tokio::time::timeout(timeout, self.lanes.wait_left(queued.lane, queued.seq))
            .await
            .is_ok();
        if !over {
            return Ok(None);
        }
        let record = self.inbox.run(move |inbox| inbox.record(seq)).await?;
        Ok(record.filter(|r| !r.state.is_pending()))
    }
}
