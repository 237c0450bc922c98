//! Every setting, declared once: its flag and file key (the field name), environment variable,
//! extra flag attributes, default and validation. `declare_settings!` (see `config::declare`)
//! makes the clap flags, the file keys and the merge from it. The README's settings table and
//! `deploy/backline.toml` are checked against [`declared`] by the tests.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;

use super::settings::{
    DEFAULT_DATA_DIR, DEFAULT_INBOX_MAX_BYTES, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_UNVERIFIED_BODY_BUDGET_BYTES,
};
use super::value::{
    at_least_one, ecosystems, http_url, http_url_or, level, namespaces, non_empty,
    non_empty_entries, threshold, Rejected,
};
use super::{ConfigError, Settings};
use crate::ecosystem::Ecosystem;
use crate::secret::Secret;
use crate::signing_key::SigningKey;

/// Which command line a setting belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `serve`, `doctor` and `sync` (GitLab and store).
    Common,
    /// `serve` and `doctor` only.
    Server,
}

/// One declared setting, as the docs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The `backline.toml` key (and the flag, with `-` for `_`).
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// Which commands take it.
    pub group: Group,
    /// The default, as the README writes it.
    pub default: String,
    /// The flag's help.
    pub help: String,
}

impl Declared {
    /// The command-line flag.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }
}

