//! The GOPROXY protocol client (https://go.dev/ref/mod#goproxy-protocol): for one module
//! version, `/@v/<v>.info` (the proxy's canonical version), `/@v/<v>.mod` and `/@v/<v>.zip`,
//! from each proxy of `BACKLINE_GOPROXY` in turn as cmd/go/internal/modfetch/proxy.go's
//! `tryProxies` does: after a `,` the next proxy is asked only when this one answers 404 or
//! 410; after a `|`, after any error. `direct` and `off` end the list (backline has no VCS
//! fetching). The go.sum hashes are computed here from the downloaded `.mod` and `.zip`
//! (never taken from elsewhere); the zip is read in memory, at most [`MAX_GO_ZIP_BYTES`]
//! downloaded (`RegistryConfig::go_zip_limit`, [`super::MAX_GO_ZIP_BYTES`] by default) and
//! [`dirhash::MAX_ZIP_UNCOMPRESSED`] inflated. `sum.golang.org` is not asked
//! (no cross-check against the checksum database).

use backline_core::ecosystems::gomod::dirhash;
use backline_core::registry::goproxy::{self, Fallback};
use serde::Deserialize;

use super::{HttpRegistry, MAX_GO_MOD_BYTES};
use crate::registry::{GoModule, RegistryError};

#[derive(Deserialize)]
struct Info {
    #[serde(rename = "Version")]
    version: String,
}

impl HttpRegistry {
    /// [`crate::registry::Registry::go_module`] over the proxy list.
    pub(super) async fn go_module_from_proxies(
        &self,
        path: &str,
        version: &str,
    ) -> Result<Option<GoModule>, RegistryError> {
        let version = goproxy::go_version(version);
        let mut last_error = None;
        for (proxy, fallback) in self.config.goproxy.urls() {
            match self.go_module_from(proxy, path, &version).await {
                Ok(Some(m)) => return Ok(Some(m)),
                Ok(None) => last_error = None,
                Err(e @ RegistryError::InvalidName(_)) => return Err(e),
                Err(e) if fallback == Fallback::OnAnyError => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        match last_error {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// One proxy's answer.
    async fn go_module_from(
        &self,
        proxy: &str,
        path: &str,
        version: &str,
    ) -> Result<Option<GoModule>, RegistryError> {
        let url = |ext: &str| {
            goproxy::version_url(proxy, path, version, ext)
                .map_err(|e| RegistryError::InvalidName(e.to_string()))
        };
        let info_url = url("info")?;
        let Some(info) = self.get_limited(&info_url, 64 << 10).await? else {
            return Ok(None);
        };
        let info: Info = serde_json::from_slice(&info).map_err(|e| RegistryError::Malformed {
            url: info_url.clone(),
            message: e.to_string(),
        })?;
        if info.version != version {
            // A query or a non-canonical version: the proxy names another one.
            return Err(RegistryError::Malformed {
                url: info_url,
                message: format!("the proxy calls it {}", escape_for_log(&info.version)),
            });
        }
        let mod_url = url("mod")?;
        let Some(go_mod) = self.get_limited(&mod_url, MAX_GO_MOD_BYTES).await? else {
            return Ok(None);
        };
        let go_mod = String::from_utf8(go_mod.to_vec()).map_err(|_| RegistryError::Malformed {
            url: mod_url.clone(),
            message: "go.mod is not UTF-8".into(),
        })?;
        let zip_url = url("zip")?;
        let Some(zip) = self.get_limited(&zip_url, self.config.go_zip_limit).await? else {
            return Ok(None);
        };
        // Inflating and hashing up to 500 MiB is CPU work: off the async workers.
        let zip_hash = tokio::task::spawn_blocking(move || {
            dirhash::hash_zip(&zip, dirhash::MAX_ZIP_UNCOMPRESSED)
        })
        .await
        .map_err(|e| RegistryError::Malformed {
            url: zip_url.clone(),
            message: e.to_string(),
        })?
        .map_err(|e| RegistryError::Malformed {
            url: zip_url,
            message: e.to_string(),
        })?;
        Ok(Some(GoModule {
            path: path.to_string(),
            version: version.to_string(),
            go_mod_hash: dirhash::hash_go_mod(go_mod.as_bytes()),
            go_mod,
            zip_hash,
        }))
    }
}

/// A proxy's text in an error: printable ASCII only, at most 80 characters.
fn escape_for_log(s: &str) -> String {
    s.chars()
        .take(80)
        .flat_map(|c| {
            if c.is_ascii_graphic() {
                vec![c]
            } else {
                c.escape_default().collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
