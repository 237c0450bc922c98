//! The durable delivery inbox over sled: enqueue-once, claim, ack, retry later, dead letters,
//! revive, listing and pruning. Synchronous: async callers go through [`Inbox::run`].
//!
//! Trees: `delivery_keys` (dedupe key → seq), `deliveries` (seq → [`DeliveryRecord`]), `inbox`
//! (seq → [`InboxEntry`], the pending work), `payloads` (seq → raw body), `dead_letters`
//! (seq → [`DeadLetter`]). A delivery stays in `inbox` until it is acknowledged or buried, so a
//! crash at any point replays it on restart.

use serde::{Deserialize, Serialize};
use sled::transaction::{abort, ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::gitlab::hooks::EventKind;
use crate::gitlab::ProjectId;
use crate::store::{decode, encode, key_u64, u64_key, Store, StoreError};

/// Where a delivery stands. New variants go at the end (the store encodes the position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for a worker.
    Queued,
    /// A worker is running its handler.
    Processing,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// Handled.
    Done,
    /// Given up on; in the dead letters.
    Dead,
}

impl DeliveryState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Processing => "processing",
            DeliveryState::Failed => "failed",
            DeliveryState::Done => "done",
            DeliveryState::Dead => "dead",
        }
    }

    /// Parses an API name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryState::Queued,
            "processing" => DeliveryState::Processing,
            "failed" => DeliveryState::Failed,
            "done" => DeliveryState::Done,
            "dead" => DeliveryState::Dead,
            _ => return None,
        })
    }
}

/// What backline knows about one accepted delivery. Fields are append-only (postcard encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Sequence number, also the key in every tree.
    pub seq: u64,
    /// The dedupe key (`id:<webhook-id>`, `uuid:<event-uuid>:<sha256>` or `sha256:<hash>`).
    pub key: String,
    /// Event kind.
    pub kind: EventKind,
    /// Project the event concerns, if any.
    pub project: Option<ProjectId>,
    /// `X-Gitlab-Event-UUID`, passed on to GitLab API calls made for this delivery.
    pub event_uuid: Option<String>,
    /// How it was verified (`signature`, `token`, `unverified`).
    pub verified_by: String,
    /// Body size in bytes.
    pub body_len: u64,
    /// State.
    pub state: DeliveryState,
    /// Handler runs started so far.
    pub attempts: u32,
    /// When it was accepted (Unix ms).
    pub received_at_ms: i64,
    /// When it reached `done` or `dead` (Unix ms).
    pub finished_at_ms: Option<i64>,
    /// When the next attempt may start (Unix ms), while `failed`.
    pub next_attempt_at_ms: Option<i64>,
    /// What the handler did.
    pub outcome: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A pending unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The ordering lane: the project id, or 0 for instance-wide events.
    pub lane: u64,
}

/// Why a delivery was given up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The reason.
    pub reason: String,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// A delivery to enqueue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Dedupe key.
    pub key: String,
    /// Event kind.
    pub kind: EventKind,
    /// Project, if any.
    pub project: Option<ProjectId>,
    /// `X-Gitlab-Event-UUID`.
    pub event_uuid: Option<String>,
    /// Verification method.
    pub verified_by: &'static str,
    /// Receive time (Unix ms).
    pub received_at_ms: i64,
}

/// Result of [`Inbox::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored under this sequence number.
    Accepted {
        /// Sequence number.
        seq: u64,
        /// Lane.
        lane: u64,
    },
    /// Already known under this sequence number.
    Duplicate {
        /// Sequence number of the first copy.
        seq: u64,
    },
}

/// A claimed delivery, ready for its handler.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The record, with `attempts` already counting this run.
    pub record: DeliveryRecord,
    /// The raw body.
    pub body: Vec<u8>,
}

/// A pending delivery found at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Sequence number.
    pub seq: u64,
    /// Lane.
    pub lane: u64,
    /// Earliest next attempt (Unix ms), if it is waiting for a retry.
    pub not_before_ms: Option<i64>,
}

/// A page of delivery records.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Matching records in all pages.
    pub total: usize,
    /// This page.
    pub items: Vec<T>,
}

