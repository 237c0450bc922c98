//! Advisories: the OSV model, importers, version ordering per ecosystem, range matching and
//! the index (in memory, persisted in the store's `advisories` tree).
//!
//! Entry points: [`import::import_path`] reads any supported layout; [`Index::new`] builds the
//! in-memory index and [`Index::matches`] answers "which advisories affect this version, and
//! what is the fix"; [`version::compare`] orders versions per ecosystem.

pub mod cvss;
pub mod import;
pub mod index;
pub mod limits;
pub mod links;
pub mod matching;
pub mod model;
pub mod names;
pub mod osv;
pub mod persist;
pub mod rustsec;
pub mod severity;
pub mod store_import;
pub mod sync;
pub mod version;

pub use import::{import_path, ImportError, ImportReport, Layout};
pub use index::{Index, Match, Stats};
pub use model::{
    Advisory, AdvisoryKind, Affected, Event, Package, Range, RangeKind, Reference, Score, Severity,
};
pub use persist::AdvisoryStore;
pub use store_import::import_into_store;
pub use sync::{sync, Outcome, SyncOptions, SyncReport};

#[cfg(test)]
mod reference_db_tests;
