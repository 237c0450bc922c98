//! Periodic work on one replica at a time. Each job (catalog sync with its MR reconcile,
//! advisory sync, schedule tick, pruning) has a row in `leaders`: the replica holding it runs
//! the job and renews its lease well before it ends; when that replica dies, its lease runs out
//! and the next replica to ask takes the job over, with the term number raised (so work can
//! tell a takeover happened). The row also keeps when the job last started and finished, on
//! whichever replica (migration 3), so that it runs once per period across the replicas, not
//! once per replica, and not again right after a takeover when the dead holder had just run it.
//! When to run is decided by `crate::periodic::decide`; `crate::periodic::coordinator` drives it.
//!
//! Leases rather than advisory locks: a session lock belongs to one pooled connection and is
//! lost or kept by accident when the pool recycles it, and a lease's expiry can be tested
//! with a given clock.

use std::fmt;
use std::time::Duration;

use super::queue::ReplicaId;
use super::{PgError, PgStore};

/// How long a job's lease holds without renewal, by default.
pub const DEFAULT_LEADER_LEASE: Duration = Duration::from_secs(20);

/// The work that runs on one replica at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodicJob {
    /// Re-reading the project catalog from GitLab, then (its after-sync work) scanning new and
    /// changed projects and reconciling remediations with GitLab's MRs: the reconcile is part
    /// of this job, not a job of its own.
    CatalogSync,
    /// Downloading the advisory databases.
    AdvisorySync,
    /// Acting on projects whose `schedule` window has opened.
    ScheduleTick,
    /// Forgetting old deliveries.
    Prune,
}

impl PeriodicJob {
    /// Every job.
    pub const ALL: [PeriodicJob; 4] = [
        PeriodicJob::CatalogSync,
        PeriodicJob::AdvisorySync,
        PeriodicJob::ScheduleTick,
        PeriodicJob::Prune,
    ];

    /// The stored name (also the `job` label of the metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodicJob::CatalogSync => "catalog_sync",
            PeriodicJob::AdvisorySync => "advisory_sync",
            PeriodicJob::ScheduleTick => "schedule_tick",
            PeriodicJob::Prune => "prune",
        }
    }
}

impl fmt::Display for PeriodicJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a job last started and last finished, on whichever replica (Unix ms; `None`: never).
/// A start later than the finish is a run that has not finished: still running, or its
/// replica died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LastRun {
    /// The last start.
    pub started_ms: Option<i64>,
    /// The last finish.
    pub finished_ms: Option<i64>,
}

/// A held job: run it until `until_ms`, then renew (or stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The job.
    pub job: PeriodicJob,
    /// Raised each time another replica takes the job over.
    pub number: i64,
    /// Until when the lease holds (Unix ms).
    pub until_ms: i64,
    /// When the job last ran, as the row said when the lease was taken or renewed.
    pub last: LastRun,
}

/// Who holds a job now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The replica.
    pub replica: String,
    /// Until when (Unix ms).
    pub until_ms: i64,
    /// The term.
    pub term: i64,
}

/// One replica's side of the election.
#[derive(Clone, Debug)]
pub struct Leader {
    store: PgStore,
    replica: ReplicaId,
    lease_ms: i64,
}

impl Leader {
    /// `replica`'s elections, holding each job for `lease` between renewals.
    pub fn new(store: PgStore, replica: ReplicaId, lease: Duration) -> Self {
        Leader {
            store,
            replica,
            lease_ms: lease.as_millis().min(i64::MAX as u128) as i64,
        }
    }

