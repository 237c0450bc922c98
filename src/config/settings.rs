//! The typed settings every part of the server reads, and what they give the clients.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::advisories::cvss::Level;
use crate::ecosystem::Ecosystem;
use crate::secret::Secret;
use crate::signing_key::SigningKey;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./backline-data";
/// GitLab's own cap on webhook payloads, 25 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// Default cap on the bytes of unverified (signed, not yet checked) bodies buffered at once.
pub const DEFAULT_UNVERIFIED_BODY_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// Default cap on the disk the stored delivery bodies take (compressed).
pub const DEFAULT_INBOX_MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Everything the server needs to run. Secrets are wrapped and never printed.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Folder of the sled store.
    pub data_dir: PathBuf,
    /// Accepted `X-Gitlab-Token` values (several, for rotation).
    pub webhook_secrets: Vec<Secret>,
    /// Accepted Standard Webhooks signing keys (decoded `whsec_` tokens).
    pub signing_keys: Vec<SigningKey>,
    /// Accept deliveries that carry no verification at all (only with nothing configured).
    pub insecure_accept_unverified: bool,
    /// Root URL of the GitLab instance (the client adds `/api/v4`).
    pub gitlab_url: Option<String>,
    /// The bot's GitLab token.
    pub gitlab_token: Option<Secret>,
    /// Bearer token for `/api/v1`; without it the API answers 404.
    pub admin_token: Option<Secret>,
    /// Largest accepted webhook body; larger answers 413.
    pub max_body_bytes: usize,
    /// Bytes of not-yet-verified bodies buffered at once across all requests; past it, 503.
    pub unverified_body_budget_bytes: usize,
    /// How long a webhook body may take to arrive (GitLab itself gives up after 10 s).
    pub body_read_timeout: Duration,
    /// Most bytes the stored (compressed) delivery bodies may take; past it, 503.
    pub inbox_max_bytes: u64,
    /// sled's page cache.
    pub store_cache_bytes: u64,
    /// How far a `webhook-timestamp` may be from now.
    pub signature_tolerance: Duration,
    /// Number of deliveries processed at once (different projects); 0 = intake only.
    pub workers: usize,
    /// Attempts before a delivery moves to the dead letters.
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// How long finished deliveries (and their dedupe keys) are kept.
    pub delivery_retention: Duration,
    /// How long dead letters (with their deliveries) are kept.
    pub dead_letter_retention: Duration,
    /// Most dead letters kept; past it the oldest are forgotten.
    pub dead_letter_max: usize,
    /// How long `serve` waits for running handlers on shutdown.
    pub shutdown_timeout: Duration,
    /// Only catalog projects under these namespaces (empty: all).
    pub namespace_allowlist: Vec<String>,
    /// Never catalog projects under these namespaces.
    pub namespace_denylist: Vec<String>,
    /// How often `serve` re-syncs the catalog; zero: only at start and on request.
    pub sync_interval: Duration,
    /// Make sure each catalogued project has one hook pointing at this server.
    pub manage_hooks: bool,
    /// This server's URL as GitLab reaches it (for managed hooks and badges).
    pub public_url: Option<String>,
    /// GitLab requests in flight at most.
    pub gitlab_max_concurrent: usize,
    /// Timeout of each GitLab request.
    pub gitlab_timeout: Duration,
    /// Advisory databases imported at start (folders or zips in any importable layout).
    pub advisories: Vec<PathBuf>,
    /// Fixes at or above this severity open MRs at once; `None`: every fix waits for approval.
    pub auto_approve: Option<Level>,
    /// The severity of a vulnerability that no vector, database word or twin record gives
    /// (decides its approval and SLA).
    pub unknown_severity: Level,
    /// An MR that adds a vulnerability at or above this gets a failed `backline/dependencies`
    /// status.
    pub mr_check_fail_on: Level,
    /// Open bot MRs per project at most.
    pub max_open_mrs: usize,
    /// MR title prefix.
    pub mr_title_prefix: String,
    /// MR labels.
    pub mr_labels: Vec<String>,
    /// Also plan upgrades of outdated direct dependencies (never auto-approved).
    pub update_outdated: bool,
    /// Where OSV's `<Ecosystem>/all.zip` files are downloaded from (advisories sync).
    pub osv_base_url: String,
    /// How often `serve` syncs the advisories from OSV; zero: only on request.
    pub advisories_sync_interval: Duration,
    /// crates.io sparse index root, for remediation facts.
    pub crates_index_url: String,
    /// npm registry root.
    pub npm_registry_url: String,
    /// PyPI root (the JSON API is below `/pypi/`).
    pub pypi_url: String,
    /// RubyGems root (the API is below `/api/v2/`).
    pub rubygems_url: String,
    /// Packagist metadata root (`/p2/<vendor>/<name>.json`).
    pub packagist_url: String,
    /// Go module proxies, in `GOPROXY` syntax (parsed when set).
    pub goproxy: String,
    /// NuGet v3 service index URL.
    pub nuget_url: String,
    /// SLA days per severity.
    pub sla: crate::tracking::SlaPolicy,
    /// Key of the private badges' HMAC; without it one is derived from the admin token or the
    /// webhook secret (see `http::badge`).
    pub badge_secret: Option<Secret>,
    /// Whom outgoing HTTPS trusts (the system store plus `BACKLINE_CA_FILE`) and the proxies
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`); shared by every client.
    pub network: crate::net::Network,
    /// The PEM file of extra CAs `network` trusts (`BACKLINE_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL instead of sled (`BACKLINE_DATABASE_URL`); printed with its password redacted.
    pub database_url: Option<crate::store::pg::DatabaseUrl>,
    /// This replica's name in PostgreSQL leases (`BACKLINE_REPLICA_ID`); `None`: generated.
    pub replica_id: Option<String>,
    /// How long a PostgreSQL lease holds unless renewed (`BACKLINE_LEASE_SECS`).
    pub lease: Duration,
    /// The OSV ecosystems advisory syncs download.
    pub osv_ecosystems: Vec<Ecosystem>,
}

