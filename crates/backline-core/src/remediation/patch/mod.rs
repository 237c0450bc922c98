//! Format-preserving dependency patches: move one package from one version to another in a
//! lockfile (and its manifest when needed), keeping every other byte.
//!
//! [`patch`] is pure: the caller reads the repository files and fetches the registry facts
//! [`facts_needed`] names beforehand. An edit is made only when the new version's own
//! requirements are already satisfied by what the lockfile has; otherwise the answer is
//! [`PatchError::NotFixable`] with a reason a person can act on (usually: upgrade a parent).
//! Every patched lockfile is parsed again with [`crate::deps::parse`] before it is returned,
//! and must show the package at the new version.

use crate::ecosystems::cargo::patch as cargo;
use crate::ecosystems::composer::patch as composer;
use crate::ecosystems::gemfile::patch as gemfile;
use crate::ecosystems::gomod::patch as gomod;
use crate::ecosystems::npm::patch as npm;
use crate::ecosystems::nuget::patch as nuget;
use crate::ecosystems::pipfile::patch as pipfile;
use crate::ecosystems::pnpm::patch as pnpm;
use crate::ecosystems::poetry::patch as poetry;
use crate::ecosystems::pom::patch as pom;
use crate::ecosystems::requirements::patch as requirements;
use crate::ecosystems::uv::patch as uv;
use crate::ecosystems::yarn::patch as yarn;

pub use crate::ecosystems::npm::overrides;
pub mod transitive;

pub use overrides::OverrideKind;

use crate::deps::{self, format_of, ManifestFormat, ParseError};
use crate::registry::{
    CrateRelease, GemRelease, GoModule, NpmRelease, NugetRelease, PackagistRelease, PypiRelease,
};

/// One requested version change.
pub struct PatchRequest<'a> {
    /// The lockfile or manifest [`deps::parse`] read, repository-relative.
    pub manifest_path: &'a str,
    /// The package name as the lockfile spells it.
    pub package: &'a str,
    /// The version in the lockfile now.
    pub from: &'a str,
    /// The version wanted.
    pub to: &'a str,
    /// Whether the project requires the package itself (its manifest may need a new range).
    pub direct: bool,
    /// Repository files by repository-relative path (the lockfile, its manifest, ...).
    pub files: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// Registry data about `to`, fetched beforehand as [`facts_needed`] says.
    pub facts: &'a RegistryFacts,
}

/// Registry data about the new version.
#[derive(Debug, Clone, Default)]
pub struct RegistryFacts {
    /// For Cargo: the crates.io index entry of `to`.
    pub crate_release: Option<CrateRelease>,
    /// For Cargo: the index entries of the locked packages that depend on the package at
    /// `from` (list them with [`cargo_dependents`]), so that their requirements on it are
    /// checked too (`serde_derive = "=1.0.x"` style pins). `None` skips that check.
    pub crate_dependents: Option<Vec<CrateRelease>>,
    /// For npm lockfiles: the packument entry of `to`.
    pub npm_release: Option<NpmRelease>,
    /// For PyPI files: the JSON API answer for `to`.
    pub pypi_release: Option<PypiRelease>,
    /// For pnpm-lock.yaml: the packument entries of the locked packages that depend on the
    /// package at `from` (list them with [`npm_dependents`]): the lock has no ranges of its
    /// own, so each parent's range on the package comes from its registry entry.
    pub npm_dependents: Option<Vec<NpmRelease>>,
    /// For `uv.lock`: the PyPI entries of the locked packages that depend on the package at
    /// `from` (list them with [`pypi_dependents`]): the lock has no requirements of its own, so
    /// each parent's comes from its `requires_dist`. `None` skips that check.
    pub pypi_dependents: Option<Vec<PypiRelease>>,
    /// For `Gemfile.lock`: rubygems.org's entry of `to`.
    pub gem_release: Option<GemRelease>,
    /// For `composer.lock`: Packagist's metadata of `to`.
    pub packagist_release: Option<PackagistRelease>,
    /// For `go.mod`: the module proxy's `.mod` of `to` and the go.sum hashes computed from its
    /// `.mod` and `.zip`.
    pub go_module: Option<GoModule>,
    /// For `packages.lock.json`: the NuGet registry's entry of `to` (contentHash, dependency
    /// groups).
    pub nuget_release: Option<NugetRelease>,
    /// For `packages.lock.json`: the files that may declare a direct dependency's version
    /// (the project files beside the lock, the nearest `Directory.Packages.props`), listed
    /// from the repository tree with [`nuget_files`] and fetched into the request's files.
    pub nuget_project_files: Vec<String>,
}

