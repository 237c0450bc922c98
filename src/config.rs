//! Typed settings: built from `backline.toml`, `BACKLINE_*` environment variables and `serve`
//! flags. Precedence: flag, then environment, then file, then default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::Args;
use serde::Deserialize;

use crate::http::verify::SigningKey;
use crate::secret::Secret;

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
    pub auto_approve: Option<crate::advisories::cvss::Level>,
    /// The severity of a vulnerability that no vector, database word or twin record gives
    /// (decides its approval and SLA).
    pub unknown_severity: crate::advisories::cvss::Level,
    /// An MR that adds a vulnerability at or above this gets a failed `backline/dependencies`
    /// status.
    pub mr_check_fail_on: crate::advisories::cvss::Level,
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
    /// SLA days per severity.
    pub sla: crate::tracking::SlaPolicy,
    /// Key of the private badges' HMAC; without it one is derived from the admin token or the
    /// webhook secret (see `http::badge`).
    pub badge_secret: Option<Secret>,
    /// Whom outgoing HTTPS trusts (the system store plus `BACKLINE_CA_FILE`) and the proxies
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`); shared by every client.
    pub network: crate::net::Network,
    /// PostgreSQL instead of sled (`BACKLINE_DATABASE_URL`); printed with its password redacted.
    pub database_url: Option<crate::store::pg::DatabaseUrl>,
}

impl Settings {
    /// Defaults around a data directory, as tests and the demo use them.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Settings {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: data_dir.into(),
            webhook_secrets: Vec::new(),
            signing_keys: Vec::new(),
            insecure_accept_unverified: false,
            gitlab_url: None,
            gitlab_token: None,
            admin_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            unverified_body_budget_bytes: DEFAULT_UNVERIFIED_BODY_BUDGET_BYTES,
            body_read_timeout: Duration::from_secs(10),
            inbox_max_bytes: DEFAULT_INBOX_MAX_BYTES,
            store_cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
            signature_tolerance: Duration::from_secs(300),
            workers: 8,
            max_attempts: 8,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            delivery_retention: Duration::from_secs(7 * 24 * 3600),
            shutdown_timeout: Duration::from_secs(20),
            namespace_allowlist: Vec::new(),
            namespace_denylist: Vec::new(),
            sync_interval: Duration::from_secs(3600),
            manage_hooks: false,
            public_url: None,
            gitlab_max_concurrent: 8,
            gitlab_timeout: Duration::from_secs(30),
            advisories: Vec::new(),
            auto_approve: Some(crate::advisories::cvss::Level::High),
            unknown_severity: crate::advisories::cvss::Level::Medium,
            mr_check_fail_on: crate::advisories::cvss::Level::High,
            max_open_mrs: 10,
            mr_title_prefix: "Security:".to_string(),
            mr_labels: vec!["security".to_string(), "backline".to_string()],
            update_outdated: false,
            osv_base_url: crate::advisories::sync::DEFAULT_BASE_URL.to_string(),
            advisories_sync_interval: Duration::ZERO,
            crates_index_url: crate::registry::DEFAULT_CRATES_INDEX_URL.into(),
            npm_registry_url: crate::registry::DEFAULT_NPM_URL.into(),
            pypi_url: crate::registry::DEFAULT_PYPI_URL.into(),
            sla: crate::tracking::SlaPolicy::default(),
            badge_secret: None,
            network: crate::net::Network::default(),
            database_url: None,
        }
    }

    /// The package-registry client configuration these settings give.
    pub fn registry_config(&self) -> crate::registry::RegistryConfig {
        crate::registry::RegistryConfig {
            crates_index_url: self.crates_index_url.clone(),
            npm_url: self.npm_registry_url.clone(),
            pypi_url: self.pypi_url.clone(),
            network: self.network.clone(),
            ..Default::default()
        }
    }

    /// The advisory-sync options these settings give.
    pub fn sync_options(&self) -> crate::advisories::SyncOptions {
        crate::advisories::SyncOptions {
            base_url: self.osv_base_url.clone(),
            network: self.network.clone(),
            ..Default::default()
        }
    }

    /// Whether any webhook verification is configured.
    pub fn verification_configured(&self) -> bool {
        !self.webhook_secrets.is_empty() || !self.signing_keys.is_empty()
    }
}

/// A configuration problem, described without any secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("could not read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("could not parse config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
    /// A value is invalid.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The option, as its environment variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// No verification is configured and insecure mode was not asked for.
    #[error(
        "no webhook verification configured: set BACKLINE_WEBHOOK_SECRET (the hook's secret token) \
         or BACKLINE_WEBHOOK_SIGNING_TOKEN (its whsec_ signing token), in the environment, in \
         backline.toml or as --webhook-secret / --webhook-signing-token; or pass \
         --insecure-accept-unverified to accept unverified deliveries (never on a reachable host)"
    )]
    NoVerification,
}

/// Settings every command that talks to GitLab or opens the store shares (`serve` and `sync`);
/// each flag falls back to its environment variable, then to the config file.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "GitLab and store")]
pub struct CommonArgs {
    /// Data directory for the store [default: ./backline-data].
    #[arg(long, env = "BACKLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// GitLab instance root URL, e.g. https://gitlab.example.com.
    #[arg(long, env = "BACKLINE_GITLAB_URL")]
    pub gitlab_url: Option<String>,
    /// GitLab token of the bot user.
    #[arg(long, env = "BACKLINE_GITLAB_TOKEN", hide_env_values = true)]
    pub gitlab_token: Option<String>,
    /// Only catalog projects under these namespaces (comma-separated, e.g. `acme,tools/infra`).
    #[arg(long, env = "BACKLINE_NAMESPACE_ALLOWLIST", value_delimiter = ',')]
    pub namespace_allowlist: Option<Vec<String>>,
    /// Never catalog projects under these namespaces (comma-separated).
    #[arg(long, env = "BACKLINE_NAMESPACE_DENYLIST", value_delimiter = ',')]
    pub namespace_denylist: Option<Vec<String>>,
    /// GitLab requests in flight at most [default: 8].
    #[arg(long, env = "BACKLINE_GITLAB_MAX_CONCURRENT")]
    pub gitlab_max_concurrent: Option<usize>,
    /// Timeout of each GitLab request, in seconds [default: 30].
    #[arg(long, env = "BACKLINE_GITLAB_TIMEOUT_SECS")]
    pub gitlab_timeout_secs: Option<u64>,
    /// PEM file of extra CAs trusted besides the system trust store (a private or
    /// TLS-intercepting CA), for GitLab, the registries and OSV.
    #[arg(long, env = "BACKLINE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:password@host:port/database?sslmode=require): keep
    /// everything there instead of the data directory, shared by several replicas.
    #[arg(long, env = "BACKLINE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `serve` flags: those only the server uses, then the shared ones. Each falls back to its
/// environment variable, then to the config file.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Server")]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BACKLINE_LISTEN")]
    pub listen: Option<String>,
    /// Webhook secret token(s), comma-separated for rotation.
    #[arg(
        long,
        env = "BACKLINE_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secret: Option<Vec<String>>,
    /// Standard Webhooks signing token(s) (`whsec_...`), comma-separated.
    #[arg(
        long,
        env = "BACKLINE_WEBHOOK_SIGNING_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_signing_token: Option<Vec<String>>,
    /// Bearer token for the JSON API; without it the API answers 404.
    #[arg(long, env = "BACKLINE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Largest accepted webhook body in bytes [default: 26214400].
    #[arg(long, env = "BACKLINE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Bytes of unverified (signed) bodies buffered at once before answering 503, at least the
    /// largest body [default: 67108864].
    #[arg(long, env = "BACKLINE_UNVERIFIED_BODY_BUDGET_BYTES")]
    pub unverified_body_budget_bytes: Option<usize>,
    /// Seconds a webhook body may take to arrive before 408 [default: 10].
    #[arg(long, env = "BACKLINE_BODY_READ_TIMEOUT_SECS")]
    pub body_read_timeout_secs: Option<u64>,
    /// Most bytes stored delivery bodies (compressed) may take before 503 [default: 2147483648].
    #[arg(long, env = "BACKLINE_INBOX_MAX_BYTES")]
    pub inbox_max_bytes: Option<u64>,
    /// sled's page cache in bytes [default: 67108864].
    #[arg(long, env = "BACKLINE_STORE_CACHE_BYTES")]
    pub store_cache_bytes: Option<u64>,
    /// Deliveries processed at once; 0 = accept and store only [default: 8].
    #[arg(long, env = "BACKLINE_WORKERS")]
    pub workers: Option<usize>,
    /// Attempts before a delivery becomes a dead letter [default: 8].
    #[arg(long, env = "BACKLINE_MAX_ATTEMPTS")]
    pub max_attempts: Option<u32>,
    /// First retry delay in milliseconds, doubled per attempt [default: 2000].
    #[arg(long, env = "BACKLINE_RETRY_BASE_MS")]
    pub retry_base_ms: Option<u64>,
    /// Longest retry delay in milliseconds [default: 600000].
    #[arg(long, env = "BACKLINE_RETRY_MAX_MS")]
    pub retry_max_ms: Option<u64>,
    /// Allowed clock skew of `webhook-timestamp`, in seconds [default: 300].
    #[arg(long, env = "BACKLINE_SIGNATURE_TOLERANCE_SECS")]
    pub signature_tolerance_secs: Option<u64>,
    /// Days finished deliveries are kept for the API and deduplication [default: 7].
    #[arg(long, env = "BACKLINE_DELIVERY_RETENTION_DAYS")]
    pub delivery_retention_days: Option<u64>,
    /// Seconds to wait for running handlers on shutdown [default: 20].
    #[arg(long, env = "BACKLINE_SHUTDOWN_TIMEOUT_SECS")]
    pub shutdown_timeout_secs: Option<u64>,
    /// Accept deliveries without any verification when none is configured (`--insecure-accept-unverified`
    /// alone means true; `=false` turns a file's `true` off).
    #[arg(long, env = "BACKLINE_INSECURE_ACCEPT_UNVERIFIED", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub insecure_accept_unverified: Option<bool>,
    /// Minutes between catalog syncs in `serve`; 0 = only at start and on request [default: 60].
    #[arg(long, env = "BACKLINE_SYNC_INTERVAL_MINS")]
    pub sync_interval_mins: Option<u64>,
    /// Keep one webhook per catalogued project pointing at BACKLINE_PUBLIC_URL (needs Maintainer;
    /// the flag alone means true).
    #[arg(long, env = "BACKLINE_MANAGE_HOOKS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub manage_hooks: Option<bool>,
    /// This server's URL as GitLab reaches it, e.g. https://backline.example.com.
    #[arg(long, env = "BACKLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Advisory databases to import at start (comma-separated folders or zips: OSV, OSV
    /// bucket, RustSec advisory-db, PyPA advisory-database).
    #[arg(long, env = "BACKLINE_ADVISORIES", value_delimiter = ',')]
    pub advisories: Option<Vec<PathBuf>>,
    /// Severity from which fixes open MRs without approval: critical, high, medium, low or none
    /// [default: high].
    #[arg(long, env = "BACKLINE_AUTO_APPROVE")]
    pub auto_approve: Option<String>,
    /// Severity given to vulnerabilities whose severity no vector, database word or twin
    /// record tells: critical, high, medium, low or unknown [default: medium].
    #[arg(long, env = "BACKLINE_UNKNOWN_SEVERITY")]
    pub unknown_severity: Option<String>,
    /// MR checks: an MR adding a vulnerability at or above this severity gets a failed
    /// `backline/dependencies` status: critical, high, medium, low or unknown [default: high].
    #[arg(long, env = "BACKLINE_MR_CHECK_FAIL_ON")]
    pub mr_check_fail_on: Option<String>,
    /// Open bot MRs per project at most [default: 10].
    #[arg(long, env = "BACKLINE_MAX_OPEN_MRS")]
    pub max_open_mrs: Option<usize>,
    /// MR title prefix [default: "Security:"].
    #[arg(long, env = "BACKLINE_MR_TITLE_PREFIX")]
    pub mr_title_prefix: Option<String>,
    /// MR labels, comma-separated [default: security,backline].
    #[arg(long, env = "BACKLINE_MR_LABELS", value_delimiter = ',')]
    pub mr_labels: Option<Vec<String>>,
    /// Also plan upgrades of outdated direct dependencies (they wait for approval; the flag alone
    /// means true).
    #[arg(long, env = "BACKLINE_UPDATE_OUTDATED", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub update_outdated: Option<bool>,
    /// Where OSV's `<Ecosystem>/all.zip` files come from [default: OSV's public bucket].
    #[arg(long, env = "BACKLINE_OSV_BASE_URL")]
    pub osv_base_url: Option<String>,
    /// Hours between advisory syncs from OSV inside `serve`; 0 = only on request [default: 0].
    #[arg(long, env = "BACKLINE_ADVISORIES_SYNC_HOURS")]
    pub advisories_sync_hours: Option<u64>,
    /// crates.io sparse index root [default: https://index.crates.io].
    #[arg(long, env = "BACKLINE_CRATES_INDEX_URL")]
    pub crates_index_url: Option<String>,
    /// npm registry root [default: https://registry.npmjs.org].
    #[arg(long, env = "BACKLINE_NPM_REGISTRY_URL")]
    pub npm_registry_url: Option<String>,
    /// PyPI root, whose JSON API is below `/pypi/` [default: https://pypi.org].
    #[arg(long, env = "BACKLINE_PYPI_URL")]
    pub pypi_url: Option<String>,
    /// SLA days per severity, e.g. `critical=3,high=14,medium=30,low=90` [default: those].
    #[arg(long, env = "BACKLINE_SLA_DAYS")]
    pub sla_days: Option<String>,
    /// Key of the private-badge HMAC [default: derived from the admin token or webhook secret].
    #[arg(long, env = "BACKLINE_BADGE_SECRET", hide_env_values = true)]
    pub badge_secret: Option<String>,
    /// GitLab and store settings, shared with `sync`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The same settings as they appear in `backline.toml` (keys are the environment names, lower
/// case, without the prefix). Unknown keys are an error, so a typo does not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    webhook_secret: Option<OneOrMany>,
    webhook_signing_token: Option<OneOrMany>,
    gitlab_url: Option<String>,
    gitlab_token: Option<String>,
    admin_token: Option<String>,
    max_body_bytes: Option<usize>,
    unverified_body_budget_bytes: Option<usize>,
    body_read_timeout_secs: Option<u64>,
    inbox_max_bytes: Option<u64>,
    store_cache_bytes: Option<u64>,
    workers: Option<usize>,
    max_attempts: Option<u32>,
    retry_base_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    signature_tolerance_secs: Option<u64>,
    delivery_retention_days: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    insecure_accept_unverified: Option<bool>,
    namespace_allowlist: Option<OneOrMany>,
    namespace_denylist: Option<OneOrMany>,
    sync_interval_mins: Option<u64>,
    manage_hooks: Option<bool>,
    public_url: Option<String>,
    gitlab_max_concurrent: Option<usize>,
    gitlab_timeout_secs: Option<u64>,
    advisories: Option<Vec<PathBuf>>,
    auto_approve: Option<String>,
    unknown_severity: Option<String>,
    mr_check_fail_on: Option<String>,
    max_open_mrs: Option<usize>,
    mr_title_prefix: Option<String>,
    mr_labels: Option<OneOrMany>,
    update_outdated: Option<bool>,
    advisories_sync_hours: Option<u64>,
    osv_base_url: Option<String>,
    osv_ecosystems: Option<OneOrMany>,
    crates_index_url: Option<String>,
    npm_registry_url: Option<String>,
    pypi_url: Option<String>,
    sla_days: Option<String>,
    badge_secret: Option<String>,
    ca_file: Option<PathBuf>,
    database_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s.split(',').map(str::to_string).collect(),
            OneOrMany::Many(v) => v,
        }
    }
}

impl FileConfig {
    /// The `data_dir` key, for commands other than `serve`.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// The `osv_base_url` key: where `advisories sync` downloads `<Ecosystem>/all.zip`.
    pub fn osv_base_url(&self) -> Option<&str> {
        self.osv_base_url.as_deref()
    }

    /// The `osv_ecosystems` key: the OSV names `advisories sync` downloads.
    pub fn osv_ecosystems(&self) -> Option<Vec<String>> {
        self.osv_ecosystems.as_ref().map(|v| match v {
            OneOrMany::One(s) => s.split(',').map(|e| e.trim().to_string()).collect(),
            OneOrMany::Many(v) => v.clone(),
        })
    }

    /// The `database_url` key: PostgreSQL instead of sled.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The `ca_file` key: extra CAs for outgoing HTTPS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }
}

/// Merges flags (already falling back to the environment) over the file over the defaults, and
/// validates the result. Does not check that verification is configured: see [`require_verification`].
pub fn resolve(args: ServeArgs, file: FileConfig) -> Result<Settings, ConfigError> {
    let data_dir = args
        .common
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let mut s = Settings::with_data_dir(data_dir);
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    s.listen = listen.parse().map_err(|e| ConfigError::Invalid {
        name: "BACKLINE_LISTEN",
        reason: format!("{listen:?} is not an address such as 127.0.0.1:8080 ({e})"),
    })?;
    let secrets = args
        .webhook_secret
        .or(file.webhook_secret.map(OneOrMany::into_vec))
        .unwrap_or_default();
    s.webhook_secrets = non_empty_entries(secrets)
        .into_iter()
        .map(Secret::new)
        .collect();
    let tokens = args
        .webhook_signing_token
        .or(file.webhook_signing_token.map(OneOrMany::into_vec))
        .unwrap_or_default();
    s.signing_keys = non_empty_entries(tokens)
        .iter()
        .enumerate()
        .map(|(i, t)| {
            SigningKey::from_token(t).map_err(|reason| ConfigError::Invalid {
                name: "BACKLINE_WEBHOOK_SIGNING_TOKEN",
                reason: format!("entry {}: {reason}", i + 1),
            })
        })
        .collect::<Result<_, _>>()?;
    s.gitlab_url = args
        .common
        .gitlab_url
        .or(file.gitlab_url)
        .filter(|u| !u.is_empty());
    if let Some(url) = &s.gitlab_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "BACKLINE_GITLAB_URL",
                reason: "must start with http:// or https://".to_string(),
            });
        }
    }
    s.gitlab_token = args
        .common
        .gitlab_token
        .or(file.gitlab_token)
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    s.admin_token = args
        .admin_token
        .or(file.admin_token)
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    if let Some(n) = args.max_body_bytes.or(file.max_body_bytes) {
        if n == 0 {
            return Err(ConfigError::Invalid {
                name: "BACKLINE_MAX_BODY_BYTES",
                reason: "must be greater than 0".to_string(),
            });
        }
        s.max_body_bytes = n;
    }
    if let Some(n) = args
        .unverified_body_budget_bytes
        .or(file.unverified_body_budget_bytes)
    {
        s.unverified_body_budget_bytes = n;
    }
    if s.unverified_body_budget_bytes < s.max_body_bytes {
        return Err(ConfigError::Invalid {
            name: "BACKLINE_UNVERIFIED_BODY_BUDGET_BYTES",
            reason: format!(
                "must be at least BACKLINE_MAX_BODY_BYTES ({}), or the largest signed delivery \
                 could never be read",
                s.max_body_bytes
            ),
        });
    }
    if let Some(secs) = args.body_read_timeout_secs.or(file.body_read_timeout_secs) {
        if secs == 0 {
            return Err(ConfigError::Invalid {
                name: "BACKLINE_BODY_READ_TIMEOUT_SECS",
                reason: "must be at least 1".to_string(),
            });
        }
        s.body_read_timeout = Duration::from_secs(secs);
    }
    if let Some(n) = args.inbox_max_bytes.or(file.inbox_max_bytes) {
        s.inbox_max_bytes = n;
    }
    if let Some(n) = args.store_cache_bytes.or(file.store_cache_bytes) {
        s.store_cache_bytes = n;
    }
    if let Some(n) = args.workers.or(file.workers) {
        s.workers = n;
    }
    if let Some(n) = args.max_attempts.or(file.max_attempts) {
        if n == 0 {
            return Err(ConfigError::Invalid {
                name: "BACKLINE_MAX_ATTEMPTS",
                reason: "must be at least 1".to_string(),
            });
        }
        s.max_attempts = n;
    }
    if let Some(ms) = args.retry_base_ms.or(file.retry_base_ms) {
        s.retry_base = Duration::from_millis(ms);
    }
    if let Some(ms) = args.retry_max_ms.or(file.retry_max_ms) {
        s.retry_max = Duration::from_millis(ms);
    }
    if let Some(secs) = args
        .signature_tolerance_secs
        .or(file.signature_tolerance_secs)
    {
        s.signature_tolerance = Duration::from_secs(secs);
    }
    if let Some(days) = args
        .delivery_retention_days
        .or(file.delivery_retention_days)
    {
        s.delivery_retention = Duration::from_secs(days * 24 * 3600);
    }
    if let Some(secs) = args.shutdown_timeout_secs.or(file.shutdown_timeout_secs) {
        s.shutdown_timeout = Duration::from_secs(secs);
    }
    s.insecure_accept_unverified = args
        .insecure_accept_unverified
        .or(file.insecure_accept_unverified)
        .unwrap_or(false);
    s.namespace_allowlist = namespaces(
        args.common
            .namespace_allowlist
            .or(file.namespace_allowlist.map(OneOrMany::into_vec)),
    );
    s.namespace_denylist = namespaces(
        args.common
            .namespace_denylist
            .or(file.namespace_denylist.map(OneOrMany::into_vec)),
    );
    if let Some(mins) = args.sync_interval_mins.or(file.sync_interval_mins) {
        s.sync_interval = Duration::from_secs(mins * 60);
    }
    s.public_url = args
        .public_url
        .or(file.public_url)
        .map(|u| u.trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty());
    if let Some(url) = &s.public_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "BACKLINE_PUBLIC_URL",
                reason: "must start with http:// or https://".to_string(),
            });
        }
    }
    s.manage_hooks = args.manage_hooks.or(file.manage_hooks).unwrap_or(false);
    if s.manage_hooks && s.public_url.is_none() {
        return Err(ConfigError::Invalid {
            name: "BACKLINE_MANAGE_HOOKS",
            reason: "needs BACKLINE_PUBLIC_URL, the address GitLab should send webhooks to"
                .to_string(),
        });
    }
    if let Some(n) = args
        .common
        .gitlab_max_concurrent
        .or(file.gitlab_max_concurrent)
    {
        s.gitlab_max_concurrent = n.max(1);
    }
    if let Some(secs) = args.common.gitlab_timeout_secs.or(file.gitlab_timeout_secs) {
        s.gitlab_timeout = Duration::from_secs(secs.max(1));
    }
    s.advisories = args
        .advisories
        .or(file.advisories)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if let Some(word) = args.auto_approve.or(file.auto_approve) {
        s.auto_approve = match word.trim().to_ascii_lowercase().as_str() {
            "none" | "" => None,
            w => Some(crate::advisories::cvss::Level::from_word(w).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "BACKLINE_AUTO_APPROVE",
                    reason: format!("{word:?} is not one of critical, high, medium, low, none"),
                }
            })?),
        };
    }
    if let Some(word) = args.unknown_severity.or(file.unknown_severity) {
        s.unknown_severity = crate::advisories::cvss::Level::parse(
            &word.trim().to_ascii_lowercase(),
        )
        .ok_or_else(|| ConfigError::Invalid {
            name: "BACKLINE_UNKNOWN_SEVERITY",
            reason: format!("{word:?} is not one of critical, high, medium, low, unknown"),
        })?;
    }
    if let Some(word) = args.mr_check_fail_on.or(file.mr_check_fail_on) {
        s.mr_check_fail_on = crate::advisories::cvss::Level::parse(
            &word.trim().to_ascii_lowercase(),
        )
        .ok_or_else(|| ConfigError::Invalid {
            name: "BACKLINE_MR_CHECK_FAIL_ON",
            reason: format!("{word:?} is not one of critical, high, medium, low, unknown"),
        })?;
    }
    if let Some(n) = args.max_open_mrs.or(file.max_open_mrs) {
        s.max_open_mrs = n;
    }
    if let Some(prefix) = args.mr_title_prefix.or(file.mr_title_prefix) {
        s.mr_title_prefix = prefix;
    }
    if let Some(labels) = args.mr_labels.or(file.mr_labels.map(OneOrMany::into_vec)) {
        s.mr_labels = non_empty_entries(labels);
    }
    s.update_outdated = args
        .update_outdated
        .or(file.update_outdated)
        .unwrap_or(false);
    if let Some(url) = args.osv_base_url.or(file.osv_base_url.clone()) {
        s.osv_base_url = url.trim_end_matches('/').to_string();
    }
    if let Some(hours) = args.advisories_sync_hours.or(file.advisories_sync_hours) {
        s.advisories_sync_interval = Duration::from_secs(hours * 3600);
    }
    let registries = [
        (
            "BACKLINE_CRATES_INDEX_URL",
            args.crates_index_url.or(file.crates_index_url),
            &mut s.crates_index_url,
        ),
        (
            "BACKLINE_NPM_REGISTRY_URL",
            args.npm_registry_url.or(file.npm_registry_url),
            &mut s.npm_registry_url,
        ),
        (
            "BACKLINE_PYPI_URL",
            args.pypi_url.or(file.pypi_url),
            &mut s.pypi_url,
        ),
    ];
    for (name, value, slot) in registries {
        let Some(url) = value.map(|u| u.trim().trim_end_matches('/').to_string()) else {
            continue;
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name,
                reason: "must start with http:// or https://".to_string(),
            });
        }
        *slot = url;
    }
    if let Some(text) = args.sla_days.or(file.sla_days) {
        s.sla = crate::tracking::SlaPolicy::parse(&text).map_err(|e| ConfigError::Invalid {
            name: "BACKLINE_SLA_DAYS",
            reason: e.to_string(),
        })?;
    }
    s.badge_secret = args
        .badge_secret
        .or(file.badge_secret)
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    let ca_file = args
        .common
        .ca_file
        .or(file.ca_file)
        .filter(|p| !p.as_os_str().is_empty());
    s.network = network(ca_file.as_deref())?;
    s.database_url = database_url(args.common.database_url, file.database_url)?;
    Ok(s)
}

/// The database URL: the flag (or `BACKLINE_DATABASE_URL`), then the file key `database_url`;
/// empty means none (sled). An unusable URL is a configuration error that does not repeat it.
pub fn database_url(
    flag: Option<String>,
    file: Option<String>,
) -> Result<Option<crate::store::pg::DatabaseUrl>, ConfigError> {
    flag.or(file)
        .filter(|u| !u.trim().is_empty())
        .map(|u| crate::store::pg::DatabaseUrl::parse(&u))
        .transpose()
        .map_err(|e| ConfigError::Invalid {
            name: "BACKLINE_DATABASE_URL",
            reason: e.to_string(),
        })
}

/// The shared network settings: the system trust store plus `ca_file`, and the environment's
/// proxies. A CA file that cannot be used is a configuration error.
pub fn network(ca_file: Option<&Path>) -> Result<crate::net::Network, ConfigError> {
    crate::net::Network::load(ca_file, crate::net::ProxySettings::from_env()).map_err(|e| {
        let name = match e {
            crate::net::NetError::Proxy { variable } => variable,
            _ => "BACKLINE_CA_FILE",
        };
        ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }
    })
}

/// Refuses settings that would accept unverified deliveries without being told to.
pub fn require_verification(settings: &Settings) -> Result<(), ConfigError> {
    if settings.verification_configured() || settings.insecure_accept_unverified {
        Ok(())
    } else {
        Err(ConfigError::NoVerification)
    }
}

/// Namespace paths without surrounding slashes, empty entries dropped.
fn namespaces(values: Option<Vec<String>>) -> Vec<String> {
    non_empty_entries(values.unwrap_or_default())
        .into_iter()
        .map(|v| v.trim_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn non_empty_entries(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file = FileConfig::parse(
            "listen = \"0.0.0.0:9000\"\nworkers = 3\nwebhook_secret = [\"a\", \"b\"]\n",
        )
        .unwrap();
        let args = ServeArgs {
            workers: Some(5),
            ..Default::default()
        };
        let s = resolve(args, file).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.workers, 5);
        assert_eq!(s.webhook_secrets.len(), 2);
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn registry_urls_from_file_and_flags() {
        let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(
            s.registry_config().crates_index_url,
            "https://index.crates.io"
        );
        let file = FileConfig::parse("npm_registry_url = \"http://npm.local/\"\n").unwrap();
        let args = ServeArgs {
            pypi_url: Some("http://pypi.local".into()),
            ..Default::default()
        };
        let s = resolve(args, file).unwrap();
        let c = s.registry_config();
        assert_eq!(
            (c.npm_url.as_str(), c.pypi_url.as_str()),
            ("http://npm.local", "http://pypi.local")
        );
        let args = ServeArgs {
            crates_index_url: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(resolve(args, FileConfig::default()).is_err());
    }

    #[test]
    fn mr_check_threshold_from_file_and_flag() {
        let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::High);
        let file = FileConfig::parse("mr_check_fail_on = \"medium\"\n").unwrap();
        let s = resolve(ServeArgs::default(), file).unwrap();
        assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::Medium);
        let file = FileConfig::parse("mr_check_fail_on = \"medium\"\n").unwrap();
        let args = ServeArgs {
            mr_check_fail_on: Some("Critical".into()),
            ..Default::default()
        };
        let s = resolve(args, file).unwrap();
        assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::Critical);
        let args = ServeArgs {
            mr_check_fail_on: Some("severe".into()),
            ..Default::default()
        };
        let err = resolve(args, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("BACKLINE_MR_CHECK_FAIL_ON"), "{err}");
    }

    #[test]
    fn sla_days_from_file_and_flag() {
        let file = FileConfig::parse("sla_days = \"critical=1\"\n").unwrap();
        let s = resolve(ServeArgs::default(), file).unwrap();
        assert_eq!((s.sla.critical, s.sla.high), (1, 14));
        let args = ServeArgs {
            sla_days: Some("high=nope".into()),
            ..Default::default()
        };
        let err = resolve(args, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("BACKLINE_SLA_DAYS"), "{err}");
    }

    #[test]
    fn comma_separated_lists_in_file() {
        let file =
            FileConfig::parse(&format!("webhook_signing_token = \"{TOKEN}, {TOKEN}\"")).unwrap();
        let s = resolve(ServeArgs::default(), file).unwrap();
        assert_eq!(s.signing_keys.len(), 2);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_without_secrets() {
        assert!(FileConfig::parse("lisen = \"x\"").is_err());
        let args = ServeArgs {
            webhook_signing_token: Some(vec!["whsec_!!!notbase64".to_string()]),
            ..Default::default()
        };
        let err = resolve(args, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("BACKLINE_WEBHOOK_SIGNING_TOKEN"), "{err}");
        assert!(!err.contains("notbase64"), "{err}");
        let args = ServeArgs {
            listen: Some("nowhere".to_string()),
            ..Default::default()
        };
        assert!(resolve(args, FileConfig::default()).is_err());
    }

    #[test]
    fn verification_is_required_unless_insecure() {
        let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
        assert!(matches!(
            require_verification(&s),
            Err(ConfigError::NoVerification)
        ));
        let args = ServeArgs {
            insecure_accept_unverified: Some(true),
            ..Default::default()
        };
        let s = resolve(args, FileConfig::default()).unwrap();
        assert!(require_verification(&s).is_ok());
    }

    #[test]
    fn a_missing_or_bad_ca_file_is_a_configuration_error() {
        let args = ServeArgs {
            common: CommonArgs {
                ca_file: Some(PathBuf::from("/nonexistent/backline-ca.pem")),
                ..Default::default()
            },
            ..Default::default()
        };
        let err = resolve(args, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("BACKLINE_CA_FILE"), "{err}");
        assert!(err.contains("/nonexistent/backline-ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let file =
            FileConfig::parse(&format!("ca_file = {:?}\n", junk.display().to_string())).unwrap();
        let err = resolve(ServeArgs::default(), file).unwrap_err().to_string();
        assert!(
            err.contains("BACKLINE_CA_FILE") && err.contains("no certificate"),
            "{err}"
        );
        let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(s.network.ca_file(), None);
    }

    #[test]
    fn the_database_url_comes_from_flag_then_file_and_never_prints_its_password() {
        let file = FileConfig::parse(
            "database_url = \"postgres://bot:file-pw@db.internal/backline?sslmode=require\"\n",
        )
        .unwrap();
        let s = resolve(ServeArgs::default(), file).unwrap();
        let url = s.database_url.as_ref().unwrap();
        assert_eq!(url.config().get_password(), Some(&b"file-pw"[..]));
        assert!(!format!("{s:?}").contains("file-pw"));
        assert!(format!("{s:?}").contains("bot:[redacted]@db.internal"));
        let args = ServeArgs {
            common: CommonArgs {
                database_url: Some("postgres://bot:flag-pw@other/backline".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let file = FileConfig::parse("database_url = \"postgres://bot:file-pw@db/x\"\n").unwrap();
        let s = resolve(args, file).unwrap();
        assert_eq!(
            s.database_url.unwrap().to_string(),
            "postgres://bot:[redacted]@other/backline"
        );
        assert!(resolve(ServeArgs::default(), FileConfig::default())
            .unwrap()
            .database_url
            .is_none());
        let err = database_url(Some("postgres://bot:leak-pw@db:port/x".into()), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BACKLINE_DATABASE_URL") && !err.contains("leak-pw"),
            "{err}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let args = ServeArgs {
            webhook_secret: Some(vec!["s3cr3t-value".to_string()]),
            common: CommonArgs {
                gitlab_token: Some("glpat-abcdef".to_string()),
                ..Default::default()
            },
            admin_token: Some("adm1n".to_string()),
            badge_secret: Some("b4dge-s3cret".to_string()),
            webhook_signing_token: Some(vec![TOKEN.to_string()]),
            ..Default::default()
        };
        let s = resolve(args, FileConfig::default()).unwrap();
        let shown = format!("{s:?}");
        for secret in [
            "s3cr3t-value",
            "glpat-abcdef",
            "adm1n",
            "YWFhYWFh",
            "b4dge-s3cret",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    /// Parses `serve`-style flags as the command line would.
    fn parse_flags(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let argv = std::iter::once("backline").chain(flags.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv).map(|c| c.serve)
    }

    #[test]
    fn boolean_flags_work_bare_and_with_a_value() {
        let args = parse_flags(&[
            "--manage-hooks",
            "--insecure-accept-unverified",
            "--update-outdated",
            "--public-url",
            "https://backline.example.com",
        ])
        .unwrap();
        assert_eq!(
            (
                args.manage_hooks,
                args.insecure_accept_unverified,
                args.update_outdated
            ),
            (Some(true), Some(true), Some(true))
        );
        let s = resolve(args, FileConfig::default()).unwrap();
        assert!(s.manage_hooks && s.insecure_accept_unverified && s.update_outdated);
        // An explicit value wins over the file, in either direction.
        let args =
            parse_flags(&["--insecure-accept-unverified=false", "--manage-hooks", "no"]).unwrap();
        assert_eq!(args.manage_hooks, Some(false));
        let file = FileConfig::parse("insecure_accept_unverified = true\n").unwrap();
        assert!(!resolve(args, file).unwrap().insecure_accept_unverified);
    }

    #[test]
    fn shared_flags_live_in_their_own_group() {
        let args = parse_flags(&[
            "--gitlab-url",
            "https://gitlab.example.com",
            "--workers",
            "2",
        ])
        .unwrap();
        assert_eq!(
            args.common.gitlab_url.as_deref(),
            Some("https://gitlab.example.com")
        );
        assert_eq!(args.workers, Some(2));
    }

    #[test]
    fn the_deploy_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/backline.toml");
        let file = FileConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        // The secrets come from the environment, as deploy/backline.service gives them.
        let args = ServeArgs {
            webhook_secret: Some(vec!["from-secrets-env".to_string()]),
            ..Default::default()
        };
        let s = resolve(args, file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        require_verification(&s).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/backline"));
        assert_eq!(s.gitlab_url.as_deref(), Some("https://gitlab.example.com"));
        assert!(s.gitlab_token.is_none(), "no secret in the example file");
        assert_eq!(s.namespace_denylist, ["acme/sandbox"]);
        assert_eq!(s.advisories_sync_interval, Duration::from_secs(6 * 3600));
        assert_eq!(s.sla.critical, 3);
    }
}
