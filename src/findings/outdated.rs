//! Outdated direct dependencies: the latest version each registry publishes, beside the one a
//! manifest pins. Stored per project so the API and the page show what is behind as well as
//! what is vulnerable.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;
use crate::gitlab::ProjectId;
use crate::store::{Store, StoreError, Table};

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
    table: Arc<Table<ProjectId, Vec<Outdated>>>,
}

impl OutdatedTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<OutdatedTable, StoreError> {
        Ok(OutdatedTable {
            table: Arc::new(store.table(OUTDATED)?),
        })
    }

    /// A project's outdated dependencies.
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<Outdated>, StoreError> {
        Ok(self.table.get(&project)?.unwrap_or_default())
    }

    /// Replaces a project's list.
    pub fn replace(&self, project: ProjectId, list: &[Outdated]) -> Result<(), StoreError> {
        self.table.insert(&project, &list.to_vec())?;
        Ok(())
    }

    /// Forgets a project.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        self.table.remove(&project)?;
        Ok(())
    }
}
