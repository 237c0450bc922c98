//! The inbox of the open store: [`SledInbox`] on sled, [`PgQueue`] on PostgreSQL, behind the
//! same operations (http, worker, api, dashboard call these and never name the backend).
//!
//! On PostgreSQL the queue is shared by every replica: a delivery is claimed with a lease
//! (`PgInbox::claim`/`claim_next`), and finishing it names that lease; the lease of each
//! delivery this process is working on is kept here, by sequence number, so the operations
//! keep the sled inbox's shape (`claim(seq)`, `ack(seq, ..)`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::{
    Claimed, DeadLetter, DeadLetterLimits, DeliveryRecord, DeliveryState, Enqueued, NewDelivery,
    Page, Recovered, SledInbox,
};
use crate::clock::now_ms;
use crate::store::pg::intake::{Intake, IntakeConfig};
use crate::store::pg::queue::{Finish, DEFAULT_LEASE};
use crate::store::pg::{Lease, PgError, PgInbox, ReplicaId};
use crate::store::pg_backend::PgDb;
use crate::store::{Store, StoreError};

/// The inbox of a store, whichever its backend. Cheap to clone.
#[derive(Clone)]
pub enum Inbox {
    /// sled: one process, in-process lanes order the work.
    Sled(SledInbox),
    /// PostgreSQL: several replicas, leases order the work.
    Pg(PgQueue),
}

/// Who this replica is on PostgreSQL, and how long its leases hold.
#[derive(Debug, Clone)]
pub struct Replica {
    /// The name written in leases.
    pub id: ReplicaId,
    /// How long a lease holds unless renewed.
    pub lease: Duration,
}

impl Default for Replica {
    fn default() -> Self {
        Replica {
            id: ReplicaId::generate(),
            lease: DEFAULT_LEASE,
        }
    }
}

impl Inbox {
    /// The inbox over a store, without a cap on its bodies' size.
    pub fn new(store: Store) -> Result<Self, StoreError> {
        Self::open(store, u64::MAX)
    }

    /// The inbox over a store, refusing new deliveries ([`Enqueued::Full`]) while its stored
    /// bodies take `max_payload_bytes` or more (a generated replica id on PostgreSQL).
    pub fn open(store: Store, max_payload_bytes: u64) -> Result<Self, StoreError> {
        Self::open_as(store, max_payload_bytes, Replica::default())
    }

    /// [`Inbox::open`] as `replica`.
    pub fn open_as(
        store: Store,
        max_payload_bytes: u64,
        replica: Replica,
    ) -> Result<Self, StoreError> {
        match store.pg().cloned() {
            None => Ok(Inbox::Sled(SledInbox::open(store, max_payload_bytes)?)),
            Some(db) => Ok(Inbox::Pg(PgQueue::open(
                store,
                db,
                max_payload_bytes,
                replica,
            )?)),
        }
    }

