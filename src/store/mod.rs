//! The embedded sled store: typed trees, key encodings, value codec and schema version.
//!
//! The store knows no behaviour: the inbox, the catalog and later tables build on its trees.

mod codec;
mod flusher;
pub mod pg;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use codec::{decode, encode, key_u64, u64_key};
pub use flusher::Flusher;

/// Version of the value encoding and tree layout. A store written by a newer backline is refused;
/// an older one is brought up to date by `crate::upgrade` before anything reads it.
/// 2: findings and remediations carry severity sources and per-advisory fixes, dependencies
/// their source. 3: remediations record each vulnerable installed copy and whether their branch
/// moves it.
pub const SCHEMA_VERSION: u32 = 3;

/// A storage failure, naming the tree and key involved where there is one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error("data directory {0} is in use by another backline process (sled holds a lock on it); stop that process or choose another --data-dir")]
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
    /// sled itself failed.
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    /// A blocking task did not finish (the runtime is shutting down).
    #[error("store task failed: {0}")]
    Task(String),
}

/// The trees backline keeps, opened once.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    db: sled::Db,
    path: PathBuf,
    /// The canonical data directory, the key of [`closed_here`].
    identity: PathBuf,
    flusher: Flusher,
    /// The first id handed out by this process.
    first_id_of_run: u64,
    /// Schema version and other single values.
    meta: sled::Tree,
    /// Dedupe key → delivery sequence number.
    pub delivery_keys: sled::Tree,
    /// Sequence number → delivery record.
    pub deliveries: sled::Tree,
    /// Sequence number → pending entry (the work queue).
    pub inbox: sled::Tree,
    /// Sequence number → raw delivery body.
    pub payloads: sled::Tree,
    /// Sequence number → dead-letter entry.
    pub dead_letters: sled::Tree,
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
        std::fs::create_dir_all(path).map_err(sled::Error::Io)?;
        let identity = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let db = open_sled(path, &identity, cache_bytes)?;
        let meta = db.open_tree("meta")?;
        match meta.get("schema_version")? {
            None => {
                meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Decode {
                        tree: "meta",
                        key: "schema_version".to_string(),
                        message: format!("expected 4 bytes, found {}", raw.len()),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: path.to_path_buf(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
        }
        let inner = StoreInner {
            delivery_keys: db.open_tree("delivery_keys")?,
            deliveries: db.open_tree("deliveries")?,
            inbox: db.open_tree("inbox")?,
            payloads: db.open_tree("payloads")?,
            dead_letters: db.open_tree("dead_letters")?,
            flusher: Flusher::start(db.clone()),
            first_id_of_run: db.generate_id()?,
            meta,
            path: path.to_path_buf(),
            identity,
            db,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// Opens (or creates) a named tree. Modules that own a table (catalog, advisories, findings)
    /// open theirs through this, so the store needs no field per table.
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.inner.db.open_tree(name)?)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The dedupe-key tree.
    pub fn delivery_keys(&self) -> &sled::Tree {
        &self.inner.delivery_keys
    }

    /// The delivery-record tree.
    pub fn deliveries(&self) -> &sled::Tree {
        &self.inner.deliveries
    }

    /// The pending-work tree.
    pub fn inbox(&self) -> &sled::Tree {
        &self.inner.inbox
    }

    /// The raw-body tree.
    pub fn payloads(&self) -> &sled::Tree {
        &self.inner.payloads
    }

    /// The dead-letter tree.
    pub fn dead_letters(&self) -> &sled::Tree {
        &self.inner.dead_letters
    }

    /// The meta tree.
    pub fn meta(&self) -> &sled::Tree {
        &self.inner.meta
    }

    /// The schema version the data on disk is written in.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let raw = self.inner.meta.get("schema_version")?;
        raw.as_deref()
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| StoreError::Decode {
                tree: "meta",
                key: "schema_version".to_string(),
                message: "missing or not 4 bytes".to_string(),
            })
    }

    /// Records that the data on disk is now written in `version`.
    pub fn set_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.inner
            .meta
            .insert("schema_version", &version.to_be_bytes())?;
        Ok(())
    }

    /// A fresh, strictly increasing id (survives restarts).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.generate_id()?)
    }

    /// An id no earlier run of the process handed out, and no later id is smaller: anything
    /// numbered below it was written before this process opened the store.
    pub fn first_id_of_run(&self) -> u64 {
        self.inner.first_id_of_run
    }

    /// Waits until everything written before this call is on disk (group commit: many writers
    /// share one flush).
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.inner.flusher.wait_durable().await
    }

    /// Flushes synchronously (shutdown).
    pub fn flush_now(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }
}

/// Data directories whose store this process has dropped. sled's I/O threads may hold the
/// directory's lock for a moment after the drop; an open of such a directory waits for them.
fn closed_here() -> &'static Mutex<HashSet<PathBuf>> {
    static CLOSED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    CLOSED.get_or_init(Default::default)
}

/// How long an open waits for this process's own lingering sled threads to let go of the lock.
const LINGER_WAIT: Duration = Duration::from_secs(5);

/// sled's page cache unless configured (`BACKLINE_STORE_CACHE_BYTES`).
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

fn open_sled(path: &Path, identity: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + LINGER_WAIT;
    loop {
        match sled::Config::new()
            .path(path)
            .flush_every_ms(Some(500))
            .cache_capacity(cache_bytes)
            .open()
        {
            Ok(db) => {
                lock_ignoring_poison(closed_here()).remove(identity);
                return Ok(db);
            }
            Err(sled::Error::Io(ref io)) if is_lock_error(io) => {
                // Another process holds it: say so at once. Our own just-dropped store: its
                // threads are finishing their last writes; wait for them (bounded).
                let ours = lock_ignoring_poison(closed_here()).contains(identity);
                if !ours || Instant::now() >= deadline {
                    return Err(StoreError::Locked(path.to_path_buf()));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(other) => return Err(StoreError::Sled(other)),
        }
    }
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for StoreInner {
    fn drop(&mut self) {
        lock_ignoring_poison(closed_here()).insert(self.identity.clone());
    }
}

fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.raw_os_error() == Some(11)
        || e.to_string().contains("lock")
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
            store.inbox().insert(u64_key(i), b"x".as_slice()).unwrap();
            assert_eq!(store.inbox().len(), i as usize + 1);
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .meta()
                .insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            store.flush_now().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    }

    #[tokio::test]
    async fn durable_returns_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.inbox().insert(u64_key(1), b"x".as_slice()).unwrap();
        store.durable().await.unwrap();
        let waiters: Vec<_> = (0..64)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    s.inbox().insert(u64_key(i + 2), b"y".as_slice()).unwrap();
                    s.durable().await
                })
            })
            .collect();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
    }
}
