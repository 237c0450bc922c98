//! Importing a database into the store: the import replaces what an earlier import of the same
//! path brought, and the index is rebuilt from what the store then holds.

use std::path::Path;

use super::import::{import_path, ImportReport};
use super::index::Index;
use super::persist::{AdvisoryStore, StoredAdvisory};
use crate::store::Store;

/// Imports `path` into the store, replacing what an earlier import of the same path brought;
/// returns the import report (advisories moved out), how many were imported, and the new index.
/// Blocking.
pub fn import_into_store(
    store: &Store,
    path: &Path,
) -> anyhow::Result<(ImportReport, usize, Index)> {
    let mut report = import_path(path)?;
    let source = format!(
        "import:{}",
        path.canonicalize()
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
    );
    let records = std::mem::take(&mut report.advisories)
        .into_iter()
        .map(|advisory| StoredAdvisory {
            source: source.clone(),
            advisory,
        })
        .collect::<Vec<_>>();
    let imported = records.len();
    let live = AdvisoryStore::open(store)?.replace_sources(&[source], records)?;
    store.flush_now()?;
    let index = Index::new(live.into_iter().map(|r| r.advisory));
    Ok((report, imported, index))
}
