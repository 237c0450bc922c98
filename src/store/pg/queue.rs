//! The delivery intake and work queue on PostgreSQL: the operations `crate::inbox` performs on
//! sled (enqueue once, claim, ack, retry later, park, bury, revive, list, prune), with the same
//! records and states, for several replicas sharing one database.
//!
//! What replicas add:
//! - **dedupe** is the unique `deliveries.dedupe_key`: of two copies inserted anywhere, one is
//!   stored and the other answers [`Enqueued::Duplicate`];
//! - **claims** take the oldest pending entry of a lane whose entries are all unleased, with
//!   `FOR UPDATE SKIP LOCKED`, and write a lease (`leased_by`, `lease_until_ms`, a fresh
//!   `lease_token`). A lease past its time (its replica died) is taken over by the next claim;
//!   since only a lane's oldest entry is ever claimed, a project's deliveries run one at a time,
//!   in order, across all replicas;
//! - **finishing** (ack, retry, park, bury) names the lease: a replica whose lease was taken
//!   over is told [`Finish::LeaseLost`] and changes nothing.
//!
//! Every operation is one transaction, so there is nothing to mend after a crash (the sled
//! inbox's `recover`): [`PgInbox::pending`] lists what is queued.
//!
//! Times are Unix milliseconds passed in by the caller (`crate::clock::now_ms()` in the server,
//! a fixed value in tests): the replicas' clocks must agree to well within a lease (NTP does).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PgError, PgStore};
use crate::gitlab::hooks::EventKind;
use crate::gitlab::ProjectId;
use crate::inbox::{
    lane_of, Claimed, DeadLetter, DeliveryRecord, DeliveryState, Enqueued, NewDelivery, Page,
    Pending,
};

/// The lease a claim takes by default: a replica that dies leaves its deliveries to the others
/// after this long. Renewed every third of it, so a dead replica's delivery runs elsewhere at
/// most a lease plus one worker poll (250 ms) after the death: 20.25 s, within issue 16's
/// "taken over within 30 s by default" with room for a slow statement or clock skew.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(20);

/// Who holds a lease: one per running replica (host, process and a random part, so that a
/// restarted process is a new holder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplicaId(String);

impl ReplicaId {
    /// A fresh id for this process.
    pub fn generate() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "backline".into());
        let random = uuid::Uuid::new_v4().simple().to_string();
        ReplicaId(format!("{host}-{}-{}", std::process::id(), &random[..8]))
    }

    /// A given id (tests, or an operator's pod name).
    pub fn new(id: impl Into<String>) -> Self {
        ReplicaId(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A claim on one delivery: finishing it needs the token, which the next claim replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The delivery.
    pub seq: u64,
    /// The fencing token of this claim.
    pub token: i64,
    /// Until when it holds, unless renewed (Unix ms).
    pub until_ms: i64,
}

/// What finishing a claimed delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Recorded.
    Done,
    /// The lease had been taken over (or the delivery finished by another): nothing changed.
    LeaseLost,
}

/// The inbox operations over a [`PgStore`], as one replica performs them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgInbox {
    store: PgStore,
    replica: ReplicaId,
    lease_ms: i64,
}

/// One admitted delivery of a batch (see [`PgInbox::enqueue_batch`]).
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The delivery.
    pub delivery: NewDelivery,
    /// Its body as stored (`crate::payload_codec::encode`d).
    pub stored: Vec<u8>,
    /// The raw body's length.
    pub body_len: u64,
}

const RECORD_COLUMNS: &str = "seq, dedupe_key, kind, project, event_uuid, verified_by, body_len, \
     state, attempts, received_at_ms, finished_at_ms, next_attempt_at_ms, outcome, last_error";

/// The SQLSTATEs after which a transaction is simply run again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

impl PgInbox {
    /// The inbox of `replica`, whose claims hold for `lease`.
    pub fn new(store: PgStore, replica: ReplicaId, lease: Duration) -> Self {
        PgInbox {
            store,
            replica,
            lease_ms: lease.as_millis().min(i64::MAX as u128) as i64,
        }
    }

    /// The replica claiming through this inbox.
    pub fn replica(&self) -> &ReplicaId {
        &self.replica
    }