/// The inbox operations over a [`Store`].
#[derive(Clone)]
pub struct Inbox {
    store: Store,
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

/// The lane of a project: its id, or 0 for none.
pub fn lane_of(project: Option<ProjectId>) -> u64 {
    project.map(ProjectId::get).unwrap_or(0)
}

impl Inbox {
    /// The inbox over a store.
    pub fn new(store: Store) -> Self {
        Inbox { store }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs inbox operations off the async executor (sled calls may block on I/O).
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Inbox) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inbox = self.clone();
        tokio::task::spawn_blocking(move || f(&inbox))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The sequence number of a known dedupe key.
    pub fn known(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self.store.delivery_keys().get(key.as_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(key_u64("delivery_keys", &v)?)),
        }
    }

    /// Stores a delivery once: the dedupe key, the record, the pending entry and the body are
    /// written in one transaction; a second delivery with the same key is reported as duplicate.
    /// Not yet durable: await [`Store::durable`] before acknowledging.
    pub fn enqueue(&self, delivery: &NewDelivery, body: &[u8]) -> Result<Enqueued, StoreError> {
        let seq = self.store.next_id()?;
        let lane = lane_of(delivery.project);
        let record = DeliveryRecord {
            seq,
            key: delivery.key.clone(),
            kind: delivery.kind,
            project: delivery.project,
            event_uuid: delivery.event_uuid.clone(),
            verified_by: delivery.verified_by.to_string(),
            body_len: body.len() as u64,
            state: DeliveryState::Queued,
            attempts: 0,
            received_at_ms: delivery.received_at_ms,
            finished_at_ms: None,
            next_attempt_at_ms: None,
            outcome: None,
            last_error: None,
        };
        let record_bytes = encode(&record);
        let entry_bytes = encode(&InboxEntry { lane });
        let s = &self.store;
        (s.delivery_keys(), s.deliveries(), s.inbox(), s.payloads())
            .transaction(
                |(keys, deliveries, inbox, payloads)| -> TxResult<Enqueued> {
                    if let Some(existing) = keys.get(delivery.key.as_bytes())? {
                        let seq = key_u64("delivery_keys", &existing).map_err(abort_with)?;
                        return Ok(Enqueued::Duplicate { seq });
                    }
                    keys.insert(delivery.key.as_bytes(), &u64_key(seq))?;
                    deliveries.insert(&u64_key(seq), record_bytes.as_slice())?;
                    inbox.insert(&u64_key(seq), entry_bytes.as_slice())?;
                    payloads.insert(&u64_key(seq), body)?;
                    Ok(Enqueued::Accepted { seq, lane })
                },
            )
            .map_err(tx_err)
    }