/// Which registry calls the caller must make before [`patch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactsNeeded {
    /// `Registry::crate_release(package, to)`.
    pub crate_release: bool,
    /// `Registry::crate_release(name, version)` for each of [`cargo_dependents`] (optional:
    /// without them, the dependents' requirements are not checked).
    pub crate_dependents: bool,
    /// `Registry::npm_release(package, to)`.
    pub npm_release: bool,
    /// `Registry::pypi_release(package, to)`.
    pub pypi_release: bool,
    /// `Registry::npm_release(name, version)` for each of [`npm_dependents`].
    pub npm_dependents: bool,
    /// `Registry::pypi_release(name, version)` for each of [`pypi_dependents`].
    pub pypi_dependents: bool,
    /// `Registry::gem_release(package, to)`.
    pub gem_release: bool,
    /// `Registry::packagist_versions(package)`, the one that is `to`.
    pub packagist_release: bool,
    /// `Registry::go_module(package, to)` (the `.mod` and `.zip` from the module proxy).
    pub go_module: bool,
    /// `Registry::nuget_release(package, to)`, and the repository tree for [`nuget_files`].
    pub nuget_release: bool,
}

/// One file's full new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Repository-relative path.
    pub path: String,
    /// The whole new content.
    pub content: Vec<u8>,
}

/// A parent's installed version and the range it declares on the package (each empty when
/// the format does not say).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParentRange {
    /// The parent's installed version.
    pub version: String,
    /// Its range on the package.
    pub range: String,
}

/// Why no patch was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The change cannot be made by editing these files alone (or not by backline yet).
    #[error("not fixable by an edit: {reason}")]
    NotFixable {
        /// What is needed, for the merge request or plan.
        reason: String,
    },
    /// A package in the tree declares a range on the package that excludes the new version:
    /// that parent must allow it first.
    #[error("not fixable by an edit: {message}")]
    ParentExcludes {
        /// The parent's name.
        parent: String,
        /// The parent's installed version and its range on the package.
        at: Box<ParentRange>,
        /// The package.
        package: String,
        /// The new version.
        to: String,
        /// The whole reason (names the parent, its version and its range).
        message: String,
    },
    /// A file could not be read.
    #[error(transparent)]
    Unreadable(#[from] ParseError),
}

impl PatchError {
    /// The reason a person reads (without the `not fixable by an edit:` lead).
    pub fn reason(&self) -> String {
        match self {
            PatchError::NotFixable { reason } => reason.clone(),
            PatchError::ParentExcludes { message, .. } => message.clone(),
            PatchError::Unreadable(e) => e.to_string(),
        }
    }

    /// Why one installed copy stays where it is, in the plan's words: `needs <parent> to
    /// allow <pkg> >= N` when a parent's range excludes the fix.
    pub fn copy_reason(&self) -> String {
        match self {
            PatchError::ParentExcludes {
                parent,
                package,
                to,
                message,
                ..
            } => format!("needs {parent} to allow {package} >= {to} ({message})"),
            other => other.reason(),
        }
    }
}

/// Refuses a patch because `parent` (at `parent_version`, when known) requires `range`.
pub(crate) fn parent_excludes<T>(
    parent: &str,
    parent_version: &str,
    package: &str,
    range: &str,
    to: &str,
) -> Result<T, PatchError> {
    Err(PatchError::ParentExcludes {
        parent: parent.to_string(),
        at: Box::new(ParentRange {
            version: parent_version.to_string(),
            range: range.to_string(),
        }),
        package: package.to_string(),
        to: to.to_string(),
        message: format!(
            "{parent} {parent_version} requires {package} `{range}`, which excludes {to}; upgrade {parent} first"
        ),
    })
}

pub(crate) fn not_fixable<T>(reason: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError::NotFixable {
        reason: reason.into(),
    })
}