    /// The PostgreSQL queue, when the store runs on it.
    pub fn pg(&self) -> Option<&PgQueue> {
        match self {
            Inbox::Pg(q) => Some(q),
            Inbox::Sled(_) => None,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        match self {
            Inbox::Sled(i) => i.store(),
            Inbox::Pg(q) => &q.store,
        }
    }

    /// Runs inbox operations off the async executor (the store's one rule: [`Store::run`]).
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Inbox) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inbox = self.clone();
        crate::store::run_blocking(move || f(&inbox)).await
    }

    /// The sequence number of a known dedupe key.
    pub fn known(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self {
            Inbox::Sled(i) => i.known(key),
            Inbox::Pg(q) => {
                let (inbox, key) = (q.inbox.clone(), key.to_string());
                q.db.block_on(move |_| async move { inbox.known(&key).await })
            }
        }
    }

    /// Stores a delivery once (on PostgreSQL through the group commit: committed when this
    /// returns).
    pub fn enqueue(&self, delivery: &NewDelivery, body: &[u8]) -> Result<Enqueued, StoreError> {
        match self {
            Inbox::Sled(i) => i.enqueue(delivery, body),
            Inbox::Pg(q) => {
                let (intake, delivery, body) = (q.intake.clone(), delivery.clone(), body.to_vec());
                let stored =
                    q.db.block_on(move |_| async move { intake.enqueue(delivery, &body).await })?;
                q.woken(&stored);
                Ok(stored)
            }
        }
    }

    /// Startup: the pending deliveries to load into the lanes, after mending what a crash left
    /// (sled). On PostgreSQL every operation is a transaction, nothing needs mending, and the
    /// workers claim from the database: nothing to load.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        match self {
            Inbox::Sled(i) => i.recover(),
            Inbox::Pg(_) => Ok(Recovered::default()),
        }
    }

    /// One delivery record.
    pub fn record(&self, seq: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        match self {
            Inbox::Sled(i) => i.record(seq),
            Inbox::Pg(q) => q.call(move |inbox| async move { inbox.record(seq).await }),
        }
    }

    /// Starts an attempt on `seq` (counts it, marks it `processing`); `None` when it is not
    /// runnable (finished; on PostgreSQL also: not due, not its lane's oldest, or leased).
    pub fn claim(&self, seq: u64) -> Result<Option<Claimed>, StoreError> {
        match self {
            Inbox::Sled(i) => i.claim(seq),
            Inbox::Pg(q) => {
                let claimed =
                    q.call(move |inbox| async move { inbox.claim(seq, now_ms()).await })?;
                Ok(claimed.map(|(lease, claimed)| q.hold(lease, claimed)))
            }
        }
    }

    /// Records the outcome and forgets the body.
    pub fn ack(&self, seq: u64, outcome: &str, now_ms: i64) -> Result<(), StoreError> {
        match self {
            Inbox::Sled(i) => i.ack(seq, outcome, now_ms),
            Inbox::Pg(q) => {
                let outcome = outcome.to_string();
                q.finish(seq, "ack", move |inbox, lease| async move {
                    inbox.ack(&lease, &outcome, now_ms).await
                })
            }
        }
    }

    /// Records a failed attempt and when to try again.
    pub fn retry_later(&self, seq: u64, error: &str, at_ms: i64) -> Result<(), StoreError> {
        match self {
            Inbox::Sled(i) => i.retry_later(seq, error, at_ms),
            Inbox::Pg(q) => {
                let error = error.to_string();
                q.finish(seq, "retry", move |inbox, lease| async move {
                    inbox.retry_later(&lease, &error, at_ms).await
                })
            }
        }
    }

    /// Parks a delivery until `at_ms` without counting the attempt.
    pub fn park(&self, seq: u64, error: &str, at_ms: i64) -> Result<(), StoreError> {
        match self {
            Inbox::Sled(i) => i.park(seq, error, at_ms),
            Inbox::Pg(q) => {
                let error = error.to_string();
                q.finish(seq, "park", move |inbox, lease| async move {
                    inbox.park(&lease, &error, at_ms).await
                })
            }
        }
    }

    /// Moves a delivery to the dead letters.
    pub fn bury(&self, seq: u64, reason: &str, now_ms: i64) -> Result<(), StoreError> {
        match self {
            Inbox::Sled(i) => i.bury(seq, reason, now_ms),
            Inbox::Pg(q) => {
                let reason = reason.to_string();
                q.finish(seq, "bury", move |inbox, lease| async move {
                    inbox.bury(&lease, &reason, now_ms).await
                })
            }
        }
    }

    /// Puts a dead letter back in the queue; its lane, or `None` when there is no such letter.
    pub fn revive(&self, seq: u64) -> Result<Option<u64>, StoreError> {
        match self {
            Inbox::Sled(i) => i.revive(seq),
            Inbox::Pg(q) => {
                let lane = q.call(move |inbox| async move { inbox.revive(seq).await })?;
                q.wake.wake();
                Ok(lane)
            }
        }
    }

    /// The dead letter of a delivery.
    pub fn dead_letter(&self, seq: u64) -> Result<Option<DeadLetter>, StoreError> {
        match self {
            Inbox::Sled(i) => i.dead_letter(seq),
            Inbox::Pg(q) => q.call(move |inbox| async move { inbox.dead_letter(seq).await }),
        }
    }

    /// Number of dead letters (on PostgreSQL a count; 0, logged, when the database does not
    /// answer: the figure is for metrics and pages).
    pub fn dead_count(&self) -> usize {
        match self {
            Inbox::Sled(i) => i.dead_count(),
            Inbox::Pg(q) => q.figure(
                "dead letters",
                |inbox| async move { inbox.dead_count().await },
            ),
        }
    }

    /// Number of delivery records.
    pub fn record_count(&self) -> usize {
        match self {
            Inbox::Sled(i) => i.record_count(),
            Inbox::Pg(q) => q.figure("deliveries", |inbox| async move {
                Ok(inbox.list(None, 1, 0).await?.total)
            }),
        }
    }

    /// Bytes the stored bodies take now (compressed).
    pub fn payload_bytes(&self) -> u64 {
        match self {
            Inbox::Sled(i) => i.payload_bytes(),
            Inbox::Pg(q) => q.figure("stored bodies", |inbox| async move {
                inbox.payload_bytes().await
            }),
        }
    }

    /// Delivery records, newest first, optionally of one state; `page` counts from 1.
    pub fn list(
        &self,
        state: Option<DeliveryState>,
        page: usize,
        per_page: usize,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        match self {
            Inbox::Sled(i) => i.list(state, page, per_page),
            Inbox::Pg(q) => {
                q.call(move |inbox| async move { inbox.list(state, page, per_page).await })
            }
        }
    }

    /// Forgets finished deliveries older than `cutoff_ms`.
    pub fn prune(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        match self {
            Inbox::Sled(i) => i.prune(cutoff_ms),
            Inbox::Pg(q) => q.call(move |inbox| async move { inbox.prune(cutoff_ms).await }),
        }
    }

    /// Forgets dead letters buried before `limits.cutoff_ms`, then the oldest past
    /// `limits.max`.
    pub fn prune_dead(&self, limits: DeadLetterLimits) -> Result<usize, StoreError> {
        match self {
            Inbox::Sled(i) => i.prune_dead(limits),
            Inbox::Pg(q) => q.call(move |inbox| async move { prune_dead(&inbox, limits).await }),
        }
    }

    /// Resolves when nothing is queued, waiting for a retry or running: the lanes on sled; on
    /// PostgreSQL the queue in the database (every replica's), read every [`IDLE_POLL`].
    pub async fn wait_idle(&self, lanes: &crate::lanes::Lanes) {
        if let Inbox::Pg(q) = self {
            loop {
                match q.pending_count().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not read the queue; trying again"),
                }
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
        lanes.wait_idle().await;
    }

    /// Deliveries queued, waiting for a retry or running (on PostgreSQL: in the whole queue;
    /// 0, logged, when the database does not answer).
    pub async fn depth(&self, lanes: &crate::lanes::Lanes) -> usize {
        match self {
            Inbox::Sled(_) => lanes.depth(),
            Inbox::Pg(q) => q.pending_count().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the queue");
                0
            }),
        }
    }

    /// Hands a stored entry over to whoever runs it: the lanes on sled; on PostgreSQL the
    /// workers (of every replica: they claim from the database) are woken.
    pub fn hand_over(&self, lanes: &crate::lanes::Lanes, lane: u64, seq: u64) {
        match self {
            Inbox::Sled(_) => lanes.push(lane, seq, None),
            Inbox::Pg(q) => q.wake.wake(),
        }
    }
}

