//! Outdated direct dependencies: the latest version each registry publishes, beside the one a
//! manifest pins. Stored per project so the API and the page show what is behind as well as
//! what is vulnerable.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;
use crate::gitlab::ProjectId;
use crate::store::{decode, encode, u64_key, Store, StoreError};

const OUTDATED: &str = "outdated";

/// One direct dependency behind its latest release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outdated {
    /// The manifest.
    pub manifest: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// Installed version.
    pub installed: String,
    /// The registry's latest.
    pub latest: String,
}

/// Outdated dependencies per project. Cheap to clone.
#[derive(Clone)]
pub struct OutdatedTable {
    tree: Arc<sled::Tree>,
}

impl OutdatedTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<OutdatedTable, StoreError> {
        Ok(OutdatedTable {
            tree: Arc::new(store.tree(OUTDATED)?),
        })
    }

    /// A project's outdated dependencies.
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<Outdated>, StoreError> {
        let k = u64_key(project.get());
        match self.tree.get(k)? {
            Some(v) => decode(OUTDATED, &k, &v),
            None => Ok(Vec::new()),
        }
    }

    /// Replaces a project's list.
    pub fn replace(&self, project: ProjectId, list: &[Outdated]) -> Result<(), StoreError> {
        self.tree.insert(u64_key(project.get()), encode(&list))?;
        Ok(())
    }

    /// Forgets a project.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        self.tree.remove(u64_key(project.get()))?;
        Ok(())
    }
}
