//! Dependencies: manifest discovery and one pure parser per lockfile format.
//!
//! Every parser is a pure function from file bytes to [`Dependency`] values or a
//! [`ParseError`] naming the file and line. Nothing here touches GitLab or the store; only
//! [`scan_dir`] reads a local folder.
//!
//! Versions are reported as the file spells them, except Go's, which drop the `v` as OSV's Go
//! records do (`v1.2.3` → `1.2.3`). Composer versions may keep a `v` (`v5.4.3`): Packagist
//! comparison ignores it.
//!
//! Use: [`discover()`] picks the manifests out of a repository listing; [`files_wanted`] tells
//! which other files (companions such as `Cargo.toml`, requirement includes) a parse would
//! read; [`parse`] dispatches on [`format_of`] and returns one deduplicated entry per (name,
//! version). [`scan_dir`] does all of it over a local folder (`backline scan PATH`). Each
//! format's own parser (`cargo::parse`, `npm::parse`, ...) is public too; its module doc says
//! what it reads and what it leaves out.

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;

pub use crate::ecosystems::cargo::read as cargo;
pub use crate::ecosystems::composer::read as composer;
pub mod discover;
pub use crate::ecosystems::gemfile::read as gemfile;
pub use crate::ecosystems::gomod::read as gomod;
pub mod limits;
pub use crate::ecosystems::npm::read as npm;
pub use crate::ecosystems::nuget::read as nuget;
pub use crate::ecosystems::pipfile::read as pipfile;
pub use crate::ecosystems::pnpm::read as pnpm;
pub use crate::ecosystems::poetry::read as poetry;
pub use crate::ecosystems::pom::read as pom;
pub use crate::ecosystems::requirements::read as requirements;
pub use crate::ecosystems::uv::read as uv;
pub use crate::ecosystems::yarn::read as yarn;

pub(crate) mod text;

pub use discover::{discover, scan_dir, DiscoveryRules};

/// One resolved (or declared) dependency found in a manifest or lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The package's ecosystem.
    pub ecosystem: Ecosystem,
    /// The package name as the ecosystem spells it (Maven: `group:artifact`).
    pub name: String,
    /// The installed version; `None` when the manifest does not pin one (an unpinned requirement).
    pub version: Option<String>,
    /// Whether the project requires it itself (rather than through another package).
    pub direct: bool,
    /// For a transitive dependency, a package that requires it (when the format says).
    pub parent: Option<String>,
    /// Whether it is only a development dependency (npm `dev`, Composer `packages-dev`, Pipfile
    /// `develop`, Maven `test` scope, ...). Added so that remediation can rank production
    /// dependencies first and the report can show it; `false` when the format does not say.
    /// Defaults to `false` when absent from stored values.
    #[serde(default)]
    pub dev: bool,
    /// Where it comes from: only a [`Source::Registry`] dependency is matched against
    /// advisories or patched; the others are listed as not checked.
    #[serde(default)]
    pub source: Source,
}

/// Where a dependency comes from. Only the ecosystem's public registry's packages are the
/// packages advisories name; anything else is listed as not checked, never matched or patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The ecosystem's public registry (crates.io, npmjs, PyPI, ...).
    #[default]
    Registry,
    /// A git (or other VCS) checkout.
    Git,
    /// A local path (a folder or file in or beside the repository).
    Path,
    /// A direct download URL (a tarball or wheel).
    Url,
    /// A registry other than the ecosystem's public one.
    AlternativeRegistry,
}

/// Why a dependency was not checked against advisories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UncheckedReason {
    /// From a git (or other VCS) source.
    #[serde(rename = "git source")]
    GitSource,
    /// From a local path.
    #[serde(rename = "path source")]
    PathSource,
    /// From a direct URL.
    #[serde(rename = "url source")]
    UrlSource,
    /// From a registry other than the public one.
    #[serde(rename = "alternative registry")]
    AlternativeRegistry,
    /// No exact version is pinned (`flask>=2.0`).
    #[serde(rename = "unpinned")]
    Unpinned,
}