    /// The store underneath.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// Stores one delivery (a batch of one; the server goes through
    /// [`super::intake::Intake`], which batches concurrent requests).
    pub async fn enqueue(&self, delivery: &NewDelivery, body: &[u8]) -> Result<Enqueued, PgError> {
        let admitted = Admitted {
            delivery: delivery.clone(),
            stored: crate::payload_codec::encode(body),
            body_len: body.len() as u64,
        };
        let mut out = self.enqueue_batch(vec![admitted]).await?;
        Ok(out.pop().expect("one answer per delivery"))
    }

    /// Stores deliveries in one statement (one round trip, one commit, prepared once per
    /// connection), committed before this returns: one answer per delivery, in order. A key
    /// seen twice (in the batch or in the database) is stored once; the other copies answer
    /// [`Enqueued::Duplicate`]. Run again when PostgreSQL reports a deadlock (two replicas
    /// inserting the same keys in different orders): a failed statement stored nothing.
    pub async fn enqueue_batch(&self, batch: Vec<Admitted>) -> Result<Vec<Enqueued>, PgError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.store.client().await?;
            match insert_batch(&client, &batch).await {
                Ok(Ok(out)) => return Ok(out),
                Ok(Err(message)) => {
                    return Err(PgError::Query {
                        op: "storing deliveries",
                        message,
                    })
                }
                Err(e) if attempt < 5 && retryable(&e) => continue,
                Err(e) => return Err(PgError::query("storing deliveries")(e)),
            }
        }
    }

    /// The sequence number a dedupe key is stored under.
    pub async fn known(&self, key: &str) -> Result<Option<u64>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt("SELECT seq FROM deliveries WHERE dedupe_key = $1", &[&key])
            .await
            .map_err(PgError::query("reading a dedupe key"))?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    /// Claims the next runnable delivery: the oldest entry of a lane with no live lease, due
    /// by `now_ms`. Counts the attempt and marks it `processing`. `None` when nothing is
    /// runnable now.
    pub async fn claim_next(&self, now_ms: i64) -> Result<Option<(Lease, Claimed)>, PgError> {
        self.claim_where(None, now_ms).await
    }

    /// Claims one delivery, as `crate::inbox::Inbox::claim` does for the in-process lanes:
    /// `None` unless it is pending, due, the oldest of its lane, and not leased by anyone.
    pub async fn claim(&self, seq: u64, now_ms: i64) -> Result<Option<(Lease, Claimed)>, PgError> {
        self.claim_where(Some(seq as i64), now_ms).await
    }

    async fn claim_where(
        &self,
        only: Option<i64>,
        now_ms: i64,
    ) -> Result<Option<(Lease, Claimed)>, PgError> {
        let mut client = self.store.client().await?;
        // A delivery whose body cannot be read is buried and the next one tried; a few rounds
        // at most per call.
        for _ in 0..8 {
            let tx = client
                .transaction()
                .await
                .map_err(PgError::query("starting a claim"))?;
            let claim = tx
                .prepare_cached(CLAIM_NEXT)
                .await
                .map_err(PgError::query("claiming a delivery"))?;
            let leased = tx
                .query_opt(
                    &claim,
                    &[&now_ms, &self.replica.as_str(), &self.lease_ms, &only],
                )
                .await
                .map_err(PgError::query("claiming a delivery"))?;
            let Some(leased) = leased else {
                return Ok(None);
            };
            let seq: i64 = leased.get(0);
            let lease = Lease {
                seq: seq as u64,
                token: leased.get(1),
                until_ms: leased.get(2),
            };
            let row = tx
                .query_one(
                    &format!(
                        "UPDATE deliveries SET attempts = attempts + 1, state = 'processing',
                                next_attempt_at_ms = NULL
                         WHERE seq = $1 RETURNING {RECORD_COLUMNS}"
                    ),
                    &[&seq],
                )
                .await
                .map_err(PgError::query("starting an attempt"))?;
            let record = record_from_row(&row)?;
            let stored: Option<Vec<u8>> = tx
                .query_opt("SELECT body FROM payloads WHERE seq = $1", &[&seq])
                .await
                .map_err(PgError::query("reading a delivery body"))?
                .map(|r| r.get(0));
            let body = match stored {
                None => Err(
                    "the stored body of this delivery is missing; it cannot be processed"
                        .to_string(),
                ),
                Some(stored) => crate::payload_codec::decode(&stored, record.body_len)
                    .map_err(|e| e.to_string()),
            };
            match body {
                Ok(body) => {
                    tx.commit()
                        .await
                        .map_err(PgError::query("committing a claim"))?;
                    return Ok(Some((lease, Claimed { record, body })));
                }
                Err(reason) => {
                    // No handler ran: the attempt counted above does not count (as on sled).
                    tx.execute(
                        "UPDATE deliveries SET attempts = attempts - 1 WHERE seq = $1",
                        &[&seq],
                    )
                    .await
                    .map_err(PgError::query("burying an unreadable delivery"))?;
                    // Said where people look, instead of retrying forever.
                    bury_in(&tx, seq, lease.token, &reason, now_ms).await?;
                    tx.commit()
                        .await
                        .map_err(PgError::query("burying an unreadable delivery"))?;
                    if only.is_some() {
                        return Ok(None);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Extends a lease to `now_ms` + the lease length (a long handler calls this well within
    /// its lease). `false` when it was taken over.
    pub async fn renew(&self, lease: &mut Lease, now_ms: i64) -> Result<bool, PgError> {
        let client = self.store.client().await?;
        let until = now_ms + self.lease_ms;
        let n = client
            .execute(
                "UPDATE inbox SET lease_until_ms = $3 WHERE seq = $1 AND lease_token = $2",
                &[&(lease.seq as i64), &lease.token, &until],
            )
            .await
            .map_err(PgError::query("renewing a lease"))?;
        if n == 1 {
            lease.until_ms = until;
        }
        Ok(n == 1)
    }

    /// Finishes a delivery: records the outcome, removes the pending entry and the body.
    pub async fn ack(&self, lease: &Lease, outcome: &str, now_ms: i64) -> Result<Finish, PgError> {
        let client = self.store.client().await?;
        let n = client
            .execute(
                "WITH own AS (DELETE FROM inbox WHERE seq = $1 AND lease_token = $2 RETURNING seq),
                      body AS (DELETE FROM payloads USING own WHERE payloads.seq = own.seq)
                 UPDATE deliveries SET state = 'done', outcome = $3, last_error = NULL,
                        finished_at_ms = $4, next_attempt_at_ms = NULL
                 FROM own WHERE deliveries.seq = own.seq",
                &[&(lease.seq as i64), &lease.token, &outcome, &now_ms],
            )
            .await
            .map_err(PgError::query("acknowledging a delivery"))?;
        Ok(finish(n))
    }

    /// Records a failed attempt and when to try again; the delivery stays pending, unleased.
    pub async fn retry_later(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at_ms: i64,
    ) -> Result<Finish, PgError> {
        self.release(lease, error, next_attempt_at_ms, 0).await
    }

    /// Parks a delivery until `next_attempt_at_ms` (GitLab's `Retry-After`): like
    /// [`retry_later`](Self::retry_later), but the attempt it just made does not count.
    pub async fn park(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at_ms: i64,
    ) -> Result<Finish, PgError> {
        self.release(lease, error, next_attempt_at_ms, 1).await
    }

    async fn release(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at_ms: i64,
        uncount: i32,
    ) -> Result<Finish, PgError> {
        let client = self.store.client().await?;
        let n = client
            .execute(
                "WITH own AS (
                     UPDATE inbox SET leased_by = NULL, lease_until_ms = NULL, lease_token = NULL,
                                      not_before_ms = $3
                     WHERE seq = $1 AND lease_token = $2 RETURNING seq)
                 UPDATE deliveries SET state = 'failed', last_error = $4,
                        next_attempt_at_ms = $3, attempts = greatest(attempts - $5, 0)
                 FROM own WHERE deliveries.seq = own.seq",
                &[
                    &(lease.seq as i64),
                    &lease.token,
                    &next_attempt_at_ms,
                    &error,
                    &uncount,
                ],
            )
            .await
            .map_err(PgError::query("scheduling a retry"))?;
        Ok(finish(n))
    }

    /// Gives up on a delivery: moves it to the dead letters with its reason (the body is kept,
    /// so that it can be revived).
    pub async fn bury(&self, lease: &Lease, reason: &str, now_ms: i64) -> Result<Finish, PgError> {
        let mut client = self.store.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(PgError::query("starting a bury"))?;
        let n = bury_in(&tx, lease.seq as i64, lease.token, reason, now_ms).await?;
        tx.commit()
            .await
            .map_err(PgError::query("committing a bury"))?;
        Ok(finish(n))
    }

    /// Puts a dead letter back in the queue with a fresh attempt count. Returns its lane, or
    /// `None` when there is no such dead letter (two revives at once: one wins).
    pub async fn revive(&self, seq: u64) -> Result<Option<u64>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                "WITH letter AS (DELETE FROM dead_letters WHERE seq = $1 RETURNING seq),
                      revived AS (
                          UPDATE deliveries SET state = 'queued', attempts = 0,
                                 finished_at_ms = NULL, next_attempt_at_ms = NULL
                          FROM letter WHERE deliveries.seq = letter.seq
                          RETURNING deliveries.seq, deliveries.lane),
                      queued AS (INSERT INTO inbox (seq, lane) SELECT seq, lane FROM revived),
                      woke AS MATERIALIZED (
                          SELECT pg_notify('backline_inbox', '') FROM revived)
                 SELECT lane FROM revived CROSS JOIN woke",
                &[&(seq as i64)],
            )
            .await
            .map_err(PgError::query("reviving a dead letter"))?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    /// One delivery record.
    pub async fn record(&self, seq: u64) -> Result<Option<DeliveryRecord>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM deliveries WHERE seq = $1"),
                &[&(seq as i64)],
            )
            .await
            .map_err(PgError::query("reading a delivery"))?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// The dead letter of a delivery.
    pub async fn dead_letter(&self, seq: u64) -> Result<Option<DeadLetter>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                "SELECT reason, at_ms FROM dead_letters WHERE seq = $1",
                &[&(seq as i64)],
            )
            .await
            .map_err(PgError::query("reading a dead letter"))?;
        Ok(row.map(|r| DeadLetter {
            reason: r.get(0),
            at_ms: r.get(1),
        }))
    }

    /// Number of dead letters.
    pub async fn dead_count(&self) -> Result<usize, PgError> {
        let client = self.store.client().await?;
        count(
            &client,
            "SELECT count(*) FROM dead_letters",
            "counting dead letters",
        )
        .await
    }

    /// Every pending delivery, in sequence order, with its lease holder if any.
    pub async fn pending(&self) -> Result<Vec<Pending>, PgError> {
        let client = self.store.client().await?;
        let rows = client
            .query(
                "SELECT i.seq, i.lane, d.next_attempt_at_ms
                 FROM inbox i JOIN deliveries d ON d.seq = i.seq ORDER BY i.seq",
                &[],
            )
            .await
            .map_err(PgError::query("listing pending deliveries"))?;
        Ok(rows
            .iter()
            .map(|r| Pending {
                seq: r.get::<_, i64>(0) as u64,
                lane: r.get::<_, i64>(1) as u64,
                not_before_ms: r.get(2),
            })
            .collect())
    }

    /// How many deliveries are pending (queued, waiting for a retry or running), counted in
    /// the database: `/api/v1/inbox`, its `wait_idle_secs` (every 20 ms) and `/metrics` ask
    /// this, and fetching every row to count them took most of the database's CPU while a
    /// backlog drained.
    pub async fn pending_count(&self) -> Result<usize, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_one("SELECT count(*) FROM inbox", &[])
            .await
            .map_err(PgError::query("counting pending deliveries"))?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    /// Entries leased right now (by anyone), for `/readyz` and the soak's final check.
    pub async fn leased_count(&self, now_ms: i64) -> Result<usize, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM inbox WHERE lease_until_ms > $1",
                &[&now_ms],
            )
            .await
            .map_err(PgError::query("counting leases"))?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    /// Delivery records, newest first, optionally of one state; `page` counts from 1.
    pub async fn list(
        &self,
        state: Option<DeliveryState>,
        page: usize,
        per_page: usize,
    ) -> Result<Page<DeliveryRecord>, PgError> {
        let client = self.store.client().await?;
        let state = state.map(DeliveryState::as_str);
        let skip = page.saturating_sub(1).saturating_mul(per_page) as i64;
        let total: i64 = client
            .query_one(
                "SELECT count(*) FROM deliveries WHERE $1::text IS NULL OR state = $1",
                &[&state],
            )
            .await
            .map_err(PgError::query("counting deliveries"))?
            .get(0);
        let rows = client
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM deliveries
                     WHERE $1::text IS NULL OR state = $1
                     ORDER BY seq DESC LIMIT $2 OFFSET $3"
                ),
                &[&state, &(per_page as i64), &skip],
            )
            .await
            .map_err(PgError::query("listing deliveries"))?;
        Ok(Page {
            total: total as usize,
            items: rows.iter().map(record_from_row).collect::<Result<_, _>>()?,
        })
    }

    /// Forgets finished (`done`) deliveries older than `cutoff_ms`, with their dedupe keys.
    /// Dead letters stay until revived. Returns how many were removed.
    pub async fn prune(&self, cutoff_ms: i64) -> Result<usize, PgError> {
        let client = self.store.client().await?;
        let n = client
            .execute(
                "DELETE FROM deliveries WHERE state = 'done' AND finished_at_ms < $1",
                &[&cutoff_ms],
            )
            .await
            .map_err(PgError::query("pruning deliveries"))?;
        Ok(n as usize)
    }

    /// Bytes the stored bodies take now (compressed).
    pub async fn payload_bytes(&self) -> Result<u64, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_one(
                "SELECT coalesce(sum(octet_length(body)), 0)::bigint FROM payloads",
                &[],
            )
            .await
            .map_err(PgError::query("measuring stored bodies"))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

