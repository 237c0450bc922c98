//! A run's own schema in the test database, for tests that start real `serve` processes on
//! PostgreSQL (`replicas`, `periodic`): the processes get it as a URL string (with the schema
//! first on the search path), the checks a pool on it. Dropped at the end of the run.

use backline::net::Network;
use backline::store::pg::{DatabaseUrl, PgStore};

pub struct Schema {
    pub name: String,
    /// What the replicas get as `BACKLINE_DATABASE_URL`.
    pub url: String,
    /// A pool on the schema, for the checks.
    pub store: PgStore,
    admin: PgStore,
}

impl Schema {
    /// A fresh schema named after `prefix` (the test that needs it names itself in the message
    /// when no database is configured).
    pub async fn create(prefix: &str, pool_size: usize) -> Schema {
        let raw = std::env::var("BACKLINE_TEST_DATABASE_URL").unwrap_or_else(|_| {
            panic!(
                "BACKLINE_TEST_DATABASE_URL is not set: the {prefix} test needs a real \
                 PostgreSQL. Install it (Debian/Ubuntu: sudo apt-get install postgresql) and \
                 set BACKLINE_TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DATABASE"
            )
        });
        let base = DatabaseUrl::parse(&raw).unwrap();
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            backline::clock::now_ms()
        );
        let admin = PgStore::connect(&base, &Network::default(), 1).unwrap();
        admin
            .client()
            .await
            .expect("the test database is reachable")
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        let sep = if raw.contains('?') { '&' } else { '?' };
        let url = format!("{raw}{sep}options=-c%20search_path%3D{name}");
        let store = PgStore::connect(
            &base.with_schema(&name).unwrap(),
            &Network::default(),
            pool_size,
        )
        .unwrap();
        Schema {
            name,
            url,
            store,
            admin,
        }
    }

    pub async fn drop(self) {
        let _ = self
            .admin
            .client()
            .await
            .unwrap()
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}
