//! NuGet: `packages.lock.json` and the project files that declare the versions.
//!
//! `read` turns the lock into dependencies; `patch` moves one package (with `project` for the
//! `PackageReference`/`PackageVersion` that declares it); `version` holds NuGet's version,
//! range and framework rules.

pub mod patch;
pub mod project;
pub mod read;
pub mod version;
