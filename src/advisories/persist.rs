//! The advisories table in sled (tree [`TREE`]), replaced atomically.
//!
//! Layout: `current` → the live generation number; `gen` + generation (8 bytes, big-endian) +
//! sequence (8 bytes) → one [`StoredAdvisory`]; `validators/<Ecosystem>` → the HTTP validators of
//! the last synced `all.zip`. A replacement writes a whole new generation, flushes, flips
//! `current` (one key: atomic), flushes, then deletes every other generation, so a crash leaves
//! either the old or the new index, never a mix; a half-written generation is swept by the next
//! replacement. Values use the store codec. These calls block: async callers use
//! `spawn_blocking`.

use serde::{Deserialize, Serialize};

use super::model::Advisory;
use crate::ecosystem::Ecosystem;
use crate::store::{decode, encode, Store, StoreError};

/// Loads the live generation of the store's advisories table into an in-memory index
/// (blocking). (Was `Index::load`: the index itself lives in the pure core.)
pub fn load_index(store: &Store) -> Result<super::Index, StoreError> {
    let table = AdvisoryStore::open(store)?;
    Ok(super::Index::new(
        table.load()?.into_iter().map(|r| r.advisory),
    ))
}

/// The sled tree of the advisories table.
pub const TREE: &str = "advisories";

const CURRENT: &[u8] = b"current";
const GEN: &[u8] = b"gen";
const VALIDATORS: &str = "validators/";

/// An advisory with the source it came from, so a sync or import can replace one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAdvisory {
    /// `osv:<Ecosystem>` for `advisories sync`, `import:<path>` for `advisories import`.
    pub source: String,
    /// The advisory.
    pub advisory: Advisory,
}

/// HTTP validators of a downloaded file, sent back as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` answered.
    pub etag: Option<String>,
    /// The `Last-Modified` answered.
    pub last_modified: Option<String>,
}

/// The advisories table.
#[derive(Clone)]
pub struct AdvisoryStore {
    tree: sled::Tree,
    store: Store,
}

impl AdvisoryStore {
    /// Opens the table in `store`.
    pub fn open(store: &Store) -> Result<AdvisoryStore, StoreError> {
        Ok(AdvisoryStore {
            tree: store.tree(TREE)?,
            store: store.clone(),
        })
    }

    /// The live generation, if any was written.
    pub fn current_generation(&self) -> Result<Option<u64>, StoreError> {
        match self.tree.get(CURRENT)? {
            None => Ok(None),
            Some(raw) => Ok(Some(decode::<u64>(TREE, CURRENT, &raw)?)),
        }
    }

    /// Every advisory of the live generation (empty before the first import).
    pub fn load(&self) -> Result<Vec<StoredAdvisory>, StoreError> {
        let Some(generation) = self.current_generation()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(gen_prefix(generation)) {
            let (key, value) = item?;
            out.push(decode::<StoredAdvisory>(TREE, &key, &value)?);
        }
        Ok(out)
    }

