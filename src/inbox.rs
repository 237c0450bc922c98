//! The durable delivery inbox over the store: enqueue-once, claim, ack, retry later, dead letters,
//! revive, listing and pruning. Synchronous: async callers go through [`Inbox::run`].
//!
//! Trees: `delivery_keys` (dedupe key → seq), `deliveries` (seq → [`DeliveryRecord`]), `inbox`
//! (seq → [`InboxEntry`], the pending work), `payloads` (seq → raw body), `dead_letters`
//! (seq → [`DeadLetter`]). A delivery stays in `inbox` until it is acknowledged or buried, so a
//! crash at any point replays it on restart.
//!
//! ## No transactions
//!
//! sled 0.34 runs every multi-tree transaction (and every batch) under one database-wide write
//! lock, which stalls all other readers and writers; under webhook load that lock was the
//! bottleneck. So each operation here is a sequence of single-key writes in a fixed order, chosen
//! so that a crash between any two of them leaves a state that [`Inbox::recover`] repairs at
//! startup, or that the dedupe check reads correctly:
//!
//! - enqueue: dedupe key (compare-and-swap, the one point of mutual exclusion) → body → pending
//!   entry → record, the commit point. A key whose record never reached the disk was written
//!   before this run started ([`Store::first_id_of_run`]) and is taken over by the next copy of
//!   that delivery; a pending entry without a record is dropped.
//! - claim, retry: the record only (a delivery is claimed by one worker at a time: the lanes).
//! - ack: record → pending entry removed → body removed.
//! - bury: dead letter → record → pending entry removed.
//! - revive: pending entry → record → dead letter removed (under a lock against double revives).
//! - prune (done deliveries, and dead letters by age and count): dedupe key → record → body →
//!   dead letter.
//!
//! Counts (records, pending entries, dead letters) are kept in memory beside the trees:
//! counted once at open, then moved by each write by what it found, so the API and the metrics
//! never walk a tree.
//!
//! This relies on sled recovering a prefix of its log after a crash (it keeps the log
//! linearizable: a later segment is not recovered when an earlier one was torn). And 202 is
//! answered only after a flush that covers every write of the enqueue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::gitlab::hooks::EventKind;
use crate::gitlab::ProjectId;
use crate::store::{BigEndian, Bytes, Store, StoreError, Table};

#[cfg(test)]
mod contract;
mod either;
pub use either::{Inbox, PgQueue, Replica};

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

    /// Whether the delivery still waits for (or is in) a handler run.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            DeliveryState::Queued | DeliveryState::Processing | DeliveryState::Failed
        )
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

/// How an inbox entry was let in: a webhook's verification, or the credential of whoever
/// queued an action. Stored and answered as its name (the same bytes as the string it
/// replaces); a name this version does not know reads as [`VerifiedBy::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerifiedBy {
    /// A valid Standard Webhooks signature.
    Signature,
    /// A matching `X-Gitlab-Token`.
    Token,
    /// Nothing configured, insecure mode on.
    Unverified,
    /// An action queued through the API with the admin token.
    AdminToken,
    /// An action queued from a dashboard session.
    Session,
    /// Written by another version.
    Other(String),
}

