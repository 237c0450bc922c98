//! The store: typed tables ([`Table`]) over one backend, the value codec and schema version.
//!
//! The store knows no behaviour: the inbox, the catalog and every other table build on
//! [`Store::table`]. Only this folder names the backend (sled 0.34, in [`sled_backend`]); a
//! second backend adds a variant to [`raw::RawTree`] and to [`Backend`].
//!
//! One rule for async code: store calls block (sled may wait on I/O or its locks), so async
//! code calls them through [`Store::run`] (the blocking pool), never directly on the executor.

mod codec;
#[cfg(test)]
mod contract;
mod faults;
mod flusher;
pub mod pg;
pub mod pg_backend;
pub mod pg_lanes;
mod raw;
mod sled_backend;
mod table;
#[cfg(test)]
pub(crate) mod testing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use codec::{decode, encode, key_u64, printable, u64_key};
pub use flusher::Flusher;
pub use pg_backend::PgDb;
pub use pg_lanes::PgLaneLock;
pub use sled_backend::LOCK_FILE;
pub use table::{
    Batch, BigEndian, BigEndian32, Bytes, Codec, Conflict, Entries, Fixed8, Key, Millis, Postcard,
    Prefix, Table,
};

use crate::gitlab::{MrIid, ProjectId, UserId};

/// Version of the value encoding and tree layout. A store written by a newer backline is refused;
/// an older one is brought up to date by `crate::upgrade` before anything reads it.
/// 2: findings and remediations carry severity sources and per-advisory fixes, dependencies
/// their source. 3: remediations record each vulnerable installed copy and whether their branch
/// moves it. 4: remediations record how their fix gets through (`route`, issue 18).
pub const SCHEMA_VERSION: u32 = 4;

/// A storage failure, naming the tree and key involved where there is one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error("data directory {0} is in use by another backline process; stop that process or choose another --data-dir")]
    Locked(PathBuf),
    /// The store was written by a newer schema.
    #[error("data directory {path} has schema version {found}, newer than this backline understands ({supported}); upgrade backline")]
    NewerSchema {
        /// The data directory.
        path: PathBuf,
        /// Version on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// A value could not be decoded.
    #[error("could not decode value in tree {tree} at key {key}: {message}")]
    Decode {
        /// The tree.
        tree: &'static str,
        /// The key, printable.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The backend itself failed (I/O, corruption): transient or not, the caller did not get
    /// what it asked for.
    #[error("store error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The database holds a store schema newer than this binary understands.
    #[error("the database at {url} has store schema version {found}, newer than this backline understands ({supported}); upgrade backline")]
    NewerDatabaseSchema {
        /// The database URL, password redacted.
        url: String,
        /// Version in the database.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// A blocking task did not finish (the runtime is shutting down).
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether trying again may succeed: a backend failure (I/O) or a blocking task that did
    /// not finish; not a value that does not decode, a newer schema or a held lock.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Backend(_) | StoreError::Task(_))
    }
}

impl Fixed8 for ProjectId {
    fn to_u64(&self) -> u64 {
        self.get()
    }
    fn from_u64(n: u64) -> Self {
        ProjectId(n)
    }
}

impl Fixed8 for MrIid {
    fn to_u64(&self) -> u64 {
        self.get()
    }
    fn from_u64(n: u64) -> Self {
        MrIid(n)
    }
}

impl Fixed8 for UserId {
    fn to_u64(&self) -> u64 {
        self.get()
    }
    fn from_u64(n: u64) -> Self {
        UserId(n)
    }
}

/// The open backend.
enum Backend {
    Sled(sled_backend::SledDb),
    /// PostgreSQL (`BACKLINE_DATABASE_URL`), shared by several replicas.
    Pg(pg_backend::PgDb),
}

/// The meta tree: schema version and other single values.
const META: &str = "meta";
const SCHEMA_KEY: &str = "schema_version";

/// The store, opened once. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    // Field order is drop order: the flusher (which holds the database) stops first.
    /// sled's group commit; none on PostgreSQL (every statement commits before it answers).
    flusher: Option<Flusher>,
    backend: Backend,
    path: PathBuf,
    /// The canonical data directory.
    identity: PathBuf,
    /// The first id handed out by this process.
    first_id_of_run: u64,
    meta: Table<String, u32, BigEndian32>,
    faults: faults::Faults,
}

