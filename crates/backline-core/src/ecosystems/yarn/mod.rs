//! Yarn: `yarn.lock` (v1 and berry), with `package.json` for directness.
//!
//! `read` turns the file into dependencies; `patch` moves one package to another version, keeping every other byte.

mod berry_lock;
mod berry_patch;
#[cfg(test)]
mod berry_tests;
pub mod patch;
pub mod read;
mod redeclare;