fn seconds(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

declare_settings! {
    common {
        /// Data directory for the store.
        data_dir: [PathBuf] {
            env: "BACKLINE_DATA_DIR",
            arg: [],
            default: value(PathBuf::from(DEFAULT_DATA_DIR)),
            apply: |s, v| {
                s.data_dir = v;
                Ok(())
            },
        },
        /// GitLab instance root URL, e.g. https://gitlab.example.com.
        gitlab_url: [String] {
            env: "BACKLINE_GITLAB_URL",
            arg: [],
            default: unset("none"),
            apply: |s, v| {
                s.gitlab_url = http_url(v)?;
                Ok(())
            },
        },
        /// GitLab token of the bot user.
        gitlab_token: [String] {
            env: "BACKLINE_GITLAB_TOKEN",
            arg: [hide_env_values = true],
            default: unset("none"),
            apply: |s, v| {
                s.gitlab_token = non_empty(v).map(Secret::new);
                Ok(())
            },
        },
        /// Only catalog projects under these namespaces (comma-separated, e.g. `acme,tools/infra`).
        namespace_allowlist: [Vec<String>] {
            env: "BACKLINE_NAMESPACE_ALLOWLIST",
            arg: [value_delimiter = ','],
            default: unset("all"),
            apply: |s, v| {
                s.namespace_allowlist = namespaces(v);
                Ok(())
            },
        },
        /// Never catalog projects under these namespaces (comma-separated).
        namespace_denylist: [Vec<String>] {
            env: "BACKLINE_NAMESPACE_DENYLIST",
            arg: [value_delimiter = ','],
            default: unset("none"),
            apply: |s, v| {
                s.namespace_denylist = namespaces(v);
                Ok(())
            },
        },
        /// GitLab requests in flight at most.
        gitlab_max_concurrent: [usize] {
            env: "BACKLINE_GITLAB_MAX_CONCURRENT",
            arg: [],
            default: value(8),
            apply: |s, v| {
                s.gitlab_max_concurrent = v.max(1);
                Ok(())
            },
        },
        /// Timeout of each GitLab request, in seconds.
        gitlab_timeout_secs: [u64] {
            env: "BACKLINE_GITLAB_TIMEOUT_SECS",
            arg: [],
            default: value(30),
            apply: |s, v| {
                s.gitlab_timeout = seconds(v.max(1));
                Ok(())
            },
        },
        /// PEM file of extra CAs trusted besides the system trust store (a private or
        /// TLS-intercepting CA), for GitLab, the registries and OSV.
        ca_file: [PathBuf] {
            env: "BACKLINE_CA_FILE",
            arg: [],
            default: unset("none"),
            apply: |s, v| {
                s.ca_file = v.filter(|p| !p.as_os_str().is_empty());
                Ok(())
            },
        },
        /// PostgreSQL URL (`postgres://user:password@host:port/database?sslmode=require`): the
        /// store's backend instead of sled (`serve`, `doctor`, `backline migrate`), shared by
        /// several replicas. Printed with its password redacted.
        database_url: [String] {
            env: "BACKLINE_DATABASE_URL",
            arg: [hide_env_values = true],
            default: unset("none"),
            apply: |s, v| {
                s.database_url = non_empty(v)
                    .map(|u| crate::store::pg::DatabaseUrl::parse(&u))
                    .transpose()
                    .map_err(|e| e.to_string())?;
                Ok(())
            },
        },
        /// This replica's name in leases on PostgreSQL (e.g. the pod name); by default a fresh
        /// one per process (host, pid and a random part).
        replica_id: [String] {
            env: "BACKLINE_REPLICA_ID",
            arg: [],
            default: unset("generated"),
            apply: |s, v| {
                s.replica_id = non_empty(v);
                Ok(())
            },
        },
        /// Seconds a replica's claim on a delivery (and on periodic work) holds on PostgreSQL
        /// before another replica takes it over; renewed every third of it while running.
        lease_secs: [u64] {
            env: "BACKLINE_LEASE_SECS",
            arg: [],
            default: value(20u64),
            apply: |s, v| {
                s.lease = seconds(at_least_one(v)?);
                Ok(())
            },
        },
    }
    server {
        /// Address to listen on.
        listen: [String] {
            env: "BACKLINE_LISTEN",
            arg: [],
            default: value(DEFAULT_LISTEN.to_string()),
            apply: |s, v| {
                s.listen = v.parse().map_err(|e| {
                    format!("{v:?} is not an address such as 127.0.0.1:8080 ({e})")
                })?;
                Ok(())
            },
        },
        /// Webhook secret token(s), comma-separated for rotation.
        webhook_secret: [Vec<String>] {
            env: "BACKLINE_WEBHOOK_SECRET",
            arg: [value_delimiter = ',', hide_env_values = true],
            default: unset("none"),
            apply: |s, v| {
                s.webhook_secrets = non_empty_entries(v.unwrap_or_default())
                    .into_iter()
                    .map(Secret::new)
                    .collect();
                Ok(())
            },
        },
        /// Standard Webhooks signing token(s) (`whsec_...`), comma-separated.
        webhook_signing_token: [Vec<String>] {
            env: "BACKLINE_WEBHOOK_SIGNING_TOKEN",
            arg: [value_delimiter = ',', hide_env_values = true],
            default: unset("none"),
            apply: |s, v| {
                s.signing_keys = non_empty_entries(v.unwrap_or_default())
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        SigningKey::from_token(t)
                            .map_err(|reason| Rejected::from(format!("entry {}: {reason}", i + 1)))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(())
            },
        },
        /// Accept deliveries without any verification when none is configured
        /// (`--insecure-accept-unverified` alone means true; `=false` turns a file's `true` off).
        insecure_accept_unverified: [bool] {
            env: "BACKLINE_INSECURE_ACCEPT_UNVERIFIED",
            arg: [num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new()],
            default: value(false),
            apply: |s, v| {
                s.insecure_accept_unverified = v;
                Ok(())
            },
        },
        /// Allowed clock skew of `webhook-timestamp`, in seconds.
        signature_tolerance_secs: [u64] {
            env: "BACKLINE_SIGNATURE_TOLERANCE_SECS",
            arg: [],
            default: value(300),
            apply: |s, v| {
                s.signature_tolerance = seconds(v);
                Ok(())
            },
        },
        /// Largest accepted webhook body in bytes.
        max_body_bytes: [usize] {
            env: "BACKLINE_MAX_BODY_BYTES",
            arg: [],
            default: value(DEFAULT_MAX_BODY_BYTES),
            apply: |s, v| {
                if v == 0 {
                    return Err("must be greater than 0".into());
                }
                s.max_body_bytes = v;
                Ok(())
            },
        },
        /// Bytes of unverified (signed) bodies buffered at once before answering 503, at
        /// least the largest body.
        unverified_body_budget_bytes: [usize] {
            env: "BACKLINE_UNVERIFIED_BODY_BUDGET_BYTES",
            arg: [],
            default: value(DEFAULT_UNVERIFIED_BODY_BUDGET_BYTES),
            apply: |s, v| {
                s.unverified_body_budget_bytes = v;
                Ok(())
            },
        },
        /// Seconds a webhook body may take to arrive before 408.
        body_read_timeout_secs: [u64] {
            env: "BACKLINE_BODY_READ_TIMEOUT_SECS",
            arg: [],
            default: value(10),
            apply: |s, v| {
                s.body_read_timeout = seconds(at_least_one(v)?);
                Ok(())
            },
        },
        /// Most bytes stored delivery bodies (compressed) may take before 503.
        inbox_max_bytes: [u64] {
            env: "BACKLINE_INBOX_MAX_BYTES",
            arg: [],
            default: value(DEFAULT_INBOX_MAX_BYTES),
            apply: |s, v| {
                s.inbox_max_bytes = v;
                Ok(())
            },
        },
        /// sled's page cache in bytes.
        store_cache_bytes: [u64] {
            env: "BACKLINE_STORE_CACHE_BYTES",
            arg: [],
            default: value(crate::store::DEFAULT_CACHE_BYTES),
            apply: |s, v| {
                s.store_cache_bytes = v;
                Ok(())
            },
        },
        /// Bearer token for the JSON API; without it the API answers 404.
        admin_token: [String] {
            env: "BACKLINE_ADMIN_TOKEN",
            arg: [hide_env_values = true],
            default: unset("none"),
            apply: |s, v| {
                s.admin_token = non_empty(v).map(Secret::new);
                Ok(())
            },
        },
        /// This server's URL as GitLab reaches it, e.g. https://backline.example.com.
        public_url: [String] {
            env: "BACKLINE_PUBLIC_URL",
            arg: [],
            default: unset("none"),
            apply: |s, v| {
                s.public_url = http_url(v)?;
                Ok(())
            },
        },
        /// Keep one webhook per catalogued project pointing at BACKLINE_PUBLIC_URL (needs
        /// Maintainer; the flag alone means true).
        manage_hooks: [bool] {
            env: "BACKLINE_MANAGE_HOOKS",
            arg: [num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new()],
            default: value(false),
            apply: |s, v| {
                s.manage_hooks = v;
                Ok(())
            },
        },
        /// Minutes between catalog syncs in `serve`; 0 = only at start and on request.
        sync_interval_mins: [u64] {
            env: "BACKLINE_SYNC_INTERVAL_MINS",
            arg: [],
            default: value(60),
            apply: |s, v| {
                s.sync_interval = seconds(v.saturating_mul(60));
                Ok(())
            },
        },
        /// Seconds between catalog syncs, instead of the minutes when set (0 = only at start
        /// and on request).
        sync_interval_secs: [u64] {
            env: "BACKLINE_SYNC_INTERVAL_SECS",
            arg: [],
            default: unset("none"),
            apply: |s, v| {
                if let Some(secs) = v {
                    s.sync_interval = seconds(secs);
                }
                Ok(())
            },
        },
        /// Advisory databases to import at start (comma-separated folders or zips: OSV, OSV
        /// bucket, RustSec advisory-db, PyPA advisory-database).
        advisories: [Vec<PathBuf>] {
            env: "BACKLINE_ADVISORIES",
            arg: [value_delimiter = ','],
            default: unset("none"),
            apply: |s, v| {
                s.advisories = v
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect();
                Ok(())
            },
        },
        /// Where OSV's `<Ecosystem>/all.zip` files come from.
        osv_base_url: [String] {
            env: "BACKLINE_OSV_BASE_URL",
            arg: [],
            default: value(crate::advisories::sync::DEFAULT_BASE_URL.to_string()),
            apply: |s, v| {
                s.osv_base_url = http_url_or(v, crate::advisories::sync::DEFAULT_BASE_URL)?;
                Ok(())
            },
        },
        /// Hours between advisory syncs from OSV inside `serve`; 0 = only on request.
        advisories_sync_hours: [u64] {
            env: "BACKLINE_ADVISORIES_SYNC_HOURS",
            arg: [],
            default: value(0),
            apply: |s, v| {
                s.advisories_sync_interval = seconds(v.saturating_mul(3600));
                Ok(())
            },
        },
        /// OSV ecosystems that advisory syncs download, comma-separated.
        osv_ecosystems: [Vec<String>] {
            env: "BACKLINE_OSV_ECOSYSTEMS",
            arg: [value_delimiter = ','],
            default: value(Ecosystem::ALL.iter().map(|e| e.osv_name().to_string()).collect()),
            apply: |s, v| {
                s.osv_ecosystems = ecosystems(&v)?;
                Ok(())
            },
        },
        /// Severity given to vulnerabilities whose severity no vector, database word or twin
        /// record tells: critical, high, medium, low or unknown.
        unknown_severity: [String] {
            env: "BACKLINE_UNKNOWN_SEVERITY",
            arg: [],
            default: value("medium".to_string()),
            apply: |s, v| {
                s.unknown_severity = level(&v)?;
                Ok(())
            },
        },
        /// Severity from which fixes open MRs without approval: critical, high, medium, low or
        /// none.
        auto_approve: [String] {
            env: "BACKLINE_AUTO_APPROVE",
            arg: [],
            default: value("high".to_string()),
            apply: |s, v| {
                s.auto_approve = threshold(&v)?;
                Ok(())
            },
        },
        /// MR checks: an MR adding a vulnerability at or above this severity gets a failed
        /// `backline/dependencies` status: critical, high, medium, low or unknown.
        mr_check_fail_on: [String] {
            env: "BACKLINE_MR_CHECK_FAIL_ON",
            arg: [],
            default: value("high".to_string()),
            apply: |s, v| {
                s.mr_check_fail_on = level(&v)?;
                Ok(())
            },
        },
        /// Open bot MRs per project at most.
        max_open_mrs: [usize] {
            env: "BACKLINE_MAX_OPEN_MRS",
            arg: [],
            default: value(10),
            apply: |s, v| {
                s.max_open_mrs = v;
                Ok(())
            },
        },
        /// MR title prefix.
        mr_title_prefix: [String] {
            env: "BACKLINE_MR_TITLE_PREFIX",
            arg: [],
            default: value("Security:".to_string()),
            apply: |s, v| {
                s.mr_title_prefix = v;
                Ok(())
            },
        },
        /// MR labels, comma-separated.
        mr_labels: [Vec<String>] {
            env: "BACKLINE_MR_LABELS",
            arg: [value_delimiter = ','],
            default: value(vec!["security".to_string(), "backline".to_string()]),
            apply: |s, v| {
                s.mr_labels = non_empty_entries(v);
                Ok(())
            },
        },
        /// Also plan upgrades of outdated direct dependencies (they wait for approval; the
        /// flag alone means true).
        update_outdated: [bool] {
            env: "BACKLINE_UPDATE_OUTDATED",
            arg: [num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", value_parser = BoolishValueParser::new()],
            default: value(false),
            apply: |s, v| {
                s.update_outdated = v;
                Ok(())
            },
        },
        /// crates.io sparse index root.
        crates_index_url: [String] {
            env: "BACKLINE_CRATES_INDEX_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_CRATES_INDEX_URL.to_string()),
            apply: |s, v| {
                s.crates_index_url = http_url_or(v, crate::registry::DEFAULT_CRATES_INDEX_URL)?;
                Ok(())
            },
        },
        /// npm registry root.
        npm_registry_url: [String] {
            env: "BACKLINE_NPM_REGISTRY_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_NPM_URL.to_string()),
            apply: |s, v| {
                s.npm_registry_url = http_url_or(v, crate::registry::DEFAULT_NPM_URL)?;
                Ok(())
            },
        },
        /// PyPI root, whose JSON API is below `/pypi/`.
        pypi_url: [String] {
            env: "BACKLINE_PYPI_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_PYPI_URL.to_string()),
            apply: |s, v| {
                s.pypi_url = http_url_or(v, crate::registry::DEFAULT_PYPI_URL)?;
                Ok(())
            },
        },
        /// RubyGems root, whose API is below `/api/v2/`.
        rubygems_url: [String] {
            env: "BACKLINE_RUBYGEMS_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_RUBYGEMS_URL.to_string()),
            apply: |s, v| {
                s.rubygems_url = http_url_or(v, crate::registry::DEFAULT_RUBYGEMS_URL)?;
                Ok(())
            },
        },
        /// Packagist metadata root (`/p2/<vendor>/<name>.json`).
        packagist_url: [String] {
            env: "BACKLINE_PACKAGIST_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_PACKAGIST_URL.to_string()),
            apply: |s, v| {
                s.packagist_url = http_url_or(v, crate::registry::DEFAULT_PACKAGIST_URL)?;
                Ok(())
            },
        },
        /// Go module proxies in `GOPROXY` syntax: URLs separated by `,` (next on 404/410) or
        /// `|` (next on any error); `direct` and `off` end the list (no VCS fetching).
        goproxy: [String] {
            env: "BACKLINE_GOPROXY",
            arg: [],
            default: value(crate::registry::DEFAULT_GOPROXY.to_string()),
            apply: |s, v| {
                let v = if v.trim().is_empty() {
                    crate::registry::DEFAULT_GOPROXY.to_string()
                } else {
                    v.trim().to_string()
                };
                let list = backline_core::registry::goproxy::ProxyList::parse(&v)
                    .map_err(|e| e.to_string())?;
                if list.urls().next().is_none() {
                    return Err(format!(
                        "`{v}` names no proxy URL before `direct`/`off` (backline fetches from proxies only)"
                    )
                    .into());
                }
                s.goproxy = v;
                Ok(())
            },
        },
        /// NuGet v3 service index (`PackageBaseAddress/3.0.0`, `RegistrationsBaseUrl`).
        nuget_url: [String] {
            env: "BACKLINE_NUGET_URL",
            arg: [],
            default: value(crate::registry::DEFAULT_NUGET_URL.to_string()),
            apply: |s, v| {
                s.nuget_url = http_url_or(v, crate::registry::DEFAULT_NUGET_URL)?;
                Ok(())
            },
        },
        /// SLA days per severity, e.g. `critical=3,high=14,medium=30,low=90`.
        sla_days: [String] {
            env: "BACKLINE_SLA_DAYS",
            arg: [],
            default: value("critical=3,high=14,medium=30,low=90".to_string()),
            apply: |s, v| {
                s.sla = crate::tracking::SlaPolicy::parse(&v).map_err(|e| e.to_string())?;
                Ok(())
            },
        },
        /// Key of the private-badge HMAC (without it one is derived from the admin token or
        /// the webhook secret).
        badge_secret: [String] {
            env: "BACKLINE_BADGE_SECRET",
            arg: [hide_env_values = true],
            default: unset("derived"),
            apply: |s, v| {
                s.badge_secret = non_empty(v).map(Secret::new);
                Ok(())
            },
        },
        /// Deliveries processed at once; 0 = accept and store only.
        workers: [usize] {
            env: "BACKLINE_WORKERS",
            arg: [],
            default: value(8),
            apply: |s, v| {
                s.workers = v;
                Ok(())
            },
        },
        /// Attempts before a delivery becomes a dead letter.
        max_attempts: [u32] {
            env: "BACKLINE_MAX_ATTEMPTS",
            arg: [],
            default: value(8),
            apply: |s, v| {
                s.max_attempts = at_least_one(v)?;
                Ok(())
            },
        },
        /// First retry delay in milliseconds, doubled per attempt.
        retry_base_ms: [u64] {
            env: "BACKLINE_RETRY_BASE_MS",
            arg: [],
            default: value(2000),
            apply: |s, v| {
                s.retry_base = Duration::from_millis(v);
                Ok(())
            },
        },
        /// Longest retry delay in milliseconds.
        retry_max_ms: [u64] {
            env: "BACKLINE_RETRY_MAX_MS",
            arg: [],
            default: value(600_000),
            apply: |s, v| {
                s.retry_max = Duration::from_millis(v);
                Ok(())
            },
        },
        /// Days finished deliveries are kept for the API and deduplication.
        delivery_retention_days: [u64] {
            env: "BACKLINE_DELIVERY_RETENTION_DAYS",
            arg: [],
            default: value(7),
            apply: |s, v| {
                s.delivery_retention = seconds(v.saturating_mul(24 * 3600));
                Ok(())
            },
        },
        /// Days dead letters (with their deliveries) are kept.
        dead_letter_retention_days: [u64] {
            env: "BACKLINE_DEAD_LETTER_RETENTION_DAYS",
            arg: [],
            default: value(30),
            apply: |s, v| {
                s.dead_letter_retention = seconds(v.saturating_mul(24 * 3600));
                Ok(())
            },
        },
        /// Most dead letters kept; past it the oldest are forgotten.
        dead_letter_max: [usize] {
            env: "BACKLINE_DEAD_LETTER_MAX",
            arg: [],
            default: value(10_000),
            apply: |s, v| {
                s.dead_letter_max = v;
                Ok(())
            },
        },
        /// Seconds to wait for running handlers on shutdown.
        shutdown_timeout_secs: [u64] {
            env: "BACKLINE_SHUTDOWN_TIMEOUT_SECS",
            arg: [],
            default: value(20),
            apply: |s, v| {
                s.shutdown_timeout = seconds(v);
                Ok(())
            },
        },
    }
}