    /// Takes `job` when nobody holds it or its lease has run out, or renews it when this
    /// replica holds it. `None`: another replica holds it now.
    pub async fn acquire(&self, job: PeriodicJob, now_ms: i64) -> Result<Option<Term>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                "INSERT INTO leaders (job, holder, lease_until_ms, term) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (job) DO UPDATE SET
                     holder = excluded.holder,
                     lease_until_ms = excluded.lease_until_ms,
                     term = CASE WHEN leaders.holder = excluded.holder THEN leaders.term
                                 ELSE leaders.term + 1 END
                 WHERE leaders.holder = excluded.holder OR leaders.lease_until_ms <= $4
                 RETURNING term, lease_until_ms, last_started_ms, last_finished_ms",
                &[
                    &job.as_str(),
                    &self.replica.as_str(),
                    &(now_ms + self.lease_ms),
                    &now_ms,
                ],
            )
            .await
            .map_err(PgError::query("electing a leader"))?;
        Ok(row.map(|r| Term {
            job,
            number: r.get(0),
            until_ms: r.get(1),
            last: LastRun {
                started_ms: r.get(2),
                finished_ms: r.get(3),
            },
        }))
    }

    /// Records that this replica starts a run of `term`'s job at `now_ms`. `false`: it no
    /// longer holds that term (another replica took the job over), so nothing was recorded.
    pub async fn record_start(&self, term: &Term, now_ms: i64) -> Result<bool, PgError> {
        self.record(term, "last_started_ms", now_ms).await
    }

    /// Records that this replica finished a run of `term`'s job at `now_ms` (whatever its
    /// outcome: a failed run waits a period too). `false`: it no longer holds that term, so
    /// the holder's own record stands.
    pub async fn record_finish(&self, term: &Term, now_ms: i64) -> Result<bool, PgError> {
        self.record(term, "last_finished_ms", now_ms).await
    }

    async fn record(
        &self,
        term: &Term,
        column: &'static str,
        now_ms: i64,
    ) -> Result<bool, PgError> {
        let client = self.store.client().await?;
        // `column` is one of two fixed names above, never input.
        let changed = client
            .execute(
                &format!(
                    "UPDATE leaders SET {column} = $3 WHERE job = $1 AND holder = $2 AND term = $4"
                ),
                &[
                    &term.job.as_str(),
                    &self.replica.as_str(),
                    &now_ms,
                    &term.number,
                ],
            )
            .await
            .map_err(PgError::query("recording a periodic run"))?;
        Ok(changed == 1)
    }

    /// This replica's name in the election.
    pub fn replica(&self) -> &ReplicaId {
        &self.replica
    }

    /// Whether this replica still holds `term` at `now_ms` (checked before work that must not
    /// run twice, such as opening MRs).
    pub async fn holds(&self, term: &Term, now_ms: i64) -> Result<bool, PgError> {
        Ok(self.holder(term.job).await?.is_some_and(|h| {
            h.replica == self.replica.as_str() && h.term == term.number && h.until_ms > now_ms
        }))
    }

    /// Lets go of `job` at once (a clean shutdown), so that another replica need not wait
    /// for the lease to run out.
    pub async fn release(&self, job: PeriodicJob) -> Result<(), PgError> {
        let client = self.store.client().await?;
        client
            .execute(
                "UPDATE leaders SET lease_until_ms = 0 WHERE job = $1 AND holder = $2",
                &[&job.as_str(), &self.replica.as_str()],
            )
            .await
            .map_err(PgError::query("releasing a job"))?;
        Ok(())
    }

    /// Who holds `job`, if anyone ever did.
    pub async fn holder(&self, job: PeriodicJob) -> Result<Option<Holder>, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                "SELECT holder, lease_until_ms, term FROM leaders WHERE job = $1",
                &[&job.as_str()],
            )
            .await
            .map_err(PgError::query("reading a job's holder"))?;
        Ok(row.map(|r| Holder {
            replica: r.get(0),
            until_ms: r.get(1),
            term: r.get(2),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pg::testing::TestDb;

    const T0: i64 = 5_000_000;

    async fn two() -> (TestDb, Leader, Leader) {
        let db = TestDb::migrated().await;
        let store = db.open_store().await.unwrap();
        let lease = Duration::from_secs(30);
        let a = Leader::new(store.clone(), ReplicaId::new("a"), lease);
        let b = Leader::new(store, ReplicaId::new("b"), lease);
        (db, a, b)
    }

    #[tokio::test]
    async fn one_replica_runs_a_job_and_another_takes_over_when_it_dies() {
        let (_db, a, b) = two().await;
        let term = a
            .acquire(PeriodicJob::CatalogSync, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((term.number, term.until_ms), (1, T0 + 30_000));
        assert_eq!(
            b.acquire(PeriodicJob::CatalogSync, T0 + 1).await.unwrap(),
            None
        );
        // Another job is free meanwhile.
        assert!(b.acquire(PeriodicJob::Prune, T0).await.unwrap().is_some());
        // A renews: same term, later end; B still waits.
        let renewed = a
            .acquire(PeriodicJob::CatalogSync, T0 + 10_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((renewed.number, renewed.until_ms), (1, T0 + 40_000));
        assert_eq!(
            b.acquire(PeriodicJob::CatalogSync, T0 + 39_999)
                .await
                .unwrap(),
            None
        );
        // A dies (stops renewing): B takes over once the lease ends, in a new term.
        let taken = b
            .acquire(PeriodicJob::CatalogSync, T0 + 40_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.number, 2);
        assert!(
            !a.holds(&renewed, T0 + 40_001).await.unwrap(),
            "A learns it lost"
        );
        assert!(b.holds(&taken, T0 + 40_001).await.unwrap());
        assert_eq!(
            a.acquire(PeriodicJob::CatalogSync, T0 + 40_001)
                .await
                .unwrap(),
            None
        );
        let holder = a.holder(PeriodicJob::CatalogSync).await.unwrap().unwrap();
        assert_eq!((holder.replica.as_str(), holder.term), ("b", 2));
    }

    #[tokio::test]
    async fn a_released_job_is_taken_at_once_and_racers_elect_one() {
        let (_db, a, b) = two().await;
        a.acquire(PeriodicJob::AdvisorySync, T0)
            .await
            .unwrap()
            .unwrap();
        b.release(PeriodicJob::AdvisorySync).await.unwrap();
        assert_eq!(
            b.acquire(PeriodicJob::AdvisorySync, T0).await.unwrap(),
            None,
            "B cannot release A's job"
        );
        a.release(PeriodicJob::AdvisorySync).await.unwrap();
        assert!(b
            .acquire(PeriodicJob::AdvisorySync, T0 + 1)
            .await
            .unwrap()
            .is_some());
        let (ra, rb) = tokio::join!(
            a.acquire(PeriodicJob::ScheduleTick, T0),
            b.acquire(PeriodicJob::ScheduleTick, T0)
        );
        assert_eq!(
            [ra.unwrap(), rb.unwrap()]
                .iter()
                .filter(|t| t.is_some())
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn the_last_run_is_shared_by_the_replicas_and_fenced_by_the_term() {
        let (_db, a, b) = two().await;
        let term = a
            .acquire(PeriodicJob::CatalogSync, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(term.last, LastRun::default(), "never ran");
        assert!(a.record_start(&term, T0 + 1).await.unwrap());
        assert!(a.record_finish(&term, T0 + 2).await.unwrap());
        // A dies; B takes the job over and sees A's run.
        let taken = b
            .acquire(PeriodicJob::CatalogSync, T0 + 30_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            taken.last,
            LastRun {
                started_ms: Some(T0 + 1),
                finished_ms: Some(T0 + 2)
            }
        );
        // A's old term records nothing any more.
        assert!(!a.record_start(&term, T0 + 30_001).await.unwrap());
        assert!(!a.record_finish(&term, T0 + 30_001).await.unwrap());
        assert!(b.record_start(&taken, T0 + 30_002).await.unwrap());
        // B stops cleanly mid-run: the record outlives the release, and A sees the run B left
        // unfinished.
        b.release(PeriodicJob::CatalogSync).await.unwrap();
        let again = a
            .acquire(PeriodicJob::CatalogSync, T0 + 30_003)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.number, 3);
        assert_eq!(
            again.last,
            LastRun {
                started_ms: Some(T0 + 30_002),
                finished_ms: Some(T0 + 2)
            }
        );
        // Other jobs keep their own record.
        let prune = a.acquire(PeriodicJob::Prune, T0).await.unwrap().unwrap();
        assert_eq!(prune.last, LastRun::default());
    }
}