/// The fetched npm registry entry of the requested package at the requested version (npm,
/// yarn v1 and pnpm lockfiles all need it).
pub(crate) fn npm_release_wanted<'a>(req: &'a PatchRequest) -> Result<&'a NpmRelease, PatchError> {
    match req
        .facts
        .npm_release
        .as_ref()
        .filter(|r| r.name == req.package && r.version == req.to)
    {
        Some(release) => Ok(release),
        None => not_fixable(format!(
            "the npm registry entry of {} {} was not fetched",
            req.package, req.to
        )),
    }
}

/// The registry calls [`patch`] needs for a manifest path.
pub fn facts_needed(manifest_path: &str) -> FactsNeeded {
    match format_of(manifest_path) {
        Some(ManifestFormat::CargoLock) => FactsNeeded {
            crate_release: true,
            crate_dependents: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::PackageLock | ManifestFormat::YarnLock) => FactsNeeded {
            npm_release: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::PnpmLock) => FactsNeeded {
            npm_release: true,
            npm_dependents: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::UvLock) => FactsNeeded {
            pypi_release: true,
            pypi_dependents: true,
            ..FactsNeeded::default()
        },
        Some(
            ManifestFormat::Requirements | ManifestFormat::PoetryLock | ManifestFormat::PipfileLock,
        ) => FactsNeeded {
            pypi_release: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::GemfileLock) => FactsNeeded {
            gem_release: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::ComposerLock) => FactsNeeded {
            packagist_release: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::GoMod) => FactsNeeded {
            go_module: true,
            ..FactsNeeded::default()
        },
        Some(ManifestFormat::NugetLock) => FactsNeeded {
            nuget_release: true,
            ..FactsNeeded::default()
        },
        _ => FactsNeeded::default(),
    }
}

/// Files beside the manifest that [`patch`] may edit but the manifest's parse does not read
/// (so [`crate::deps::parse`]'s lookups do not bring them): fetch them into the request's
/// files when they exist.
pub fn files_to_edit(manifest_path: &str) -> Vec<String> {
    let names: &[&str] = match format_of(manifest_path) {
        Some(ManifestFormat::UvLock) => &["pyproject.toml"],
        Some(ManifestFormat::GoMod) => &["go.sum"],
        // pnpm's reader needs only the lock (its importers), but a bumped specifier, a parent
        // bump of a direct dependency and `pnpm.overrides` edit package.json.
        Some(ManifestFormat::PnpmLock) => &["package.json"],
        _ => &[],
    };
    names.iter().map(|n| sibling(manifest_path, n)).collect()
}

/// The files a `packages.lock.json` fix may edit besides the lock, from the repository's
/// tree listing: the project files beside it and the nearest `Directory.Packages.props`.
pub fn nuget_files(lock_path: &str, tree: &[String]) -> Vec<String> {
    crate::ecosystems::nuget::project::files_for(lock_path, tree)
}

/// The registry packages (name, version) in a `Cargo.lock` that depend on `package` at
/// `from`: fetch their index entries into [`RegistryFacts::crate_dependents`]. Empty when
/// the lock cannot be read.
pub fn cargo_dependents(lock: &[u8], package: &str, from: &str) -> Vec<(String, String)> {
    cargo::dependents(lock, package, from)
}

/// The locked packages (name, version) in a `pnpm-lock.yaml` that depend on `package` at
/// `from`: fetch their packument entries into [`RegistryFacts::npm_dependents`].
pub fn npm_dependents(lock: &[u8], package: &str, from: &str) -> Vec<(String, String)> {
    pnpm::dependents(lock, package, from)
}

/// The locked registry packages (name, version) in a `uv.lock` that depend on `package` at
/// `from`: fetch their PyPI entries into [`RegistryFacts::pypi_dependents`].
pub fn pypi_dependents(lock: &[u8], package: &str, from: &str) -> Vec<(String, String)> {
    crate::ecosystems::uv::parents::dependents(lock, package, from)
}

/// One installed version of a package and the places it is installed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCopy {
    /// The installed version.
    pub version: String,
    /// Where in the tree (`parent > package`; empty when the format has one place).
    pub paths: Vec<String>,
}

