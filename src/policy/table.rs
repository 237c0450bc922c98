//! Each project's policy as last read: the last valid file (kept when a later one is invalid)
//! and the last problem, in the `policies` tree keyed by project id.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::effective::{Effective, InstanceDefaults};
use super::file::{parse, PolicyFile};
use crate::gitlab::ProjectId;
use crate::store::{Store, StoreError, Table};

const POLICIES: &str = "policies";

/// Why the newest policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file.
    pub path: String,
    /// The commit that changed it, when known.
    pub commit: Option<String>,
    /// The line, 1-based.
    pub line: Option<u64>,
    /// What is wrong (untrusted: quotes the file; escape where shown).
    pub message: String,
    /// When it was read (ms since the epoch).
    pub at_ms: i64,
}

impl Problem {
    /// `line N: message`.
    pub fn describe(&self) -> String {
        match self.line {
            Some(l) => format!("{} line {l}: {}", self.path, self.message),
            None => format!("{}: {}", self.path, self.message),
        }
    }
}

/// One project's policy as last read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// The file the valid policy came from (none: no policy file, the instance settings).
    pub path: Option<String>,
    /// Its text.
    pub text: Option<String>,
    /// The commit it was read at.
    pub commit: Option<String>,
    /// The newest file's problem, while it is invalid.
    pub problem: Option<Problem>,
    /// When it was last read (ms since the epoch).
    pub read_at_ms: i64,
}

impl PolicyRecord {
    /// The valid policy file, if any.
    pub fn file(&self) -> Option<PolicyFile> {
        self.text.as_deref().and_then(|t| parse(t.as_bytes()).ok())
    }
}

/// The policies. Cheap to clone.
#[derive(Clone)]
pub struct PolicyTable {
    tree: Table<ProjectId, PolicyRecord>,
    instance: Arc<InstanceDefaults>,
}

impl PolicyTable {
    /// Opens the table; `instance` gives the values a file does not set.
    pub fn open(store: &Store, instance: InstanceDefaults) -> Result<PolicyTable, StoreError> {
        Ok(PolicyTable {
            tree: store.table(POLICIES)?,
            instance: Arc::new(instance),
        })
    }

    /// The instance's defaults.
    pub fn instance(&self) -> &InstanceDefaults {
        &self.instance
    }

    /// The record of a project.
    pub fn get(&self, project: ProjectId) -> Result<Option<PolicyRecord>, StoreError> {
        self.tree.get(&project)
    }

    /// Stores a project's record.
    pub fn put(&self, project: ProjectId, record: &PolicyRecord) -> Result<(), StoreError> {
        self.tree.insert(&project, record)?;
        Ok(())
    }

    /// Forgets a project.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        self.tree.remove(&project)?;
        Ok(())
    }

    /// The project's effective policy (the instance settings when it has no valid file).
    pub fn effective(&self, project: ProjectId) -> Result<Effective, StoreError> {
        let file = self.get(project)?.and_then(|r| r.file());
        Ok(Effective::merge(&self.instance, file.as_ref()))
    }
}