impl VerifiedBy {
    /// The stored and API name.
    pub fn as_str(&self) -> &str {
        match self {
            VerifiedBy::Signature => "signature",
            VerifiedBy::Token => "token",
            VerifiedBy::Unverified => "unverified",
            VerifiedBy::AdminToken => "admin_token",
            VerifiedBy::Session => "session",
            VerifiedBy::Other(s) => s,
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Self {
        match s {
            "signature" => VerifiedBy::Signature,
            "token" => VerifiedBy::Token,
            "unverified" => VerifiedBy::Unverified,
            "admin_token" => VerifiedBy::AdminToken,
            "session" => VerifiedBy::Session,
            other => VerifiedBy::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for VerifiedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VerifiedBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VerifiedBy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| VerifiedBy::parse(&s))
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
    /// How it was let in (`signature`, `token`, `unverified`; actions: `admin_token`,
    /// `session`).
    pub verified_by: VerifiedBy,
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
    /// How it was let in.
    pub verified_by: VerifiedBy,
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
    /// Not stored: the stored bodies already take the configured disk cap.
    Full {
        /// Bytes the stored bodies take.
        used: u64,
        /// The cap.
        limit: u64,
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

/// The inbox's tables.
struct Tables {
    /// Dedupe key → delivery sequence number.
    delivery_keys: Table<String, u64, BigEndian>,
    /// Sequence number → delivery record.
    deliveries: Table<u64, DeliveryRecord>,
    /// Sequence number → pending entry (the work queue).
    pending: Table<u64, InboxEntry>,
    /// Sequence number → raw delivery body (compressed by [`crate::payload_codec`]).
    payloads: Table<u64, Vec<u8>, Bytes>,
    /// Sequence number → dead-letter entry.
    dead_letters: Table<u64, DeadLetter>,
}

impl Tables {
    fn open(store: &Store) -> Result<Tables, StoreError> {
        Ok(Tables {
            delivery_keys: store.table("delivery_keys")?,
            deliveries: store.table("deliveries")?,
            pending: store.table("inbox")?,
            payloads: store.table("payloads")?,
            dead_letters: store.table("dead_letters")?,
        })
    }
}

/// Entry counts kept beside the tables, so that the API, the metrics and listings never walk a
/// tree: counted once when the inbox is opened, then moved by each write that adds or removes
/// an entry (by what the write found, so concurrent writers keep them exact).
#[derive(Default)]
struct Counts {
    /// Delivery records.
    records: AtomicU64,
    /// Pending entries.
    pending: AtomicU64,
    /// Dead letters.
    dead: AtomicU64,
}

fn bump(counter: &AtomicU64, added: bool) {
    if added {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

fn drop_one(counter: &AtomicU64, removed: bool) {
    if removed {
        let _saturated = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            Some(v.saturating_sub(1))
        });
    }
}

fn load(counter: &AtomicU64) -> usize {
    counter.load(Ordering::SeqCst) as usize
}

/// The inbox operations over a sled [`Store`] (the [`Inbox`] of a store on sled).
#[derive(Clone)]
pub struct SledInbox {
    store: Store,
    t: Arc<Tables>,
    counts: Arc<Counts>,
    /// Serializes revives, whose gate (the dead letter) is removed last.
    revive_lock: Arc<Mutex<()>>,
    /// Bytes of stored (compressed) bodies right now, and the most allowed.
    payload_bytes: Arc<AtomicU64>,
    max_payload_bytes: u64,
}

/// The lane of a project: its id, or 0 for none.
pub fn lane_of(project: Option<ProjectId>) -> u64 {
    project.map(ProjectId::get).unwrap_or(0)
}

/// What [`Inbox::recover`] found and mended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Deliveries to run, in sequence order.
    pub pending: Vec<Pending>,
    /// Pending entries dropped: their delivery had finished, or was never fully written.
    pub stale_entries: usize,
    /// Dead letters dropped because their delivery had already been revived.
    pub stale_dead_letters: usize,
}

/// How many dead letters are kept, and for how long ([`Inbox::prune_dead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterLimits {
    /// Dead letters buried before this (Unix ms) are forgotten.
    pub cutoff_ms: i64,
    /// At most this many are kept; past it, the oldest (by sequence) go first.
    pub max: usize,
}

fn count<T>(entries: impl Iterator<Item = Result<T, StoreError>>) -> Result<u64, StoreError> {
    let mut n = 0;
    for entry in entries {
        entry?;
        n += 1;
    }
    Ok(n)
}

impl SledInbox {
    /// The inbox over a store, without a cap on its bodies' disk use.
    pub fn new(store: Store) -> Result<Self, StoreError> {
        Self::open(store, u64::MAX)
    }

    /// The inbox over a store, refusing new deliveries ([`Enqueued::Full`]) while its stored
    /// bodies take `max_payload_bytes` or more. Counts what is stored already (one walk of the
    /// keys at open; afterwards the counts move with each write).
    pub fn open(store: Store, max_payload_bytes: u64) -> Result<Self, StoreError> {
        let t = Tables::open(&store)?;
        let used = t.payloads.stored_bytes()?;
        let counts = Counts {
            records: AtomicU64::new(count(t.deliveries.keys())?),
            pending: AtomicU64::new(count(t.pending.keys())?),
            dead: AtomicU64::new(count(t.dead_letters.keys())?),
        };
        Ok(SledInbox {
            store,
            t: Arc::new(t),
            counts: Arc::new(counts),
            revive_lock: Arc::new(Mutex::new(())),
            payload_bytes: Arc::new(AtomicU64::new(used)),
            max_payload_bytes,
        })
    }

    /// Bytes the stored bodies take now (compressed).
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes.load(Ordering::SeqCst)
    }

    fn put_payload(&self, seq: u64, stored: Vec<u8>) -> Result<(), StoreError> {
        let len = stored.len() as u64;
        let old = self.t.payloads.replace(&seq, &stored)?;
        self.payload_bytes.fetch_add(len, Ordering::SeqCst);
        if let Some(old) = old {
            self.release(old.len() as u64);
        }
        Ok(())
    }

    fn remove_payload(&self, seq: u64) -> Result<(), StoreError> {
        if let Some(old) = self.t.payloads.take(&seq)? {
            self.release(old.len() as u64);
        }
        Ok(())
    }

    fn release(&self, n: u64) {
        let _saturated = self
            .payload_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                Some(v.saturating_sub(n))
            });
    }