/// How often [`Inbox::wait_idle`] reads the queue on PostgreSQL.
pub const IDLE_POLL: Duration = Duration::from_millis(20);

/// Dead letters past their time or their number, removed with their deliveries (the rows
/// that reference a delivery go with it: `ON DELETE CASCADE`).
async fn prune_dead(inbox: &PgInbox, limits: DeadLetterLimits) -> Result<usize, PgError> {
    let client = inbox.store().client().await?;
    let max = limits.max.min(i64::MAX as usize) as i64;
    let n = client
        .execute(
            "WITH ranked AS (
                 SELECT seq, at_ms, row_number() OVER (ORDER BY seq DESC) AS newest
                 FROM dead_letters),
                  gone AS (SELECT seq FROM ranked WHERE at_ms < $1 OR newest > $2)
             DELETE FROM deliveries USING gone WHERE deliveries.seq = gone.seq",
            &[&limits.cutoff_ms, &max],
        )
        .await
        .map_err(PgError::query("pruning dead letters"))?;
    Ok(n as usize)
}

/// The queue on PostgreSQL, as this replica works it. Cheap to clone.
#[derive(Clone)]
pub struct PgQueue {
    inner: Arc<PgQueueInner>,
}

#[doc(hidden)]
pub struct PgQueueInner {
    store: Store,
    db: PgDb,
    inbox: PgInbox,
    intake: Intake,
    /// The leases of the deliveries this process is working on.
    leases: Arc<Mutex<HashMap<u64, Lease>>>,
    /// Wakes this process's idle workers: a delivery stored or revived here, or a notification
    /// that another replica stored one.
    wake: Arc<Wake>,
    lease: Duration,
    /// The notifications received from the database ([`crate::store::pg::listen`]).
    listening: crate::store::pg::listen::Listening,
    /// The listener's task, stopped with the queue.
    listener: tokio::task::AbortHandle,
}