impl UncheckedReason {
    /// The reason as the JSON and the table spell it (`git source`).
    pub fn as_str(self) -> &'static str {
        match self {
            UncheckedReason::GitSource => "git source",
            UncheckedReason::PathSource => "path source",
            UncheckedReason::UrlSource => "url source",
            UncheckedReason::AlternativeRegistry => "alternative registry",
            UncheckedReason::Unpinned => "unpinned",
        }
    }
}

impl std::fmt::Display for UncheckedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Dependency {
    /// A dependency with no parent and `dev: false`.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: Option<String>,
        direct: bool,
    ) -> Self {
        Dependency {
            ecosystem,
            name: name.into(),
            version,
            direct,
            parent: None,
            dev: false,
            source: Source::Registry,
        }
    }

    /// Sets the source (builder style).
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Why it cannot be checked against advisories, or `None` when it can: a registry package
    /// at a pinned version.
    pub fn unchecked(&self) -> Option<UncheckedReason> {
        match self.source {
            Source::Git => Some(UncheckedReason::GitSource),
            Source::Path => Some(UncheckedReason::PathSource),
            Source::Url => Some(UncheckedReason::UrlSource),
            Source::AlternativeRegistry => Some(UncheckedReason::AlternativeRegistry),
            Source::Registry if self.version.is_none() => Some(UncheckedReason::Unpinned),
            Source::Registry => None,
        }
    }

    /// The version to match against advisories: `None` unless [`Dependency::unchecked`] is.
    pub fn checkable_version(&self) -> Option<&str> {
        match self.unchecked() {
            None => self.version.as_deref(),
            Some(_) => None,
        }
    }

    /// Sets the parent (builder style).
    pub fn with_parent(mut self, parent: Option<String>) -> Self {
        self.parent = parent;
        self
    }

    /// Sets the development flag (builder style).
    pub fn with_dev(mut self, dev: bool) -> Self {
        self.dev = dev;
        self
    }
}

/// A manifest that could not be read, with the place of the problem.
///
/// A file that could not be read at all (see [`ParseError::unreadable`]) shows as
/// `could not read FILE: why`, not as a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ParseError {
    /// The file's path, as given to the parser.
    pub file: String,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Start of the message of an unreadable file. The stored layout of [`ParseError`] stays as it was
/// (postcard values in the inventory), so the kind travels in the message.
const UNREADABLE: &str = "could not read: ";

impl ParseError {
    /// A file that could not be read (missing, a permission problem, ...).
    pub fn unreadable(file: &str, error: &std::io::Error) -> Self {
        ParseError::new(file, None, format!("{UNREADABLE}{error}"))
    }

    /// Whether the file could not be read at all (rather than parsed).
    pub fn is_unreadable(&self) -> bool {
        self.line.is_none() && self.message.starts_with(UNREADABLE)
    }

    fn describe(&self) -> String {
        match self.message.strip_prefix(UNREADABLE) {
            Some(why) if self.line.is_none() => format!("could not read {}: {why}", self.file),
            _ => {
                let at = self
                    .line
                    .map(|l| format!(" at line {l}"))
                    .unwrap_or_default();
                format!("could not parse {}{at}: {}", self.file, self.message)
            }
        }
    }

    /// An error in `file` at an optional 1-based `line`.
    pub fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// A manifest or lockfile format backline can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ManifestFormat {
    /// `Cargo.lock` (v1–v4).
    CargoLock,
    /// `package-lock.json` (v1–v3); also `npm-shrinkwrap.json`.
    PackageLock,
    /// `yarn.lock` (v1, and berry's YAML form).
    YarnLock,
    /// `pnpm-lock.yaml` (lockfile versions 5, 6 and 9).
    PnpmLock,
    /// `requirements*.txt` and `requirements/*.txt`.
    Requirements,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `uv.lock`.
    UvLock,
    /// `go.mod`.
    GoMod,
    /// `Gemfile.lock`.
    GemfileLock,
    /// `composer.lock`.
    ComposerLock,
    /// `pom.xml` (direct dependencies only).
    Pom,
    /// NuGet `packages.lock.json`.
    NugetLock,
}

