//! The backend seam: a byte-level tree of one backend. [`super::Table`] types keys and values
//! over it; a second backend (PostgreSQL, issue 16) adds a variant here and its own module
//! beside [`super::sled_backend`], and no table changes.

use super::pg_backend::PgTree;
use super::sled_backend::SledTree;
use super::StoreError;

/// A key and its value, as stored.
pub type RawEntry = (Vec<u8>, Vec<u8>);

/// Entries in key order (reversible: newest-first listings walk it backwards).
pub type RawIter = Box<dyn DoubleEndedIterator<Item = Result<RawEntry, StoreError>> + Send>;

/// Writes applied together: a value to insert, or `None` to remove.
pub type RawBatch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// One named tree of the open backend.
#[derive(Clone)]
pub enum RawTree {
    /// sled 0.34.
    Sled(SledTree),
    /// PostgreSQL: a `kv_<tree>` table.
    Pg(PgTree),
}

impl RawTree {
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            RawTree::Sled(t) => t.get(key),
            RawTree::Pg(t) => t.get(key),
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> Result<bool, StoreError> {
        match self {
            RawTree::Sled(t) => t.contains_key(key),
            RawTree::Pg(t) => t.contains_key(key),
        }
    }

    /// Inserts, returning the value replaced.
    pub fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            RawTree::Sled(t) => t.insert(key, value),
            RawTree::Pg(t) => t.insert(key, value),
        }
    }

    /// Removes, returning the value removed.
    pub fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            RawTree::Sled(t) => t.remove(key),
            RawTree::Pg(t) => t.remove(key),
        }
    }

    /// Writes `new` only if the key holds `expected` now; else the current value.
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<Result<(), Option<Vec<u8>>>, StoreError> {
        match self {
            RawTree::Sled(t) => t.compare_and_swap(key, expected, new),
            RawTree::Pg(t) => t.compare_and_swap(key, expected, new),
        }
    }

    pub fn iter(&self) -> RawIter {
        match self {
            RawTree::Sled(t) => t.iter(),
            RawTree::Pg(t) => t.iter(),
        }
    }

    /// Keys from `from` (inclusive) to `to` (exclusive; `None`: to the end).
    pub fn range(&self, from: &[u8], to: Option<&[u8]>) -> RawIter {
        match self {
            RawTree::Sled(t) => t.range(from, to),
            RawTree::Pg(t) => t.range(from, to),
        }
    }

    pub fn scan_prefix(&self, prefix: &[u8]) -> RawIter {
        match self {
            RawTree::Sled(t) => t.scan_prefix(prefix),
            RawTree::Pg(t) => t.scan_prefix(prefix),
        }
    }

    /// Number of entries (sled: a walk of the whole tree).
    pub fn len(&self) -> usize {
        match self {
            RawTree::Sled(t) => t.len(),
            RawTree::Pg(t) => t.len(),
        }
    }

    pub fn first(&self) -> Result<Option<RawEntry>, StoreError> {
        match self {
            RawTree::Sled(t) => t.first(),
            RawTree::Pg(t) => t.first(),
        }
    }

    pub fn apply(&self, batch: RawBatch) -> Result<(), StoreError> {
        match self {
            RawTree::Sled(t) => t.apply(batch),
            RawTree::Pg(t) => t.apply(batch),
        }
    }

    pub fn clear(&self) -> Result<(), StoreError> {
        match self {
            RawTree::Sled(t) => t.clear(),
            RawTree::Pg(t) => t.clear(),
        }
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        match self {
            RawTree::Sled(t) => t.flush(),
            RawTree::Pg(t) => t.flush(),
        }
    }
}
