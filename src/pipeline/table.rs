//! The last pipeline per remediation, in the `pipelines` tree keyed by remediation id.

use std::sync::Arc;

use super::PipelineState;
use crate::store::{decode, encode, Store, StoreError};

const PIPELINES: &str = "pipelines";

/// The table. Cheap to clone.
#[derive(Clone)]
pub struct PipelineTable {
    tree: Arc<sled::Tree>,
}

impl PipelineTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<PipelineTable, StoreError> {
        Ok(PipelineTable {
            tree: Arc::new(store.tree(PIPELINES)?),
        })
    }

    /// A remediation's pipeline.
    pub fn get(&self, remediation: u64) -> Result<Option<PipelineState>, StoreError> {
        let k = remediation.to_be_bytes();
        match self.tree.get(k)? {
            Some(v) => decode(PIPELINES, &k, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a remediation's pipeline.
    pub fn put(&self, remediation: u64, state: &PipelineState) -> Result<(), StoreError> {
        self.tree.insert(remediation.to_be_bytes(), encode(state))?;
        Ok(())
    }
}
