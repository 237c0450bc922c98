//! The manifests table: per project, each manifest's parsed dependencies (or its parse error)
//! with the blob ids of every file the parse read, so that an unchanged blob is never fetched or
//! parsed again. Keys are the project id (big-endian) followed by the manifest's path.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::gitlab::ProjectId;
use crate::store::{decode, encode, u64_key, Store, StoreError};

const MANIFESTS: &str = "manifests";
const HEADS: &str = "project_heads";

pub use backline_core::inventory::{Input, StoredManifest};

/// What the bot last saw of a project's default branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Head {
    /// The branch scanned (the default branch at the time).
    pub branch: Option<String>,
    /// The project's `last_activity_at` when it was scanned (a later one means a change).
    pub activity: Option<String>,
    /// The commit the state reflects, when known.
    pub sha: Option<String>,
    /// When the manifests were last refreshed (ms).
    pub refreshed_at_ms: i64,
    /// When the whole tree was last listed (ms).
    pub tree_listed_at_ms: Option<i64>,
}

/// The manifests and heads of every project. Cheap to clone.
#[derive(Clone)]
pub struct Inventory {
    inner: Arc<(sled::Tree, sled::Tree)>,
}

fn key(project: ProjectId, path: &str) -> Vec<u8> {
    let mut k = u64_key(project.get()).to_vec();
    k.extend_from_slice(path.as_bytes());
    k
}

impl Inventory {
    /// Opens the tables.
    pub fn open(store: &Store) -> Result<Inventory, StoreError> {
        Ok(Inventory {
            inner: Arc::new((store.tree(MANIFESTS)?, store.tree(HEADS)?)),
        })
    }

    /// A project's manifests, by path.
    pub fn manifests(&self, project: ProjectId) -> Result<Vec<StoredManifest>, StoreError> {
        self.inner
            .0
            .scan_prefix(u64_key(project.get()))
            .map(|kv| {
                let (k, v) = kv?;
                decode(MANIFESTS, &k, &v)
            })
            .collect()
    }

    /// Stores a manifest.
    pub fn put(&self, project: ProjectId, m: &StoredManifest) -> Result<(), StoreError> {
        self.inner.0.insert(key(project, &m.path), encode(m))?;
        Ok(())
    }

    /// Removes a manifest.
    pub fn remove(&self, project: ProjectId, path: &str) -> Result<bool, StoreError> {
        Ok(self.inner.0.remove(key(project, path))?.is_some())
    }

    /// Forgets everything about a project.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        for k in self.inner.0.scan_prefix(u64_key(project.get())).keys() {
            self.inner.0.remove(k?)?;
        }
        self.inner.1.remove(u64_key(project.get()))?;
        Ok(())
    }

    /// The project's head record.
    pub fn head(&self, project: ProjectId) -> Result<Option<Head>, StoreError> {
        let k = u64_key(project.get());
        self.inner
            .1
            .get(k)?
            .map(|v| decode(HEADS, &k, &v))
            .transpose()
    }

    /// Every project with stored state.
    pub fn project_ids(&self) -> Result<Vec<ProjectId>, StoreError> {
        self.inner
            .1
            .iter()
            .keys()
            .map(|k| Ok(ProjectId(crate::store::key_u64(HEADS, &k?)?)))
            .collect()
    }

    /// Stores the head record.
    pub fn set_head(&self, project: ProjectId, head: &Head) -> Result<(), StoreError> {
        self.inner.1.insert(u64_key(project.get()), encode(head))?;
        Ok(())
    }
}
