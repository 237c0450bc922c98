//! The last pipeline per remediation, in the `pipelines` tree keyed by remediation id.

use super::PipelineState;
use crate::store::{Store, StoreError, Table};

const PIPELINES: &str = "pipelines";

/// The table. Cheap to clone.
#[derive(Clone)]
pub struct PipelineTable {
    tree: Table<u64, PipelineState>,
}

impl PipelineTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<PipelineTable, StoreError> {
        Ok(PipelineTable {
            tree: store.table(PIPELINES)?,
        })
    }

    /// A remediation's pipeline.
    pub fn get(&self, remediation: u64) -> Result<Option<PipelineState>, StoreError> {
        self.tree.get(&remediation)
    }

    /// Stores a remediation's pipeline.
    pub fn put(&self, remediation: u64, state: &PipelineState) -> Result<(), StoreError> {
        self.tree.insert(&remediation, state)?;
        Ok(())
    }

    /// The summary of the open MRs' pipelines among `remediations` (others are not counted).
    pub fn summary_of(
        &self,
        remediations: &[crate::remediation::model::Remediation],
    ) -> Result<super::summary::PipelineSummary, StoreError> {
        let mut s = super::summary::PipelineSummary::default();
        for r in remediations
            .iter()
            .filter(|r| r.state == crate::remediation::model::State::MrOpen)
        {
            s.add(self.get(r.id)?.as_ref());
        }
        Ok(s)
    }
}