    /// Every pending delivery, in sequence order (startup replay).
    pub fn pending(&self) -> Result<Vec<Pending>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.inbox().iter() {
            let (k, v) = item?;
            let seq = key_u64("inbox", &k)?;
            let entry: InboxEntry = decode("inbox", &k, &v)?;
            let record = self.record(seq)?;
            out.push(Pending {
                seq,
                lane: entry.lane,
                not_before_ms: record.and_then(|r| r.next_attempt_at_ms),
            });
        }
        Ok(out)
    }

    /// One delivery record.
    pub fn record(&self, seq: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        match self.store.deliveries().get(u64_key(seq))? {
            None => Ok(None),
            Some(v) => Ok(Some(decode("deliveries", &u64_key(seq), &v)?)),
        }
    }

    /// Starts an attempt: counts it and marks the delivery `processing`. `None` when the
    /// delivery is no longer pending.
    pub fn claim(&self, seq: u64) -> Result<Option<Claimed>, StoreError> {
        let key = u64_key(seq);
        if !self.store.inbox().contains_key(key)? {
            return Ok(None);
        }
        let Some(mut record) = self.record(seq)? else {
            return Ok(None);
        };
        let Some(body) = self.store.payloads().get(key)? else {
            return Err(StoreError::Decode {
                tree: "payloads",
                key: seq.to_string(),
                message: "pending delivery has no stored body".to_string(),
            });
        };
        record.attempts += 1;
        record.state = DeliveryState::Processing;
        record.next_attempt_at_ms = None;
        self.store.deliveries().insert(key, encode(&record))?;
        Ok(Some(Claimed {
            record,
            body: body.to_vec(),
        }))
    }

    /// Finishes a delivery: records the outcome, removes the pending entry and the body.
    pub fn ack(&self, seq: u64, outcome: &str, now_ms: i64) -> Result<(), StoreError> {
        self.finish(
            seq,
            now_ms,
            |r| {
                r.state = DeliveryState::Done;
                r.outcome = Some(outcome.to_string());
                r.last_error = None;
            },
            None,
        )
    }

    /// Records a failed attempt and when to try again; the delivery stays pending.
    pub fn retry_later(
        &self,
        seq: u64,
        error: &str,
        next_attempt_at_ms: i64,
    ) -> Result<(), StoreError> {
        let key = u64_key(seq);
        let Some(mut record) = self.record(seq)? else {
            return Ok(());
        };
        record.state = DeliveryState::Failed;
        record.last_error = Some(error.to_string());
        record.next_attempt_at_ms = Some(next_attempt_at_ms);
        self.store.deliveries().insert(key, encode(&record))?;
        Ok(())
    }

    /// Gives up on a delivery: moves it to the dead letters with its reason (the body is kept,
    /// so that it can be revived).
    pub fn bury(&self, seq: u64, reason: &str, now_ms: i64) -> Result<(), StoreError> {
        let letter = DeadLetter {
            reason: reason.to_string(),
            at_ms: now_ms,
        };
        self.finish(
            seq,
            now_ms,
            |r| {
                r.state = DeliveryState::Dead;
                r.last_error = Some(reason.to_string());
            },
            Some(letter),
        )
    }

    fn finish(
        &self,
        seq: u64,
        now_ms: i64,
        change: impl Fn(&mut DeliveryRecord),
        dead: Option<DeadLetter>,
    ) -> Result<(), StoreError> {
        let key = u64_key(seq);
        let dead_bytes = dead.as_ref().map(encode);
        let s = &self.store;
        (s.deliveries(), s.inbox(), s.payloads(), s.dead_letters())
            .transaction(
                |(deliveries, inbox, payloads, dead_letters)| -> TxResult<()> {
                    let Some(raw) = deliveries.get(key)? else {
                        inbox.remove(&key)?;
                        return Ok(());
                    };
                    let mut record: DeliveryRecord =
                        decode("deliveries", &key, &raw).map_err(abort_with)?;
                    change(&mut record);
                    record.finished_at_ms = Some(now_ms);
                    record.next_attempt_at_ms = None;
                    deliveries.insert(&key, encode(&record))?;
                    inbox.remove(&key)?;
                    match &dead_bytes {
                        Some(bytes) => {
                            dead_letters.insert(&key, bytes.as_slice())?;
                        }
                        None => {
                            payloads.remove(&key)?;
                        }
                    }
                    Ok(())
                },
            )
            .map_err(tx_err)
    }

    /// Puts a dead letter back in the queue with a fresh attempt count. Returns its lane, or
    /// `None` when there is no such dead letter.
    pub fn revive(&self, seq: u64) -> Result<Option<u64>, StoreError> {
        let key = u64_key(seq);
        let s = &self.store;
        (s.deliveries(), s.inbox(), s.dead_letters())
            .transaction(
                |(deliveries, inbox, dead_letters)| -> TxResult<Option<u64>> {
                    if dead_letters.remove(&key)?.is_none() {
                        return Ok(None);
                    }
                    let Some(raw) = deliveries.get(key)? else {
                        return Ok(None);
                    };
                    let mut record: DeliveryRecord =
                        decode("deliveries", &key, &raw).map_err(abort_with)?;
                    record.state = DeliveryState::Queued;
                    record.attempts = 0;
                    record.finished_at_ms = None;
                    record.next_attempt_at_ms = None;
                    let lane = lane_of(record.project);
                    deliveries.insert(&key, encode(&record))?;
                    inbox.insert(&key, encode(&InboxEntry { lane }))?;
                    Ok(Some(lane))
                },
            )
            .map_err(tx_err)
    }

    /// The dead letter of a delivery.
    pub fn dead_letter(&self, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        match self.store.dead_letters().get(u64_key(seq))? {
            None => Ok(None),
            Some(v) => Ok(Some(decode("dead_letters", &u64_key(seq), &v)?)),
        }
    }

    /// Number of dead letters.
    pub fn dead_count(&self) -> usize {
        self.store.dead_letters().len()
    }

    /// Delivery records, newest first, optionally of one state; `page` counts from 1.
    pub fn list(
        &self,
        state: Option<DeliveryState>,
        page: usize,
        per_page: usize,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        let mut total = 0;
        let mut items = Vec::new();
        for item in self.store.deliveries().iter().rev() {
            let (k, v) = item?;
            let record: DeliveryRecord = decode("deliveries", &k, &v)?;
            if state.is_some_and(|s| s != record.state) {
                continue;
            }
            if total >= skip && items.len() < per_page {
                items.push(record);
            }
            total += 1;
        }
        Ok(Page { total, items })
    }

    /// Forgets finished (`done`) deliveries older than `cutoff_ms`, with their dedupe keys.
    /// Dead letters stay until revived. Returns how many were removed.
    pub fn prune(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.store.deliveries().iter() {
            let (k, v) = item?;
            let record: DeliveryRecord = decode("deliveries", &k, &v)?;
            if record.state != DeliveryState::Done
                || record.finished_at_ms.unwrap_or(i64::MAX) >= cutoff_ms
            {
                continue;
            }
            let s = &self.store;
            (s.delivery_keys(), s.deliveries(), s.payloads())
                .transaction(|(keys, deliveries, payloads)| -> TxResult<()> {
                    keys.remove(record.key.as_bytes())?;
                    deliveries.remove(&k)?;
                    payloads.remove(&k)?;
                    Ok(())
                })
                .map_err(tx_err)?;
            removed += 1;
        }
        Ok(removed)
    }
}