/// Several installed versions of one package, each with the registry facts its move needs.
pub struct CopiesRequest<'a> {
    /// The lockfile or manifest, repository-relative.
    pub manifest_path: &'a str,
    /// The package.
    pub package: &'a str,
    /// The version every copy moves to.
    pub to: &'a str,
    /// Whether the project requires the package itself.
    pub direct: bool,
    /// Repository files by repository-relative path.
    pub files: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// Each installed version (the title's first) with the facts [`facts_needed`] names for it.
    pub copies: &'a [(String, RegistryFacts)],
}

/// The edits that move every copy that can move, and the copies left with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiesPatch {
    /// Each changed file's full new content.
    pub changes: Vec<FileChange>,
    /// The copies the changes move.
    pub moved: Vec<PlacedCopy>,
    /// The copies they leave, each with `needs <parent> to allow <pkg> >= N` or another reason.
    pub left: Vec<(PlacedCopy, String)>,
}

/// Moves every installed version of a package that can move to `to`, one after the other on
/// the files the previous moves produced (so each checks the tree as it will be, and every
/// range in it: the manifest's and each parent's); a version refused is tried again after the
/// others moved, and left with the reason (`needs <parent> to allow <pkg> >= N`) when it still
/// cannot move. When no version can move, the first refusal is the answer.
pub fn patch_copies(req: &CopiesRequest) -> Result<CopiesPatch, PatchError> {
    let mut changes: Vec<FileChange> = Vec::new();
    let mut moved = Vec::new();
    let mut first_refusal: Option<PatchError> = None;
    // Copies still in place, with why; a move can make another possible (an old copy then
    // merges into the new locked version), so the refused ones are tried again while any moves.
    let mut pending: Vec<(usize, Option<(PlacedCopy, String)>)> =
        (0..req.copies.len()).map(|i| (i, None)).collect();
    loop {
        let mut progress = false;
        let mut still = Vec::new();
        for (i, _) in pending {
            let (from, facts) = &req.copies[i];
            let current = |p: &str| {
                changes
                    .iter()
                    .find(|c| c.path == p)
                    .map(|c| c.content.clone())
                    .or_else(|| (req.files)(p))
            };
            let placed = PlacedCopy {
                version: from.clone(),
                paths: current(req.manifest_path)
                    .map(|b| copy_paths(req.manifest_path, &b, req.package, from))
                    .unwrap_or_default(),
            };
            let one = PatchRequest {
                manifest_path: req.manifest_path,
                package: req.package,
                from,
                to: req.to,
                direct: req.direct,
                files: &current,
                facts,
            };
            match patch(&one) {
                Ok(done) => {
                    for c in done {
                        match changes.iter_mut().find(|x| x.path == c.path) {
                            Some(x) => x.content = c.content,
                            None => changes.push(c),
                        }
                    }
                    moved.push(placed);
                    progress = true;
                }
                Err(e @ PatchError::Unreadable(_)) => return Err(e),
                Err(e) => {
                    still.push((i, Some((placed, e.copy_reason()))));
                    first_refusal.get_or_insert(e);
                }
            }
        }
        pending = still;
        if !progress || pending.is_empty() {
            break;
        }
    }
    let left: Vec<(PlacedCopy, String)> = pending.into_iter().filter_map(|(_, l)| l).collect();
    match (moved.is_empty(), first_refusal) {
        (true, Some(e)) => Err(e),
        (true, None) => not_fixable(format!(
            "{} has no {} to move",
            req.manifest_path, req.package
        )),
        _ => Ok(CopiesPatch {
            changes,
            moved,
            left,
        }),
    }
}

/// The installed packages from the project down to `package` at `version` (itself last), each
/// with its version: where the lockfile says (package-lock v2/v3), else the package alone.
pub fn install_chain(
    path: &str,
    bytes: &[u8],
    package: &str,
    version: &str,
) -> Vec<(String, String)> {
    let found = match format_of(path) {
        Some(ManifestFormat::PackageLock) => npm::chain(bytes, package, version),
        Some(ManifestFormat::NugetLock) => nuget::chain(bytes, package, version),
        _ => Vec::new(),
    };
    if found.is_empty() {
        vec![(package.to_string(), version.to_string())]
    } else {
        found
    }
}

/// Where `package` at `version` is installed in a lockfile, in `parent > package` form
/// (empty when the format has one place).
pub fn copy_paths_of(path: &str, bytes: &[u8], package: &str, version: &str) -> Vec<String> {
    copy_paths(path, bytes, package, version)
}