impl Drop for PgQueueInner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Idle workers' alarm: a generation counted up by every wake, so that a worker that looked
/// for work at generation `g` and found none does not sleep through a wake that came since.
#[derive(Default)]
struct Wake {
    notify: Notify,
    generation: std::sync::atomic::AtomicU64,
}

impl Wake {
    fn wake(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until a wake after generation `seen`, or `poll`.
    async fn wait_since(&self, seen: u64, poll: Duration) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the check: a wake between the check and the wait is not lost.
        notified.as_mut().enable();
        if self.generation() != seen {
            return;
        }
        let _ = tokio::time::timeout(poll, notified).await;
    }
}

impl std::ops::Deref for PgQueue {
    type Target = PgQueueInner;
    fn deref(&self) -> &PgQueueInner {
        &self.inner
    }
}

impl PgQueue {
    fn open(
        store: Store,
        db: PgDb,
        max_payload_bytes: u64,
        replica: Replica,
    ) -> Result<PgQueue, StoreError> {
        let inbox = PgInbox::new(db.pg().clone(), replica.id, replica.lease);
        let for_intake = inbox.clone();
        let wake = Arc::new(Wake::default());
        let woken = wake.clone();
        // The batching task and the listener run on the backend's runtime, beside the pool.
        let (intake, listening, listener) = db.block_on(move |pg| async move {
            let (intake, _task) = Intake::start(
                for_intake,
                IntakeConfig {
                    max_payload_bytes,
                    ..IntakeConfig::default()
                },
            );
            let (listening, listener) = crate::store::pg::listen::start(pg, move || woken.wake());
            Ok((intake, listening, listener.abort_handle()))
        })?;
        Ok(PgQueue {
            inner: Arc::new(PgQueueInner {
                store,
                db,
                inbox,
                intake,
                leases: Arc::default(),
                wake,
                lease: replica.lease,
                listening,
                listener,
            }),
        })
    }

    /// The lease operations (tests, doctor, readiness).
    pub fn inbox(&self) -> &PgInbox {
        &self.inbox
    }

    /// How long a lease holds.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Stores a delivery through the group commit, answering once it is committed, without
    /// blocking the caller's thread.
    pub async fn enqueue(
        &self,
        delivery: NewDelivery,
        body: Vec<u8>,
    ) -> Result<Enqueued, StoreError> {
        let intake = self.intake.clone();
        let stored = self
            .db
            .run(move |_| async move { intake.enqueue(delivery, &body).await })
            .await?;
        self.woken(&stored);
        Ok(stored)
    }

    /// Entries in the queue (every replica's): queued, waiting for a retry, or running.
    pub async fn pending_count(&self) -> Result<usize, StoreError> {
        let inbox = self.inbox.clone();
        self.db
            .run(move |_| async move { inbox.pending_count().await })
            .await
    }

    /// Claims the next runnable delivery of any lane (any replica may have stored it).
    pub async fn claim_next(&self) -> Result<Option<(u64, Claimed)>, StoreError> {
        let inbox = self.inbox.clone();
        let claimed = self
            .db
            .run(move |_| async move { inbox.claim_next(now_ms()).await })
            .await?;
        Ok(claimed.map(|(lease, claimed)| (lease.seq, self.hold(lease, claimed))))
    }

    /// Extends the lease this process holds on `seq`; `false` when it was taken over (or is
    /// not held).
    pub async fn renew(&self, seq: u64) -> Result<bool, StoreError> {
        let Some(mut lease) = self.lease_of(seq) else {
            return Ok(false);
        };
        let inbox = self.inbox.clone();
        let (renewed, lease) = self
            .db
            .run(move |_| async move {
                let ok = inbox.renew(&mut lease, now_ms()).await?;
                Ok((ok, lease))
            })
            .await?;
        if renewed {
            let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(held) = leases.get_mut(&seq) {
                *held = lease;
            }
        }
        Ok(renewed)
    }