fn finish(rows: u64) -> Finish {
    if rows == 0 {
        Finish::LeaseLost
    } else {
        Finish::Done
    }
}

async fn count(client: &impl GenericClient, sql: &str, op: &'static str) -> Result<usize, PgError> {
    let row = client
        .query_one(sql, &[])
        .await
        .map_err(PgError::query(op))?;
    Ok(row.get::<_, i64>(0) as usize)
}

/// Moves a leased delivery to the dead letters. Returns the rows changed (0: lease lost).
async fn bury_in(
    tx: &impl GenericClient,
    seq: i64,
    token: i64,
    reason: &str,
    now_ms: i64,
) -> Result<u64, PgError> {
    tx.execute(
        "WITH own AS (DELETE FROM inbox WHERE seq = $1 AND lease_token = $2 RETURNING seq),
              letter AS (INSERT INTO dead_letters (seq, reason, at_ms)
                         SELECT seq, $3, $4 FROM own
                         ON CONFLICT (seq) DO UPDATE SET reason = excluded.reason,
                                                         at_ms = excluded.at_ms)
         UPDATE deliveries SET state = 'dead', last_error = $3, finished_at_ms = $4,
                next_attempt_at_ms = NULL
         FROM own WHERE deliveries.seq = own.seq",
        &[&seq, &token, &reason, &now_ms],
    )
    .await
    .map_err(PgError::query("burying a delivery"))
}