impl Store {
    /// Opens (or creates) the store in `path`, checking its schema version, with sled's page
    /// cache at [`DEFAULT_CACHE_BYTES`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with sled's page cache at `cache_bytes` (set explicitly: sled's own
    /// default is 1 GiB).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let identity = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let db = sled_backend::SledDb::open(path, &identity, cache_bytes)?;
        let faults = faults::Faults::default();
        let meta: Table<String, u32, BigEndian32> =
            Table::new(META, raw::RawTree::Sled(db.tree(META)?), faults.clone());
        check_schema(&meta).map_err(|found| StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        })??;
        let inner = StoreInner {
            flusher: Some(Flusher::start(db.db.clone())),
            first_id_of_run: db.generate_id()?,
            backend: Backend::Sled(db),
            meta,
            path: path.to_path_buf(),
            identity,
            faults,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// Opens the store on PostgreSQL at `url` (applying the database's migrations, then
    /// checking the store's schema version as on sled). No data-directory lock: several
    /// replicas share the database.
    pub fn open_pg(
        url: &pg::DatabaseUrl,
        network: &crate::net::Network,
        pool_size: usize,
    ) -> Result<Store, StoreError> {
        let db = pg_backend::PgDb::open(url, network, pool_size)?;
        let faults = faults::Faults::default();
        let meta: Table<String, u32, BigEndian32> =
            Table::new(META, raw::RawTree::Pg(db.tree(META)?), faults.clone());
        check_schema(&meta).map_err(|found| StoreError::NewerDatabaseSchema {
            url: url.redacted(),
            found,
            supported: SCHEMA_VERSION,
        })??;
        let inner = StoreInner {
            flusher: None,
            first_id_of_run: db.generate_id()?,
            backend: Backend::Pg(db),
            meta,
            path: PathBuf::new(),
            identity: PathBuf::new(),
            faults,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// The store the settings name: PostgreSQL when `BACKLINE_DATABASE_URL` is set, else
    /// sled in the data directory (with its page cache setting).
    pub fn open_for(settings: &crate::config::Settings) -> Result<Store, StoreError> {
        match &settings.database_url {
            Some(url) => Self::open_pg(url, &settings.network, pg::pool::DEFAULT_POOL_SIZE),
            None => Self::open_with_cache(&settings.data_dir, settings.store_cache_bytes),
        }
    }

    /// The PostgreSQL backend, when the store runs on it.
    pub fn pg(&self) -> Option<&pg_backend::PgDb> {
        match &self.inner.backend {
            Backend::Pg(db) => Some(db),
            Backend::Sled(_) => None,
        }
    }

    /// Whether the store runs on PostgreSQL.
    pub fn is_pg(&self) -> bool {
        self.pg().is_some()
    }

    /// Stops the PostgreSQL backend's runtime (tests: later calls must be errors).
    #[doc(hidden)]
    pub fn stop_pg_runtime(&self) {
        if let Some(db) = self.pg() {
            db.stop_runtime();
        }
    }

    /// The byte-level tree `name`.
    fn raw_tree(&self, name: &'static str) -> Result<raw::RawTree, StoreError> {
        Ok(match &self.inner.backend {
            Backend::Sled(db) => raw::RawTree::Sled(db.tree(name)?),
            Backend::Pg(db) => raw::RawTree::Pg(db.tree(name)?),
        })
    }

    /// Opens (or creates) the table `name`. Modules that own a table open theirs through this,
    /// so the store needs no field per table. Several typed views of one tree may be opened
    /// (one per key layout it holds).
    pub fn table<K: Key, V, C: Codec<V>>(
        &self,
        name: &'static str,
    ) -> Result<Table<K, V, C>, StoreError> {
        Ok(Table::new(
            name,
            self.raw_tree(name)?,
            self.inner.faults.clone(),
        ))
    }

    /// Makes every call on table `tree` fail until [`Store::heal_table`] (tests: a failing
    /// store must surface as an error, never a default).
    #[doc(hidden)]
    pub fn fail_table(&self, tree: &'static str) {
        self.inner.faults.fail(tree);
    }

    /// Ends [`Store::fail_table`].
    #[doc(hidden)]
    pub fn heal_table(&self, tree: &'static str) {
        self.inner.faults.heal(tree);
    }

    /// Runs blocking store work on the blocking pool: the one way async code calls the store.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || f(&store)).await
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version the data on disk is written in.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.inner
            .meta
            .get(&SCHEMA_KEY.to_string())?
            .ok_or_else(|| StoreError::Decode {
                tree: META,
                key: SCHEMA_KEY.to_string(),
                message: "missing".to_string(),
            })
    }

    /// Records that the data on disk is now written in `version`.
    pub fn set_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.inner.meta.insert(&SCHEMA_KEY.to_string(), &version)?;
        Ok(())
    }

    /// A fresh, strictly increasing id (survives restarts).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        match &self.inner.backend {
            Backend::Sled(db) => db.generate_id(),
            Backend::Pg(db) => db.generate_id(),
        }
    }

    /// An id no earlier run of the process handed out, and no later id is smaller: anything
    /// numbered below it was written before this process opened the store.
    pub fn first_id_of_run(&self) -> u64 {
        self.inner.first_id_of_run
    }

    /// Waits until everything written before this call is on disk (group commit: many writers
    /// share one flush).
    pub async fn durable(&self) -> Result<(), StoreError> {
        match &self.inner.flusher {
            Some(flusher) => flusher.wait_durable().await,
            // PostgreSQL: each write committed before it returned.
            None => Ok(()),
        }
    }

    /// Flushes synchronously (shutdown).
    pub fn flush_now(&self) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Sled(db) => db.flush(),
            Backend::Pg(_) => Ok(()),
        }
    }
}

