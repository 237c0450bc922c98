//! The database check of `backline doctor` (issue 16), when `BACKLINE_DATABASE_URL` is set: is
//! the database reachable with the configured trust, are its migrations those of this binary,
//! and how far behind is the queue every replica shares (the oldest pending delivery, leases
//! past their time). Read-only: doctor never migrates. [`judge`] decides; [`check`] asks.

use std::time::Duration;

use super::report::Check;
use crate::config::Settings;
use crate::store::pg::{migrate, DatabaseUrl, PgError, PgStore};

const NAME: &str = "database";

/// A pending delivery older than this is called lag.
pub const LAG: Duration = Duration::from_secs(10 * 60);

/// What the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    /// The newest migration applied (0: none).
    pub version: i32,
    /// Deliveries queued.
    pub pending: i64,
    /// Age of the oldest queued delivery.
    pub oldest_pending: Option<Duration>,
    /// Queued deliveries whose lease ran out (their replica stopped while holding them).
    pub expired_leases: i64,
}

/// The verdict on `state` (`url` already redacted; `supported` is this binary's newest
/// migration).
pub fn judge(url: &str, state: &DbState, supported: i32) -> Check {
    if state.version > supported {
        return Check::fail(
            NAME,
            format!(
                "{url}: schema version {}, newer than this backline understands ({supported})",
                state.version
            ),
            "upgrade backline, or point BACKLINE_DATABASE_URL at another database",
        );
    }
    if state.version < supported {
        return Check::warn(
            NAME,
            format!(
                "{url}: reachable, schema version {} of {supported}: serve applies the missing migrations at start",
                state.version
            ),
            "start serve (or run backline migrate) once with this URL",
        );
    }
    if state.expired_leases > 0 {
        return Check::warn(
            NAME,
            format!(
                "{url}: {} queued deliveries are leased by a replica whose lease ran out",
                state.expired_leases
            ),
            "a replica stopped while working; check that at least one replica runs (another takes them over)",
        );
    }
    let age = state.oldest_pending.unwrap_or_default();
    if age > LAG {
        return Check::warn(
            NAME,
            format!(
                "{url}: queue lag: the oldest of {} queued deliveries arrived {} min ago",
                state.pending,
                age.as_secs() / 60
            ),
            "check that the replicas run workers (BACKLINE_WORKERS > 0) and that GitLab answers them",
        );
    }
    Check::pass(
        NAME,
        format!(
            "{url}: reachable, schema version {} (current), {} queued",
            state.version, state.pending
        ),
    )
}

/// The check, or `None` when the settings keep the store in sled.
pub async fn check(settings: &Settings) -> Option<Check> {
    let url = settings.database_url.as_ref()?;
    let supported = migrate::MIGRATIONS.last().map_or(0, |m| m.version);
    Some(match read(url, settings).await {
        Ok(state) => judge(&url.redacted(), &state, supported),
        Err(e) => Check::fail(
            NAME,
            format!("{}: {}", url.redacted(), url.scrub(&e.to_string())),
            "check that PostgreSQL runs and accepts this user (the URL, its sslmode, BACKLINE_CA_FILE)",
        ),
    })
}

async fn read(url: &DatabaseUrl, settings: &Settings) -> Result<DbState, PgError> {
    let store = PgStore::connect(url, &settings.network, 1)?;
    let client = store.client().await?;
    let migrated: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(PgError::query("looking for the schema"))?
        .get(0);
    if !migrated {
        return Ok(DbState {
            version: 0,
            pending: 0,
            oldest_pending: None,
            expired_leases: 0,
        });
    }
    let version = migrate::current_version(&client).await?;
    let now = crate::clock::now_ms();
    let row = client
        .query_one(
            "SELECT count(*), min(d.received_at_ms), \
                    count(*) FILTER (WHERE i.leased_by IS NOT NULL AND i.lease_until_ms < $1) \
             FROM inbox i JOIN deliveries d USING (seq)",
            &[&now],
        )
        .await
        .map_err(PgError::query("reading the queue"))?;
    let oldest: Option<i64> = row.get(1);
    Ok(DbState {
        version,
        pending: row.get(0),
        oldest_pending: oldest
            .map(|at| Duration::from_millis(now.saturating_sub(at).max(0) as u64)),
        expired_leases: row.get(2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::store::pg::testing::TestDb;

    fn state(version: i32) -> DbState {
        DbState {
            version,
            pending: 2,
            oldest_pending: Some(Duration::from_secs(5)),
            expired_leases: 0,
        }
    }

    #[test]
    fn the_verdict_follows_schema_leases_and_lag() {
        assert_eq!(judge("u", &state(3), 2).status, Status::Fail);
        assert_eq!(judge("u", &state(1), 2).status, Status::Warn);
        let fine = judge("u", &state(2), 2);
        assert_eq!(fine.status, Status::Pass);
        assert!(fine.detail.contains("2 queued"), "{}", fine.detail);
        let expired = DbState {
            expired_leases: 1,
            ..state(2)
        };
        assert_eq!(judge("u", &expired, 2).status, Status::Warn);
        let late = DbState {
            oldest_pending: Some(LAG + Duration::from_secs(60)),
            ..state(2)
        };
        let lag = judge("u", &late, 2);
        assert_eq!(lag.status, Status::Warn);
        assert!(lag.detail.contains("queue lag"), "{}", lag.detail);
    }

    fn settings_for(url: DatabaseUrl) -> Settings {
        let mut s = Settings::with_data_dir(std::env::temp_dir().join("unused"));
        s.database_url = Some(url);
        s
    }

    #[tokio::test]
    async fn a_real_database_is_read_without_being_migrated() {
        let supported = migrate::MIGRATIONS.last().unwrap().version;
        let fresh = TestDb::empty().await;
        let c = check(&settings_for(fresh.url.clone())).await.unwrap();
        assert_eq!(c.status, Status::Warn, "{c:?}");
        assert!(
            c.detail
                .contains(&format!("schema version 0 of {supported}")),
            "{c:?}"
        );
        // Doctor did not migrate it.
        let again = check(&settings_for(fresh.url.clone())).await.unwrap();
        assert_eq!(again.status, Status::Warn, "{again:?}");

        let migrated = TestDb::migrated().await;
        let c = check(&settings_for(migrated.url.clone())).await.unwrap();
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(c.detail.contains("0 queued"), "{c:?}");
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_without_its_password() {
        let url =
            DatabaseUrl::parse("postgres://backline:s3cretpw@127.0.0.1:1/none?sslmode=disable")
                .unwrap();
        let c = check(&settings_for(url)).await.unwrap();
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(!format!("{c:?}").contains("s3cretpw"), "{c:?}");
    }

    #[tokio::test]
    async fn sled_settings_have_no_database_check() {
        let s = Settings::with_data_dir(std::env::temp_dir().join("unused"));
        assert!(check(&s).await.is_none());
    }
}
