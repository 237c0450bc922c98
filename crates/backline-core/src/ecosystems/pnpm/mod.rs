//! pnpm: `pnpm-lock.yaml`.
//!
//! `read` turns the file into dependencies.

pub mod patch;
pub mod read;
