//! [`HttpRegistry`]: the registries over HTTP (reqwest with rustls).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use serde_json::Value;

use super::{
    index_path, latest_crate, parse_index, parse_npm_version, parse_packument, parse_pypi_release,
    CrateRelease, NpmRelease, PypiRelease, Registry, RegistryError,
};
use crate::ecosystem::Ecosystem;
use crate::retry::{parse_retry_after, Decision, RetryPolicy, Sleeper, TokioSleeper};

/// Where the registries are and how patiently to ask them.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The crates.io sparse index root (`BACKLINE_CRATES_INDEX_URL`).
    pub crates_index_url: String,
    /// The npm registry root (`BACKLINE_NPM_REGISTRY_URL`).
    pub npm_url: String,
    /// The PyPI root; the JSON API is below `/pypi/` (`BACKLINE_PYPI_URL`).
    pub pypi_url: String,
    /// The RubyGems root; the API is below `/api/v2/` (default rubygems.org).
    pub rubygems_url: String,
    /// The Packagist metadata root; versions are at `/p2/<vendor>/<name>.json`.
    pub packagist_url: String,
    /// The Go module proxies (`BACKLINE_GOPROXY`).
    pub goproxy: backline_core::registry::goproxy::ProxyList,
    /// The most a Go module zip download may be ([`MAX_GO_ZIP_BYTES`]).
    pub go_zip_limit: u64,
    /// The NuGet v3 service index (`index.json`), which names the registrations and the flat
    /// container.
    pub nuget_url: String,
    /// Timeout of each request.
    pub timeout: Duration,
    /// Attempts per request when the registry answers 429 or 5xx or the connection fails.
    pub attempts: u32,
    /// Delay before the first retry (doubles, jittered, up to 30 s; a `Retry-After`, seconds
    /// or an HTTP date, wins up to 30 s). See [`crate::retry::RetryPolicy::registry`].
    pub retry_base: Duration,
    /// How long answers of [`Registry::latest`] are reused.
    pub latest_ttl: Duration,
    /// Trust store and proxies.
    pub network: crate::net::Network,
    /// How long a registry that could not be reached is left alone (doubling per further
    /// outage, up to 64 times): its requests fail at once meanwhile.
    pub outage_backoff: Duration,
}

/// Default crates.io sparse index.
pub const DEFAULT_CRATES_INDEX_URL: &str = "https://index.crates.io";
/// Default npm registry.
pub const DEFAULT_NPM_URL: &str = "https://registry.npmjs.org";
/// npm's abbreviated ("corgi") packument first, the full one otherwise.
const NPM_ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// Default PyPI.
pub const DEFAULT_PYPI_URL: &str = "https://pypi.org";
/// Default RubyGems.
pub const DEFAULT_RUBYGEMS_URL: &str = "https://rubygems.org";
/// Default Packagist metadata (Composer v2).
pub const DEFAULT_PACKAGIST_URL: &str = "https://repo.packagist.org";
/// Default Go module proxy (Go's own default `GOPROXY` without its `,direct`).
pub const DEFAULT_GOPROXY: &str = "https://proxy.golang.org";
/// The most a module zip download may be (bytes).
pub const MAX_GO_ZIP_BYTES: u64 = 100 << 20;
/// The most a `.mod` may be (golang.org/x/mod/zip.MaxGoMod).
pub const MAX_GO_MOD_BYTES: u64 = 16 << 20;

/// [`DEFAULT_GOPROXY`] as a list.
pub fn default_goproxy() -> backline_core::registry::goproxy::ProxyList {
    backline_core::registry::goproxy::ProxyList {
        entries: vec![(
            backline_core::registry::goproxy::ProxyEntry::Url(DEFAULT_GOPROXY.into()),
            backline_core::registry::goproxy::Fallback::OnNotFound,
        )],
    }
}
/// Default NuGet v3 service index (nuget.org).
pub const DEFAULT_NUGET_URL: &str = "https://api.nuget.org/v3/index.json";

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            crates_index_url: DEFAULT_CRATES_INDEX_URL.into(),
            npm_url: DEFAULT_NPM_URL.into(),
            pypi_url: DEFAULT_PYPI_URL.into(),
            rubygems_url: DEFAULT_RUBYGEMS_URL.into(),
            packagist_url: DEFAULT_PACKAGIST_URL.into(),
            goproxy: default_goproxy(),
            go_zip_limit: MAX_GO_ZIP_BYTES,
            nuget_url: DEFAULT_NUGET_URL.into(),
            timeout: Duration::from_secs(30),
            attempts: 3,
            retry_base: Duration::from_millis(500),
            latest_ttl: Duration::from_secs(24 * 3600),
            network: crate::net::Network::default(),
            outage_backoff: Duration::from_secs(30),
        }
    }
}

