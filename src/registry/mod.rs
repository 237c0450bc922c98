//! Package registries: the crates.io sparse index, the npm registry and PyPI's JSON API.
//!
//! [`Registry`] is what the remediation planner asks (release facts for a version, the list of
//! versions, the latest version); [`HttpRegistry`] talks to the real services (or the
//! simulator's `/registry/...` routes), [`FakeRegistry`] answers from memory in tests. The
//! response parsers ([`parse_index`], [`parse_packument`], [`parse_pypi_release`]) are pure
//! and public so that other readers (a cargo cache entry, a fixture) can use them.

mod fake;
mod http;
pub mod outage;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use crate::ecosystem::Ecosystem;

pub use fake::FakeRegistry;
pub use http::{
    default_goproxy, HttpRegistry, RegistryConfig, DEFAULT_CRATES_INDEX_URL, DEFAULT_GOPROXY,
    DEFAULT_NPM_URL, DEFAULT_NUGET_URL, DEFAULT_PACKAGIST_URL, DEFAULT_PYPI_URL,
    DEFAULT_RUBYGEMS_URL, MAX_GO_MOD_BYTES, MAX_GO_ZIP_BYTES,
};
pub use outage::Unreachable;

// The release types are data the planner and patchers read: they live in the pure core.
pub use backline_core::registry::{
    goproxy, nuget, ordered_json, packagist, parse_gem_release, parse_p2, parse_pypi_release,
    rubygems, CrateDep, CrateRelease, DepKind, GemRelease, GoModule, NpmRelease, NugetRelease,
    PackagistRelease, PypiDist, PypiRelease,
};

/// A failure talking to a registry. A missing package or version is not an error (`Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request could not be sent or its answer not read.
    #[error("registry request to {url} failed: {message}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The registry answered an unexpected status (after retries for 429/5xx).
    #[error("registry answered {status} for {url}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The answer could not be understood.
    #[error("unexpected registry answer from {url}: {message}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The package name cannot be asked for (empty, or characters no registry allows).
    #[error("invalid package name `{0}`")]
    InvalidName(String),
}

impl RegistryError {
    /// The registry could not give an answer (transport, an error status, an unreadable
    /// answer): which registry and why. `None` for a name no registry allows.
    pub fn unreachable(&self) -> Option<Unreachable> {
        let (url, error) = match self {
            RegistryError::Transport { url, message } => (url, message.clone()),
            RegistryError::Status { url, status } => (url, format!("HTTP {status}")),
            RegistryError::Malformed { url, message } => {
                (url, format!("unreadable answer: {message}"))
            }
            RegistryError::InvalidName(_) => return None,
        };
        Some(Unreachable {
            registry: outage::registry_of(url),
            error,
        })
    }
}

/// What the remediation planner asks of package registries.
#[async_trait]
pub trait Registry: Send + Sync {
    /// One crate version from the sparse index; `None` when the crate or version is unknown.
    async fn crate_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<CrateRelease>, RegistryError>;

    /// Every published version of a crate (yanked included), in index order; empty when the
    /// crate is unknown.
    async fn crate_versions(&self, name: &str) -> Result<Vec<CrateRelease>, RegistryError>;

    /// One npm version from the packument; `None` when unknown.
    async fn npm_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<NpmRelease>, RegistryError>;

    /// Every version of an npm package the packument lists; empty when unknown.
    async fn npm_versions(&self, name: &str) -> Result<Vec<NpmRelease>, RegistryError>;

    /// One PyPI version from the JSON API; `None` when unknown.
    async fn pypi_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PypiRelease>, RegistryError>;

    /// One RubyGems version (`/api/v2/rubygems/<name>/versions/<version>.json`); `None` when
    /// unknown, or when this registry does not serve RubyGems.
    async fn gem_release(
        &self,
        _name: &str,
        _version: &str,
    ) -> Result<Option<GemRelease>, RegistryError> {
        Ok(None)
    }