fn abort_with(e: StoreError) -> ConflictableTransactionError<StoreError> {
    match abort::<(), StoreError>(e) {
        Err(e) => e,
        Ok(()) => unreachable!("abort always errs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str, project: Option<u64>) -> NewDelivery {
        NewDelivery {
            key: key.to_string(),
            kind: EventKind::Push,
            project: project.map(ProjectId),
            event_uuid: None,
            verified_by: "token",
            received_at_ms: 1_000,
        }
    }

    fn open() -> (tempfile::TempDir, Inbox) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Inbox::new(store))
    }

    #[test]
    fn enqueue_once_then_duplicate() {
        let (_dir, inbox) = open();
        let first = inbox.enqueue(&delivery("id:a", Some(5)), b"{}").unwrap();
        let Enqueued::Accepted { seq, lane } = first else {
            panic!("{first:?}")
        };
        assert_eq!(lane, 5);
        assert_eq!(
            inbox.enqueue(&delivery("id:a", Some(5)), b"{}").unwrap(),
            Enqueued::Duplicate { seq }
        );
        assert_eq!(inbox.known("id:a").unwrap(), Some(seq));
        assert_eq!(inbox.pending().unwrap().len(), 1);
    }

    #[test]
    fn claim_ack_lifecycle() {
        let (_dir, inbox) = open();
        let Enqueued::Accepted { seq, .. } =
            inbox.enqueue(&delivery("id:b", None), b"body").unwrap()
        else {
            panic!()
        };
        let claimed = inbox.claim(seq).unwrap().unwrap();
        assert_eq!(claimed.body, b"body");
        assert_eq!(claimed.record.attempts, 1);
        assert_eq!(claimed.record.state, DeliveryState::Processing);
        inbox.ack(seq, "recorded", 2_000).unwrap();
        let r = inbox.record(seq).unwrap().unwrap();
        assert_eq!(r.state, DeliveryState::Done);
        assert_eq!(r.finished_at_ms, Some(2_000));
        assert!(inbox.pending().unwrap().is_empty());
        assert!(
            inbox.claim(seq).unwrap().is_none(),
            "acked work cannot be claimed again"
        );
        assert!(inbox
            .store()
            .payloads()
            .get(u64_key(seq))
            .unwrap()
            .is_none());
    }

    #[test]
    fn retry_then_bury_then_revive() {
        let (_dir, inbox) = open();
        let Enqueued::Accepted { seq, .. } =
            inbox.enqueue(&delivery("id:c", Some(9)), b"x").unwrap()
        else {
            panic!()
        };
        inbox.claim(seq).unwrap().unwrap();
        inbox.retry_later(seq, "GitLab 502", 5_000).unwrap();
        let p = inbox.pending().unwrap();
        assert_eq!(p[0].not_before_ms, Some(5_000));
        assert_eq!(
            inbox.record(seq).unwrap().unwrap().state,
            DeliveryState::Failed
        );
        inbox.claim(seq).unwrap().unwrap();
        inbox.bury(seq, "gave up", 6_000).unwrap();
        assert!(inbox.pending().unwrap().is_empty());
        assert_eq!(inbox.dead_count(), 1);
        assert_eq!(inbox.dead_letter(seq).unwrap().unwrap().reason, "gave up");
        let r = inbox.record(seq).unwrap().unwrap();
        assert_eq!((r.state, r.attempts), (DeliveryState::Dead, 2));
        assert_eq!(inbox.revive(seq).unwrap(), Some(9));
        assert_eq!(inbox.dead_count(), 0);
        let claimed = inbox.claim(seq).unwrap().unwrap();
        assert_eq!(claimed.record.attempts, 1);
        assert_eq!(claimed.body, b"x");
        assert_eq!(inbox.revive(seq).unwrap(), None);
    }

    #[test]
    fn list_filters_and_paginates_newest_first() {
        let (_dir, inbox) = open();
        let mut seqs = Vec::new();
        for i in 0..5 {
            if let Enqueued::Accepted { seq, .. } = inbox
                .enqueue(&delivery(&format!("id:{i}"), Some(1)), b"{}")
                .unwrap()
            {
                seqs.push(seq);
            }
        }
        inbox.claim(seqs[0]).unwrap();
        inbox.ack(seqs[0], "ok", 10).unwrap();
        let all = inbox.list(None, 1, 2).unwrap();
        assert_eq!(all.total, 5);
        assert_eq!(
            all.items.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![seqs[4], seqs[3]]
        );
        let page3 = inbox.list(None, 3, 2).unwrap();
        assert_eq!(page3.items.len(), 1);
        let done = inbox.list(Some(DeliveryState::Done), 1, 10).unwrap();
        assert_eq!(done.total, 1);
        assert_eq!(
            inbox
                .list(Some(DeliveryState::Queued), 1, 10)
                .unwrap()
                .total,
            4
        );
    }

    #[test]
    fn prune_forgets_old_done_deliveries_and_their_keys() {
        let (_dir, inbox) = open();
        let Enqueued::Accepted { seq, .. } =
            inbox.enqueue(&delivery("id:old", None), b"{}").unwrap()
        else {
            panic!()
        };
        inbox.claim(seq).unwrap();
        inbox.ack(seq, "ok", 100).unwrap();
        inbox.enqueue(&delivery("id:pending", None), b"{}").unwrap();
        assert_eq!(inbox.prune(50).unwrap(), 0);
        assert_eq!(inbox.prune(101).unwrap(), 1);
        assert_eq!(inbox.known("id:old").unwrap(), None);
        assert!(inbox.known("id:pending").unwrap().is_some());
    }

    #[test]
    fn pending_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let seq = {
            let inbox = Inbox::new(Store::open(dir.path()).unwrap());
            let Enqueued::Accepted { seq, .. } =
                inbox.enqueue(&delivery("id:z", Some(3)), b"{}").unwrap()
            else {
                panic!()
            };
            inbox.claim(seq).unwrap();
            inbox.store().flush_now().unwrap();
            seq
        };
        let inbox = Inbox::new(Store::open(dir.path()).unwrap());
        let pending = inbox.pending().unwrap();
        assert_eq!(
            pending,
            vec![Pending {
                seq,
                lane: 3,
                not_before_ms: None
            }]
        );
        assert_eq!(
            inbox.record(seq).unwrap().unwrap().state,
            DeliveryState::Processing
        );
    }
}
