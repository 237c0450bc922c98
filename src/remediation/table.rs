//! The remediations table: by id, with an index by (project, manifest, package).

use std::sync::Arc;

use super::model::Remediation;
use crate::gitlab::ProjectId;
use crate::store::{decode, encode, key_u64, u64_key, Store, StoreError};

const REMEDIATIONS: &str = "remediations";
const KEYS: &str = "remediation_keys";
const NOTES: &str = "note_commands";

/// Remediations of every project. Cheap to clone.
#[derive(Clone)]
pub struct Remediations {
    inner: Arc<(sled::Tree, sled::Tree)>,
    notes: sled::Tree,
    store: Store,
}

pub(crate) fn natural_key(project: ProjectId, manifest: &str, package: &str) -> Vec<u8> {
    let mut k = u64_key(project.get()).to_vec();
    k.extend_from_slice(manifest.as_bytes());
    k.push(0);
    k.extend_from_slice(package.as_bytes());
    k
}

impl Remediations {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<Remediations, StoreError> {
        Ok(Remediations {
            inner: Arc::new((store.tree(REMEDIATIONS)?, store.tree(KEYS)?)),
            notes: store.tree(NOTES)?,
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
        let k = u64_key(id);
        self.inner
            .0
            .get(k)?
            .map(|v| decode(REMEDIATIONS, &k, &v))
            .transpose()
    }

    /// By (project, manifest, package).
    pub fn find(
        &self,
        project: ProjectId,
        manifest: &str,
        package: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        match self.inner.1.get(natural_key(project, manifest, package))? {
            Some(id) => self.get(key_u64(KEYS, &id)?),
            None => Ok(None),
        }
    }

    /// A project's remediations.
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<Remediation>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.1.scan_prefix(u64_key(project.get())) {
            let (_, id) = kv?;
            if let Some(r) = self.get(key_u64(KEYS, &id)?)? {
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
        self.inner.0.insert(u64_key(r.id), encode(r))?;
        self.inner.1.insert(
            natural_key(r.project, &r.manifest, &r.package),
            &u64_key(r.id),
        )?;
        Ok(())
    }

    /// Every remediation, by id, `(total, page)`.
    pub fn page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<Remediation>), StoreError> {
        let total = self.inner.0.len();
        let items = self
            .inner
            .0
            .iter()
            .skip(offset)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                decode(REMEDIATIONS, &k, &v)
            })
            .collect::<Result<_, _>>()?;
        Ok((total, items))
    }

    /// The commands a note had when last handled (for edited notes).
    pub fn note_commands(&self, note_id: u64) -> Result<Option<Vec<String>>, StoreError> {
        let k = u64_key(note_id);
        self.notes
            .get(k)?
            .map(|v| decode(NOTES, &k, &v))
            .transpose()
    }

    /// Records the commands a note has.
    pub fn set_note_commands(&self, note_id: u64, commands: &[String]) -> Result<(), StoreError> {
        self.notes.insert(u64_key(note_id), encode(&commands))?;
        Ok(())
    }

    /// Forgets a project's remediations.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        for kv in self.inner.1.scan_prefix(u64_key(project.get())) {
            let (k, id) = kv?;
            self.inner.0.remove(id)?;
            self.inner.1.remove(k)?;
        }
        Ok(())
    }
}