    /// Every version of a Composer package from Packagist's v2 metadata
    /// (`/p2/<vendor>/<name>.json`), expanded; empty when unknown, or when this registry does
    /// not serve Packagist.
    async fn packagist_versions(
        &self,
        _name: &str,
    ) -> Result<Vec<PackagistRelease>, RegistryError> {
        Ok(Vec::new())
    }

    /// One Go module version from the module proxies (`BACKLINE_GOPROXY`): its `.mod`, with the
    /// go.sum hashes computed from the downloaded `.mod` and `.zip`; `None` when no proxy has
    /// it, or when this registry does not serve Go. `version` may be written without the `v`.
    async fn go_module(
        &self,
        _path: &str,
        _version: &str,
    ) -> Result<Option<GoModule>, RegistryError> {
        Ok(None)
    }

    /// One NuGet package version from the v3 API (the registration leaf's dependency groups
    /// and the catalog's `packageHash`, else the `.nupkg`'s SHA-512); `None` when unknown, or
    /// when this registry does not serve NuGet.
    async fn nuget_release(
        &self,
        _id: &str,
        _version: &str,
    ) -> Result<Option<NugetRelease>, RegistryError> {
        Ok(None)
    }

    /// The latest stable version: crates, the highest non-yanked non-prerelease version; npm,
    /// `dist-tags.latest`; PyPI, `info.version`. `Ok(None)` for other ecosystems and unknown
    /// packages.
    async fn latest(
        &self,
        ecosystem: Ecosystem,
        name: &str,
    ) -> Result<Option<String>, RegistryError>;
}

/// The sparse-index path of a crate: `1/a`, `2/ab`, `3/a/abc`, `se/rd/serde` (lower case).
pub fn index_path(name: &str) -> Result<String, RegistryError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(RegistryError::InvalidName(name.to_string()));
    }
    let n = name.to_ascii_lowercase();
    Ok(match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    })
}

#[derive(Deserialize)]
struct IndexLine {
    name: String,
    vers: String,
    #[serde(default)]
    deps: Vec<IndexDep>,
    #[serde(default)]
    cksum: String,
    #[serde(default)]
    yanked: bool,
}

#[derive(Deserialize)]
struct IndexDep {
    name: String,
    #[serde(default)]
    req: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    package: Option<String>,
}

/// Parses one sparse-index line.
pub fn parse_index_line(line: &str) -> Result<CrateRelease, String> {
    let l: IndexLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok(CrateRelease {
        name: l.name,
        version: l.vers,
        cksum: l.cksum,
        yanked: l.yanked,
        deps: l
            .deps
            .into_iter()
            .map(|d| CrateDep {
                name: d.package.unwrap_or(d.name),
                req: d.req,
                kind: match d.kind.as_deref() {
                    Some("dev") => DepKind::Dev,
                    Some("build") => DepKind::Build,
                    _ => DepKind::Normal,
                },
                optional: d.optional,
            })
            .collect(),
    })
}

