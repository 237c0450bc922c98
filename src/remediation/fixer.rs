//! The fixer the server uses: registry facts for the target version, then the format-preserving
//! patchers. A fix no edit can make correctly comes back as "not fixable" with the reason.

use std::sync::Arc;

use async_trait::async_trait;

use super::executor::{Edit, FixError, FixOutcome, FixRequest, Fixer};
use super::patch::{self, CopiesRequest, PatchError, PatchRequest, RegistryFacts};
use crate::config::Settings;
use crate::registry::{HttpRegistry, Registry, RegistryConfig, RegistryError};

/// Patches through a package registry.
pub struct PatchFixer {
    registry: Arc<dyn Registry>,
}

impl PatchFixer {
    /// A fixer over `registry`.
    pub fn new(registry: Arc<dyn Registry>) -> Self {
        PatchFixer { registry }
    }
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
        let mut copies = Vec::new();
        for from in std::iter::once(r.from).chain(r.others.iter().map(String::as_str)) {
            copies.push((from.to_string(), self.facts(r, from).await?));
        }
        let files = |p: &str| r.files.get(p).cloned();
        let request = CopiesRequest {
            manifest_path: r.manifest,
            package: r.package,
            to: r.to,
            direct: r.direct,
            files: &files,
            copies: &copies,
        };
        let done = patch::patch_copies(&request).map_err(patch_error)?;
        Ok(FixOutcome {
            edits: into_edits(done.changes),
            moved: done.moved,
            left: done.left,
        })
    }
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
        if needed.crate_dependents {
            // The locked packages that depend on this one: their requirements must still hold.
            let lock = r
                .files
                .get(r.manifest)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut dependents = Vec::new();
            for (name, version) in patch::cargo_dependents(lock, r.package, from) {
                if let Some(release) = self
                    .registry
                    .crate_release(&name, &version)
                    .await
                    .map_err(registry_error)?
                {
                    dependents.push(release);
                }
            }
            facts.crate_dependents = Some(dependents);
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
        if needed.pypi_release {
            facts.pypi_release = Some(
                self.registry
                    .pypi_release(r.package, r.to)
                    .await
                    .map_err(registry_error)?
                    .ok_or_else(missing)?,
            );
        }
        Ok(facts)
    }
}

/// The registry client for these settings: the public registries, or those the settings name.
/// A client that cannot be set up (a bad proxy or CA bundle) is an error: the service refuses
/// to start rather than run with no registry and report every fix as not fixable.
pub fn registry_for(settings: &Settings) -> Result<Arc<dyn Registry>, RegistryError> {
    let config: RegistryConfig = settings.registry_config();
    Ok(Arc::new(HttpRegistry::new(config)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_client_that_cannot_be_set_up_is_an_error_not_an_empty_fake() {
        let mut settings = Settings::with_data_dir(std::path::PathBuf::from("unused"));
        settings.network = crate::net::Network::unchecked(crate::net::ProxySettings {
            https: Some("http://[not a host".to_string()),
            http: None,
            no_proxy: None,
        });
        let err = registry_for(&settings).err().expect("refused");
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }
}
