//! The remediations table: by id, with an index by (project, manifest, package).

use std::sync::Arc;

use super::model::Remediation;
use crate::gitlab::ProjectId;
use crate::store::{BigEndian, Key, Prefix, Store, StoreError, Table};

pub(crate) const REMEDIATIONS: &str = "remediations";
pub(crate) const KEYS: &str = "remediation_keys";
const NOTES: &str = "note_commands";

/// The index key of a remediation: project (8 bytes, big-endian), manifest, a zero byte, then
/// the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NaturalKey {
    pub project: ProjectId,
    pub manifest: String,
    pub package: String,
}

impl Key for NaturalKey {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.project.get().to_be_bytes().to_vec();
        k.extend_from_slice(self.manifest.as_bytes());
        k.push(0);
        k.extend_from_slice(self.package.as_bytes());
        k
    }

    fn from_key(tree: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = |message: &str| StoreError::Decode {
            tree,
            key: crate::store::printable(bytes),
            message: message.to_string(),
        };
        if bytes.len() < 8 {
            return Err(bad("shorter than a project id"));
        }
        let (project, rest) = bytes.split_at(8);
        let project = ProjectId(u64::from_be_bytes(
            project.try_into().map_err(|_| bad("no project id"))?,
        ));
        let zero = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| bad("no separator between manifest and package"))?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad("not UTF-8"));
        Ok(NaturalKey {
            project,
            manifest: text(&rest[..zero])?,
            package: text(&rest[zero + 1..])?,
        })
    }
}

impl Prefix<NaturalKey> for ProjectId {
    fn prefix(&self) -> Vec<u8> {
        self.get().to_be_bytes().to_vec()
    }
}

pub(crate) fn natural_key(project: ProjectId, manifest: &str, package: &str) -> NaturalKey {
    NaturalKey {
        project,
        manifest: manifest.to_string(),
        package: package.to_string(),
    }
}

/// The remediation records and their index.
pub(crate) struct Tables {
    pub records: Table<u64, Remediation>,
    pub keys: Table<NaturalKey, u64, BigEndian>,
}

impl Tables {
    pub(crate) fn open(store: &Store) -> Result<Tables, StoreError> {
        Ok(Tables {
            records: store.table(REMEDIATIONS)?,
            keys: store.table(KEYS)?,
        })
    }
}

/// Remediations of every project. Cheap to clone.
#[derive(Clone)]
pub struct Remediations {
    inner: Arc<Tables>,
    notes: Table<u64, Vec<String>>,
    store: Store,
}

impl Remediations {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<Remediations, StoreError> {
        Ok(Remediations {
            inner: Arc::new(Tables::open(store)?),
            notes: store.table(NOTES)?,
            store: store.clone(),
        })
    }

    /// The store the table lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A fresh id.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        self.store.next_id()
    }

    /// By id.
    pub fn get(&self, id: u64) -> Result<Option<Remediation>, StoreError> {
        self.inner.records.get(&id)
    }

    /// By (project, manifest, package).
    pub fn find(
        &self,
        project: ProjectId,
        manifest: &str,
        package: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        match self
            .inner
            .keys
            .get(&natural_key(project, manifest, package))?
        {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    /// A project's remediations.
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<Remediation>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.keys.scan_prefix(&project) {
            let (_, id) = kv?;
            if let Some(r) = self.get(id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The remediation whose branch is `branch` in `project`.
    pub fn by_branch(
        &self,
        project: ProjectId,
        branch: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        Ok(self
            .of_project(project)?
            .into_iter()
            .find(|r| r.branch == branch))
    }

    /// Writes a remediation (record first, then the index).
    pub fn put(&self, r: &Remediation) -> Result<(), StoreError> {
        self.inner.records.insert(&r.id, r)?;
        self.inner
            .keys
            .insert(&natural_key(r.project, &r.manifest, &r.package), &r.id)?;
        Ok(())
    }

    /// Every remediation, by id, `(total, page)`.
    pub fn page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<Remediation>), StoreError> {
        let total = self.inner.records.count();
        let mut items = Vec::new();
        for id in self.inner.records.keys().skip(offset).take(limit) {
            if let Some(r) = self.get(id?)? {
                items.push(r);
            }
        }
        Ok((total, items))
    }

    /// The commands a note had when last handled (for edited notes).
    pub fn note_commands(&self, note_id: u64) -> Result<Option<Vec<String>>, StoreError> {
        self.notes.get(&note_id)
    }

    /// Records the commands a note has.
    pub fn set_note_commands(&self, note_id: u64, commands: &[String]) -> Result<(), StoreError> {
        self.notes.insert(&note_id, &commands.to_vec())?;
        Ok(())
    }

    /// Forgets a project's remediations.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        let entries: Vec<(NaturalKey, u64)> = self
            .inner
            .keys
            .scan_prefix(&project)
            .collect::<Result<_, _>>()?;
        for (k, id) in entries {
            self.inner.records.remove(&id)?;
            self.inner.keys.remove(&k)?;
        }
        Ok(())
    }
}
