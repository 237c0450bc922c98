//! Package registry facts as data: the release types the planner and patchers read. Fetching
//! them (the crates.io sparse index, the npm registry, PyPI) is the `backline` crate's
//! `registry` module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod goproxy;
pub mod nuget;
pub mod ordered_json;
pub mod packagist;
pub mod rubygems;

pub use goproxy::GoModule;
pub use nuget::{DependencyGroup, NugetRelease};
pub use packagist::{parse_p2, PackagistRelease};
pub use rubygems::{parse_gem_release, GemRelease};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PypiRelease {
    /// The project name as PyPI spells it.
    pub name: String,
    /// The version.
    pub version: String,
    /// Each distribution file: (file name, SHA-256 hex).
    pub files: Vec<(String, String)>,
    /// `info.requires_dist` (PEP 508 strings).
    pub requires_dist: Vec<String>,
    /// Each distribution file in full (URL, size, upload time): what `uv.lock` records.
    #[serde(default)]
    pub dists: Vec<PypiDist>,
    /// `info.requires_python`, when given (`>=3.5`).
    #[serde(default)]
    pub requires_python: Option<String>,
}

/// One distribution file of a PyPI version, as the JSON API's `urls[]` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PypiDist {
    /// `filename`.
    pub filename: String,
    /// `url` (absolute).
    pub url: String,
    /// `digests.sha256`, lower-case hex.
    pub sha256: String,
    /// `size` in bytes.
    pub size: u64,
    /// `upload_time_iso_8601` (`2024-04-11T03:34:41.447563Z`), when given.
    pub upload_time: Option<String>,
    /// Whether it is a source distribution (`packagetype` `sdist`) rather than a wheel.
    pub sdist: bool,
}

/// A PyPI JSON API answer for one version (`/pypi/<name>/<version>/json`).
pub fn parse_pypi_release(doc: &Value) -> Option<PypiRelease> {
    let info = doc.get("info")?;
    let files = doc
        .get("urls")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| {
                    Some((
                        u.get("filename")?.as_str()?.to_string(),
                        u.pointer("/digests/sha256")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let requires_dist = info
        .get("requires_dist")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let dists = doc
        .get("urls")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(parse_pypi_dist).collect())
        .unwrap_or_default();
    Some(PypiRelease {
        name: info.get("name")?.as_str()?.to_string(),
        version: info.get("version")?.as_str()?.to_string(),
        files,
        requires_dist,
        dists,
        requires_python: info
            .get("requires_python")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// One `urls[]` entry of a PyPI JSON API answer; `None` without a file name, URL or SHA-256.
fn parse_pypi_dist(u: &Value) -> Option<PypiDist> {
    let filename = u.get("filename")?.as_str()?.to_string();
    Some(PypiDist {
        sdist: u.get("packagetype").and_then(Value::as_str) == Some("sdist")
            || !filename.ends_with(".whl"),
        url: u.get("url")?.as_str()?.to_string(),
        sha256: u.pointer("/digests/sha256")?.as_str()?.to_string(),
        size: u.get("size").and_then(Value::as_u64).unwrap_or(0),
        upload_time: u
            .get("upload_time_iso_8601")
            .and_then(Value::as_str)
            .map(str::to_string),
        filename,
    })
}