    fn put_record(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        bump(
            &self.counts.records,
            !self.t.deliveries.insert(&record.seq, record)?,
        );
        Ok(())
    }

    fn remove_record(&self, seq: u64) -> Result<(), StoreError> {
        drop_one(&self.counts.records, self.t.deliveries.remove(&seq)?);
        Ok(())
    }

    fn put_pending(&self, seq: u64, lane: u64) -> Result<(), StoreError> {
        bump(
            &self.counts.pending,
            !self.t.pending.insert(&seq, &InboxEntry { lane })?,
        );
        Ok(())
    }

    fn remove_pending(&self, seq: u64) -> Result<(), StoreError> {
        drop_one(&self.counts.pending, self.t.pending.remove(&seq)?);
        Ok(())
    }

    fn remove_dead_letter(&self, seq: u64) -> Result<(), StoreError> {
        drop_one(&self.counts.dead, self.t.dead_letters.remove(&seq)?);
        Ok(())
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs inbox operations off the async executor (the store's one rule: [`Store::run`]).
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&SledInbox) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inbox = self.clone();
        crate::store::run_blocking(move || f(&inbox)).await
    }

    /// The sequence number of a known dedupe key: a stored delivery, or one being stored right
    /// now. A key left behind by a crash before its delivery was stored does not count.
    pub fn known(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self.t.delivery_keys.get(&key.to_string())? {
            None => Ok(None),
            Some(seq) => Ok(self.is_live_key(seq)?.then_some(seq)),
        }
    }

    /// Whether a dedupe key pointing at `seq` stands for a delivery: its record exists, or it was
    /// claimed in this run (an enqueue in progress, or one that failed and let go of its key).
    fn is_live_key(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(seq >= self.store.first_id_of_run() || self.t.deliveries.contains(&seq)?)
    }

    /// Stores a delivery once. The dedupe key is taken first, with a compare-and-swap, so of two
    /// copies arriving together exactly one is stored; the other is reported as duplicate.
    /// Not yet durable: await [`Store::durable`] before acknowledging.
    pub fn enqueue(&self, delivery: &NewDelivery, body: &[u8]) -> Result<Enqueued, StoreError> {
        let stored = crate::payload_codec::encode(body);
        let used = self.payload_bytes();
        if used.saturating_add(stored.len() as u64) > self.max_payload_bytes {
            return Ok(Enqueued::Full {
                used,
                limit: self.max_payload_bytes,
            });
        }
        let seq = self.store.next_id()?;
        let keys = &self.t.delivery_keys;
        let key = delivery.key.clone();
        let mut expected: Option<u64> = None;
        loop {
            match keys.compare_and_swap(&key, expected.as_ref(), Some(&seq))? {
                Ok(()) => break,
                Err(conflict) => {
                    let Some(holder) = conflict.current else {
                        // Pruned between our read and our swap: try again from empty.
                        expected = None;
                        continue;
                    };
                    if self.is_live_key(holder)? {
                        return Ok(Enqueued::Duplicate { seq: holder });
                    }
                    // Left by a crash before that delivery was stored: take it over.
                    expected = Some(holder);
                }
            }
        }
        match self.write_new(seq, delivery, body.len() as u64, stored) {
            Ok(lane) => Ok(Enqueued::Accepted { seq, lane }),
            Err(e) => {
                // Let a later copy in. If this fails too, the key is taken over after a restart
                // (it was claimed in this run, so it is no live key then): the enqueue's own
                // error is the one to report, and the release's is logged.
                if let Err(release) = keys.compare_and_swap(&key, Some(&seq), None) {
                    tracing::warn!(error = %release, seq, "could not release the dedupe key of a failed enqueue");
                }
                Err(e)
            }
        }
    }

