//! Package registry facts as data: the release types the planner and patchers read. Fetching
//! them (the crates.io sparse index, the npm registry, PyPI) is the `backline` crate's
//! `registry` module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The kind of a crate dependency, as the index says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]` (never in a dependent's lockfile).
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// One dependency of a crate release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateDep {
    /// The real crate name (the index's `package` when the dependency is renamed).
    pub name: String,
    /// The version requirement (`^2.4.0`).
    pub req: String,
    /// Normal, dev or build.
    pub kind: DepKind,
    /// Whether the dependency is optional (needed only when a feature enables it).
    pub optional: bool,
}

/// One published crate version, from a sparse-index line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateRelease {
    /// The crate name.
    pub name: String,
    /// The version (`1.5.5`).
    pub version: String,
    /// SHA-256 of the `.crate` file, lower-case hex (Cargo.lock's `checksum`).
    pub cksum: String,
    /// Whether the version is yanked.
    pub yanked: bool,
    /// Its dependencies.
    pub deps: Vec<CrateDep>,
}

/// One published npm version, from a packument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmRelease {
    /// The package name.
    pub name: String,
    /// The version.
    pub version: String,
    /// `dist.integrity` (`sha512-...`); for old packages without it, `sha1-` of `dist.shasum`.
    pub integrity: String,
    /// `dist.shasum` (hex SHA-1 of the tarball), when given.
    pub shasum: Option<String>,
    /// `dist.tarball`.
    pub tarball: String,
    /// `dependencies`.
    pub dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
}

/// One published PyPI version, from the JSON API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PypiRelease {
    /// The project name as PyPI spells it.
    pub name: String,
    /// The version.
    pub version: String,
    /// Each distribution file: (file name, SHA-256 hex).
    pub files: Vec<(String, String)>,
    /// `info.requires_dist` (PEP 508 strings).
    pub requires_dist: Vec<String>,
}