/// The batch insert, one statement (so one round trip and one commit, no `BEGIN`/`COMMIT`):
/// deliveries, bodies and pending entries, and the sequence numbers of the keys that were
/// already there as the statement's snapshot saw them; when it stored any, a notification on
/// [`super::listen::INBOX_CHANNEL`] (sent at its commit: every replica's idle workers wake).
/// Prepared once per connection.
/// Leases the oldest delivery that is the head of its lane (the lowest `seq` of the lane), due,
/// and not leased (or `$4` alone, when given); prepared once per connection. The heads are found lane by lane with a loose index
/// scan over `inbox_lane_seq` (one index probe per lane), not by testing every queued row for
/// an older one in its lane: with a long backlog in a lane whose head is running, that test
/// walked the whole backlog on every claim (measured: with 8 workers draining, intake fell to
/// 1,180/s and the drain to ~160 deliveries/s).
const CLAIM_NEXT: &str = "WITH RECURSIVE lanes(lane) AS (
         (SELECT lane FROM inbox ORDER BY lane LIMIT 1)
         UNION ALL
         SELECT (SELECT n.lane FROM inbox n WHERE n.lane > l.lane ORDER BY n.lane LIMIT 1)
         FROM lanes l WHERE l.lane IS NOT NULL),
     heads AS (
         SELECT (SELECT h.seq FROM inbox h WHERE h.lane = l.lane ORDER BY h.seq LIMIT 1) AS seq
         FROM lanes l WHERE l.lane IS NOT NULL),
     next AS (
         SELECT i.seq FROM inbox i JOIN heads USING (seq)
         WHERE ($4::bigint IS NULL OR i.seq = $4)
           AND i.not_before_ms <= $1
           AND (i.lease_until_ms IS NULL OR i.lease_until_ms <= $1)
         ORDER BY i.seq
         LIMIT 1
         FOR UPDATE OF i SKIP LOCKED)
     UPDATE inbox SET leased_by = $2, lease_until_ms = $1 + $3,
                      lease_token = nextval('lease_tokens')
     FROM next WHERE inbox.seq = next.seq
     RETURNING inbox.seq, inbox.lease_token, inbox.lease_until_ms";

