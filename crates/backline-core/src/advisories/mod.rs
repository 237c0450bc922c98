//! Advisories, the pure half: the OSV model, OSV and RustSec record parsing, version ordering
//! per ecosystem, range matching, CVSS and severity, source links, import size limits and the
//! in-memory index. Reading folders and zips, persisting and syncing live in the `backline`
//! crate.
//!
//! [`Index::new`] builds the in-memory index and [`Index::matches`] answers "which advisories
//! affect this version, and what is the fix"; [`version::compare`] orders versions per
//! ecosystem.

pub mod cvss;
pub mod index;
pub mod limits;
pub mod links;
pub mod matching;
pub mod model;
pub mod names;
pub mod osv;
pub mod rustsec;
pub mod severity;
pub mod version;

pub use index::{Index, Match, Stats};
pub use model::{
    Advisory, AdvisoryKind, Affected, Event, Package, Range, RangeKind, Reference, Score, Severity,
};
