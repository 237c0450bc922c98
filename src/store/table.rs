//! [`Table<K, V, C>`]: one named tree with typed keys ([`Key`]) and values encoded by a codec
//! ([`Codec`]: the postcard value codec by default). Every table of backline is one of these;
//! none names the backend.
//!
//! Costs: `get`, `insert`, `remove`, `compare_and_swap` touch one key; `range` and
//! `scan_prefix` cost what they yield; `len` walks the tree (sled keeps no count), so hot paths
//! keep their own counters instead.

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};

use super::codec::{self, printable};
use super::faults::Faults;
use super::raw::{RawBatch, RawEntry, RawTree};
use super::StoreError;

/// A key's byte encoding. Its byte order is the order of `scan`, `range` and `iter`.
pub trait Key: Sized {
    /// The stored bytes.
    fn to_key(&self) -> Vec<u8>;
    /// Reads stored bytes back.
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError>;
}

/// A key prefix of `K`: the leading part of some keys, for [`Table::scan_prefix`].
pub trait Prefix<K> {
    /// The leading bytes every matching key starts with.
    fn prefix(&self) -> Vec<u8>;
}

/// A value encoding.
pub trait Codec<V> {
    /// The stored bytes.
    fn encode(value: &V) -> Vec<u8>;
    /// Reads stored bytes back (an error names the tree and key).
    fn decode(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<V, StoreError>;
}

/// The value codec: a version byte, then postcard ([`codec::encode`]).
pub struct Postcard;

impl<V: Serialize + DeserializeOwned> Codec<V> for Postcard {
    fn encode(value: &V) -> Vec<u8> {
        codec::encode(value)
    }
    fn decode(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<V, StoreError> {
        codec::decode(tree, key, bytes)
    }
}

/// Fixed-width big-endian numbers and ids (sequence numbers, times, pointers to other keys).
pub struct BigEndian;

/// Bytes as they are (bodies compressed by their owner).
pub struct Bytes;

impl Codec<Vec<u8>> for Bytes {
    fn encode(value: &Vec<u8>) -> Vec<u8> {
        value.clone()
    }
    fn decode(_: &'static str, _: &[u8], bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(bytes.to_vec())
    }
}

fn fixed<const N: usize>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_from(bytes).map_err(|_| StoreError::Decode {
        tree,
        key: printable(key),
        message: format!("expected {N} bytes, found {}", bytes.len()),
    })
}

/// A key or value stored as 8 big-endian bytes.
pub trait Fixed8: Sized {
    /// The number.
    fn to_u64(&self) -> u64;
    /// From the number.
    fn from_u64(n: u64) -> Self;
}

impl Fixed8 for u64 {
    fn to_u64(&self) -> u64 {
        *self
    }
    fn from_u64(n: u64) -> Self {
        n
    }
}

impl<T: Fixed8> Codec<T> for BigEndian {
    fn encode(value: &T) -> Vec<u8> {
        value.to_u64().to_be_bytes().to_vec()
    }
    fn decode(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
        Ok(T::from_u64(u64::from_be_bytes(fixed(tree, key, bytes)?)))
    }
}

/// A signed time (ms since the epoch), as 8 big-endian two's-complement bytes.
pub struct Millis;

impl Codec<i64> for Millis {
    fn encode(value: &i64) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }
    fn decode(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<i64, StoreError> {
        Ok(i64::from_be_bytes(fixed(tree, key, bytes)?))
    }
}

/// A 4-byte big-endian number (the schema version).
pub struct BigEndian32;

impl Codec<u32> for BigEndian32 {
    fn encode(value: &u32) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }
    fn decode(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u32, StoreError> {
        Ok(u32::from_be_bytes(fixed(tree, key, bytes)?))
    }
}

impl<T: Fixed8> Key for T {
    fn to_key(&self) -> Vec<u8> {
        self.to_u64().to_be_bytes().to_vec()
    }
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        Ok(T::from_u64(u64::from_be_bytes(fixed(tree, bytes, bytes)?)))
    }
}

impl Key for String {
    fn to_key(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Decode {
            tree,
            key: printable(bytes),
            message: "key is not UTF-8".to_string(),
        })
    }
}

/// Bytes as they are (trees read in an earlier schema's layout, tests).
impl Key for Vec<u8> {
    fn to_key(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_key(_: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        Ok(bytes.to_vec())
    }
}

/// Two fixed-width parts, e.g. (project, MR).
impl<A: Fixed8, B: Fixed8> Key for (A, B) {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.0.to_u64().to_be_bytes().to_vec();
        k.extend_from_slice(&self.1.to_u64().to_be_bytes());
        k
    }
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        let b: [u8; 16] = fixed(tree, bytes, bytes)?;
        let (a, rest) = b.split_at(8);
        let n = |s: &[u8]| u64::from_be_bytes(s.try_into().unwrap_or([0; 8]));
        Ok((A::from_u64(n(a)), B::from_u64(n(rest))))
    }
}

