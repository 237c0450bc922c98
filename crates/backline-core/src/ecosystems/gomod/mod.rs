//! Go: `go.mod` / `go.sum`.
//!
//! `read` turns the file into dependencies.

pub mod dirhash;
pub mod read;
