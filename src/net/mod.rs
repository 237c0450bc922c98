//! One way to build every outgoing HTTP client (GitLab, the package registries, OSV downloads):
//! rustls trusting the system trust store plus the extra CAs of `BACKLINE_CA_FILE`, the proxies
//! of `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, and an error that says whose certificate was
//! refused and how to fix it.

pub mod failure;
pub mod proxy;
pub mod roots;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use failure::{describe, Failure};
pub use proxy::ProxySettings;

/// A network setting that cannot be used. Never carries a proxy's credentials.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The CA file is missing, unreadable, or holds no usable certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A proxy variable does not hold a usable URL.
    #[error("{variable} is not a usable proxy URL")]
    Proxy {
        /// The variable (`HTTPS_PROXY`, `HTTP_PROXY`).
        variable: &'static str,
    },
    /// reqwest refused the settings.
    #[error("could not build an HTTP client: {0}")]
    Build(String),
}

/// Whom outgoing connections trust and which proxies they go through. Cheap to clone.
#[derive(Clone)]
pub struct Network {
    ca_file: Option<PathBuf>,
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    proxy: ProxySettings,
}

impl Default for Network {
    /// The system trust store and the proxies of the environment.
    fn default() -> Self {
        Network {
            ca_file: None,
            extra_roots: Arc::new(Vec::new()),
            proxy: ProxySettings::from_env(),
        }
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("ca_file", &self.ca_file)
            .field("extra_roots", &self.extra_roots.len())
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Network {
    /// The system trust store, plus the CAs of `ca_file` when given, with `proxy`. A missing or
    /// unreadable file, or one without a valid PEM certificate, is an error now rather than a
    /// refused connection later.
    /// A network whose proxies are not checked (tests of what a bad one does downstream).
    #[cfg(test)]
    pub(crate) fn unchecked(proxy: ProxySettings) -> Network {
        Network {
            ca_file: None,
            extra_roots: Arc::new(Vec::new()),
            proxy,
        }
    }

    pub fn load(ca_file: Option<&Path>, proxy: ProxySettings) -> Result<Network, NetError> {
        let extra_roots = match ca_file {
            None => Vec::new(),
            Some(path) => roots::load_ca_file(path)?,
        };
        let network = Network {
            ca_file: ca_file.map(Path::to_path_buf),
            extra_roots: Arc::new(extra_roots),
            proxy,
        };
        // Proxy URLs and certificates are checked by reqwest when a client is built.
        network
            .client_builder()?
            .build()
            .map_err(|e| match ca_file {
                Some(path) => NetError::CaFile {
                    path: path.to_path_buf(),
                    reason: failure::chain(&e),
                },
                None => NetError::Build(failure::chain(&e)),
            })?;
        Ok(network)
    }

    /// The CA file in use, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The proxies in use.
    pub fn proxy(&self) -> &ProxySettings {
        &self.proxy
    }

    /// A client builder with this trust and these proxies; callers add timeouts, redirects and
    /// their user agent.
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder, NetError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("backline/", env!("CARGO_PKG_VERSION")))
            .tls_built_in_root_certs(false);
        let system = roots::system_roots();
        if system.is_empty() {
            // A system without a trust store (a scratch container): Mozilla's roots rather
            // than nothing at all.
            builder = builder.tls_built_in_webpki_certs(true);
        }
        for cert in system.iter().chain(self.extra_roots.iter()) {
            builder = builder.add_root_certificate(cert.clone());
        }
        self.proxy.apply(builder)
    }
}