/// Three fixed-width parts, e.g. (project, MR, user).
impl<A: Fixed8, B: Fixed8, C: Fixed8> Key for (A, B, C) {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.0.to_u64().to_be_bytes().to_vec();
        k.extend_from_slice(&self.1.to_u64().to_be_bytes());
        k.extend_from_slice(&self.2.to_u64().to_be_bytes());
        k
    }
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        let b: [u8; 24] = fixed(tree, bytes, bytes)?;
        let n = |i: usize| {
            let mut part = [0u8; 8];
            part.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_be_bytes(part)
        };
        Ok((A::from_u64(n(0)), B::from_u64(n(1)), C::from_u64(n(2))))
    }
}

/// A fixed-width part then text to the end, e.g. (project, manifest path).
impl<A: Fixed8> Key for (A, String) {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.0.to_u64().to_be_bytes().to_vec();
        k.extend_from_slice(self.1.as_bytes());
        k
    }
    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() < 8 {
            return Err(StoreError::Decode {
                tree,
                key: printable(bytes),
                message: format!("expected at least 8 bytes, found {}", bytes.len()),
            });
        }
        let (a, rest) = bytes.split_at(8);
        let a = A::from_u64(u64::from_be_bytes(fixed(tree, bytes, a)?));
        Ok((a, String::from_key(tree, rest)?))
    }
}

/// The first part of a two- or three-part key.
impl<A: Fixed8, B: Fixed8> Prefix<(A, B)> for A {
    fn prefix(&self) -> Vec<u8> {
        self.to_u64().to_be_bytes().to_vec()
    }
}

impl<A: Fixed8> Prefix<(A, String)> for A {
    fn prefix(&self) -> Vec<u8> {
        self.to_u64().to_be_bytes().to_vec()
    }
}

/// The first two parts of a three-part key.
impl<A: Fixed8, B: Fixed8, C: Fixed8> Prefix<(A, B, C)> for (A, B) {
    fn prefix(&self) -> Vec<u8> {
        self.to_key()
    }
}

/// Writes applied together to one table (with sled, atomically and under its write lock:
/// for bulk loads, not for hot paths).
pub struct Batch<K, V, C = Postcard> {
    writes: RawBatch,
    _types: Types<K, V, C>,
}

/// The key, value and codec types a table or batch is for.
type Types<K, V, C> = PhantomData<fn() -> (K, V, C)>;

impl<K, V, C> Default for Batch<K, V, C> {
    fn default() -> Self {
        Batch {
            writes: Vec::new(),
            _types: PhantomData,
        }
    }
}

impl<K: Key, V, C: Codec<V>> Batch<K, V, C> {
    /// Adds an insert.
    pub fn insert(&mut self, key: &K, value: &V) {
        self.writes.push((key.to_key(), Some(C::encode(value))));
    }

    /// Adds a removal.
    pub fn remove(&mut self, key: &K) {
        self.writes.push((key.to_key(), None));
    }

    /// Writes added so far.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// The outcome of a [`Table::compare_and_swap`] that found another value.
#[derive(Debug)]
pub struct Conflict<V> {
    /// What the key holds now.
    pub current: Option<V>,
}

/// A typed table. Cheap to clone.
pub struct Table<K, V, C = Postcard> {
    name: &'static str,
    tree: RawTree,
    faults: Faults,
    _types: Types<K, V, C>,
}

impl<K, V, C> Clone for Table<K, V, C> {
    fn clone(&self) -> Self {
        Table {
            name: self.name,
            tree: self.tree.clone(),
            faults: self.faults.clone(),
            _types: PhantomData,
        }
    }
}

/// Typed entries of a table, in key order (reversible).
pub type Entries<'a, T> = Box<dyn DoubleEndedIterator<Item = Result<T, StoreError>> + 'a>;

impl<K: Key, V, C: Codec<V>> Table<K, V, C> {
    pub(super) fn new(name: &'static str, tree: RawTree, faults: Faults) -> Self {
        Table {
            name,
            tree,
            faults,
            _types: PhantomData,
        }
    }

    /// The tree's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self) -> Result<(), StoreError> {
        self.faults.check(self.name)
    }

    fn decode_entry(&self, (k, v): RawEntry) -> Result<(K, V), StoreError> {
        Ok((K::from_key(self.name, &k)?, C::decode(self.name, &k, &v)?))
    }

