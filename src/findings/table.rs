//! The findings table: per project, every current finding with when it was first and last seen.
//! Keys are the project id (big-endian) followed by the finding's key.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Finding;
use crate::gitlab::ProjectId;
use crate::store::{Store, StoreError, Table};

const FINDINGS: &str = "findings";

/// A finding with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// The finding.
    pub finding: Finding,
    /// When it was first seen (ms since the epoch); kept across rescans.
    pub first_seen_ms: i64,
    /// When a scan last saw it.
    pub last_seen_ms: i64,
}

/// What replacing a project's findings changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingsDiff {
    /// New findings.
    pub new: usize,
    /// Findings seen before and still there.
    pub kept: usize,
    /// Findings gone (fixed or the manifest removed).
    pub resolved: usize,
}

/// Findings of every project. Cheap to clone.
#[derive(Clone)]
pub struct FindingsTable {
    table: Arc<Table<(ProjectId, String), StoredFinding>>,
}

fn key(project: ProjectId, finding_key: &str) -> (ProjectId, String) {
    (project, finding_key.to_string())
}

impl FindingsTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<FindingsTable, StoreError> {
        Ok(FindingsTable {
            table: Arc::new(store.table(FINDINGS)?),
        })
    }

    /// A project's findings, in key order (file, ecosystem, package, version, advisory).
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<StoredFinding>, StoreError> {
        self.table
            .scan_prefix(&project)
            .map(|kv| kv.map(|(_, v)| v))
            .collect()
    }

    /// Makes `findings` the project's findings, keeping first-seen times of those already known.
    pub fn replace(
        &self,
        project: ProjectId,
        findings: Vec<Finding>,
        now_ms: i64,
    ) -> Result<FindingsDiff, StoreError> {
        let mut old: HashMap<String, StoredFinding> = self
            .of_project(project)?
            .into_iter()
            .map(|s| (s.finding.key(), s))
            .collect();
        let mut diff = FindingsDiff::default();
        for finding in findings {
            let k = finding.key();
            let first_seen_ms = match old.remove(&k) {
                Some(prev) => {
                    diff.kept += 1;
                    prev.first_seen_ms
                }
                None => {
                    diff.new += 1;
                    now_ms
                }
            };
            let stored = StoredFinding {
                finding,
                first_seen_ms,
                last_seen_ms: now_ms,
            };
            self.table.insert(&key(project, &k), &stored)?;
        }
        for k in old.keys() {
            self.table.remove(&key(project, k))?;
            diff.resolved += 1;
        }
        Ok(diff)
    }

    /// Forgets a project's findings.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        let keys: Vec<(ProjectId, String)> = self
            .table
            .keys_with_prefix(&project)
            .collect::<Result<_, _>>()?;
        for k in keys {
            self.table.remove(&k)?;
        }
        Ok(())
    }
}
