//! The last MR check per merge request, in its own table (`mr_checks`), keyed by project
//! and MR number.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::gitlab::{MrIid, ProjectId};
use crate::store::{Store, StoreError, Table};

use super::{AddedVulnerability, Verdict};

const MR_CHECKS: &str = "mr_checks";

/// The last check of one merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrCheck {
    /// The project the MR merges into.
    pub project: u64,
    /// The MR's number.
    pub iid: u64,
    /// The head commit checked.
    pub head_sha: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The status description posted.
    pub description: String,
    /// What the MR adds.
    pub added: Vec<AddedVulnerability>,
    /// The bot's note on the MR, once there is one.
    pub note_id: Option<u64>,
    /// The MR's title (untrusted: escape where shown).
    pub title: String,
    /// The MR's page.
    pub web_url: Option<String>,
    /// Whether the MR was open at the last event.
    pub open: bool,
    /// When (ms since the epoch).
    pub checked_at_ms: i64,
}

/// The checks. Cheap to clone.
#[derive(Clone)]
pub struct MrChecks {
    table: Arc<Table<(ProjectId, MrIid), MrCheck>>,
}

impl MrChecks {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<MrChecks, StoreError> {
        Ok(MrChecks {
            table: Arc::new(store.table(MR_CHECKS)?),
        })
    }

    /// The last check of an MR.
    pub fn get(&self, project: ProjectId, iid: MrIid) -> Result<Option<MrCheck>, StoreError> {
        self.table.get(&(project, iid))
    }

    /// Stores a check.
    pub fn put(&self, check: &MrCheck) -> Result<(), StoreError> {
        self.table
            .insert(&(ProjectId(check.project), MrIid(check.iid)), check)?;
        Ok(())
    }

    /// A project's checks, by MR number.
    pub fn of_project(&self, project: ProjectId) -> Result<Vec<MrCheck>, StoreError> {
        self.table
            .scan_prefix(&project)
            .map(|kv| kv.map(|(_, v)| v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_round_trip_per_project_and_mr() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = MrChecks::open(&store).unwrap();
        let c = |project, iid| MrCheck {
            project,
            iid,
            head_sha: "abc".into(),
            verdict: Verdict::Failed,
            description: "adds 1 high".into(),
            added: vec![],
            note_id: Some(5),
            title: "t".into(),
            web_url: None,
            open: true,
            checked_at_ms: 1,
        };
        t.put(&c(7, 1)).unwrap();
        t.put(&c(7, 2)).unwrap();
        t.put(&c(8, 1)).unwrap();
        assert_eq!(t.get(ProjectId(7), MrIid(2)).unwrap(), Some(c(7, 2)));
        assert_eq!(t.get(ProjectId(9), MrIid(1)).unwrap(), None);
        assert_eq!(t.of_project(ProjectId(7)).unwrap().len(), 2);
    }
}