/// Where `package` at `version` is installed in a lockfile, in `parent > package` form.
fn copy_paths(path: &str, bytes: &[u8], package: &str, version: &str) -> Vec<String> {
    match format_of(path) {
        Some(ManifestFormat::PackageLock) => npm::copy_paths(bytes, package, version),
        Some(ManifestFormat::YarnLock) => yarn::copy_paths(bytes, package, version),
        _ => Vec::new(),
    }
}

/// How a patch treats the ranges the package's parents declare on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ParentRule {
    /// Every parent's range must admit the new version (a plain move).
    #[default]
    Check,
    /// These parents (name, installed version) move in the same change (a parent bump): their
    /// present ranges are not checked; every other parent's is.
    Moving(Vec<(String, String)>),
    /// The new version is forced under every parent with a pinned override in the manifest
    /// (npm `overrides`, yarn `resolutions`, `pnpm.overrides`): no parent's range is checked.
    Override,
}

impl ParentRule {
    /// Whether a parent `name` at `version` whose range excludes the new version may stay.
    pub(crate) fn lets_pass(&self, name: &str, version: &str) -> bool {
        match self {
            ParentRule::Check => false,
            ParentRule::Moving(list) => list.iter().any(|(n, v)| n == name && v == version),
            ParentRule::Override => true,
        }
    }
}

/// The override a fix of this request would write (issue 18), `None` when the format has
/// none. NuGet's depends on the project: a central pin when Directory.Packages.props manages
/// versions centrally, else a direct reference.
pub fn override_kind(req: &PatchRequest) -> Option<OverrideKind> {
    match format_of(req.manifest_path)? {
        ManifestFormat::NugetLock => Some(crate::ecosystems::nuget::pin::kind_of(req).mechanism()),
        format => OverrideKind::of(format),
    }
}

/// Computes the edits that move `package` from `from` to `to`.
pub fn patch(req: &PatchRequest) -> Result<Vec<FileChange>, PatchError> {
    patch_with(req, &ParentRule::Check)
}

/// [`patch`] under a [`ParentRule`]: a parent bump's steps, or an override (which also writes
/// the override into the manifest the format reads it from).
pub fn patch_with(req: &PatchRequest, rule: &ParentRule) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    let format = format_of(path).ok_or_else(|| PatchError::NotFixable {
        reason: format!("{path} is not a manifest backline knows"),
    })?;
    let bytes = (req.files)(path).ok_or_else(|| PatchError::NotFixable {
        reason: format!("{path} could not be read from the repository"),
    })?;
    if req.from == req.to {
        return not_fixable(format!("{} is already at {}", req.package, req.to));
    }
    let changes = match format {
        ManifestFormat::CargoLock => cargo::patch(req, &bytes, rule)?,
        ManifestFormat::PackageLock => npm::patch(req, &bytes, rule)?,
        ManifestFormat::YarnLock => yarn::patch(req, &bytes, rule)?,
        ManifestFormat::PnpmLock => pnpm::patch(req, &bytes, rule)?,
        ManifestFormat::UvLock => uv::patch(req, &bytes, rule)?,
        // NuGet writes its own pin (`ecosystems/nuget/pin`).
        ManifestFormat::NugetLock => nuget::patch(req, &bytes, rule)?,
        _ if *rule == ParentRule::Override => {
            return not_fixable(overrides::none_for(format).to_string())
        }
        ManifestFormat::Requirements => requirements::patch(req, &bytes)?,
        ManifestFormat::PoetryLock => poetry::patch(req, &bytes)?,
        ManifestFormat::Pom => pom::patch(req, &bytes)?,
        ManifestFormat::PipfileLock => pipfile::patch(req, &bytes)?,
        ManifestFormat::GemfileLock => gemfile::patch(req, &bytes)?,
        ManifestFormat::ComposerLock => composer::patch(req, &bytes)?,
        ManifestFormat::GoMod => gomod::patch(req, &bytes)?,
    };
    let changes = if *rule == ParentRule::Override && format != ManifestFormat::NugetLock {
        overrides::write(req, format, changes)?
    } else {
        changes
    };
    verify(req, &changes)?;
    Ok(changes)
}