const INSERT_BATCH: &str = "WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[],
                              $6::text[], $7::int8[], $8::int8[], $9::bytea[])
             WITH ORDINALITY AS t(dedupe_key, kind, project, lane, event_uuid,
                                  verified_by, body_len, received_at_ms, body, ord)),
     ins AS (
         INSERT INTO deliveries (dedupe_key, kind, project, lane, event_uuid, verified_by,
                                 body_len, state, received_at_ms)
         SELECT dedupe_key, kind, project, lane, event_uuid, verified_by, body_len,
                'queued', received_at_ms
         FROM input ORDER BY ord
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING seq, dedupe_key, lane),
     bodies AS (
         INSERT INTO payloads (seq, body)
         SELECT ins.seq, input.body FROM ins JOIN input USING (dedupe_key)),
     queued AS (INSERT INTO inbox (seq, lane) SELECT seq, lane FROM ins),
     woke AS MATERIALIZED (
         SELECT pg_notify('backline_inbox', '') FROM (SELECT 1 FROM ins LIMIT 1) AS stored)
     SELECT seq, dedupe_key, lane, true FROM ins CROSS JOIN woke
     UNION ALL
     SELECT d.seq, d.dedupe_key, d.lane, false FROM deliveries d JOIN input USING (dedupe_key)";

