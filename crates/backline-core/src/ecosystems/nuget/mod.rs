//! NuGet: `packages.lock.json`.
//!
//! `read` turns the file into dependencies.

pub mod read;
