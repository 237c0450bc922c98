//! Project lanes shared by every replica on one PostgreSQL database.
//!
//! On sled the lanes ([`crate::lanes::Lanes`]) are the one per-project ordering: a project's
//! deliveries, actions and background work (scans after a sync, MR reconcile, rechecks) never
//! interleave. On PostgreSQL the queue's leases order a project's deliveries across replicas,
//! but background work runs outside the queue, on any replica. So a lane hold on PostgreSQL
//! also takes a session-level advisory lock on the project, `pg_advisory_lock(LANE_CLASS,
//! lane)`, kept on one pooled connection until the hold ends. A replica that dies takes its
//! session, and with it its locks, along: nothing is left held.
//!
//! The lock is taken with `pg_try_advisory_lock` in a short polling loop on the backend's own
//! runtime, so no statement is left waiting on the server when the caller gives up; a lock
//! taken after its caller went away is released at once (the guard's drop).

use std::time::Duration;

use deadpool_postgres::Object;

use super::pg::PgError;
use super::pg_backend::PgDb;

/// The first key of lane locks (two-int4 advisory keys: apart from the one-bigint keys of
/// migrations and the leader).
pub const LANE_CLASS: i32 = 0x626c_6e65; // "blne"

/// How often a taken lane is tried again.
const POLL: Duration = Duration::from_millis(25);

/// The advisory key of a lane (its low 32 bits: two projects that share them only wait for
/// each other, they never run together wrongly).
fn lane_key(lane: u64) -> i32 {
    lane as u32 as i32
}

/// A held lane lock; dropping it releases the lock (or closes the connection when that fails).
pub struct PgLaneLock {
    client: Option<Object>,
    lane: u64,
    db: PgDb,
}

impl Drop for PgLaneLock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let lane = self.lane;
        self.db.spawn(async move {
            let unlocked = client
                .query_one(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&LANE_CLASS, &lane_key(lane)],
                )
                .await;
            match unlocked {
                Ok(row) if row.get::<_, bool>(0) => {}
                other => {
                    if let Err(e) = other {
                        tracing::warn!(lane, error = %super::pg::describe(&e), "could not release a project's lane lock; closing its connection instead");
                    }
                    // The session ends with the connection, and its locks with it.
                    drop(Object::take(client));
                }
            }
        });
    }
}

/// Takes lane `lane` on the database, waiting while another replica (or another hold of this
/// one) has it. A database failure is retried with back-off: the caller waits, it never runs
/// without the lane.
pub async fn lock(db: &PgDb, lane: u64) -> PgLaneLock {
    let mut backoff = Duration::from_millis(100);
    loop {
        let owner = db.clone();
        let attempt = db
            .run(move |store| async move {
                let client = store.client().await?;
                let guard = PgLaneLock {
                    client: Some(client),
                    lane,
                    db: owner,
                };
                loop {
                    let row = guard
                        .client
                        .as_ref()
                        .expect("held until dropped")
                        .query_one(
                            "SELECT pg_try_advisory_lock($1, $2)",
                            &[&LANE_CLASS, &lane_key(lane)],
                        )
                        .await
                        .map_err(PgError::query("taking a project's lane"))?;
                    if row.get::<_, bool>(0) {
                        return Ok(guard);
                    }
                    tokio::time::sleep(POLL).await;
                }
            })
            .await;
        match attempt {
            Ok(guard) => return guard,
            Err(e) => {
                tracing::warn!(lane, error = %e, "could not take a project's lane on the database; trying again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::lanes::Lanes;
    use crate::store::pg_backend::testing::pg_store;

    /// Whether another session could take lane `lane` now (it is released at once if so).
    async fn free_elsewhere(db: &super::PgDb, lane: u64) -> bool {
        db.run(move |store| async move {
            let client = store.client().await?;
            let row = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&super::LANE_CLASS, &super::lane_key(lane)],
                )
                .await
                .map_err(super::PgError::query("probing a lane"))?;
            let free: bool = row.get(0);
            if free {
                client
                    .query_one(
                        "SELECT pg_advisory_unlock($1, $2)",
                        &[&super::LANE_CLASS, &super::lane_key(lane)],
                    )
                    .await
                    .map_err(super::PgError::query("probing a lane"))?;
            }
            Ok(free)
        })
        .await
        .unwrap()
    }

    /// Two processes' lanes on one database (two `Lanes` sharing it): a hold in one keeps the
    /// other off that project, not off other projects, until it is dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hold_excludes_the_other_replicas_lanes_until_dropped() {
        let (_schema, store) = tokio::task::spawn_blocking(pg_store).await.unwrap();
        let db = store.pg().unwrap().clone();
        let (one, two) = (Arc::new(Lanes::new()), Arc::new(Lanes::new()));
        one.share_with(db.clone());
        two.share_with(db.clone());

        let held = one.hold(7).await;
        assert!(
            !free_elsewhere(&db, 7).await,
            "lane 7 is held on the database"
        );
        assert!(free_elsewhere(&db, 8).await, "other lanes are not");
        // The other replica's hold on lane 8 is not kept waiting.
        drop(two.hold(8).await);
        let waiting = tokio::spawn({
            let two = two.clone();
            async move { two.hold(7).await }
        });
        drop(held);
        // Released on the database: the other replica gets the lane.
        let theirs = waiting.await.unwrap();
        assert!(
            !free_elsewhere(&db, 7).await,
            "now held by the other replica"
        );
        drop(theirs);
        // The release runs on the backend's runtime; the lane comes free.
        let again = one.hold(7).await;
        drop(again);
    }
}