impl RegistryConfig {
    /// All registries below one root, as the simulator serves them:
    /// `{root}/registry/crates`, `{root}/registry/npm`, `{root}/registry/pypi`,
    /// `{root}/registry/rubygems`, `{root}/registry/packagist`, `{root}/registry/goproxy`,
    /// `{root}/registry/nuget/v3/index.json`.
    pub fn simulator(root: &str) -> Self {
        let root = root.trim_end_matches('/');
        RegistryConfig {
            crates_index_url: format!("{root}/registry/crates"),
            npm_url: format!("{root}/registry/npm"),
            pypi_url: format!("{root}/registry/pypi"),
            rubygems_url: format!("{root}/registry/rubygems"),
            packagist_url: format!("{root}/registry/packagist"),
            goproxy: backline_core::registry::goproxy::ProxyList {
                entries: vec![(
                    backline_core::registry::goproxy::ProxyEntry::Url(format!(
                        "{root}/registry/goproxy"
                    )),
                    backline_core::registry::goproxy::Fallback::OnNotFound,
                )],
            },
            nuget_url: format!("{root}/registry/nuget/v3/index.json"),
            ..RegistryConfig::default()
        }
    }
}

/// Answers of `latest` by (ecosystem, name), with the time they were fetched.
type LatestCache = HashMap<(Ecosystem, String), (Instant, Option<String>)>;

/// The time, as the registry client reads it (tests move it forward).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The registries over HTTP, with a cache for [`Registry::latest`] and a back-off per
/// registry that could not be reached.
pub struct HttpRegistry {
    config: RegistryConfig,
    client: reqwest::Client,
    latest_cache: Mutex<LatestCache>,
    outages: Mutex<super::outage::Outages>,
    clock: Clock,
    sleeper: Arc<dyn Sleeper>,
}