/// Stores the first copy of each key of `batch` (see [`PgInbox::enqueue_batch`]); answers in
/// order. Each statement commits on its own (autocommit), so a round that leaves keys
/// unresolved (stored by another replica after this statement's snapshot, or pruned in
/// between) only runs again for those keys.
async fn insert_batch(
    client: &deadpool_postgres::Object,
    batch: &[Admitted],
) -> Result<Result<Vec<Enqueued>, String>, tokio_postgres::Error> {
    // The first copy of each key goes to the database; later copies answer as it does.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<usize> = Vec::with_capacity(batch.len());
    for (i, a) in batch.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) =
            first_of.entry(a.delivery.key.as_str())
        {
            v.insert(i);
            unique.push(i);
        }
    }
    let mut answer: HashMap<&str, Enqueued> = HashMap::with_capacity(unique.len());
    let mut todo = unique;
    for _ in 0..5 {
        insert_round(client, batch, &todo, &mut answer).await?;
        todo.retain(|&i| !answer.contains_key(batch[i].delivery.key.as_str()));
        if todo.is_empty() {
            break;
        }
        // Stored by another replica after this statement's snapshot: now visible.
        let missing: Vec<&str> = todo
            .iter()
            .map(|&i| batch[i].delivery.key.as_str())
            .collect();
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT dedupe_key, seq FROM deliveries WHERE dedupe_key = ANY($1)",
                    )
                    .await?,
                &[&missing],
            )
            .await?;
        for row in &rows {
            let key: &str = row.get(0);
            let seq: i64 = row.get(1);
            if let Some(&i) = first_of.get(key) {
                answer.insert(
                    batch[i].delivery.key.as_str(),
                    Enqueued::Duplicate { seq: seq as u64 },
                );
            }
        }
        todo.retain(|&i| !answer.contains_key(batch[i].delivery.key.as_str()));
        if todo.is_empty() {
            break;
        }
        // Neither stored nor found: removed in between (pruned); the next round stores it.
    }
    if !todo.is_empty() {
        return Ok(Err("dedupe keys kept changing under the insert".into()));
    }
    Ok(Ok(batch
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let key = a.delivery.key.as_str();
            match answer[key] {
                // A later copy in this batch: a duplicate of the first.
                Enqueued::Accepted { seq, .. } if first_of[key] != i => Enqueued::Duplicate { seq },
                found => found,
            }
        })
        .collect()))
}

