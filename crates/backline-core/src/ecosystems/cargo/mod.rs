//! Cargo: `Cargo.lock` (with `Cargo.toml` for directness).
//!
//! `read` turns the lockfile into dependencies; `patch` moves one package to another version,
//! keeping every other byte. Both read the lockfile through `lock` and the manifests through
//! `manifest`; the patcher's parts are `graph` (the package graph before and after),
//! `edit` (the lockfile edits) and `bump` (requirements in the manifests).

mod bump;
mod edit;
mod graph;
pub(crate) mod lock;
pub(crate) mod manifest;
pub mod patch;
pub mod read;