impl Settings {
    /// The declared defaults (see `config::table`) around a data directory, as tests and the
    /// demo use them. The network is the system trust store without proxies.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut s = super::resolve::defaults();
        s.data_dir = data_dir.into();
        s
    }

    /// Settings before any declared value is applied: placeholders that `config::table`
    /// overwrites, every one of them, with the merged or default value.
    pub(super) fn blank() -> Self {
        Settings {
            listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            data_dir: PathBuf::new(),
            webhook_secrets: Vec::new(),
            signing_keys: Vec::new(),
            insecure_accept_unverified: false,
            gitlab_url: None,
            gitlab_token: None,
            admin_token: None,
            max_body_bytes: 0,
            unverified_body_budget_bytes: 0,
            body_read_timeout: Duration::ZERO,
            inbox_max_bytes: 0,
            store_cache_bytes: 0,
            signature_tolerance: Duration::ZERO,
            workers: 0,
            max_attempts: 0,
            retry_base: Duration::ZERO,
            retry_max: Duration::ZERO,
            delivery_retention: Duration::ZERO,
            dead_letter_retention: Duration::ZERO,
            dead_letter_max: 0,
            shutdown_timeout: Duration::ZERO,
            namespace_allowlist: Vec::new(),
            namespace_denylist: Vec::new(),
            sync_interval: Duration::ZERO,
            manage_hooks: false,
            public_url: None,
            gitlab_max_concurrent: 0,
            gitlab_timeout: Duration::ZERO,
            advisories: Vec::new(),
            auto_approve: None,
            unknown_severity: Level::Unknown,
            mr_check_fail_on: Level::Unknown,
            max_open_mrs: 0,
            mr_title_prefix: String::new(),
            mr_labels: Vec::new(),
            update_outdated: false,
            osv_base_url: String::new(),
            advisories_sync_interval: Duration::ZERO,
            crates_index_url: String::new(),
            npm_registry_url: String::new(),
            pypi_url: String::new(),
            rubygems_url: String::new(),
            packagist_url: String::new(),
            goproxy: String::new(),
            nuget_url: String::new(),
            sla: crate::tracking::SlaPolicy::default(),
            badge_secret: None,
            network: crate::net::Network::default(),
            ca_file: None,
            database_url: None,
            replica_id: None,
            lease: crate::store::pg::queue::DEFAULT_LEASE,
            osv_ecosystems: Vec::new(),
        }
    }

    /// The package-registry client configuration these settings give.
    pub fn registry_config(&self) -> crate::registry::RegistryConfig {
        crate::registry::RegistryConfig {
            crates_index_url: self.crates_index_url.clone(),
            npm_url: self.npm_registry_url.clone(),
            pypi_url: self.pypi_url.clone(),
            rubygems_url: self.rubygems_url.clone(),
            packagist_url: self.packagist_url.clone(),
            goproxy: backline_core::registry::goproxy::ProxyList::parse(&self.goproxy)
                .unwrap_or_else(|_| crate::registry::default_goproxy()),
            nuget_url: self.nuget_url.clone(),
            network: self.network.clone(),
            ..Default::default()
        }
    }

    /// The advisory-sync options these settings give.
    pub fn sync_options(&self) -> crate::advisories::SyncOptions {
        crate::advisories::SyncOptions {
            base_url: self.osv_base_url.clone(),
            ecosystems: self.osv_ecosystems.clone(),
            network: self.network.clone(),
            ..Default::default()
        }
    }

    /// Whether any webhook verification is configured.
    pub fn verification_configured(&self) -> bool {
        !self.webhook_secrets.is_empty() || !self.signing_keys.is_empty()
    }
}