    /// Waits until a delivery may be waiting: woken by this process, or after `poll`.
    pub async fn idle(&self, poll: Duration) {
        self.idle_since(self.wake.generation(), poll).await
    }

    /// The wake generation now: read before looking for work, then given to
    /// [`PgQueue::idle_since`].
    pub fn wake_generation(&self) -> u64 {
        self.wake.generation()
    }

    /// Waits until a delivery may be waiting: a wake (this process stored or revived one, or
    /// the database notified that a replica did) after generation `seen`, at once if one came
    /// already; else after `poll`.
    pub async fn idle_since(&self, seen: u64, poll: Duration) {
        self.wake.wait_since(seen, poll).await
    }

    /// The database's notifications to this replica ([`crate::store::pg::listen`]).
    pub fn listening(&self) -> &crate::store::pg::listen::Listening {
        &self.listening
    }

    fn woken(&self, stored: &Enqueued) {
        if matches!(stored, Enqueued::Accepted { .. }) {
            self.wake.wake();
        }
    }

    fn lease_of(&self, seq: u64) -> Option<Lease> {
        self.leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&seq)
            .copied()
    }

    fn hold(&self, lease: Lease, claimed: Claimed) -> Claimed {
        self.leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lease.seq, lease);
        claimed
    }

    fn call<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(PgInbox) -> Fut,
        Fut: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
    {
        let fut = f(self.inbox.clone());
        self.db.block_on(move |_| fut)
    }

    fn figure<T: Default + Send + 'static, F, Fut>(&self, what: &'static str, f: F) -> T
    where
        F: FnOnce(PgInbox) -> Fut,
        Fut: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
    {
        self.call(f).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not count {what} in the database");
            T::default()
        })
    }

    /// Finishes `seq` with the lease this process holds: a lease taken over by another replica
    /// is logged and the outcome dropped (the other replica's run stands).
    fn finish<F, Fut>(&self, seq: u64, what: &'static str, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(PgInbox, Lease) -> Fut,
        Fut: std::future::Future<Output = Result<Finish, PgError>> + Send + 'static,
    {
        let lease = self
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&seq);
        let Some(lease) = lease else {
            tracing::warn!(
                seq,
                what,
                "no lease held on this delivery here; outcome dropped"
            );
            return Ok(());
        };
        match self.call(move |inbox| f(inbox, lease))? {
            Finish::Done => Ok(()),
            Finish::LeaseLost => {
                tracing::warn!(
                    seq,
                    what,
                    "lease lost: another replica took this delivery over; outcome dropped"
                );
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::hooks::EventKind;
    use crate::gitlab::ProjectId;
    use crate::inbox::VerifiedBy;
    use crate::store::pg_backend::testing::pg_store;

    fn replica(store: Store, id: &str) -> Inbox {
        Inbox::open_as(
            store,
            u64::MAX,
            Replica {
                id: ReplicaId::new(id),
                lease: Duration::from_secs(30),
            },
        )
        .unwrap()
    }

    fn delivery(key: &str) -> NewDelivery {
        NewDelivery {
            key: key.to_string(),
            kind: EventKind::Push,
            project: Some(ProjectId(7)),
            event_uuid: None,
            verified_by: VerifiedBy::Token,
            received_at_ms: 1,
        }
    }

    fn expire_leases(store: &Store) {
        store
            .pg()
            .unwrap()
            .block_on(|pg| async move {
                pg.client()
                    .await?
                    .execute("UPDATE inbox SET lease_until_ms = 0", &[])
                    .await
                    .map_err(PgError::query("expiring leases"))
            })
            .unwrap();
    }

    #[test]
    fn two_replicas_store_a_delivery_once_and_finish_only_with_the_live_lease() {
        let (db, store_a) = pg_store();
        let store_b = Store::open_pg(&db.url, &crate::net::Network::default(), 4).unwrap();
        let (a, b) = (replica(store_a.clone(), "a"), replica(store_b, "b"));
        assert!(matches!(a, Inbox::Pg(_)));
        let Enqueued::Accepted { seq, lane } = a.enqueue(&delivery("k1"), b"{}").unwrap() else {
            panic!("first copy accepted")
        };
        assert_eq!(lane, 7);
        assert_eq!(
            b.enqueue(&delivery("k1"), b"{}").unwrap(),
            Enqueued::Duplicate { seq }
        );
        assert_eq!(b.known("k1").unwrap(), Some(seq));
        assert_eq!(a.record_count(), 1);
        let claimed = a.claim(seq).unwrap().expect("a claims it");
        assert_eq!(claimed.body, b"{}");
        assert!(b.claim(seq).unwrap().is_none(), "leased by a");
        // a's lease lapses (a stalled); b takes the delivery over.
        expire_leases(&store_a);
        assert!(b.claim(seq).unwrap().is_some());
        // a's late outcome changes nothing; b's is recorded.
        a.ack(seq, "from a", 2).unwrap();
        assert_eq!(
            a.record(seq).unwrap().unwrap().state,
            DeliveryState::Processing
        );
        b.ack(seq, "from b", 3).unwrap();
        let record = a.record(seq).unwrap().unwrap();
        assert_eq!(record.state, DeliveryState::Done);
        assert_eq!(record.outcome.as_deref(), Some("from b"));
        assert_eq!(record.attempts, 2);
    }

    /// LISTEN/NOTIFY: a delivery stored by replica a wakes replica b's idle worker without its
    /// poll (an hour here), counted by b's listener; b then claims it; a revive on a wakes b
    /// too. Prints the figure.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delivery_stored_by_one_replica_wakes_another_replicas_idle_worker_at_once() {
        const ROUNDS: u64 = 30;
        let (db, store_a) = tokio::task::spawn_blocking(pg_store).await.unwrap();
        let url = db.url.clone();
        let (a, b) = tokio::task::spawn_blocking(move || {
            let store_b = Store::open_pg(&url, &crate::net::Network::default(), 4).unwrap();
            (replica(store_a, "a"), replica(store_b, "b"))
        })
        .await
        .unwrap();
        let (qa, qb) = (a.pg().unwrap().clone(), b.pg().unwrap().clone());
        qb.listening().ready().await;
        assert!(qb.listening().is_listening());
        let mut waits = Vec::new();
        for i in 0..ROUNDS {
            let (seen, heard) = (qb.wake_generation(), qb.listening().received());
            let started = std::time::Instant::now();
            let mut d = delivery(&format!("wake-{i}"));
            d.project = Some(ProjectId(100 + i));
            let stored = qa.enqueue(d, b"{}".to_vec()).await.unwrap();
            let Enqueued::Accepted { seq, .. } = stored else {
                panic!("{stored:?}")
            };
            tokio::time::timeout(
                Duration::from_secs(60),
                qb.idle_since(seen, Duration::from_secs(3600)),
            )
            .await
            .expect("woken by the database's notification, not by the hour-long poll");
            waits.push(started.elapsed());
            assert!(
                qb.listening().received() > heard,
                "round {i}: a notification"
            );
            let (claimed, _) = qb.claim_next().await.unwrap().expect("b claims it");
            assert_eq!(claimed, seq);
        }
        // A duplicate stores nothing (the notification is sent only when a row was stored).
        let heard = qb.listening().received();
        let again = qa
            .enqueue(delivery("wake-0"), b"{}".to_vec())
            .await
            .unwrap();
        assert!(matches!(again, Enqueued::Duplicate { .. }));
        // A revive does: bury what b holds, revive it on a, b hears of it.
        let seq = tokio::task::spawn_blocking(move || {
            let seq = b.list(Some(DeliveryState::Processing), 1, 1).unwrap().items[0].seq;
            b.bury(seq, "gave up", 1).unwrap();
            seq
        })
        .await
        .unwrap();
        let seen = qb.wake_generation();
        let revived = tokio::task::spawn_blocking(move || a.revive(seq).unwrap())
            .await
            .unwrap();
        assert!(revived.is_some());
        tokio::time::timeout(
            Duration::from_secs(60),
            qb.idle_since(seen, Duration::from_secs(3600)),
        )
        .await
        .expect("woken by the revive's notification");
        assert!(qb.listening().received() > heard);
        waits.sort();
        eprintln!(
            "wake of another replica's idle worker, from the enqueue call ({ROUNDS} rounds): p50 {:?}, p90 {:?}, max {:?}",
            waits[waits.len() / 2],
            waits[waits.len() * 9 / 10],
            waits[waits.len() - 1]
        );
    }
}
