//! [`FakeRegistry`]: an in-memory registry for tests.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{
    latest_crate, CrateDep, CrateRelease, DepKind, NpmRelease, PypiRelease, Registry, RegistryError,
};
use crate::ecosystem::Ecosystem;

/// An in-memory registry, filled with a builder API.
///
/// ```
/// use backline::registry::FakeRegistry;
/// let reg = FakeRegistry::new()
///     .crate_version("regex", "1.5.5", "ab", &[("memchr", "^2.4.0")])
///     .npm_latest("lodash", "4.17.21");
/// # let _ = reg;
/// ```
#[derive(Debug, Default, Clone)]
pub struct FakeRegistry {
    crates: BTreeMap<String, Vec<CrateRelease>>,
    npm: BTreeMap<String, Vec<NpmRelease>>,
    npm_latest: BTreeMap<String, String>,
    pypi: BTreeMap<String, Vec<PypiRelease>>,
    pypi_latest: BTreeMap<String, String>,
    gems: BTreeMap<String, Vec<super::GemRelease>>,
    packagist: BTreeMap<String, Vec<super::PackagistRelease>>,
    go: Vec<super::GoModule>,
    nuget: BTreeMap<String, Vec<super::NugetRelease>>,
}

impl FakeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a crate release.
    pub fn crate_release(mut self, release: CrateRelease) -> Self {
        self.crates
            .entry(release.name.clone())
            .or_default()
            .push(release);
        self
    }

    /// Adds a crate release with normal, non-optional dependencies `(name, req)`.
    pub fn crate_version(
        self,
        name: &str,
        version: &str,
        cksum: &str,
        deps: &[(&str, &str)],
    ) -> Self {
        self.crate_release(CrateRelease {
            name: name.into(),
            version: version.into(),
            cksum: cksum.into(),
            yanked: false,
            deps: deps
                .iter()
                .map(|(n, r)| CrateDep {
                    name: (*n).into(),
                    req: (*r).into(),
                    kind: DepKind::Normal,
                    optional: false,
                })
                .collect(),
        })
    }

    /// Adds an npm release; the last one added for a name is `latest` unless
    /// [`npm_latest`](Self::npm_latest) says otherwise.
    pub fn npm_release(mut self, release: NpmRelease) -> Self {
        self.npm_latest
            .entry(release.name.clone())
            .or_insert_with(|| release.version.clone());
        self.npm
            .entry(release.name.clone())
            .or_default()
            .push(release);
        self
    }

    /// Sets an npm package's `dist-tags.latest`.
    pub fn npm_latest(mut self, name: &str, version: &str) -> Self {
        self.npm_latest.insert(name.into(), version.into());
        self
    }

    /// Adds a PyPI release; the first one added for a name is `info.version` unless
    /// [`pypi_latest`](Self::pypi_latest) says otherwise.
    pub fn pypi_release(mut self, release: PypiRelease) -> Self {
        self.pypi_latest
            .entry(release.name.to_ascii_lowercase())
            .or_insert_with(|| release.version.clone());
        self.pypi
            .entry(release.name.to_ascii_lowercase())
            .or_default()
            .push(release);
        self
    }

    /// Adds a RubyGems version.
    pub fn gem_release(mut self, release: super::GemRelease) -> Self {
        self.gems
            .entry(release.name.clone())
            .or_default()
            .push(release);
        self
    }

    /// Adds a NuGet version (ids are case-insensitive).
    pub fn nuget_release(mut self, release: super::NugetRelease) -> Self {
        self.nuget
            .entry(release.id.to_ascii_lowercase())
            .or_default()
            .push(release);
        self
    }

    /// Adds a Packagist version.
    pub fn packagist_release(mut self, release: super::PackagistRelease) -> Self {
        self.packagist
            .entry(release.name.to_ascii_lowercase())
            .or_default()
            .push(release);
        self
    }

    /// Adds a Go module version (its hashes as the fixer would compute them).
    pub fn go_module(mut self, module: super::GoModule) -> Self {
        self.go.push(module);
        self
    }

    /// Sets a PyPI project's latest version.
    pub fn pypi_latest(mut self, name: &str, version: &str) -> Self {
        self.pypi_latest
            .insert(name.to_ascii_lowercase(), version.into());
        self
    }
}

#[async_trait]
impl Registry for FakeRegistry {
    async fn crate_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<CrateRelease>, RegistryError> {
        Ok(self
            .crates
            .get(name)
            .and_then(|v| v.iter().find(|r| r.version == version).cloned()))
    }

    async fn crate_versions(&self, name: &str) -> Result<Vec<CrateRelease>, RegistryError> {
        Ok(self.crates.get(name).cloned().unwrap_or_default())
    }

    async fn npm_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<NpmRelease>, RegistryError> {
        Ok(self
            .npm
            .get(name)
            .and_then(|v| v.iter().find(|r| r.version == version).cloned()))
    }

    async fn npm_versions(&self, name: &str) -> Result<Vec<NpmRelease>, RegistryError> {
        Ok(self.npm.get(name).cloned().unwrap_or_default())
    }

    async fn pypi_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PypiRelease>, RegistryError> {
        Ok(self
            .pypi
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.iter().find(|r| r.version == version).cloned()))
    }

    async fn gem_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<super::GemRelease>, RegistryError> {
        Ok(self
            .gems
            .get(name)
            .and_then(|v| v.iter().find(|r| r.version == version).cloned()))
    }

    async fn packagist_versions(
        &self,
        name: &str,
    ) -> Result<Vec<super::PackagistRelease>, RegistryError> {
        Ok(self
            .packagist
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default())
    }

    async fn go_module(
        &self,
        path: &str,
        version: &str,
    ) -> Result<Option<super::GoModule>, RegistryError> {
        let version = super::goproxy::go_version(version);
        Ok(self
            .go
            .iter()
            .find(|m| m.path == path && m.version == version)
            .cloned())
    }

    async fn nuget_release(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Option<super::NugetRelease>, RegistryError> {
        Ok(self
            .nuget
            .get(&id.to_ascii_lowercase())
            .and_then(|v| v.iter().find(|r| r.is_version(version)).cloned()))
    }

    async fn latest(
        &self,
        ecosystem: Ecosystem,
        name: &str,
    ) -> Result<Option<String>, RegistryError> {
        Ok(match ecosystem {
            Ecosystem::CratesIo => self.crates.get(name).and_then(|v| latest_crate(v)),
            Ecosystem::Npm => self.npm_latest.get(name).cloned(),
            Ecosystem::PyPI => self.pypi_latest.get(&name.to_ascii_lowercase()).cloned(),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_what_it_was_given() {
        let reg = FakeRegistry::new()
            .crate_version("regex", "1.5.4", "a", &[])
            .crate_version("regex", "1.5.5", "b", &[("memchr", "^2.4.0")]);
        let r = Registry::crate_release(&reg, "regex", "1.5.5")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.deps[0].req, "^2.4.0");
        assert!(Registry::crate_release(&reg, "regex", "9.9.9")
            .await
            .unwrap()
            .is_none());
        assert_eq!(reg.crate_versions("regex").await.unwrap().len(), 2);
        assert_eq!(
            reg.latest(Ecosystem::CratesIo, "regex")
                .await
                .unwrap()
                .as_deref(),
            Some("1.5.5")
        );
        assert_eq!(reg.latest(Ecosystem::Go, "x").await.unwrap(), None);
    }
}