/// Records the schema version in a new store, or checks it: `Err(found)` when it is newer
/// than this binary's.
fn check_schema(meta: &Table<String, u32, BigEndian32>) -> Result<Result<(), StoreError>, u32> {
    let key = SCHEMA_KEY.to_string();
    match meta.get(&key) {
        Err(e) => Ok(Err(e)),
        Ok(None) => Ok(meta.insert(&key, &SCHEMA_VERSION).map(|_| ())),
        Ok(Some(found)) if found > SCHEMA_VERSION => Err(found),
        Ok(Some(_)) => Ok(Ok(())),
    }
}

/// Runs `f` on the blocking pool; a task that did not finish is [`StoreError::Task`].
pub async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| E::from(StoreError::Task(e.to_string())))?
}

/// sled's page cache unless configured (`BACKLINE_STORE_CACHE_BYTES`).
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl Drop for StoreInner {
    fn drop(&mut self) {
        if matches!(self.backend, Backend::Sled(_)) {
            sled_backend::closed(&self.identity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_of_the_same_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path())
            .err()
            .expect("second open must fail");
        assert!(matches!(err, StoreError::Locked(_)), "{err}");
        assert!(err
            .to_string()
            .contains("in use by another backline process"));
    }

    #[test]
    fn reopening_in_the_same_process_after_a_drop_works() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20u64 {
            let store = Store::open(dir.path()).unwrap();
            let t: Table<u64, Vec<u8>, Bytes> = store.table("inbox").unwrap();
            t.insert(&i, &b"x".to_vec()).unwrap();
            assert_eq!(t.count(), i as usize + 1);
        }
    }

    #[test]
    fn the_lock_is_taken_by_backline_not_found_in_an_error_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // The lock file is held: another opener is refused by the OS error code.
        let file = std::fs::File::open(dir.path().join(LOCK_FILE)).unwrap();
        let held = fs2::FileExt::try_lock_exclusive(&file).unwrap_err();
        assert_eq!(
            held.raw_os_error(),
            fs2::lock_contended_error().raw_os_error()
        );
        drop(store);
        // Released with the store.
        fs2::FileExt::try_lock_exclusive(&file).unwrap();
        assert!(matches!(
            Store::open(dir.path()).err(),
            Some(StoreError::Locked(_))
        ));
    }
}
