//! The advisory index in use (defined beside the advisories, so that the fixer, below the
//! engine, can read it too).

pub use crate::advisories::shared::AdvisoryIndex;
