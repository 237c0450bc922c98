//! NuGet: `packages.lock.json` and the project files that declare the versions.
//!
//! `read` turns the lock into dependencies; `patch` moves one package (with `project` for the
//! `PackageReference`/`PackageVersion` that declares it); `pin` is the override route (a
//! transitive package pinned by a central `PackageVersion` or a direct `PackageReference`);
//! `version` holds NuGet's version, range and framework rules.

pub mod patch;
pub(crate) mod pin;
pub mod project;
pub mod read;
pub mod version;