/// One statement storing `batch[todo]`: records what it inserted (`Accepted`) and what it
/// found already stored (`Duplicate`).
async fn insert_round<'a>(
    client: &deadpool_postgres::Object,
    batch: &'a [Admitted],
    todo: &[usize],
    answer: &mut HashMap<&'a str, Enqueued>,
) -> Result<(), tokio_postgres::Error> {
    let pick = |f: &dyn Fn(&Admitted) -> Option<String>| -> Vec<Option<String>> {
        todo.iter().map(|&i| f(&batch[i])).collect()
    };
    let keys = pick(&|a| Some(a.delivery.key.clone()));
    let kinds = pick(&|a| Some(kind_name(a.delivery.kind)));
    let uuids = pick(&|a| a.delivery.event_uuid.clone());
    let verified = pick(&|a| Some(a.delivery.verified_by.to_string()));
    let projects: Vec<Option<i64>> = todo
        .iter()
        .map(|&i| batch[i].delivery.project.map(|p| p.get() as i64))
        .collect();
    let lanes: Vec<i64> = todo
        .iter()
        .map(|&i| lane_of(batch[i].delivery.project) as i64)
        .collect();
    let lens: Vec<i64> = todo.iter().map(|&i| batch[i].body_len as i64).collect();
    let received: Vec<i64> = todo
        .iter()
        .map(|&i| batch[i].delivery.received_at_ms)
        .collect();
    let bodies: Vec<&[u8]> = todo.iter().map(|&i| batch[i].stored.as_slice()).collect();
    let statement = client.prepare_cached(INSERT_BATCH).await?;
    let rows = client
        .query(
            &statement,
            &[
                &keys, &kinds, &projects, &lanes, &uuids, &verified, &lens, &received, &bodies,
            ],
        )
        .await?;
    let index: HashMap<&str, usize> = todo
        .iter()
        .map(|&i| (batch[i].delivery.key.as_str(), i))
        .collect();
    for row in &rows {
        let key: &str = row.get(1);
        let Some(&i) = index.get(key) else { continue };
        let seq = row.get::<_, i64>(0) as u64;
        let found = if row.get::<_, bool>(3) {
            Enqueued::Accepted {
                seq,
                lane: row.get::<_, i64>(2) as u64,
            }
        } else {
            Enqueued::Duplicate { seq }
        };
        let key = batch[i].delivery.key.as_str();
        // What this statement inserted wins over a stale row of the snapshot (pruned since).
        match answer.get(key) {
            Some(Enqueued::Accepted { .. }) => {}
            _ => {
                answer.insert(key, found);
            }
        }
    }
    Ok(())
}

/// The stored name of an event kind: its serde name (`push`, `merge_request`, ...).
pub(crate) fn kind_name(kind: EventKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => kind.as_str().to_string(),
    }
}

fn parse_kind(seq: i64, name: &str) -> Result<EventKind, PgError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|e| {
        PgError::Decode {
            table: "deliveries",
            key: seq.to_string(),
            message: format!("unknown event kind {name:?}: {e}"),
        }
    })
}

fn record_from_row(row: &Row) -> Result<DeliveryRecord, PgError> {
    let seq: i64 = row.get("seq");
    let state: String = row.get("state");
    let kind: String = row.get("kind");
    Ok(DeliveryRecord {
        seq: seq as u64,
        key: row.get("dedupe_key"),
        kind: parse_kind(seq, &kind)?,
        project: row
            .get::<_, Option<i64>>("project")
            .map(|p| ProjectId(p as u64)),
        event_uuid: row.get("event_uuid"),
        verified_by: crate::inbox::VerifiedBy::parse(row.get("verified_by")),
        body_len: row.get::<_, i64>("body_len") as u64,
        state: DeliveryState::parse(&state).ok_or_else(|| PgError::Decode {
            table: "deliveries",
            key: seq.to_string(),
            message: format!("unknown state {state:?}"),
        })?,
        attempts: row.get::<_, i32>("attempts") as u32,
        received_at_ms: row.get("received_at_ms"),
        finished_at_ms: row.get("finished_at_ms"),
        next_attempt_at_ms: row.get("next_attempt_at_ms"),
        outcome: row.get("outcome"),
        last_error: row.get("last_error"),
    })
}
