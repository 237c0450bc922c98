//! The PostgreSQL backend (issue 16): the same data as the sled store, shared by several
//! replicas. Selected by `BACKLINE_DATABASE_URL` (`--database-url`, file key `database_url`).
//!
//! - [`url`]: the URL, printed only with its password redacted;
//! - [`tls`]: rustls with the trust of every other client (system store + `BACKLINE_CA_FILE`);
//! - [`pool`]: the connection pool, and [`PgStore`] which opens it and migrates;
//! - [`migrate`]: the versioned schema (SQL files in `migrations/`), applied at start under an
//!   advisory lock; a database newer than this binary is refused;
//! - [`queue`]: the delivery intake and work queue with leases (the operations of
//!   `crate::inbox` over sled, for several replicas), and [`intake`] which commits concurrent
//!   enqueues in one transaction (group commit);
//! - [`kv`]: one `key bytea, value bytea` table per sled tree, with the same postcard values;
//! - [`leader`]: periodic work on one replica at a time, by lease;
//! - [`listen`]: LISTEN/NOTIFY, so a delivery stored by one replica wakes the others' workers.

pub mod from_sled;
pub mod intake;
pub mod kv;
pub mod leader;
pub mod listen;
pub mod migrate;
pub mod pool;
pub mod queue;
pub mod tls;
pub mod url;

#[cfg(test)]
mod contract;
#[cfg(test)]
pub(crate) mod testing;

pub use kv::{KvTable, PgTable};
pub use leader::{LastRun, Leader, PeriodicJob, Term};
pub use pool::PgStore;
pub use queue::{Lease, PgInbox, ReplicaId};
pub use url::DatabaseUrl;

/// A PostgreSQL backend failure. Messages never carry the database password.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL cannot be used.
    #[error(transparent)]
    Url(#[from] url::UrlError),
    /// The TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The database cannot be reached or refused the login.
    #[error("cannot connect to the database at {url}: {message}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's message, password scrubbed.
        message: String,
    },
    /// A statement failed.
    #[error("database error while {op}: {message}")]
    Query {
        /// What backline was doing.
        op: &'static str,
        /// The driver's or server's message.
        message: String,
    },
    /// The database holds a schema newer than this binary knows.
    #[error("the database has schema version {found}, newer than this backline understands ({supported}); upgrade backline, or point BACKLINE_DATABASE_URL at another database")]
    NewerSchema {
        /// The newest version applied in the database.
        found: i32,
        /// The newest version this binary has.
        supported: i32,
    },
    /// A stored value could not be read.
    #[error("could not decode {table} row {key}: {message}")]
    Decode {
        /// The table.
        table: &'static str,
        /// The key, printable.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The group-commit task has stopped (the server is shutting down).
    #[error("the database intake has stopped")]
    IntakeStopped,
}

impl PgError {
    /// A failed statement, described with `tokio_postgres`'s full message (server detail
    /// included; statements carry values as parameters, so no secret is in it).
    pub(crate) fn query(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> PgError {
        move |e| PgError::Query {
            op,
            message: describe(&e),
        }
    }
}

/// The driver's error with the server's detail, which its `Display` leaves out.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut out = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                out.push_str(": ");
                out.push_str(&s.to_string());
                source = s.source();
            }
            out
        }
    }
}