    fn write_new(
        &self,
        seq: u64,
        delivery: &NewDelivery,
        body_len: u64,
        stored: Vec<u8>,
    ) -> Result<u64, StoreError> {
        let lane = lane_of(delivery.project);
        let record = DeliveryRecord {
            seq,
            key: delivery.key.clone(),
            kind: delivery.kind,
            project: delivery.project,
            event_uuid: delivery.event_uuid.clone(),
            verified_by: delivery.verified_by.clone(),
            body_len,
            state: DeliveryState::Queued,
            attempts: 0,
            received_at_ms: delivery.received_at_ms,
            finished_at_ms: None,
            next_attempt_at_ms: None,
            outcome: None,
            last_error: None,
        };
        self.put_payload(seq, stored)?;
        self.put_pending(seq, lane)?;
        self.put_record(&record)?;
        Ok(lane)
    }

    /// Startup: every pending delivery, in sequence order, after mending what a crash between
    /// two writes can leave behind (a pending entry whose delivery finished or was never fully
    /// stored; a dead letter whose delivery was already revived).
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        let mut out = Recovered::default();
        let entries: Vec<(u64, InboxEntry)> = self.t.pending.iter().collect::<Result<_, _>>()?;
        for (seq, entry) in entries {
            let record = self.record(seq)?;
            // No record: the enqueue never reached its commit point (and was never answered).
            // Done or dead: the finish was cut short after its record was written.
            let runnable = record.as_ref().is_some_and(|r| r.state.is_pending());
            if !runnable {
                self.remove_pending(seq)?;
                out.stale_entries += 1;
                continue;
            }
            out.pending.push(Pending {
                seq,
                lane: entry.lane,
                not_before_ms: record.and_then(|r| r.next_attempt_at_ms),
            });
        }
        let buried: Vec<u64> = self.t.dead_letters.keys().collect::<Result<_, _>>()?;
        for seq in buried {
            let dead = self
                .record(seq)?
                .is_some_and(|r| r.state == DeliveryState::Dead);
            if !dead {
                self.remove_dead_letter(seq)?;
                out.stale_dead_letters += 1;
            }
        }
        Ok(out)
    }

    /// One delivery record.
    pub fn record(&self, seq: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        self.t.deliveries.get(&seq)
    }

    /// Starts an attempt: counts it and marks the delivery `processing`. `None` when the
    /// delivery is no longer pending. The caller is the only one working on `seq` (the lanes
    /// hand each delivery to one worker at a time).
    pub fn claim(&self, seq: u64) -> Result<Option<Claimed>, StoreError> {
        let Some(mut record) = self.record(seq)? else {
            return Ok(None);
        };
        if !record.state.is_pending() {
            return Ok(None);
        }
        let Some(stored) = self.t.payloads.get(&seq)? else {
            // Cannot happen by the write order; if the disk lost it anyway, say so where people
            // look instead of retrying forever.
            self.bury(
                seq,
                "the stored body of this delivery is missing; it cannot be processed",
                crate::clock::now_ms(),
            )?;
            return Ok(None);
        };
        let body = match crate::payload_codec::decode(&stored, record.body_len) {
            Ok(body) => body,
            Err(e) => {
                self.bury(seq, &e.to_string(), crate::clock::now_ms())?;
                return Ok(None);
            }
        };
        record.attempts += 1;
        record.state = DeliveryState::Processing;
        record.next_attempt_at_ms = None;
        self.put_record(&record)?;
        Ok(Some(Claimed { record, body }))
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
        let Some(mut record) = self.record(seq)? else {
            return Ok(());
        };
        if !record.state.is_pending() {
            return Ok(());
        }
        record.state = DeliveryState::Failed;
        record.last_error = Some(error.to_string());
        record.next_attempt_at_ms = Some(next_attempt_at_ms);
        self.put_record(&record)
    }

    /// Parks a delivery until `next_attempt_at_ms` (GitLab's `Retry-After`): like
    /// [`retry_later`](Self::retry_later), but the attempt it just made does not count.
    pub fn park(&self, seq: u64, error: &str, next_attempt_at_ms: i64) -> Result<(), StoreError> {
        let Some(mut record) = self.record(seq)? else {
            return Ok(());
        };
        if !record.state.is_pending() {
            return Ok(());
        }
        record.state = DeliveryState::Failed;
        record.attempts = record.attempts.saturating_sub(1);
        record.last_error = Some(error.to_string());
        record.next_attempt_at_ms = Some(next_attempt_at_ms);
        self.put_record(&record)
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
        let Some(mut record) = self.record(seq)? else {
            self.remove_pending(seq)?;
            return Ok(());
        };
        if !record.state.is_pending() {
            // Finished already (a second bury, a late ack): the first outcome stands, as on
            // PostgreSQL, where no lease is held on it any more.
            return Ok(());
        }
        change(&mut record);
        record.finished_at_ms = Some(now_ms);
        record.next_attempt_at_ms = None;
        if let Some(letter) = &dead {
            bump(
                &self.counts.dead,
                !self.t.dead_letters.insert(&seq, letter)?,
            );
        }
        self.put_record(&record)?;
        self.remove_pending(seq)?;
        if dead.is_none() {
            self.remove_payload(seq)?;
        }
        Ok(())
    }

    /// Puts a dead letter back in the queue with a fresh attempt count. Returns its lane, or
    /// `None` when there is no such dead letter.
    pub fn revive(&self, seq: u64) -> Result<Option<u64>, StoreError> {
        let _one_at_a_time = self
            .revive_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.t.dead_letters.contains(&seq)? {
            return Ok(None);
        }
        let Some(mut record) = self.record(seq)? else {
            self.remove_dead_letter(seq)?;
            return Ok(None);
        };
        record.state = DeliveryState::Queued;
        record.attempts = 0;
        record.finished_at_ms = None;
        record.next_attempt_at_ms = None;
        let lane = lane_of(record.project);
        self.put_pending(seq, lane)?;
        self.put_record(&record)?;
        self.remove_dead_letter(seq)?;
        Ok(Some(lane))
    }

    /// The dead letter of a delivery.
    pub fn dead_letter(&self, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        self.t.dead_letters.get(&seq)
    }

    /// Number of dead letters (a counter: no walk).
    pub fn dead_count(&self) -> usize {
        load(&self.counts.dead)
    }

    /// Number of delivery records (a counter: no walk).
    pub fn record_count(&self) -> usize {
        load(&self.counts.records)
    }

    /// Delivery records, newest first, optionally of one state; `page` counts from 1. A page
    /// decodes only its own records: the unfiltered list and `dead` walk keys to the page (no
    /// decoding) and take their totals from counters; `queued`, `processing` and `failed` read
    /// the pending entries only; `done` skips the few records of other states on its way.
    pub fn list(
        &self,
        state: Option<DeliveryState>,
        page: usize,
        per_page: usize,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        match state {
            None => self.page_of_keys(
                self.t.deliveries.keys(),
                self.record_count(),
                skip,
                per_page,
            ),
            Some(DeliveryState::Dead) => self.page_of_keys(
                self.t.dead_letters.keys(),
                self.dead_count(),
                skip,
                per_page,
            ),
            Some(DeliveryState::Done) => {
                let total = self
                    .record_count()
                    .saturating_sub(load(&self.counts.pending))
                    .saturating_sub(self.dead_count());
                let mut items = Vec::new();
                let mut seen = 0;
                for kv in self.t.deliveries.iter().rev() {
                    if items.len() >= per_page {
                        break;
                    }
                    let (_, record) = kv?;
                    if record.state != DeliveryState::Done {
                        continue;
                    }
                    if seen >= skip {
                        items.push(record);
                    }
                    seen += 1;
                }
                Ok(Page { total, items })
            }
            Some(pending_state) => {
                let mut total = 0;
                let mut items = Vec::new();
                for seq in self.t.pending.keys().rev() {
                    let Some(record) = self.record(seq?)? else {
                        continue;
                    };
                    if record.state != pending_state {
                        continue;
                    }
                    if total >= skip && items.len() < per_page {
                        items.push(record);
                    }
                    total += 1;
                }
                Ok(Page { total, items })
            }
        }
    }

    fn page_of_keys<'a>(
        &self,
        keys: crate::store::Entries<'a, u64>,
        total: usize,
        skip: usize,
        per_page: usize,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let mut items = Vec::with_capacity(per_page.min(1000));
        for seq in keys.rev().skip(skip).take(per_page) {
            if let Some(record) = self.record(seq?)? {
                items.push(record);
            }
        }
        Ok(Page { total, items })
    }

    /// Forgets finished (`done`) deliveries older than `cutoff_ms`, with their dedupe keys.
    /// Dead letters are pruned by [`Inbox::prune_dead`]. Returns how many were removed.
    pub fn prune(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        let old: Vec<DeliveryRecord> = self
            .t
            .deliveries
            .iter()
            .filter_map(|kv| match kv {
                Ok((_, r))
                    if r.state == DeliveryState::Done
                        && r.finished_at_ms.unwrap_or(i64::MAX) < cutoff_ms =>
                {
                    Some(Ok(r))
                }
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for record in old {
            self.forget(&record)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes a delivery entirely: its dedupe key (only if still its own: a later copy may
    /// have taken the key over), record and body, then its dead letter. A crash between these
    /// leaves a dead letter without a record, which [`Inbox::recover`] drops.
    fn forget(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        // A conflict means another delivery holds the key now: leave it.
        let _not_ours =
            self.t
                .delivery_keys
                .compare_and_swap(&record.key, Some(&record.seq), None)?;
        self.remove_record(record.seq)?;
        self.remove_payload(record.seq)?;
        if record.state == DeliveryState::Dead {
            self.remove_dead_letter(record.seq)?;
        }
        Ok(())
    }

    /// Forgets dead letters buried before `limits.cutoff_ms`, then the oldest past
    /// `limits.max`, each with its delivery (record, body and dedupe key). Returns how many.
    pub fn prune_dead(&self, limits: DeadLetterLimits) -> Result<usize, StoreError> {
        let letters: Vec<(u64, DeadLetter)> =
            self.t.dead_letters.iter().collect::<Result<_, _>>()?;
        let mut keep = letters.len();
        let mut removed = 0;
        for (seq, letter) in letters {
            let expired = letter.at_ms < limits.cutoff_ms;
            if !expired && keep <= limits.max {
                continue;
            }
            match self.record(seq)? {
                Some(record) if record.state == DeliveryState::Dead => self.forget(&record)?,
                // Revived meanwhile, or its record already gone: only the letter is stale.
                Some(_) => continue,
                None => self.remove_dead_letter(seq)?,
            }
            keep -= 1;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
/// What only the sled inbox has: crash recovery, in-memory counts, raw bodies of older
/// versions, the disk cap read at open. The cases both backends share are in `contract`.
mod tests {
    use super::SledInbox as Inbox;
    use super::*;
    use crate::store::{decode, encode};

    fn delivery(key: &str, project: Option<u64>) -> NewDelivery {
        NewDelivery {
            key: key.to_string(),
            kind: EventKind::Push,
            project: project.map(ProjectId),
            event_uuid: None,
            verified_by: VerifiedBy::Token,
            received_at_ms: 1_000,
        }
    }

    /// Enqueues a new delivery and returns its sequence number.
    fn accept(inbox: &Inbox, key: &str, project: Option<u64>, body: &[u8]) -> u64 {
        match inbox.enqueue(&delivery(key, project), body).unwrap() {
            Enqueued::Accepted { seq, .. } => seq,
            other => panic!("{other:?}"),
        }
    }

    fn open() -> (tempfile::TempDir, Inbox) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Inbox::new(store).unwrap())
    }

    #[test]
    fn bodies_are_stored_compressed_and_old_raw_ones_still_read() {
        let (_dir, inbox) = open();
        let body = br#"{"object_kind":"push","commits":[{"message":"fix"}]}"#.repeat(300);
        let seq = accept(&inbox, "id:big", Some(1), &body);
        let stored = inbox.t.payloads.get(&seq).unwrap().unwrap();
        assert!(stored.len() * 10 < body.len(), "{} bytes", stored.len());
        assert_eq!(inbox.payload_bytes(), stored.len() as u64);
        assert_eq!(inbox.claim(seq).unwrap().unwrap().body, body);
        // A body stored raw by an earlier version is read as it is.
        let old = accept(&inbox, "id:old", Some(1), b"{}");
        let raw = br#"{"object_kind":"push"}"#;
        let mut record = inbox.record(old).unwrap().unwrap();
        record.body_len = raw.len() as u64;
        inbox.t.deliveries.insert(&old, &record).unwrap();
        inbox.t.payloads.insert(&old, &raw.to_vec()).unwrap();
        assert_eq!(inbox.claim(old).unwrap().unwrap().body, raw.to_vec());
    }

    #[test]
    fn a_full_inbox_refuses_until_bodies_are_freed_and_counts_what_is_there_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let noise: Vec<u8> = (0..4000u32)
            .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
            .collect();
        let inbox = Inbox::open(store.clone(), 20_000).unwrap();
        let first = accept(&inbox, "id:1", Some(1), &noise);
        assert!(matches!(
            inbox.enqueue(&delivery("id:2", Some(1)), &noise).unwrap(),
            Enqueued::Full { limit: 20_000, .. }
        ));
        // Reopened: what is stored counts.
        let reopened = Inbox::open(store, 20_000).unwrap();
        assert_eq!(reopened.payload_bytes(), inbox.payload_bytes());
        assert!(matches!(
            reopened
                .enqueue(&delivery("id:2", Some(1)), &noise)
                .unwrap(),
            Enqueued::Full { .. }
        ));
        reopened.claim(first).unwrap().unwrap();
        reopened.ack(first, "done", 2_000).unwrap();
        assert_eq!(reopened.payload_bytes(), 0);
        assert!(matches!(
            reopened
                .enqueue(&delivery("id:2", Some(1)), &noise)
                .unwrap(),
            Enqueued::Accepted { .. }
        ));
    }

    #[test]
    fn verified_by_is_stored_as_the_string_it_replaces() {
        #[derive(Serialize)]
        struct Old<'a>(&'a str);
        for v in [
            VerifiedBy::Signature,
            VerifiedBy::Token,
            VerifiedBy::Unverified,
            VerifiedBy::AdminToken,
            VerifiedBy::Session,
        ] {
            let bytes = encode(&v);
            assert_eq!(bytes, encode(&Old(v.as_str())), "{v}");
            let back: VerifiedBy = decode("deliveries", b"k", &bytes).unwrap();
            assert_eq!(back, v);
        }
        let unknown: VerifiedBy = decode("deliveries", b"k", &encode(&Old("mtls"))).unwrap();
        assert_eq!(unknown, VerifiedBy::Other("mtls".into()));
    }

    #[test]
    fn pending_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let seq = {
            let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
            let seq = accept(&inbox, "id:z", Some(3), b"{}");
            inbox.claim(seq).unwrap();
            inbox.store().flush_now().unwrap();
            seq
        };
        let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
        let pending = inbox.recover().unwrap().pending;
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

    /// The states a crash between two writes can leave, written by hand, then a restart.
    #[test]
    fn recover_mends_interrupted_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (orphan_key_seq, done_seq, dead_seq, revived_seq, good_seq) = {
            let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
            let s = inbox.store();
            let t = &inbox.t;
            let accepted = |key: &str, project: u64| accept(&inbox, key, Some(project), b"{}");
            let set_state = |seq: u64, state: DeliveryState| {
                let mut r = inbox.record(seq).unwrap().unwrap();
                r.state = state;
                t.deliveries.insert(&seq, &r).unwrap();
            };
            let write_dead_letter = |seq: u64| {
                let letter = DeadLetter {
                    reason: "r".into(),
                    at_ms: 1,
                };
                t.dead_letters.insert(&seq, &letter).unwrap();
            };
            // An enqueue cut short after its key, body and pending entry: no record.
            let orphan = s.next_id().unwrap();
            t.delivery_keys
                .insert(&"id:orphan".to_string(), &orphan)
                .unwrap();
            t.payloads.insert(&orphan, &b"{}".to_vec()).unwrap();
            t.pending.insert(&orphan, &InboxEntry { lane: 1 }).unwrap();
            // An ack cut short after its record.
            let done = accepted("id:done", 1);
            inbox.claim(done).unwrap();
            set_state(done, DeliveryState::Done);
            // A bury cut short after its record.
            let dead = accepted("id:dead", 2);
            write_dead_letter(dead);
            set_state(dead, DeliveryState::Dead);
            // A revive cut short before its dead letter was removed.
            let revived = accepted("id:rev", 3);
            write_dead_letter(revived);
            let good = accepted("id:good", 4);
            s.flush_now().unwrap();
            (orphan, done, dead, revived, good)
        };
        let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
        let recovered = inbox.recover().unwrap();
        assert_eq!(
            recovered.pending.iter().map(|p| p.seq).collect::<Vec<_>>(),
            vec![revived_seq, good_seq]
        );
        assert_eq!(recovered.stale_entries, 3, "orphan, done and dead entries");
        assert_eq!(recovered.stale_dead_letters, 1, "the revived one");
        assert!(inbox.dead_letter(dead_seq).unwrap().is_some());
        assert_eq!(inbox.dead_count(), 1);
        assert_eq!(
            inbox.record(done_seq).unwrap().unwrap().state,
            DeliveryState::Done
        );
        // The orphaned key does not count as a delivery: the sender's retry is taken.
        assert_eq!(inbox.known("id:orphan").unwrap(), None);
        let retried = inbox
            .enqueue(&delivery("id:orphan", Some(1)), b"{}")
            .unwrap();
        let Enqueued::Accepted { seq, .. } = retried else {
            panic!("{retried:?}")
        };
        assert!(seq > orphan_key_seq);
        assert_eq!(
            inbox
                .enqueue(&delivery("id:orphan", Some(1)), b"{}")
                .unwrap(),
            Enqueued::Duplicate { seq }
        );
        // Recovery is idempotent.
        assert_eq!(inbox.recover().unwrap().stale_entries, 0);
    }

    /// Buries `n` new deliveries at times 1..=n; returns their sequence numbers.
    fn bury_n(inbox: &Inbox, n: u64) -> Vec<u64> {
        (1..=n)
            .map(|i| {
                let seq = accept(inbox, &format!("id:dead-{i}"), Some(i % 3), b"{}");
                inbox.claim(seq).unwrap();
                inbox.bury(seq, "gave up", i as i64).unwrap();
                seq
            })
            .collect()
    }

    #[test]
    fn counts_follow_every_write_and_are_counted_again_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let buried = {
            let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
            let buried = bury_n(&inbox, 5);
            accept(&inbox, "id:live", Some(1), b"{}");
            assert_eq!((inbox.dead_count(), inbox.record_count()), (5, 6));
            // Burying twice, or reviving what is not dead, moves nothing.
            inbox.bury(buried[0], "again", 9).unwrap();
            assert_eq!(inbox.revive(12345).unwrap(), None);
            assert_eq!(inbox.dead_count(), 5);
            inbox.revive(buried[4]).unwrap().unwrap();
            assert_eq!(inbox.dead_count(), 4);
            inbox.store().flush_now().unwrap();
            buried
        };
        let inbox = Inbox::new(Store::open(dir.path()).unwrap()).unwrap();
        assert_eq!((inbox.dead_count(), inbox.record_count()), (4, 6));
        // The counter is what the tree holds.
        assert_eq!(inbox.t.dead_letters.count(), 4);
        // A stale dead letter dropped by recovery leaves the count too.
        inbox
            .t
            .dead_letters
            .insert(
                &buried[4],
                &DeadLetter {
                    reason: "r".into(),
                    at_ms: 1,
                },
            )
            .unwrap();
        let inbox = Inbox::new(inbox.store().clone()).unwrap();
        assert_eq!(inbox.dead_count(), 5);
        assert_eq!(inbox.recover().unwrap().stale_dead_letters, 1);
        assert_eq!(inbox.dead_count(), 4);
    }
}
