//! npm: `package-lock.json` / `npm-shrinkwrap.json` (with `package.json`).
//!
//! `read` turns the file into dependencies; `patch` moves one package to another version, keeping every other byte.

pub(crate) mod json;
pub mod patch;
pub(crate) mod range;
pub mod read;