impl ManifestFormat {
    /// The ecosystem of the packages the format lists.
    pub fn ecosystem(self) -> Ecosystem {
        use ManifestFormat::*;
        match self {
            CargoLock => Ecosystem::CratesIo,
            PackageLock | YarnLock | PnpmLock => Ecosystem::Npm,
            Requirements | PoetryLock | PipfileLock | UvLock => Ecosystem::PyPI,
            GoMod => Ecosystem::Go,
            GemfileLock => Ecosystem::RubyGems,
            ComposerLock => Ecosystem::Packagist,
            Pom => Ecosystem::Maven,
            NugetLock => Ecosystem::NuGet,
        }
    }

    /// Sibling files (same folder) that improve the parse, mostly by telling which
    /// dependencies are direct. Each is optional.
    pub fn companions(&self) -> &'static [&'static str] {
        use ManifestFormat::*;
        match self {
            CargoLock => &["Cargo.toml"],
            PackageLock | YarnLock => &["package.json"],
            PoetryLock => &["pyproject.toml"],
            PipfileLock => &["Pipfile"],
            ComposerLock => &["composer.json"],
            PnpmLock | Requirements | UvLock | GoMod | GemfileLock | Pom | NugetLock => &[],
        }
    }
}

/// The format of a repository path, judged by its file name alone.
pub fn format_of(path: &str) -> Option<ManifestFormat> {
    let path = path.trim_end_matches('/');
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    };
    let format = match name {
        "Cargo.lock" => ManifestFormat::CargoLock,
        "package-lock.json" | "npm-shrinkwrap.json" => ManifestFormat::PackageLock,
        "yarn.lock" => ManifestFormat::YarnLock,
        "pnpm-lock.yaml" => ManifestFormat::PnpmLock,
        "poetry.lock" => ManifestFormat::PoetryLock,
        "Pipfile.lock" => ManifestFormat::PipfileLock,
        "uv.lock" => ManifestFormat::UvLock,
        "go.mod" => ManifestFormat::GoMod,
        "Gemfile.lock" | "gems.locked" => ManifestFormat::GemfileLock,
        "composer.lock" => ManifestFormat::ComposerLock,
        "pom.xml" => ManifestFormat::Pom,
        "packages.lock.json" => ManifestFormat::NugetLock,
        _ => {
            let lower = name.to_ascii_lowercase();
            let in_requirements_dir = dir.rsplit('/').next() == Some("requirements");
            if lower.ends_with(".txt")
                && (lower.starts_with("requirements")
                    || lower.ends_with("requirements.txt")
                    || in_requirements_dir)
            {
                ManifestFormat::Requirements
            } else {
                return None;
            }
        }
    };
    Some(format)
}

