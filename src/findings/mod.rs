//! Findings: the pure computation lives in `backline_core::findings` (re-exported here, so
//! `crate::findings::...` paths keep working); this crate adds the stored tables.

pub use backline_core::findings::*;

pub mod outdated;
pub mod table;
