//! Opening the backend: a deadpool of tokio-postgres connections over rustls, then the
//! migrations, before anything else reads or writes.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};

use super::{describe, migrate, tls, url::DatabaseUrl, PgError};
use crate::net::Network;

/// Connections in the pool by default: enough for a few group commits in flight, the workers'
/// claims and the API, small beside PostgreSQL's default `max_connections` of 100 when several
/// replicas share one server.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The backend: a pool on one database, migrated. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    url: DatabaseUrl,
    /// The TLS connector of the pool's connections (a listener opens its own with it).
    tls: tls::Connector,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish()
    }
}

impl PgStore {
    /// Connects with `network`'s trust, applies the pending migrations (refusing a newer
    /// schema) and returns the store.
    pub async fn open(
        url: &DatabaseUrl,
        network: &Network,
        pool_size: usize,
    ) -> Result<PgStore, PgError> {
        let store = Self::connect(url, network, pool_size)?;
        let mut client = store.client().await?;
        migrate::apply(&mut client, migrate::MIGRATIONS).await?;
        Ok(store)
    }

    /// The pool alone, without migrating (connections open lazily, on first use).
    pub fn connect(
        url: &DatabaseUrl,
        network: &Network,
        pool_size: usize,
    ) -> Result<PgStore, PgError> {
        let connector = tls::connector(network)?;
        let manager = Manager::from_config(
            connection_config(url),
            connector.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(|e| PgError::Connect {
                url: url.redacted(),
                message: url.scrub(&e.to_string()),
            })?;
        Ok(PgStore {
            pool,
            url: url.clone(),
            tls: connector,
        })
    }

    /// Creates a new, empty schema named `prefix` plus a unique suffix in the database of
    /// `base`, and returns the URL of that schema (test harnesses and soaks: one fresh schema
    /// per run, so that several share one database).
    pub async fn create_schema(
        base: &DatabaseUrl,
        network: &Network,
        prefix: &str,
    ) -> Result<DatabaseUrl, PgError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let clean: String = prefix
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .take(20)
            .collect();
        let schema = format!(
            "{clean}_{}_{}_{}",
            std::process::id(),
            crate::clock::now_ms(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let admin = Self::connect(base, network, 1)?;
        admin
            .client()
            .await?
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(PgError::query("creating a schema"))?;
        base.with_schema(&schema).map_err(PgError::from)
    }

    /// A connection of its own, outside the pool (a `LISTEN`er: the pool's connections drop
    /// notifications), with the pool's settings and trust. The caller drives the returned
    /// connection.
    pub async fn dedicated(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<
                tokio_postgres::Socket,
                <tls::Connector as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
            >,
        ),
        PgError,
    >{
        connection_config(&self.url)
            .connect(self.tls.clone())
            .await
            .map_err(|e| PgError::Connect {
                url: self.url.redacted(),
                message: self.url.scrub(&describe(&e)),
            })
    }

    /// A connection from the pool.
    pub async fn client(&self) -> Result<Object, PgError> {
        self.pool.get().await.map_err(|e| {
            let message = match &e {
                deadpool_postgres::PoolError::Backend(b) => describe(b),
                other => other.to_string(),
            };
            PgError::Connect {
                url: self.url.redacted(),
                message: self.url.scrub(&message),
            }
        })
    }

    /// The URL (printable: password redacted).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Connections open and idle now, for `/readyz` and metrics.
    pub fn pool_status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }

    /// Whether the database answers, and the schema version it holds.
    pub async fn ping(&self) -> Result<i32, PgError> {
        let client = self.client().await?;
        migrate::current_version(&client).await
    }
}

/// The URL's connection settings with backline's defaults (connect timeout, application name).
fn connection_config(url: &DatabaseUrl) -> tokio_postgres::Config {
    let mut config = url.config().clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("backline");
    }
    config
}
