//! Periodic work on one replica at a time. Each job (catalog sync, advisory sync, reconcile,
//! pruning) has a row in `leaders`: the replica holding it runs the job and renews its lease
//! well before it ends; when that replica dies, its lease runs out and the next replica to ask
//! takes the job over, with the term number raised (so work can tell a takeover happened).
//!
//! Leases rather than advisory locks: a session lock belongs to one pooled connection and is
//! lost or kept by accident when the pool recycles it, and a lease's expiry can be tested
//! with a given clock.

use std::fmt;
use std::time::Duration;

use super::queue::ReplicaId;
use super::{PgError, PgStore};

/// How long a job's lease holds without renewal, by default.
pub const DEFAULT_LEADER_LEASE: Duration = Duration::from_secs(30);

/// The work that runs on one replica at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodicJob {
    /// Re-reading the project catalog from GitLab.
    CatalogSync,
    /// Downloading the advisory databases.
    AdvisorySync,
    /// Reconciling remediations with GitLab's MRs.
    Reconcile,
    /// Forgetting old deliveries.
    Prune,
}

impl PeriodicJob {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodicJob::CatalogSync => "catalog_sync",
            PeriodicJob::AdvisorySync => "advisory_sync",
            PeriodicJob::Reconcile => "reconcile",
            PeriodicJob::Prune => "prune",
        }
    }
}

impl fmt::Display for PeriodicJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
                 RETURNING term, lease_until_ms",
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
        }))
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
            a.acquire(PeriodicJob::Reconcile, T0),
            b.acquire(PeriodicJob::Reconcile, T0)
        );
        assert_eq!(
            [ra.unwrap(), rb.unwrap()]
                .iter()
                .filter(|t| t.is_some())
                .count(),
            1
        );
    }
}
