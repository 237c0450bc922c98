//! The fixer the server uses: registry facts for the target version, then the format-preserving
//! patchers. A fix no edit can make correctly comes back as "not fixable" with the reason.

use std::sync::Arc;

use async_trait::async_trait;

use super::executor::{Edit, FixError, FixOutcome, FixRequest, Fixer, PlacedCopy};
use super::patch::transitive::{self, MAX_DEPTH};
use super::patch::{
    self, CopiesRequest, FileChange, ParentRule, PatchError, PatchRequest, RegistryFacts,
};
use super::route::{FixRoute, ParentBump};
use crate::advisories::shared::AdvisoryIndex;
use crate::deps::{format_of, ManifestFormat};
use crate::registry::{HttpRegistry, Registry, RegistryConfig, RegistryError};

/// Patches through a package registry.
pub struct PatchFixer {
    registry: Arc<dyn Registry>,
    /// The advisories a parent release bumped to is checked against; without them no parent
    /// is bumped (an unchecked release could be vulnerable itself).
    advisories: std::sync::OnceLock<AdvisoryIndex>,
}

impl PatchFixer {
    /// A fixer over `registry`.
    pub fn new(registry: Arc<dyn Registry>) -> Self {
        PatchFixer {
            registry,
            advisories: std::sync::OnceLock::new(),
        }
    }
}

/// A parent's range excluded the fix: who, at which version, with which range.
#[derive(Debug, Clone)]
struct Exclusion {
    parent: String,
    parent_version: String,
    range: String,
}

/// One move of a parent bump: the package itself first, then each parent.
struct Step {
    package: String,
    from: String,
    to: String,
    facts: RegistryFacts,
}

fn registry_error(e: crate::registry::RegistryError) -> FixError {
    match e.unreachable() {
        Some(unreachable) => FixError::Registry(unreachable),
        None => FixError::NotFixable(e.to_string()),
    }
}

#[async_trait]
impl Fixer for PatchFixer {
    async fn edits(&self, r: &FixRequest<'_>) -> Result<Vec<Edit>, FixError> {
        let facts = self.facts(r, r.from).await?;
        let files = |p: &str| r.files.get(p).cloned();
        let request = PatchRequest {
            manifest_path: r.manifest,
            package: r.package,
            from: r.from,
            to: r.to,
            direct: r.direct,
            files: &files,
            facts: &facts,
        };
        patch::patch(&request).map(into_edits).map_err(patch_error)
    }

    async fn fix(&self, r: &FixRequest<'_>) -> Result<FixOutcome, FixError> {
        let mut copies: Vec<(String, RegistryFacts)> = Vec::new();
        for from in std::iter::once(r.from).chain(r.others.iter().map(String::as_str)) {
            copies.push((from.to_string(), self.facts(r, from).await?));
        }
        let result = {
            let files = |p: &str| r.files.get(p).cloned();
            patch::patch_copies(&CopiesRequest {
                manifest_path: r.manifest,
                package: r.package,
                to: r.to,
                direct: r.direct,
                files: &files,
                copies: &copies,
            })
        };
        match result {
            Ok(done) => Ok(FixOutcome {
                edits: into_edits(done.changes),
                moved: done.moved,
                left: done.left,
                route: FixRoute::Direct,
            }),
            Err(PatchError::ParentExcludes { parent, at, .. }) => {
                let first = Exclusion {
                    parent,
                    parent_version: at.version,
                    range: at.range,
                };
                self.transitive(r, copies.swap_remove(0).1, first).await
            }
            Err(e) => Err(patch_error(e)),
        }
    }

    fn use_advisories(&self, index: AdvisoryIndex) {
        // Set once, at start: a second call keeps the first index (the same shared one).
        let _ = self.advisories.set(index);
    }
}

/// Applies a parent bump's moves in order on the files the previous ones produced: each move
/// lets its own parent (the next step, at its installed version) keep its present range, since
/// that parent moves next; the last is checked in full. The error names the failing step.
fn apply_steps(
    r: &FixRequest<'_>,
    steps: &[Step],
) -> Result<Vec<FileChange>, Box<(usize, PatchError)>> {
    let mut changes: Vec<FileChange> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let current = |p: &str| {
            changes
                .iter()
                .find(|c| c.path == p)
                .map(|c| c.content.clone())
                .or_else(|| r.files.get(p).cloned())
        };
        let rule = match steps.get(i + 1) {
            Some(next) => ParentRule::Moving(vec![(next.package.clone(), next.from.clone())]),
            None => ParentRule::Check,
        };
        let request = PatchRequest {
            manifest_path: r.manifest,
            package: &step.package,
            from: &step.from,
            to: &step.to,
            // The package itself may be direct too; its parents are moved as the lock says.
            direct: if i == 0 { r.direct } else { false },
            files: &current,
            facts: &step.facts,
        };
        let done = patch::patch_with(&request, &rule).map_err(|e| Box::new((i, e)))?;
        for c in done {
            match changes.iter_mut().find(|x| x.path == c.path) {
                Some(x) => x.content = c.content,
                None => changes.push(c),
            }
        }
    }
    Ok(changes)
}

