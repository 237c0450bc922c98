//! One folder per ecosystem (lockfile format), reader and patcher side by side, as in
//! Renovate's `lib/modules/manager/<name>/{extract,update}`: `read.rs` turns the file into
//! dependencies, `patch.rs` (where there is one) moves one package to another version. Where a
//! reader and a patcher look at the same structure, they share one parsing module in the folder.
//!
//! The dispatch over formats is [`crate::deps::parse`] (readers) and
//! [`crate::remediation::patch::patch`] (patchers); a new ecosystem is a new folder here plus one
//! arm in each.

pub mod cargo;
pub mod composer;
pub mod gemfile;
pub mod gomod;
pub mod npm;
pub mod nuget;
pub mod pipfile;
pub mod pnpm;
pub mod poetry;
pub mod pom;
pub mod requirements;
pub mod uv;
pub mod yarn;
