//! uv: `uv.lock`.
//!
//! `read` turns the file into dependencies; `patch` moves one package (with `parents`: the
//! locked packages depending on it must allow the new version) and `overrides` writes uv's
//! `override-dependencies` when a parent's requirement excludes it (issue 18).

pub mod overrides;
pub(crate) mod parents;
pub mod patch;
pub mod read;