/// The formats whose parents backline bumps (issue 18).
fn bumps_parents(format: ManifestFormat) -> bool {
    matches!(
        format,
        ManifestFormat::PackageLock
            | ManifestFormat::YarnLock
            | ManifestFormat::PnpmLock
            | ManifestFormat::CargoLock
    )
}

fn into_edits(changes: Vec<patch::FileChange>) -> Vec<Edit> {
    changes
        .into_iter()
        .map(|c| Edit {
            path: c.path,
            content: c.content,
        })
        .collect()
}

fn patch_error(e: PatchError) -> FixError {
    FixError::NotFixable(e.reason())
}

impl PatchFixer {
    /// A parent's range excludes the fix (issue 18): bump parents to the smallest releases
    /// that allow it (up to [`MAX_DEPTH`] up), else pin an override where the ecosystem has
    /// one, else name the chain that blocks it.
    async fn transitive(
        &self,
        r: &FixRequest<'_>,
        facts: RegistryFacts,
        first: Exclusion,
    ) -> Result<FixOutcome, FixError> {
        let format = format_of(r.manifest);
        let mut steps = vec![Step {
            package: r.package.to_string(),
            from: r.from.to_string(),
            to: r.to.to_string(),
            facts: facts.clone(),
        }];
        let mut exclusion = first.clone();
        let no_bump: String = loop {
            if !format.is_some_and(bumps_parents) {
                break "backline bumps parents in package-lock.json, yarn.lock v1, pnpm-lock.yaml and Cargo.lock only".to_string();
            }
            if steps.len() > MAX_DEPTH {
                break format!("the bump would move more than {MAX_DEPTH} parents");
            }
            let Some(index) = self.advisories.get() else {
                break "the advisories are not loaded, so no parent release can be checked"
                    .to_string();
            };
            let index = index.current();
            let below = steps.last().map(|s| (s.package.clone(), s.to.clone()));
            let (below_pkg, below_to) = below.unwrap_or_default();
            let vulnerable = |v: &str| {
                index
                    .matches(r.ecosystem, &exclusion.parent, v)
                    .iter()
                    .any(|m| m.kind == crate::advisories::AdvisoryKind::Vulnerability)
            };
            let want = transitive::Wanted {
                installed: &exclusion.parent_version,
                package: &below_pkg,
                to: &below_to,
            };
            let step = if format == Some(ManifestFormat::CargoLock) {
                self.crate_parent_step(r, &exclusion, want, &vulnerable)
                    .await?
            } else {
                self.npm_parent_step(r, &exclusion, want, &vulnerable)
                    .await?
            };
            match step {
                Ok(step) => steps.push(step),
                Err(e) => break e.to_string(),
            }
            match apply_steps(r, &steps).map_err(|b| *b) {
                Ok(changes) => {
                    let bumps = steps[1..]
                        .iter()
                        .map(|s| ParentBump {
                            package: s.package.clone(),
                            from: s.from.clone(),
                            to: s.to.clone(),
                        })
                        .collect();
                    return Ok(self.with_others(r, changes, FixRoute::ParentBump { bumps }));
                }
                Err((step, PatchError::ParentExcludes { parent, at, .. }))
                    if step + 1 == steps.len() =>
                {
                    exclusion = Exclusion {
                        parent,
                        parent_version: at.version,
                        range: at.range,
                    };
                }
                Err((at, e)) => {
                    break format!(
                        "moving {} to {}: {}",
                        steps[at].package,
                        steps[at].to,
                        e.reason()
                    )
                }
            }
        };
        let blocked = |reason: String| {
            let lock = r
                .files
                .get(r.manifest)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let parents =
                patch::install_chain(r.manifest, lock, &first.parent, &first.parent_version);
            FixError::Blocked {
                chain: transitive::blocked_chain(&parents, r.package, &first.range, r.to),
                reason,
            }
        };
        let files = |p: &str| r.files.get(p).cloned();
        let request = PatchRequest {
            manifest_path: r.manifest,
            package: r.package,
            from: r.from,
            to: r.to,
            direct: r.direct,
            files: &files,
            facts: &facts,
        };
        // The override the format has (NuGet's depends on the project's files).
        let Some(mechanism) = patch::override_kind(&request) else {
            let none = format
                .map(patch::overrides::none_for)
                .unwrap_or("no override");
            return Err(blocked(format!("no parent bump: {no_bump}; {none}")));
        };
        match patch::patch_with(&request, &ParentRule::Override) {
            Ok(changes) => {
                let reason = format!(
                    "{} {} requires {} `{}`, which excludes {}; no parent bump: {no_bump}",
                    first.parent, first.parent_version, r.package, first.range, r.to
                );
                Ok(self.with_others(r, changes, FixRoute::Override { mechanism, reason }))
            }
            Err(e) => Err(blocked(format!(
                "no parent bump: {no_bump}; no {}: {}",
                mechanism.field(),
                e.reason()
            ))),
        }
    }