impl HttpRegistry {
    /// A client for `config`.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        Self::with_clock(config, Arc::new(Instant::now))
    }

    /// A client for `config` reading the time from `clock`.
    pub fn with_clock(config: RegistryConfig, clock: Clock) -> Result<Self, RegistryError> {
        let client = config
            .network
            .client_builder()
            .map_err(|e| RegistryError::Transport {
                url: String::new(),
                message: e.to_string(),
            })?
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| RegistryError::Transport {
                url: String::new(),
                message: e.to_string(),
            })?;
        let outages = super::outage::Outages::new(
            config.outage_backoff,
            config.outage_backoff.saturating_mul(64),
        );
        Ok(HttpRegistry {
            config,
            client,
            latest_cache: Mutex::new(HashMap::new()),
            outages: Mutex::new(outages),
            clock,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// The same client waiting its retries through `sleeper` (tests pass a
    /// [`crate::retry::RecordingSleeper`], so that nothing waits).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// GETs `url`; `Ok(None)` on 404/410, retries 429/5xx and connection failures.
    async fn get(&self, url: &str) -> Result<Option<bytes::Bytes>, RegistryError> {
        self.get_accepting(url, None).await
    }

    /// As [`get`](Self::get), refusing an answer longer than `limit` bytes (read no further).
    async fn get_limited(
        &self,
        url: &str,
        limit: u64,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        self.get_checked(url, None, Some(limit)).await
    }

    /// As [`get`](Self::get), with an `Accept` header. A registry backed off after an outage
    /// is not asked; one that fails after the retries is backed off.
    async fn get_accepting(
        &self,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        self.get_checked(url, accept, None).await
    }

    /// [`get_accepting`](Self::get_accepting) with an optional size limit.
    async fn get_checked(
        &self,
        url: &str,
        accept: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        let registry = super::outage::registry_of(url);
        let outages = || self.outages.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((error, left)) = outages().blocked(&registry, (self.clock)()) {
            return Err(RegistryError::Transport {
                url: url.to_string(),
                message: format!("{error} (not asked again for {} s)", left.as_secs().max(1)),
            });
        }
        let result = self.get_with_retries_limited(url, accept, limit).await;
        match &result {
            Err(e @ RegistryError::Transport { .. })
            | Err(
                e @ RegistryError::Status {
                    status: 429 | 500..=599,
                    ..
                },
            ) => {
                let error = e.unreachable().map(|u| u.error).unwrap_or_default();
                let wait = outages().failed(&registry, &error, (self.clock)());
                tracing::warn!(
                    registry = %registry,
                    error = %error,
                    wait_s = wait.as_secs(),
                    "package registry unreachable; not asked again until the wait is over"
                );
            }
            _ => outages().answered(&registry),
        }
        result
    }

    /// One GET with its retries (429, 5xx, connection failures).
    #[cfg(test)]
    async fn get_with_retries(
        &self,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        self.get_with_retries_limited(url, accept, None).await
    }

    /// [`get_with_retries`](Self::get_with_retries), refusing a body above `limit` bytes.
    async fn get_with_retries_limited(
        &self,
        url: &str,
        accept: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        let policy = RetryPolicy::registry(self.config.attempts, self.config.retry_base);
        let mut last = None;
        for attempt in 1..=policy.max_attempts.max(1) {
            let mut request = self.client.get(url);
            if let Some(a) = accept {
                request = request.header(reqwest::header::ACCEPT, a);
            }
            let retry_after = match request.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match status {
                        200..=299 => {
                            let body = match limit {
                                None => {
                                    resp.bytes().await.map_err(|e| RegistryError::Transport {
                                        url: url.to_string(),
                                        message: e.to_string(),
                                    })?
                                }
                                Some(limit) => read_limited(resp, url, limit).await?,
                            };
                            return Ok(Some(body));
                        }
                        404 | 410 => return Ok(None),
                        429 | 500..=599 => {
                            last = Some(RegistryError::Status {
                                url: url.to_string(),
                                status,
                            });
                            resp.headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        }
                        _ => {
                            return Err(RegistryError::Status {
                                url: url.to_string(),
                                status,
                            })
                        }
                    }
                }
                Err(e) => {
                    let failure = reqwest::Url::parse(url)
                        .map(|u| crate::net::describe(&e, &u))
                        .unwrap_or_else(|_| crate::net::Failure::Other(e.to_string()));
                    let refused = matches!(failure, crate::net::Failure::Certificate { .. });
                    let error = RegistryError::Transport {
                        url: url.to_string(),
                        message: failure.to_string(),
                    };
                    if refused {
                        // Asking again cannot change the certificate.
                        return Err(error);
                    }
                    last = Some(error);
                    None
                }
            };
            let Decision::RetryIn(wait) = policy.next(attempt, retry_after) else {
                break;
            };
            tracing::debug!(url, attempt, "registry request retried");
            if !wait.is_zero() {
                self.sleeper.sleep(wait).await;
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Transport {
            url: url.to_string(),
            message: "no attempt made".into(),
        }))
    }

    async fn get_json(&self, url: &str) -> Result<Option<Value>, RegistryError> {
        self.get_json_accepting(url, None).await
    }

    async fn get_json_accepting(
        &self,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<Value>, RegistryError> {
        match self.get_accepting(url, accept).await? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| RegistryError::Malformed {
                    url: url.to_string(),
                    message: e.to_string(),
                }),
        }
    }

    fn index_url(&self, name: &str) -> Result<String, RegistryError> {
        Ok(format!(
            "{}/{}",
            self.config.crates_index_url.trim_end_matches('/'),
            index_path(name)?
        ))
    }

    fn npm_url(&self, name: &str) -> Result<String, RegistryError> {
        let valid = name.len() <= 214
            && !name.starts_with('.')
            && (valid_scoped(name) || (!name.starts_with('@') && npm_part_ok(name)));
        if !valid {
            return Err(RegistryError::InvalidName(name.to_string()));
        }
        Ok(format!(
            "{}/{}",
            self.config.npm_url.trim_end_matches('/'),
            name.replacen('/', "%2f", 1)
        ))
    }

    fn pypi_url(&self, name: &str, version: Option<&str>) -> Result<String, RegistryError> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '!' | '+'))
        };
        if !ok(name) || name.starts_with('.') || version.is_some_and(|v| !ok(v)) {
            return Err(RegistryError::InvalidName(name.to_string()));
        }
        let base = self.config.pypi_url.trim_end_matches('/');
        Ok(match version {
            Some(v) => format!("{base}/pypi/{name}/{v}/json"),
            None => format!("{base}/pypi/{name}/json"),
        })
    }

    async fn packument(&self, name: &str) -> Result<Option<Value>, RegistryError> {
        let url = self.npm_url(name)?;
        // The abbreviated packument has everything read here, at a fraction of the size.
        self.get_json_accepting(&url, Some(NPM_ACCEPT)).await
    }
}

/// `@scope/name` with both parts free of URL-special characters.
fn valid_scoped(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('@') else {
        return false;
    };
    let Some((scope, pkg)) = rest.split_once('/') else {
        return false;
    };
    npm_part_ok(scope) && npm_part_ok(pkg)
}

/// A name (or scope) made of URL-safe characters only.
fn npm_part_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

#[async_trait]
impl Registry for HttpRegistry {
    async fn crate_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<CrateRelease>, RegistryError> {
        Ok(self
            .crate_versions(name)
            .await?
            .into_iter()
            .find(|r| r.version == version))
    }