    /// The value at `key`.
    pub fn get(&self, key: &K) -> Result<Option<V>, StoreError> {
        self.check()?;
        let k = key.to_key();
        self.tree
            .get(&k)?
            .map(|v| C::decode(self.name, &k, &v))
            .transpose()
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: &K) -> Result<bool, StoreError> {
        self.check()?;
        self.tree.contains_key(&key.to_key())
    }

    /// Writes `value` at `key`; returns whether the key held a value before.
    pub fn insert(&self, key: &K, value: &V) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.tree.insert(&key.to_key(), C::encode(value))?.is_some())
    }

    /// Writes `value` at `key`; returns the value replaced.
    pub fn replace(&self, key: &K, value: &V) -> Result<Option<V>, StoreError> {
        self.check()?;
        let k = key.to_key();
        self.tree
            .insert(&k, C::encode(value))?
            .map(|old| C::decode(self.name, &k, &old))
            .transpose()
    }

    /// Removes `key`; returns whether it held a value (the old value is not decoded, so a
    /// corrupt one can be removed).
    pub fn remove(&self, key: &K) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.tree.remove(&key.to_key())?.is_some())
    }

    /// Removes `key`; returns the value it held.
    pub fn take(&self, key: &K) -> Result<Option<V>, StoreError> {
        self.check()?;
        let k = key.to_key();
        self.tree
            .remove(&k)?
            .map(|old| C::decode(self.name, &k, &old))
            .transpose()
    }

    /// Writes `new` (or removes, for `None`) only if `key` holds `expected` now (`None`:
    /// nothing); otherwise leaves it and says what it holds.
    pub fn compare_and_swap(
        &self,
        key: &K,
        expected: Option<&V>,
        new: Option<&V>,
    ) -> Result<Result<(), Conflict<V>>, StoreError> {
        self.check()?;
        let k = key.to_key();
        let expected = expected.map(C::encode);
        match self
            .tree
            .compare_and_swap(&k, expected.as_deref(), new.map(C::encode))?
        {
            Ok(()) => Ok(Ok(())),
            Err(current) => Ok(Err(Conflict {
                current: current.map(|v| C::decode(self.name, &k, &v)).transpose()?,
            })),
        }
    }

    /// Every entry in key order (reverse it for descending order).
    pub fn iter(&self) -> Entries<'_, (K, V)> {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        Box::new(self.tree.iter().map(|kv| self.decode_entry(kv?)))
    }

    /// Every key in key order; values are not decoded.
    pub fn keys(&self) -> Entries<'_, K> {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        Box::new(self.tree.iter().map(|kv| K::from_key(self.name, &kv?.0)))
    }

    /// Entries from `from` (inclusive) to `to` (exclusive; `None`: to the end).
    pub fn range(&self, from: &K, to: Option<&K>) -> Entries<'_, (K, V)> {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        let to = to.map(Key::to_key);
        Box::new(
            self.tree
                .range(&from.to_key(), to.as_deref())
                .map(|kv| self.decode_entry(kv?)),
        )
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix<P: Prefix<K>>(&self, prefix: &P) -> Entries<'_, (K, V)> {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        Box::new(
            self.tree
                .scan_prefix(&prefix.prefix())
                .map(|kv| self.decode_entry(kv?)),
        )
    }

    /// Keys that start with `prefix`; values are not decoded.
    pub fn keys_with_prefix<P: Prefix<K>>(&self, prefix: &P) -> Entries<'_, K> {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        Box::new(
            self.tree
                .scan_prefix(&prefix.prefix())
                .map(|kv| K::from_key(self.name, &kv?.0)),
        )
    }

    /// The sum of `f` over every stored value's size in bytes, without decoding (startup
    /// accounting).
    pub fn stored_bytes(&self) -> Result<u64, StoreError> {
        self.check()?;
        let mut n = 0u64;
        for kv in self.tree.iter() {
            n += kv?.1.len() as u64;
        }
        Ok(n)
    }

    /// Number of entries in the tree. A walk of the whole tree: not for hot paths.
    pub fn count(&self) -> usize {
        self.tree.len()
    }

    /// Whether the tree is empty (looks at one key).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.tree.first()?.is_none())
    }

    /// Applies `batch`.
    pub fn apply(&self, batch: Batch<K, V, C>) -> Result<(), StoreError> {
        self.check()?;
        self.tree.apply(batch.writes)
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), StoreError> {
        self.check()?;
        self.tree.clear()
    }

    /// Waits until this table's writes are on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.check()?;
        self.tree.flush()
    }
}

// The contract tests of tables run on both backends: `super::contract`.