    /// The outcome of a transitive fix that moves `r.from`: the other vulnerable copies are
    /// left as they are, each with why.
    fn with_others(
        &self,
        r: &FixRequest<'_>,
        changes: Vec<FileChange>,
        route: FixRoute,
    ) -> FixOutcome {
        let placed = |version: &str, bytes: Option<&Vec<u8>>| PlacedCopy {
            version: version.to_string(),
            paths: bytes
                .map(|b| patch::copy_paths_of(r.manifest, b, r.package, version))
                .unwrap_or_default(),
        };
        let lock = r.files.get(r.manifest);
        FixOutcome {
            edits: into_edits(changes),
            moved: vec![placed(r.from, lock)],
            left: r
                .others
                .iter()
                .map(|v| {
                    (
                        placed(v, lock),
                        format!(
                            "this fix moves {} {} through its parents; this copy moves in a later fix",
                            r.package, r.from
                        ),
                    )
                })
                .collect(),
            route,
        }
    }

    /// The parent step of an npm-family lock: the parent's smallest admitting release from
    /// its packument (pnpm: with its own parents' registry entries).
    async fn npm_parent_step(
        &self,
        r: &FixRequest<'_>,
        exclusion: &Exclusion,
        want: transitive::Wanted<'_>,
        vulnerable: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Result<Step, transitive::NoParentRelease>, FixError> {
        let releases = self
            .registry
            .npm_versions(&exclusion.parent)
            .await
            .map_err(registry_error)?;
        let release = match transitive::parent_release(
            &releases,
            want.installed,
            want.package,
            want.to,
            vulnerable,
        ) {
            Ok(release) => release.clone(),
            Err(e) => return Ok(Err(e)),
        };
        let mut facts = RegistryFacts {
            npm_release: Some(release.clone()),
            ..RegistryFacts::default()
        };
        if patch::facts_needed(r.manifest).npm_dependents {
            // pnpm: the parent's own parents' ranges come from their registry entries.
            facts.npm_dependents = Some(
                self.npm_dependents(r, &exclusion.parent, &exclusion.parent_version)
                    .await?,
            );
        }
        Ok(Ok(Step {
            package: exclusion.parent.clone(),
            from: exclusion.parent_version.clone(),
            to: release.version,
            facts,
        }))
    }

    /// The parent step of a Cargo.lock (issue 18): the dependent crate's smallest admitting
    /// release from the crates.io index, with the index entries of the crates depending on it.
    async fn crate_parent_step(
        &self,
        r: &FixRequest<'_>,
        exclusion: &Exclusion,
        want: transitive::Wanted<'_>,
        vulnerable: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Result<Step, transitive::NoParentRelease>, FixError> {
        let releases = self
            .registry
            .crate_versions(&exclusion.parent)
            .await
            .map_err(registry_error)?;
        let release = match transitive::parent_crate_release(&releases, want, vulnerable) {
            Ok(release) => release.clone(),
            Err(e) => return Ok(Err(e)),
        };
        let lock = r
            .files
            .get(r.manifest)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let registry = &self.registry;
        let dependents = releases_of(
            patch::cargo_dependents(lock, &exclusion.parent, &exclusion.parent_version),
            |n, v| async move { registry.crate_release(&n, &v).await },
        )
        .await?;
        Ok(Ok(Step {
            package: exclusion.parent.clone(),
            from: exclusion.parent_version.clone(),
            to: release.version.clone(),
            facts: RegistryFacts {
                crate_release: Some(release),
                crate_dependents: Some(dependents),
                ..RegistryFacts::default()
            },
        }))
    }

    /// The registry entries of the packages the lock has depending on `package` at `version`.
    async fn npm_dependents(
        &self,
        r: &FixRequest<'_>,
        package: &str,
        version: &str,
    ) -> Result<Vec<crate::registry::NpmRelease>, FixError> {
        let lock = r
            .files
            .get(r.manifest)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let registry = &self.registry;
        releases_of(
            patch::npm_dependents(lock, package, version),
            |n, v| async move { registry.npm_release(&n, &v).await },
        )
        .await
    }

    /// The registry facts moving `from` to `r.to` needs.
    async fn facts(&self, r: &FixRequest<'_>, from: &str) -> Result<RegistryFacts, FixError> {
        let needed = patch::facts_needed(r.manifest);
        let mut facts = RegistryFacts::default();
        let missing =
            || FixError::NotFixable(format!("the registry does not list {} {}", r.package, r.to));
        if needed.crate_release {
            facts.crate_release = Some(
                self.registry
                    .crate_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
        }
        let lock = r
            .files
            .get(r.manifest)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if needed.crate_dependents {
            // The locked packages that depend on this one: their requirements must still hold.
            let registry = &self.registry;
            facts.crate_dependents = Some(
                releases_of(
                    patch::cargo_dependents(lock, r.package, from),
                    |n, v| async move { registry.crate_release(&n, &v).await },
                )
                .await?,
            );
        }
        if needed.npm_release {
            facts.npm_release = Some(
                self.registry
                    .npm_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
        }
        if needed.npm_dependents {
            // The locked packages that depend on this copy: their ranges come from the registry.
            facts.npm_dependents = Some(self.npm_dependents(r, r.package, from).await?);
        }
        if needed.pypi_release {
            facts.pypi_release = Some(
                self.registry
                    .pypi_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
        }
        if needed.pypi_dependents {
            // uv.lock: the locked packages that depend on this one; their requirements come
            // from their PyPI entries.
            let registry = &self.registry;
            facts.pypi_dependents = Some(
                releases_of(
                    patch::pypi_dependents(lock, r.package, from),
                    |n, v| async move { registry.pypi_release(&n, &v).await },
                )
                .await?,
            );
        }
        if needed.gem_release {
            facts.gem_release = Some(
                self.registry
                    .gem_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
        }
        if needed.packagist_release {
            let versions = self
                .registry
                .packagist_versions(r.package)
                .await
                .map_err(registry_error)?;
            facts.packagist_release = Some(
                versions
                    .into_iter()
                    .find(|v| v.is_version(r.to))
                    .ok_or_else(missing)?,
            );
        }
        if needed.go_module {
            // The .mod and .zip from the module proxies; the go.sum hashes computed from them.
            facts.go_module = Some(
                self.registry
                    .go_module(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(|| {
                        FixError::NotFixable(format!(
                            "the module proxy does not have {} {}",
                            r.package,
                            backline_core::registry::goproxy::go_version(r.to)
                        ))
                    })?,
            );
        }
        if needed.nuget_release {
            facts.nuget_release = Some(
                self.registry
                    .nuget_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
            // The executor fetched the project files the tree lists beside the lock.
            let listed: Vec<String> = r.files.keys().cloned().collect();
            facts.nuget_project_files = patch::nuget_files(r.manifest, &listed);
        }
        Ok(facts)
    }
}

/// The registry entries of locked packages (`(name, version)` pairs), skipping those the
/// registry does not have.
async fn releases_of<T, F, Fut>(pairs: Vec<(String, String)>, fetch: F) -> Result<Vec<T>, FixError>
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, crate::registry::RegistryError>>,
{
    let mut out = Vec::new();
    for (name, version) in pairs {
        if let Some(release) = fetch(name, version).await.map_err(registry_error)? {
            out.push(release);
        }
    }
    Ok(out)
}

/// The registry client for `config` (from `Settings::registry_config`: the public registries,
/// or those the settings name). A client that cannot be set up (a bad proxy or CA bundle) is an
/// error: the service refuses to start rather than run with no registry and report every fix as
/// not fixable.
pub fn registry_for(config: RegistryConfig) -> Result<Arc<dyn Registry>, RegistryError> {
    Ok(Arc::new(HttpRegistry::new(config)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_client_that_cannot_be_set_up_is_an_error_not_an_empty_fake() {
        let mut settings =
            crate::config::Settings::with_data_dir(std::path::PathBuf::from("unused"));
        settings.network = crate::net::Network::unchecked(crate::net::ProxySettings {
            https: Some("http://[not a host".to_string()),
            http: None,
            no_proxy: None,
        });
        let err = registry_for(settings.registry_config())
            .err()
            .expect("refused");
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }
}
