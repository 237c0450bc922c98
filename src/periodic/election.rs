//! Who may run a periodic job, and the record of its runs. On sled one process holds the data
//! directory, so it holds every job and keeps the record in memory (a restart runs each job at
//! once, as before replicas existed). On PostgreSQL the lease election of
//! [`crate::store::pg::Leader`], its calls run on the database backend's own runtime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::pg::{LastRun, Leader, PeriodicJob, ReplicaId, Term};
use crate::store::pg_backend::PgDb;
use crate::store::StoreError;

/// The election could not be asked (the database failed): the job waits for the next poll.
#[derive(Debug, thiserror::Error)]
#[error("the periodic jobs' election failed: {0}")]
pub struct ElectionError(#[from] StoreError);

/// One replica's side of the election of every periodic job.
pub enum Election {
    /// One process holds the data directory (sled): every job is its own.
    Solo(Mutex<HashMap<PeriodicJob, LastRun>>),
    /// Replicas share a PostgreSQL database: a job is held by lease.
    Shared {
        /// The database backend (its runtime runs the calls).
        db: PgDb,
        /// This replica's election.
        leader: Box<Leader>,
    },
}

impl Election {
    /// The election of a single process.
    pub fn solo() -> Self {
        Election::Solo(Mutex::new(HashMap::new()))
    }

    /// `replica`'s election on `db`, holding each job for `lease` between renewals.
    pub fn shared(db: PgDb, replica: ReplicaId, lease: Duration) -> Self {
        let leader = Box::new(Leader::new(db.pg().clone(), replica, lease));
        Election::Shared { db, leader }
    }

    /// Whether other replicas take part (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self, Election::Shared { .. })
    }

    /// This replica's name (`None` on sled).
    pub fn replica(&self) -> Option<&str> {
        match self {
            Election::Solo(_) => None,
            Election::Shared { leader, .. } => Some(leader.replica().as_str()),
        }
    }

    /// Takes or renews `job`; `None`: another replica holds it.
    pub async fn acquire(
        &self,
        job: PeriodicJob,
        now_ms: i64,
    ) -> Result<Option<Term>, ElectionError> {
        match self {
            Election::Solo(runs) => Ok(Some(Term {
                job,
                number: 1,
                until_ms: i64::MAX,
                last: runs
                    .lock()
                    .map(|r| r.get(&job).copied().unwrap_or_default())
                    .unwrap_or_default(),
            })),
            Election::Shared { db, leader } => {
                let leader = Leader::clone(leader);
                Ok(db
                    .run(move |_| async move { leader.acquire(job, now_ms).await })
                    .await?)
            }
        }
    }

    /// Records a run's start; `false`: `term` is no longer this replica's.
    pub async fn record_start(&self, term: Term, now_ms: i64) -> Result<bool, ElectionError> {
        self.record(term, now_ms, |last| last.started_ms = Some(now_ms), true)
            .await
    }

    /// Records a run's finish; `false`: `term` is no longer this replica's.
    pub async fn record_finish(&self, term: Term, now_ms: i64) -> Result<bool, ElectionError> {
        self.record(term, now_ms, |last| last.finished_ms = Some(now_ms), false)
            .await
    }

    async fn record(
        &self,
        term: Term,
        now_ms: i64,
        mark: impl FnOnce(&mut LastRun),
        start: bool,
    ) -> Result<bool, ElectionError> {
        match self {
            Election::Solo(runs) => {
                if let Ok(mut runs) = runs.lock() {
                    mark(runs.entry(term.job).or_default());
                }
                Ok(true)
            }
            Election::Shared { db, leader } => {
                let leader = Leader::clone(leader);
                Ok(db
                    .run(move |_| async move {
                        if start {
                            leader.record_start(&term, now_ms).await
                        } else {
                            leader.record_finish(&term, now_ms).await
                        }
                    })
                    .await?)
            }
        }
    }

    /// Lets go of `job` (a clean shutdown) so that another replica takes it at its next poll.
    pub async fn release(&self, job: PeriodicJob) -> Result<(), ElectionError> {
        match self {
            Election::Solo(_) => Ok(()),
            Election::Shared { db, leader } => {
                let leader = Leader::clone(leader);
                Ok(db
                    .run(move |_| async move { leader.release(job).await })
                    .await?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn alone_every_job_is_held_and_its_runs_are_remembered_per_job() {
        let e = Election::solo();
        assert!(!e.is_shared());
        let term = e.acquire(PeriodicJob::Prune, 10).await.unwrap().unwrap();
        assert_eq!(term.last, LastRun::default());
        assert!(e.record_start(term, 11).await.unwrap());
        assert!(e.record_finish(term, 12).await.unwrap());
        let again = e.acquire(PeriodicJob::Prune, 13).await.unwrap().unwrap();
        assert_eq!(
            again.last,
            LastRun {
                started_ms: Some(11),
                finished_ms: Some(12)
            }
        );
        let other = e
            .acquire(PeriodicJob::CatalogSync, 13)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.last, LastRun::default());
        e.release(PeriodicJob::Prune).await.unwrap();
    }
}