/// Parses one manifest of a repository. Text with a UTF-8 byte order mark or in UTF-16 (LE or
/// BE, with its byte order mark) is decoded first, the manifest's and every looked-up file's.
///
/// `path` is the manifest's path relative to the repository root (forward slashes); `lookup`
/// answers the bytes of other repository files (companions such as `Cargo.toml`, included
/// requirement files), also by root-relative path, or `None` when absent. The result is
/// deduplicated: one entry per (name, version, source), direct if any occurrence is. A manifest
/// over [`limits::MAX_FILE_BYTES`] is refused unread.
pub fn parse(
    path: &str,
    bytes: &[u8],
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<Dependency>, ParseError> {
    limits::check_size(path, bytes.len())?;
    let format = format_of(path)
        .ok_or_else(|| ParseError::new(path, None, "not a manifest or lockfile backline knows"))?;
    // Decoded once here, for every reader: UTF-8 and UTF-16 byte order marks.
    let decoded = text::decode(bytes);
    let bytes: &[u8] = &decoded;
    let decoded_lookup = |p: &str| lookup(p).map(|b| text::decode(&b).into_owned());
    let lookup: &dyn Fn(&str) -> Option<Vec<u8>> = &decoded_lookup;
    let companion = |name: &str| lookup(&text::sibling(path, name));
    let deps = match format {
        ManifestFormat::CargoLock => {
            cargo::parse(path, bytes, companion("Cargo.toml").as_deref(), lookup)?
        }
        ManifestFormat::PackageLock => {
            npm::parse(path, bytes, companion("package.json").as_deref())?
        }
        ManifestFormat::YarnLock => yarn::parse(path, bytes, companion("package.json").as_deref())?,
        ManifestFormat::PnpmLock => pnpm::parse(path, bytes)?,
        ManifestFormat::Requirements => requirements::parse(path, bytes, lookup)?,
        ManifestFormat::PoetryLock => {
            poetry::parse(path, bytes, companion("pyproject.toml").as_deref())?
        }
        ManifestFormat::PipfileLock => {
            pipfile::parse(path, bytes, companion("Pipfile").as_deref())?
        }
        ManifestFormat::UvLock => uv::parse(path, bytes)?,
        ManifestFormat::GoMod => gomod::parse(path, bytes)?,
        ManifestFormat::GemfileLock => gemfile::parse(path, bytes)?,
        ManifestFormat::ComposerLock => {
            composer::parse(path, bytes, companion("composer.json").as_deref())?
        }
        ManifestFormat::Pom => pom::parse(path, bytes)?,
        ManifestFormat::NugetLock => nuget::parse(path, bytes)?,
    };
    Ok(dedupe(deps))
}

/// One [`parse`] together with the files it asked `lookup` for.
#[derive(Debug)]
pub struct Attempt {
    /// The parse's answer with the files `lookup` had.
    pub result: Result<Vec<Dependency>, ParseError>,
    /// Every other file the parse looked up, found or not, in first-asked order.
    pub asked: Vec<String>,
    /// The subset of `asked` that `lookup` did not have.
    pub missing: Vec<String>,
}

/// Parses once, recording which other files the parse read. For a caller that fetches files
/// asynchronously (through the GitLab API): when `missing` names files it has not tried yet,
/// fetch those and parse again; otherwise `result` is final.
pub fn parse_attempt(
    path: &str,
    bytes: &[u8],
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Attempt {
    let asked = std::cell::RefCell::new(Vec::<String>::new());
    let missing = std::cell::RefCell::new(Vec::<String>::new());
    let recording = |p: &str| {
        let found = lookup(p);
        if !asked.borrow().iter().any(|a| a == p) {
            asked.borrow_mut().push(p.to_string());
            if found.is_none() {
                missing.borrow_mut().push(p.to_string());
            }
        }
        found
    };
    let result = parse(path, bytes, &recording);
    Attempt {
        result,
        asked: asked.into_inner(),
        missing: missing.into_inner(),
    }
}

/// The repository files that parsing `path` asks for and `lookup` does not have: companions
/// and (for requirements files) includes (the `missing` of a [`parse_attempt`]).
pub fn files_wanted(
    path: &str,
    bytes: &[u8],
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<String> {
    parse_attempt(path, bytes, lookup).missing
}

/// The companion files (see [`ManifestFormat::companions`]) of the manifest at `path`, as
/// root-relative paths: worth fetching before the first parse.
pub fn companion_paths(path: &str) -> Vec<String> {
    format_of(path)
        .map(|f| {
            f.companions()
                .iter()
                .map(|c| text::sibling(path, c))
                .collect()
        })
        .unwrap_or_default()
}

/// The key under which two names are the same package in an ecosystem: PEP 503 for PyPI,
/// case-insensitive for NuGet and Packagist, exact elsewhere.
pub fn name_key(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => pep503(name),
        Ecosystem::NuGet | Ecosystem::Packagist => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Merges repeats of the same (name, version, source): the first keeps its place; it becomes direct
/// if any repeat is direct (a direct one has no parent), and stays dev only if all are.
pub fn dedupe(deps: Vec<Dependency>) -> Vec<Dependency> {
    type Key = (Ecosystem, String, Option<String>, Source);
    let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut out: Vec<Dependency> = Vec::with_capacity(deps.len());
    for d in deps {
        let key = (
            d.ecosystem,
            name_key(d.ecosystem, &d.name),
            d.version.clone(),
            d.source,
        );
        match index.get(&key) {
            Some(&i) => {
                let kept = &mut out[i];
                if d.direct && !kept.direct {
                    kept.direct = true;
                    kept.parent = None;
                } else if !kept.direct && kept.parent.is_none() {
                    kept.parent = d.parent;
                }
                kept.dev &= d.dev;
            }
            None => {
                index.insert(key, out.len());
                out.push(d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
