//! `advisories sync`: downloads OSV's `<Ecosystem>/all.zip` for each configured ecosystem with
//! conditional requests (`If-None-Match` / `If-Modified-Since` from the validators stored by the
//! last sync), then swaps the new index in atomically. A `304 Not Modified` keeps that
//! ecosystem's stored advisories; a failed download keeps them too and is reported.

use std::time::Duration;

use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;

use super::import::{import_zip_bytes_within, ImportError};
use super::index::Index;
use super::limits::ArchiveLimits;
use super::persist::{AdvisoryStore, StoredAdvisory, Validators};
use crate::ecosystem::Ecosystem;
use crate::store::{Store, StoreError};

/// Where OSV publishes its per-ecosystem zips.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Base URL; `<base>/<Ecosystem>/all.zip` is fetched.
    pub base_url: String,
    /// The ecosystems to fetch.
    pub ecosystems: Vec<Ecosystem>,
    /// Timeout of one download.
    pub timeout: Duration,
    /// Trust store and proxies.
    pub network: crate::net::Network,
    /// Caps on a download and the zip in it.
    pub limits: ArchiveLimits,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            ecosystems: Ecosystem::ALL.to_vec(),
            timeout: Duration::from_secs(300),
            network: crate::net::Network::default(),
            limits: ArchiveLimits::default(),
        }
    }
}

/// What happened to one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new zip was downloaded and imported.
    Updated {
        /// Advisories read from it.
        advisories: usize,
        /// Withdrawn records skipped.
        withdrawn: usize,
        /// Records that could not be read.
        errors: Vec<ImportError>,
    },
    /// `304 Not Modified`: the stored advisories stay.
    NotModified,
    /// The download failed; the stored advisories stay.
    Failed(String),
}

/// The result of a sync.
#[derive(Debug)]
pub struct SyncReport {
    /// One outcome per configured ecosystem, in order.
    pub outcomes: Vec<(Ecosystem, Outcome)>,
    /// The index now live (also what a restart will load).
    pub index: Index,
}

/// A sync that could not complete (the store failed); download failures are [`Outcome::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(String),
}

/// The source name of an ecosystem's synced advisories.
pub fn source_of(ecosystem: Ecosystem) -> String {
    format!("osv:{}", ecosystem.osv_name())
}

/// Downloads and swaps in the configured ecosystems' advisories.
pub async fn sync(store: &Store, options: &SyncOptions) -> Result<SyncReport, SyncError> {
    let client = options
        .network
        .client_builder()
        .map_err(|e| SyncError::Client(e.to_string()))?
        .timeout(options.timeout)
        .build()
        .map_err(|e| SyncError::Client(e.to_string()))?;
    let table = AdvisoryStore::open(store)?;
    let mut outcomes = Vec::new();
    let mut replaced = Vec::new();
    let mut fresh: Vec<StoredAdvisory> = Vec::new();
    let mut new_validators = Vec::new();
    for &ecosystem in &options.ecosystems {
        let old = blocking({
            let table = table.clone();
            move || table.validators(ecosystem)
        })
        .await??;
        let url = format!(
            "{}/{}/all.zip",
            options.base_url.trim_end_matches('/'),
            ecosystem.osv_name()
        );
        let outcome =
            match fetch(
                &client,
                &url,
                old.as_ref(),
                options.limits.max_download_bytes,
            )
            .await
            {
                Err(message) => Outcome::Failed(message),
                Ok(None) => Outcome::NotModified,
                Ok(Some((bytes, validators))) => {
                    let limits = options.limits;
                    let report = tokio::task::spawn_blocking(move || {
                        import_zip_bytes_within(&url, bytes, &limits)
                    })
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?;
                    if report.incomplete {
                        let why = report
                            .errors
                            .last()
                            .map(|e| e.to_string())
                            .unwrap_or_default();
                        Outcome::Failed(why)
                    } else if report.advisories.is_empty() && !report.errors.is_empty() {
                        Outcome::Failed(format!(
                            "{} unreadable records, none read ({})",
                            report.errors.len(),
                            report.errors[0]
                        ))
                    } else {
                        let source = source_of(ecosystem);
                        replaced.push(source.clone());
                        new_validators.push((ecosystem, validators));
                        let count = report.advisories.len();
                        fresh.extend(report.advisories.into_iter().map(|advisory| {
                            StoredAdvisory {
                                source: source.clone(),
                                advisory,
                            }
                        }));
                        Outcome::Updated {
                            advisories: count,
                            withdrawn: report.withdrawn.len(),
                            errors: report.errors,
                        }
                    }
                }
            };
        outcomes.push((ecosystem, outcome));
    }
    let index = blocking(move || -> Result<Index, StoreError> {
        let live = if replaced.is_empty() {
            table.load()?
        } else {
            table.replace_sources(&replaced, fresh)?
        };
        for (ecosystem, validators) in &new_validators {
            table.set_validators(*ecosystem, validators)?;
        }
        Ok(Index::new(live.into_iter().map(|r| r.advisory)))
    })
    .await??;
    Ok(SyncReport { outcomes, index })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// `Ok(None)` for 304; `Ok(Some(body, validators))` for 200. A body over `max_bytes` (as
/// announced, or as it arrives) is an error, and no more of it is read.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    old: Option<&Validators>,
    max_bytes: u64,
) -> Result<Option<(Vec<u8>, Validators)>, String> {
    let mut request = client.get(url);
    if let Some(v) = old {
        if let Some(etag) = &v.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = &v.last_modified {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| match reqwest::Url::parse(url) {
            Ok(u) => format!("{url}: {}", crate::net::describe(&e, &u)),
            Err(_) => format!("{url}: {e}"),
        })?;
    match response.status() {
        StatusCode::NOT_MODIFIED => Ok(None),
        StatusCode::OK => {
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_string)
            };
            let validators = Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            };
            let too_large = || format!("{url}: the download is larger than {max_bytes} bytes");
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("{url}: reading the body: {e}"))?
            {
                if (body.len() + chunk.len()) as u64 > max_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Some((body, validators)))
        }
        other => Err(format!("{url}: HTTP {other}")),
    }
}

#[cfg(test)]
mod tests;
