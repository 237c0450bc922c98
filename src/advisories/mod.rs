//! Advisories: the OSV model, importers, version ordering per ecosystem, range matching and
//! the index (in memory, persisted in the store's `advisories` tree).
//!
//! The pure parts (model, record parsing, versions, matching, CVSS, the in-memory index) live in
//! `backline_core::advisories` and are re-exported here, so `crate::advisories::...` paths keep
//! working. This crate adds reading folders and zips ([`import::import_path`]), the persisted
//! table and the sync from OSV.

pub use backline_core::advisories::*;

pub mod import;
pub mod persist;
pub mod shared;
pub mod store_import;
pub mod sync;

pub use import::{import_path, ImportError, ImportReport, Layout};
pub use persist::AdvisoryStore;
pub use store_import::import_into_store;
pub use sync::{sync, Outcome, SyncOptions, SyncReport};

#[cfg(test)]
mod reference_db_tests;
