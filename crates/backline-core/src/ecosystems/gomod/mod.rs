//! Go: `go.mod` / `go.sum`.
//!
//! `read` turns the file into dependencies; `patch` moves a requirement and its go.sum lines,
//! with the hashes `dirhash` computes from the module proxy's `.mod` and `.zip`.

pub mod dirhash;
pub(crate) mod modfile;
pub mod patch;
pub mod read;
pub(crate) mod sum;
pub(crate) mod version;
