//! The manifests table: per project, each manifest's parsed dependencies (or its parse error)
//! with the blob ids of every file the parse read, so that an unchanged blob is never fetched or
//! parsed again. Keys are the project id (big-endian) followed by the manifest's path.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::gitlab::ProjectId;
use crate::store::{Store, StoreError, Table};

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
    inner: Arc<Tables>,
}

struct Tables {
    manifests: Table<(ProjectId, String), StoredManifest>,
    heads: Table<ProjectId, Head>,
}

fn key(project: ProjectId, path: &str) -> (ProjectId, String) {
    (project, path.to_string())
}

impl Inventory {
    /// Opens the tables.
    pub fn open(store: &Store) -> Result<Inventory, StoreError> {
        Ok(Inventory {
            inner: Arc::new(Tables {
                manifests: store.table(MANIFESTS)?,
                heads: store.table(HEADS)?,
            }),
        })
    }

    /// A project's manifests, by path.
    pub fn manifests(&self, project: ProjectId) -> Result<Vec<StoredManifest>, StoreError> {
        self.inner
            .manifests
            .scan_prefix(&project)
            .map(|kv| kv.map(|(_, v)| v))
            .collect()
    }

    /// Stores a manifest.
    pub fn put(&self, project: ProjectId, m: &StoredManifest) -> Result<(), StoreError> {
        self.inner.manifests.insert(&key(project, &m.path), m)?;
        Ok(())
    }

    /// Removes a manifest.
    pub fn remove(&self, project: ProjectId, path: &str) -> Result<bool, StoreError> {
        self.inner.manifests.remove(&key(project, path))
    }

    /// Forgets everything about a project.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        let paths: Vec<(ProjectId, String)> = self
            .inner
            .manifests
            .keys_with_prefix(&project)
            .collect::<Result<_, _>>()?;
        for k in paths {
            self.inner.manifests.remove(&k)?;
        }
        self.inner.heads.remove(&project)?;
        Ok(())
    }

    /// The project's head record.
    pub fn head(&self, project: ProjectId) -> Result<Option<Head>, StoreError> {
        self.inner.heads.get(&project)
    }

    /// Every project with stored state.
    pub fn project_ids(&self) -> Result<Vec<ProjectId>, StoreError> {
        self.inner.heads.keys().collect()
    }

    /// Stores the head record.
    pub fn set_head(&self, project: ProjectId, head: &Head) -> Result<(), StoreError> {
        self.inner.heads.insert(&project, head)?;
        Ok(())
    }
}