/// Parses the patched manifest again (with the other changed files in view) and checks the
/// package is at the new version and no longer at the old one.
fn verify(req: &PatchRequest, changes: &[FileChange]) -> Result<(), PatchError> {
    let path = req.manifest_path;
    let overlay = |p: &str| {
        changes
            .iter()
            .find(|c| c.path == p)
            .map(|c| c.content.clone())
            .or_else(|| (req.files)(p))
    };
    let Some(bytes) = overlay(path) else {
        return not_fixable(format!("{path} disappeared while patching"));
    };
    let eco = format_of(path).map(|f| f.ecosystem());
    let key = |n: &str| eco.map(|e| deps::name_key(e, n)).unwrap_or_default();
    let parsed = deps::parse(path, &bytes, &overlay).map_err(|e| PatchError::NotFixable {
        reason: format!("the patched {path} does not parse: {e}"),
    })?;
    // Packagist versions may be written with a leading `v` (`v1.0.1` is `1.0.1`).
    let same_version = |a: &str, b: &str| match eco {
        Some(crate::ecosystem::Ecosystem::Packagist) => {
            a.trim_start_matches('v') == b.trim_start_matches('v')
        }
        // NuGet compares normalized versions (`1.5` is `1.5.0`).
        Some(crate::ecosystem::Ecosystem::NuGet) => {
            use crate::ecosystems::nuget::version::normalize;
            a == b || (normalize(a).is_some() && normalize(a) == normalize(b))
        }
        _ => a == b,
    };
    let mine = |v: &str| {
        parsed.iter().any(|d| {
            d.source == deps::Source::Registry
                && key(&d.name) == key(req.package)
                && d.version.as_deref().is_some_and(|dv| same_version(dv, v))
        })
    };
    if !mine(req.to) || mine(req.from) {
        return not_fixable(format!(
            "internal check failed: the patched {path} does not show {} at {} alone",
            req.package, req.to
        ));
    }
    Ok(())
}

/// The path of `name` in the folder of `path` (`app/Pipfile.lock`, `Pipfile` → `app/Pipfile`).
pub(crate) fn sibling(path: &str, name: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

/// The line ending a text uses (`\r\n` when its first line ends so).
pub(crate) fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Splits text into lines that keep their endings, with each line's byte offset.
pub(crate) fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            out.push((start, &text[start..=i]));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, &text[start..]));
    }
    out
}