    /// Replaces the whole table with `records`; returns the new generation.
    pub fn replace(
        &self,
        records: impl IntoIterator<Item = StoredAdvisory>,
    ) -> Result<u64, StoreError> {
        let generation = self.store.next_id()?;
        let prefix = gen_prefix(generation);
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for (seq, record) in records.into_iter().enumerate() {
            let mut key = prefix.clone();
            key.extend_from_slice(&(seq as u64).to_be_bytes());
            batch.insert(key, encode(&record));
            pending += 1;
            if pending == 1024 {
                self.tree.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        self.tree.insert(CURRENT, encode(&generation))?;
        self.tree.flush()?;
        self.sweep(generation)?;
        Ok(generation)
    }

    /// Replaces the records of the sources named by `replaced` with `records`, keeping every
    /// other source; returns everything now live.
    pub fn replace_sources(
        &self,
        replaced: &[String],
        records: Vec<StoredAdvisory>,
    ) -> Result<Vec<StoredAdvisory>, StoreError> {
        let mut all: Vec<StoredAdvisory> = self
            .load()?
            .into_iter()
            .filter(|r| !replaced.contains(&r.source))
            .collect();
        all.extend(records);
        self.replace(all.iter().cloned())?;
        Ok(all)
    }

    /// Deletes every generation but `keep`.
    fn sweep(&self, keep: u64) -> Result<(), StoreError> {
        let keep = gen_prefix(keep);
        let mut batch = sled::Batch::default();
        for key in self.tree.scan_prefix(GEN).keys() {
            let key = key?;
            if !key.starts_with(&keep) {
                batch.remove(key);
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The validators of `ecosystem`'s last synced download.
    pub fn validators(&self, ecosystem: Ecosystem) -> Result<Option<Validators>, StoreError> {
        let key = validators_key(ecosystem);
        match self.tree.get(&key)? {
            None => Ok(None),
            Some(raw) => Ok(Some(decode(TREE, key.as_bytes(), &raw)?)),
        }
    }

    /// Records `ecosystem`'s validators (after its data is live).
    pub fn set_validators(
        &self,
        ecosystem: Ecosystem,
        validators: &Validators,
    ) -> Result<(), StoreError> {
        self.tree
            .insert(validators_key(ecosystem), encode(validators))?;
        self.tree.flush()?;
        Ok(())
    }

    /// Number of stored keys (for tests: old generations are gone).
    pub fn key_count(&self) -> usize {
        self.tree.len()
    }
}

fn gen_prefix(generation: u64) -> Vec<u8> {
    let mut key = GEN.to_vec();
    key.extend_from_slice(&generation.to_be_bytes());
    key
}

fn validators_key(ecosystem: Ecosystem) -> String {
    format!("{VALIDATORS}{}", ecosystem.osv_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::model::{AdvisoryKind, Severity};

    fn adv(id: &str) -> Advisory {
        Advisory {
            id: id.to_string(),
            aliases: vec![],
            related: vec![],
            summary: Some("s".to_string()),
            details: None,
            kind: AdvisoryKind::Vulnerability,
            severity: Severity::default(),
            references: vec![],
            affected: vec![],
            published: None,
            modified: None,
        }
    }

    fn rec(source: &str, id: &str) -> StoredAdvisory {
        StoredAdvisory {
            source: source.to_string(),
            advisory: adv(id),
        }
    }

    #[test]
    fn replace_flips_generations_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let table = AdvisoryStore::open(&store).unwrap();
            assert!(table.load().unwrap().is_empty());
            table
                .replace(vec![rec("a", "A-1"), rec("a", "A-2")])
                .unwrap();
            let live = table
                .replace_sources(&["b".to_string()], vec![rec("b", "B-1")])
                .unwrap();
            assert_eq!(live.len(), 3);
            let live = table
                .replace_sources(&["a".to_string()], vec![rec("a", "A-3")])
                .unwrap();
            assert_eq!(live.len(), 2);
            // current + 2 records: the old generations are gone.
            assert_eq!(table.key_count(), 3);
            table
                .set_validators(
                    Ecosystem::Npm,
                    &Validators {
                        etag: Some("\"x\"".to_string()),
                        last_modified: None,
                    },
                )
                .unwrap();
            store.flush_now().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let table = AdvisoryStore::open(&store).unwrap();
        let mut ids: Vec<String> = table
            .load()
            .unwrap()
            .into_iter()
            .map(|r| r.advisory.id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["A-3", "B-1"]);
        assert_eq!(
            table
                .validators(Ecosystem::Npm)
                .unwrap()
                .unwrap()
                .etag
                .as_deref(),
            Some("\"x\"")
        );
        assert_eq!(table.validators(Ecosystem::PyPI).unwrap(), None);
    }

    #[test]
    fn a_half_written_generation_is_ignored_then_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let table = AdvisoryStore::open(&store).unwrap();
        table.replace(vec![rec("a", "A-1")]).unwrap();
        // A crash mid-write: records of a newer generation, `current` not flipped.
        let mut key = gen_prefix(u64::MAX);
        key.extend_from_slice(&0u64.to_be_bytes());
        table.tree.insert(key, encode(&rec("a", "ORPHAN"))).unwrap();
        let ids: Vec<String> = table
            .load()
            .unwrap()
            .into_iter()
            .map(|r| r.advisory.id)
            .collect();
        assert_eq!(ids, ["A-1"]);
        table.replace(vec![rec("a", "A-2")]).unwrap();
        assert_eq!(table.key_count(), 2);
    }

    #[test]
    fn a_corrupt_value_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let table = AdvisoryStore::open(&store).unwrap();
        let generation = table.replace(vec![rec("a", "A-1")]).unwrap();
        let mut key = gen_prefix(generation);
        key.extend_from_slice(&0u64.to_be_bytes());
        table.tree.insert(key, vec![1u8, 0xff, 0xff]).unwrap();
        assert!(matches!(table.load(), Err(StoreError::Decode { .. })));
    }
}
