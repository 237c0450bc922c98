//! Test databases: each test gets its own schema in the database of
//! `BACKLINE_TEST_DATABASE_URL` (scripts/test starts a local PostgreSQL and sets it). Without
//! it the tests fail saying how to get one: they are never skipped quietly.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{migrate, DatabaseUrl, PgStore};

/// The variable naming the test database.
pub const TEST_DATABASE_URL: &str = "BACKLINE_TEST_DATABASE_URL";

/// One test's schema.
pub struct TestDb {
    pub url: DatabaseUrl,
}

/// The test database's URL, or a failure saying how to get one.
pub fn base_url() -> DatabaseUrl {
    let raw = std::env::var(TEST_DATABASE_URL).unwrap_or_else(|_| {
        panic!(
            "{TEST_DATABASE_URL} is not set: the PostgreSQL backend tests need a real server. \
             Run scripts/test, which starts one (installing it with `apt-get install -y postgresql` \
             when it is missing) and sets the variable; or install PostgreSQL yourself \
             (Debian/Ubuntu: sudo apt-get install postgresql) and set \
             {TEST_DATABASE_URL}=postgres://USER:PASSWORD@127.0.0.1:5432/DATABASE"
        )
    });
    DatabaseUrl::parse(&raw).unwrap_or_else(|e| panic!("{TEST_DATABASE_URL}: {e}"))
}

impl TestDb {
    /// A new, empty schema.
    pub async fn empty() -> TestDb {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = base_url();
        let schema = format!(
            "t{}_{}_{}",
            std::process::id(),
            crate::clock::now_ms(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let admin = PgStore::connect(&base, &crate::net::Network::default(), 1).unwrap();
        admin
            .client()
            .await
            .unwrap_or_else(|e| panic!("{e} (is PostgreSQL running? scripts/test starts it)"))
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        TestDb {
            url: base.with_schema(&schema).unwrap(),
        }
    }

    /// A new schema with every migration applied.
    pub async fn migrated() -> TestDb {
        let db = Self::empty().await;
        let mut client = db.client().await;
        migrate::apply(&mut client, migrate::MIGRATIONS)
            .await
            .unwrap();
        db
    }

    /// A store on this schema (migrating it), as a replica opens it.
    pub async fn open_store(&self) -> Result<PgStore, super::PgError> {
        PgStore::open(&self.url, &crate::net::Network::default(), 8).await
    }

    /// One plain connection.
    pub async fn client(&self) -> deadpool_postgres::Object {
        PgStore::connect(&self.url, &crate::net::Network::default(), 1)
            .unwrap()
            .client()
            .await
            .unwrap()
    }
}