    async fn crate_versions(&self, name: &str) -> Result<Vec<CrateRelease>, RegistryError> {
        let url = self.index_url(name)?;
        let Some(body) = self.get(&url).await? else {
            return Ok(Vec::new());
        };
        let text = std::str::from_utf8(&body).map_err(|e| RegistryError::Malformed {
            url: url.clone(),
            message: e.to_string(),
        })?;
        parse_index(text).map_err(|message| RegistryError::Malformed { url, message })
    }

    async fn npm_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<NpmRelease>, RegistryError> {
        Ok(self
            .packument(name)
            .await?
            .and_then(|doc| parse_npm_version(name, version, doc.get("versions")?.get(version)?)))
    }

    async fn npm_versions(&self, name: &str) -> Result<Vec<NpmRelease>, RegistryError> {
        Ok(self
            .packument(name)
            .await?
            .map(|doc| parse_packument(name, &doc).0)
            .unwrap_or_default())
    }

    async fn pypi_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PypiRelease>, RegistryError> {
        let url = self.pypi_url(name, Some(version))?;
        match self.get_json(&url).await? {
            None => Ok(None),
            Some(doc) => {
                parse_pypi_release(&doc)
                    .map(Some)
                    .ok_or_else(|| RegistryError::Malformed {
                        url,
                        message: "no info.name/info.version".into(),
                    })
            }
        }
    }

    async fn gem_release(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<super::GemRelease>, RegistryError> {
        let version_ok = !version.is_empty()
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !super::rubygems::valid_gem_name(name) || !version_ok {
            return Err(RegistryError::InvalidName(name.to_string()));
        }
        let url = format!(
            "{}/api/v2/rubygems/{name}/versions/{version}.json",
            self.config.rubygems_url.trim_end_matches('/')
        );
        match self.get_json(&url).await? {
            None => Ok(None),
            Some(doc) => {
                super::parse_gem_release(&doc)
                    .map(Some)
                    .ok_or_else(|| RegistryError::Malformed {
                        url,
                        message: "no name/version".into(),
                    })
            }
        }
    }

    async fn packagist_versions(
        &self,
        name: &str,
    ) -> Result<Vec<super::PackagistRelease>, RegistryError> {
        let name = name.to_ascii_lowercase();
        if !super::packagist::valid_package_name(&name) {
            return Err(RegistryError::InvalidName(name));
        }
        let url = format!(
            "{}/p2/{name}.json",
            self.config.packagist_url.trim_end_matches('/')
        );
        let Some(body) = self.get(&url).await? else {
            return Ok(Vec::new());
        };
        let text = std::str::from_utf8(&body).map_err(|e| RegistryError::Malformed {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let doc = super::ordered_json::Json::parse(text).map_err(|e| RegistryError::Malformed {
            url,
            message: e.to_string(),
        })?;
        Ok(super::parse_p2(&name, &doc))
    }

    async fn go_module(
        &self,
        path: &str,
        version: &str,
    ) -> Result<Option<super::GoModule>, RegistryError> {
        self.go_module_from_proxies(path, version).await
    }

    async fn nuget_release(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Option<super::NugetRelease>, RegistryError> {
        self.nuget_release_v3(id, version).await
    }

    async fn latest(
        &self,
        ecosystem: Ecosystem,
        name: &str,
    ) -> Result<Option<String>, RegistryError> {
        if !matches!(
            ecosystem,
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::PyPI
        ) {
            return Ok(None);
        }
        let key = (ecosystem, name.to_string());
        {
            let cache = self.latest_cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, v)) = cache.get(&key) {
                if at.elapsed() < self.config.latest_ttl {
                    return Ok(v.clone());
                }
            }
        }
        let answer = match ecosystem {
            Ecosystem::CratesIo => latest_crate(&self.crate_versions(name).await?),
            Ecosystem::Npm => self
                .packument(name)
                .await?
                .and_then(|d| d.pointer("/dist-tags/latest")?.as_str().map(str::to_string)),
            _ => {
                let url = self.pypi_url(name, None)?;
                self.get_json(&url)
                    .await?
                    .and_then(|d| d.pointer("/info/version")?.as_str().map(str::to_string))
            }
        };
        let mut cache = self.latest_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < self.config.latest_ttl);
        cache.insert(key, (Instant::now(), answer.clone()));
        Ok(answer)
    }
}

/// Reads a body of at most `limit` bytes (a longer one is refused as soon as it is seen).
async fn read_limited(
    mut resp: reqwest::Response,
    url: &str,
    limit: u64,
) -> Result<bytes::Bytes, RegistryError> {
    let too_long = || RegistryError::Malformed {
        url: url.to_string(),
        message: format!("the answer is longer than {limit} bytes"),
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_long());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| RegistryError::Transport {
        url: url.to_string(),
        message: e.to_string(),
    })? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

mod go;

#[cfg(test)]
mod retry_tests;

mod nuget;
