//! The advisory index in use, replaced whole when advisories change.

use std::sync::{Arc, RwLock};

use crate::advisories::{Index, Stats};

/// The advisory index shared by every part of the engine; readers get the index of the moment
/// and keep it while they work, a swap never blocks them for long.
#[derive(Clone)]
pub struct AdvisoryIndex(Arc<RwLock<Arc<Index>>>);

impl AdvisoryIndex {
    /// Starts with `index`.
    pub fn new(index: Index) -> Self {
        AdvisoryIndex(Arc::new(RwLock::new(Arc::new(index))))
    }

    /// The index in use now.
    pub fn current(&self) -> Arc<Index> {
        self.0
            .read()
            .map(|i| i.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Puts `index` in use; the configured default for unknown severities carries over.
    pub fn swap(&self, mut index: Index) {
        index.set_unknown_severity(self.current().unknown_severity());
        match self.0.write() {
            Ok(mut current) => *current = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
    }

    /// Counts of the index in use.
    pub fn stats(&self) -> Stats {
        self.current().stats().clone()
    }
}
