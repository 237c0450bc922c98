//! Versioned migrations: numbered SQL files in `migrations/`, compiled into the binary, applied
//! at start in one transaction under an advisory lock (two replicas starting together apply
//! each once), recorded in `schema_migrations`. A database with a version this binary does not
//! have is refused: a newer backline migrated it, and this one would misread it.

use tokio_postgres::Client;

use super::PgError;

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number; the steps run in increasing order.
    pub version: i32,
    /// A short name, recorded beside the version.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every step this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "store",
        sql: include_str!("migrations/0002_store.sql"),
    },
    Migration {
        version: 3,
        name: "periodic_runs",
        sql: include_str!("migrations/0003_periodic_runs.sql"),
    },
];

/// The key of the transaction-scoped advisory lock held while migrating (`pg_advisory_xact_lock`):
/// "backline" in ASCII, so that no other application's lock is likely to collide.
pub const MIGRATION_LOCK: i64 = 0x6261_636b_6c69_6e65;

/// The steps to apply, given the versions the database records. Pure.
pub fn plan<'a>(applied: &[i32], known: &'a [Migration]) -> Result<Vec<&'a Migration>, PgError> {
    let supported = known.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(&found) = applied.iter().max() {
        if found > supported {
            return Err(PgError::NewerSchema { found, supported });
        }
    }
    Ok(known
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

/// Applies the pending steps of `known`, all in one transaction under [`MIGRATION_LOCK`].
/// Returns the versions applied now (empty when the schema was already current).
pub async fn apply(client: &mut Client, known: &[Migration]) -> Result<Vec<i32>, PgError> {
    let tx = client
        .transaction()
        .await
        .map_err(PgError::query("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(PgError::query("waiting for the migration lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(PgError::query("creating schema_migrations"))?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(PgError::query("reading schema_migrations"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let steps = plan(&applied, known)?;
    let mut done = Vec::with_capacity(steps.len());
    for step in steps {
        tx.batch_execute(step.sql)
            .await
            .map_err(|e| PgError::Query {
                op: "applying a migration",
                message: format!("{} ({}): {}", step.version, step.name, super::describe(&e)),
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&step.version, &step.name],
        )
        .await
        .map_err(PgError::query("recording a migration"))?;
        done.push(step.version);
    }
    tx.commit()
        .await
        .map_err(PgError::query("committing the migration"))?;
    if !done.is_empty() {
        tracing::info!(versions = ?done, "database schema migrated");
    }
    Ok(done)
}

/// The newest version the database records (0 before any).
pub async fn current_version(client: &Client) -> Result<i32, PgError> {
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(PgError::query("reading the schema version"))?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pg::testing::TestDb;

    fn latest() -> i32 {
        MIGRATIONS.last().unwrap().version
    }

    const A: Migration = Migration {
        version: 1,
        name: "a",
        sql: "",
    };
    const B: Migration = Migration {
        version: 2,
        name: "b",
        sql: "",
    };

    #[test]
    fn plan_runs_what_is_missing_and_refuses_a_newer_schema() {
        assert_eq!(plan(&[], &[A, B]).unwrap(), vec![&A, &B]);
        assert_eq!(plan(&[1], &[A, B]).unwrap(), vec![&B]);
        assert!(plan(&[1, 2], &[A, B]).unwrap().is_empty());
        let err = plan(&[1, 2, 3], &[A, B]).unwrap_err();
        assert!(matches!(
            err,
            PgError::NewerSchema {
                found: 3,
                supported: 2
            }
        ));
        assert!(err.to_string().contains("upgrade backline"), "{err}");
    }

    #[tokio::test]
    async fn migrations_apply_once_even_when_replicas_start_together() {
        let db = TestDb::empty().await;
        let (a, b) = tokio::join!(db.open_store(), db.open_store());
        let (a, _b) = (a.unwrap(), b.unwrap());
        let client = a.client().await.unwrap();
        let rows = client
            .query("SELECT version, name FROM schema_migrations", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), MIGRATIONS.len());
        assert_eq!(current_version(&client).await.unwrap(), latest());
        // Again: nothing left to do.
        let mut client = a.client().await.unwrap();
        assert!(apply(&mut client, MIGRATIONS).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_database_from_a_newer_backline_is_refused_at_open() {
        let db = TestDb::migrated().await;
        db.client()
            .await
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES (99, 'future')",
                &[],
            )
            .await
            .unwrap();
        let err = db.open_store().await.unwrap_err();
        assert!(
            matches!(
                err,
                PgError::NewerSchema {
                    found: 99,
                    supported
                } if supported == latest()
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_failing_step_leaves_nothing_behind() {
        let db = TestDb::empty().await;
        let bad = [
            A,
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE half (x int); SELECT no_such_function();",
            },
        ];
        let mut client = db.client().await;
        let err = apply(&mut client, &bad).await.unwrap_err().to_string();
        assert!(err.contains("2 (broken)"), "{err}");
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name IN ('half', 'schema_migrations')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(tables, 0, "the transaction was rolled back whole");
    }
}