/// Parses a sparse-index file (one JSON object a line; blank lines skipped).
pub fn parse_index(text: &str) -> Result<Vec<CrateRelease>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_index_line(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// The highest non-yanked, non-prerelease version by semver.
pub fn latest_crate(releases: &[CrateRelease]) -> Option<String> {
    releases
        .iter()
        .filter(|r| !r.yanked)
        .filter_map(|r| semver::Version::parse(&r.version).ok())
        .filter(|v| v.pre.is_empty())
        .max()
        .map(|v| v.to_string())
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `sha1-<base64>` integrity string of a hex SHA-1.
pub fn sha1_integrity(shasum_hex: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = hex::decode(shasum_hex).ok()?;
    Some(format!(
        "sha1-{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// One version entry of a packument (`versions[v]`).
pub fn parse_npm_version(name: &str, version: &str, entry: &Value) -> Option<NpmRelease> {
    let dist = entry.get("dist")?;
    let shasum = dist
        .get("shasum")
        .and_then(Value::as_str)
        .map(str::to_string);
    let integrity = match dist.get("integrity").and_then(Value::as_str) {
        Some(i) => i.to_string(),
        None => sha1_integrity(shasum.as_deref()?)?,
    };
    Some(NpmRelease {
        name: name.to_string(),
        version: version.to_string(),
        integrity,
        shasum,
        tarball: dist.get("tarball")?.as_str()?.to_string(),
        dependencies: string_map(entry.get("dependencies")),
        optional_dependencies: string_map(entry.get("optionalDependencies")),
        peer_dependencies: string_map(entry.get("peerDependencies")),
    })
}

/// Every version of a packument (those without `dist` data are skipped), and
/// `dist-tags.latest`.
pub fn parse_packument(name: &str, doc: &Value) -> (Vec<NpmRelease>, Option<String>) {
    let releases = doc
        .get("versions")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(v, e)| parse_npm_version(name, v, e))
                .collect()
        })
        .unwrap_or_default();
    let latest = doc
        .pointer("/dist-tags/latest")
        .and_then(Value::as_str)
        .map(str::to_string);
    (releases, latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths() {
        assert_eq!(index_path("a").unwrap(), "1/a");
        assert_eq!(index_path("ab").unwrap(), "2/ab");
        assert_eq!(index_path("Abc").unwrap(), "3/a/abc");
        assert_eq!(index_path("Serde_JSON").unwrap(), "se/rd/serde_json");
        assert!(index_path("").is_err());
        assert!(index_path("../etc").is_err());
    }

    #[test]
    fn index_lines_and_latest() {
        let text = r#"{"name":"regex","vers":"1.5.4","deps":[{"name":"memchr","req":"^2.4.0","features":[],"optional":true,"default_features":true,"target":null,"kind":"normal"},{"name":"lazy_static","req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"},{"name":"rs","req":"^0.6","features":[],"optional":false,"default_features":true,"target":null,"kind":null,"package":"regex-syntax"}],"cksum":"d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461","features":{},"yanked":false}

{"name":"regex","vers":"1.6.0-rc.1","deps":[],"cksum":"00","features":{},"yanked":false}
{"name":"regex","vers":"1.5.6","deps":[],"cksum":"01","features":{},"yanked":true}
"#;
        let rs = parse_index(text).unwrap();
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].deps[0].kind, DepKind::Normal);
        assert!(rs[0].deps[0].optional);
        assert_eq!(rs[0].deps[1].kind, DepKind::Dev);
        assert_eq!(rs[0].deps[2].name, "regex-syntax");
        assert_eq!(latest_crate(&rs).as_deref(), Some("1.5.4"));
        assert!(parse_index("{\"name\":1}")
            .unwrap_err()
            .starts_with("line 1:"));
    }

    #[test]
    fn packuments_and_pypi() {
        let doc: Value = serde_json::json!({
            "name": "lodash",
            "dist-tags": {"latest": "4.17.21"},
            "versions": {
                "4.17.21": {"dist": {"integrity": "sha512-x", "shasum": "679591c564c3bffaae8454cf0b3df370c3d6911c",
                    "tarball": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"}},
                "0.1.0": {"dist": {"shasum": "679591c564c3bffaae8454cf0b3df370c3d6911c", "tarball": "t"},
                    "dependencies": {"a": "^1"}},
                "0.0.1": {}
            }
        });
        let (rs, latest) = parse_packument("lodash", &doc);
        assert_eq!(latest.as_deref(), Some("4.17.21"));
        assert_eq!(rs.len(), 2);
        let old = rs.iter().find(|r| r.version == "0.1.0").unwrap();
        assert_eq!(old.integrity, "sha1-Z5WRxWTDv/quhFTPCz3zcMPWkRw=");
        assert_eq!(old.dependencies["a"], "^1");
        let py = serde_json::json!({"info": {"name": "Jinja2", "version": "2.11.3", "requires_dist": ["MarkupSafe (>=0.23)"]},
            "urls": [{"filename": "Jinja2-2.11.3.tar.gz", "digests": {"sha256": "ab"}}]});
        let r = parse_pypi_release(&py).unwrap();
        assert_eq!(
            r.files,
            vec![("Jinja2-2.11.3.tar.gz".to_string(), "ab".to_string())]
        );
        assert_eq!(r.requires_dist.len(), 1);
    }
}
