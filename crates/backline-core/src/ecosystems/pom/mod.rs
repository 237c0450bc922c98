//! Maven: `pom.xml`.
//!
//! `read` turns the file into dependencies; `patch` moves one package to another version, keeping every other byte.

pub mod patch;
pub mod read;
