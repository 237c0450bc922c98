//! The sled backend: the one place (with the flusher) that names sled. It opens the database
//! (after taking backline's own lock file, so that a directory held by another process is a
//! typed [`StoreError::Locked`] found by the OS error code, not by reading sled's message), and
//! offers byte-level trees to [`super::raw::RawTree`].

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::raw::{RawBatch, RawEntry, RawIter};
use super::StoreError;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// The name of backline's own lock file in the data directory.
pub const LOCK_FILE: &str = "backline.lock";

/// An open sled database with backline's lock on its directory.
pub struct SledDb {
    pub(crate) db: sled::Db,
    /// Held while the database is open: released (closed) when the store is dropped.
    _lock: File,
}

/// Data directories whose store this process has dropped. sled's I/O threads may hold sled's
/// own lock for a moment after the drop; an open of such a directory waits for them.
fn closed_here() -> &'static Mutex<HashSet<PathBuf>> {
    static CLOSED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    CLOSED.get_or_init(Default::default)
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records that this process closed the store of `identity` (its canonical directory).
pub fn closed(identity: &Path) {
    lock_ignoring_poison(closed_here()).insert(identity.to_path_buf());
}

/// How long an open waits for this process's own lingering sled threads to let go.
const LINGER_WAIT: Duration = Duration::from_secs(5);

/// Takes backline's exclusive lock on the data directory: [`StoreError::Locked`] when another
/// open store (in this or another process) holds it.
fn take_lock(path: &Path) -> Result<File, StoreError> {
    use fs2::FileExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    match file.try_lock_exclusive() {
        Ok(()) => Ok(file),
        Err(e) if e.raw_os_error() == fs2::lock_contended_error().raw_os_error() => {
            Err(StoreError::Locked(path.to_path_buf()))
        }
        Err(e) => Err(StoreError::Backend(Box::new(e))),
    }
}

impl SledDb {
    /// Opens `path` with sled's page cache at `cache_bytes`.
    pub fn open(path: &Path, identity: &Path, cache_bytes: u64) -> Result<SledDb, StoreError> {
        let lock = take_lock(path)?;
        // Holding our lock, no other backline process has the directory: a failure to open is
        // this process's just-dropped store whose threads finish their last writes (bounded
        // wait), or a real error.
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
                    return Ok(SledDb { db, _lock: lock });
                }
                Err(sled::Error::Io(_))
                    if lock_ignoring_poison(closed_here()).contains(identity)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Opens (or creates) a tree.
    pub fn tree(&self, name: &str) -> Result<SledTree, StoreError> {
        Ok(SledTree(self.db.open_tree(name)?))
    }

    /// A fresh, strictly increasing id (survives restarts).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Flushes synchronously.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// One sled tree, byte-level.
#[derive(Clone)]
pub struct SledTree(sled::Tree);

fn entry(kv: sled::Result<(sled::IVec, sled::IVec)>) -> Result<RawEntry, StoreError> {
    let (k, v) = kv?;
    Ok((k.to_vec(), v.to_vec()))
}

impl SledTree {
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key)?.map(|v| v.to_vec()))
    }

    pub fn contains_key(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.0.contains_key(key)?)
    }

    pub fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.insert(key, value)?.map(|v| v.to_vec()))
    }

    pub fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.remove(key)?.map(|v| v.to_vec()))
    }

    pub fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<Result<(), Option<Vec<u8>>>, StoreError> {
        Ok(self
            .0
            .compare_and_swap(key, expected, new)?
            .map_err(|conflict| conflict.current.map(|v| v.to_vec())))
    }

    pub fn iter(&self) -> RawIter {
        Box::new(self.0.iter().map(entry))
    }

    pub fn range(&self, from: &[u8], to: Option<&[u8]>) -> RawIter {
        match to {
            Some(to) => Box::new(self.0.range(from.to_vec()..to.to_vec()).map(entry)),
            None => Box::new(self.0.range(from.to_vec()..).map(entry)),
        }
    }

    pub fn scan_prefix(&self, prefix: &[u8]) -> RawIter {
        Box::new(self.0.scan_prefix(prefix).map(entry))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn first(&self) -> Result<Option<RawEntry>, StoreError> {
        Ok(self.0.first()?.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    pub fn apply(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (key, value) in batch {
            match value {
                Some(v) => b.insert(key, v),
                None => b.remove(key),
            }
        }
        self.0.apply_batch(b)?;
        Ok(())
    }

    pub fn clear(&self) -> Result<(), StoreError> {
        self.0.clear()?;
        Ok(())
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.0.flush()?;
        Ok(())
    }
}