/// Applies non-overlapping `(start, end, replacement)` edits.
pub(crate) fn apply_edits(text: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (s, e, r) in edits {
        if s < at || e > text.len() || s > e {
            continue;
        }
        out.push_str(&text[at..s]);
        out.push_str(&r);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// Test helper: patching every prefix (at char boundaries) and some byte-flipped copies of a
/// file must answer without panicking.
#[cfg(test)]
pub(crate) fn assert_no_panic(
    path: &str,
    text: &str,
    package: &str,
    from: &str,
    to: &str,
    facts: &RegistryFacts,
) {
    let mut inputs: Vec<Vec<u8>> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .map(|i| text.as_bytes()[..i].to_vec())
        .collect();
    for (i, b) in text.bytes().enumerate().step_by(7) {
        let mut v = text.as_bytes().to_vec();
        v[i] = match b {
            b'"' => b'\'',
            b'\n' => b' ',
            b'=' => b'~',
            _ => b'"',
        };
        inputs.push(v);
    }
    for input in inputs {
        let files = |p: &str| (p == path).then(|| input.clone());
        let req = PatchRequest {
            manifest_path: path,
            package,
            from,
            to,
            direct: true,
            files: &files,
            facts,
        };
        let _ = patch(&req);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_formats_say_so() {
        let facts = RegistryFacts::default();
        let files = |_: &str| Some(b"module x\n".to_vec());
        let req = PatchRequest {
            manifest_path: "go.mod",
            package: "a",
            from: "1",
            to: "2",
            direct: true,
            files: &files,
            facts: &facts,
        };
        assert_eq!(
            patch(&req),
            Err(PatchError::NotFixable {
                reason: "the module proxy's a v2 (.mod and .zip) was not fetched".into()
            })
        );
        let req = PatchRequest {
            manifest_path: "packages.lock.json",
            ..req
        };
        // packages.lock.json is edited now: a file that is not JSON is a parse error.
        assert!(matches!(patch(&req), Err(PatchError::Unreadable(_))));
        assert!(facts_needed("a/Cargo.lock").crate_release);
        assert!(facts_needed("go.mod").go_module);
        assert_eq!(files_to_edit("svc/go.mod"), ["svc/go.sum"]);
    }

    #[test]
    fn helpers() {
        assert_eq!(line_ending("a\r\nb"), "\r\n");
        assert_eq!(lines_with_offsets("a\nbc"), vec![(0, "a\n"), (2, "bc")]);
        assert_eq!(
            apply_edits(
                "hello world",
                vec![(6, 11, "there".into()), (0, 1, "J".into())]
            ),
            "Jello there"
        );
    }
}

/// Shared pieces of the npm-family patch tests (package-lock.json and yarn.lock).
#[cfg(test)]
pub(crate) mod npm_test_support {
    use std::collections::BTreeMap;

    use super::{patch, PatchError, PatchRequest, RegistryFacts};
    use crate::registry::NpmRelease;

    /// lodash 4.17.21 as the npm registry publishes it, with the given dependencies.
    pub fn lodash(deps: &[(&str, &str)]) -> NpmRelease {
        NpmRelease {
            name: "lodash".into(),
            version: "4.17.21".into(),
            integrity: "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==".into(),
            shasum: Some("679591c564c3bffaae8454cf0b3df370c3d6911c".into()),
            tarball: "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz".into(),
            dependencies: deps
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
            optional_dependencies: BTreeMap::new(),
            peer_dependencies: BTreeMap::new(),
        }
    }

    /// Patches lodash 4.17.20 → 4.17.21 in `manifest` (with `package_json` beside it when given);
    /// the changed files as text.
    pub fn run_lodash(
        manifest: &str,
        lock: &str,
        package_json_path: &str,
        package_json: Option<&str>,
        rel: NpmRelease,
    ) -> Result<Vec<(String, String)>, PatchError> {
        run_lodash_from(
            manifest,
            lock,
            package_json_path,
            package_json,
            rel,
            "4.17.20",
        )
    }

    /// The lockfile at `manifest` and, when given, the package.json beside it.
    fn two_files(
        manifest: &str,
        lock: &str,
        package_json_path: &str,
        package_json: Option<&str>,
    ) -> impl Fn(&str) -> Option<Vec<u8>> {
        let (manifest_path, lock, pj_path, pj) = (
            manifest.to_string(),
            lock.to_string(),
            package_json_path.to_string(),
            package_json.map(str::to_string),
        );
        move |p: &str| {
            if p == manifest_path {
                Some(lock.clone().into_bytes())
            } else if p == pj_path {
                pj.clone().map(String::into_bytes)
            } else {
                None
            }
        }
    }

    /// Moves every copy of lodash at `versions` to 4.17.21 with [`super::patch_copies`].
    pub fn run_lodash_copies(
        manifest: &str,
        lock: &str,
        package_json_path: &str,
        package_json: Option<&str>,
        versions: &[&str],
    ) -> Result<super::CopiesPatch, PatchError> {
        let files = two_files(manifest, lock, package_json_path, package_json);
        let copies: Vec<(String, RegistryFacts)> = versions
            .iter()
            .map(|v| {
                (
                    v.to_string(),
                    RegistryFacts {
                        npm_release: Some(lodash(&[])),
                        ..Default::default()
                    },
                )
            })
            .collect();
        super::patch_copies(&super::CopiesRequest {
            manifest_path: manifest,
            package: "lodash",
            to: "4.17.21",
            direct: true,
            files: &files,
            copies: &copies,
        })
    }

    /// [`run_lodash`] from another installed version.
    pub fn run_lodash_from(
        manifest: &str,
        lock: &str,
        package_json_path: &str,
        package_json: Option<&str>,
        rel: NpmRelease,
        from: &str,
    ) -> Result<Vec<(String, String)>, PatchError> {
        let files = two_files(manifest, lock, package_json_path, package_json);
        let facts = RegistryFacts {
            npm_release: Some(rel),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: manifest,
            package: "lodash",
            from,
            to: "4.17.21",
            direct: true,
            files: &files,
            facts: &facts,
        };
        patch(&req).map(|cs| {
            cs.into_iter()
                .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
                .collect()
        })
    }
}
