//! `backline doctor`: with the settings `serve` would use, check what a deployment depends on
//! (data directory, the PostgreSQL database when one is set, GitLab and its TLS chain, the token, GitLab's version and external URL, the
//! bot's role, managed hooks, registries, the OSV source, the advisory index) and say, one line
//! each, what is fine and what to do about the rest. Checks of things the settings do not use are
//! shown as skipped. The judgement of each answer is in small pure functions; [`run`] asks.

mod database;
mod report;

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;

pub use report::{exit_code, render, Check, Status};

use crate::advisories::persist::AdvisoryStore;
use crate::catalog::Catalog;
use crate::config::Settings;
use crate::gitlab::check::assess_token;
use crate::gitlab::{GitLab, GitLabError};
use crate::store::{Store, StoreError};

/// How many catalogued projects the role and hook checks look at.
const SAMPLE: usize = 5;
/// An advisory index whose newest record is older than this is called stale.
const STALE_DAYS: i64 = 30;
/// GitLab signs webhooks (`webhook-signature`) from this major version on.
const SIGNING_SINCE_MAJOR: u32 = 19;
const CA_FIX: &str = "put the issuing CA's certificate (PEM) in a file and set BACKLINE_CA_FILE (flag --ca-file, file key ca_file) to it";

/// Runs every check. `gitlab` is the client `serve` would build (None when not configured).
pub async fn run(settings: &Settings, gitlab: Option<&GitLab>) -> Vec<Check> {
    let mut checks = Vec::new();
    let (data_check, store) = data_dir(settings);
    checks.push(data_check);
    if let Some(db) = database::check(settings).await {
        checks.push(db);
    }

    match gitlab {
        None => checks.push(Check::warn(
            "GitLab",
            "not configured: serve would record deliveries and act on nothing",
            "set BACKLINE_GITLAB_URL and BACKLINE_GITLAB_TOKEN",
        )),
        Some(gitlab) => gitlab_checks(settings, gitlab, store.as_ref(), &mut checks).await,
    }

    let http = match http_client(settings) {
        Ok(client) => Some(client),
        Err(e) => {
            checks.push(Check::fail(
                "HTTP client",
                format!("could not be built: {e}"),
                "check BACKLINE_CA_FILE and the proxy variables",
            ));
            None
        }
    };
    if let Some(http) = &http {
        for (name, url) in [
            ("crates.io index", &settings.crates_index_url),
            ("npm registry", &settings.npm_registry_url),
            ("PyPI", &settings.pypi_url),
        ] {
            checks.push(reachable(http, name, url).await);
        }
        if settings.advisories_sync_interval.is_zero() {
            checks.push(Check::skip(
                "OSV source",
                "advisory sync is off (BACKLINE_ADVISORIES_SYNC_HOURS)",
            ));
        } else {
            checks.push(reachable(http, "OSV source", &settings.osv_base_url).await);
        }
    }
    checks.push(advisory_index(settings, store.as_ref()));
    checks
}

fn data_dir(settings: &Settings) -> (Check, Option<Store>) {
    const NAME: &str = "data dir";
    let dir = &settings.data_dir;
    if let Err(e) = std::fs::create_dir_all(dir) {
        return (
            Check::fail(
                NAME,
                format!("{}: cannot be created: {e}", dir.display()),
                "choose another --data-dir or fix its permissions",
            ),
            None,
        );
    }
    if let Err(e) = tempfile::NamedTempFile::new_in(dir) {
        return (
            Check::fail(
                NAME,
                format!("{}: not writable: {e}", dir.display()),
                "give the service user write access (systemd: StateDirectory=)",
            ),
            None,
        );
    }
    match Store::open(dir) {
        Ok(store) => (
            Check::pass(NAME, format!("{}: writable, schema current", dir.display())),
            Some(store),
        ),
        Err(StoreError::Locked(_)) => (
            Check::pass(
                NAME,
                format!(
                    "{}: writable, held by a running backline (the checks that read it are skipped)",
                    dir.display()
                ),
            ),
            None,
        ),
        Err(e @ StoreError::NewerSchema { .. }) => (
            Check::fail(NAME, e.to_string(), "run the newer backline that wrote it"),
            None,
        ),
        Err(e) => (
            Check::fail(
                NAME,
                format!("{}: cannot be opened: {e}", dir.display()),
                "check the disk and the directory's contents",
            ),
            None,
        ),
    }
}

async fn gitlab_checks(
    settings: &Settings,
    gitlab: &GitLab,
    store: Option<&Store>,
    checks: &mut Vec<Check>,
) {
    let host = gitlab.root().host_str().unwrap_or("GitLab").to_string();
    let user = match gitlab.current_user().await {
        Ok(user) => {
            checks.push(Check::pass(
                "GitLab",
                format!("{} answers over {}", gitlab.root(), gitlab.root().scheme()),
            ));
            user
        }
        Err(GitLabError::Unauthorized { .. }) => {
            checks.push(Check::pass("GitLab", format!("{} answers", gitlab.root())));
            checks.push(Check::fail(
                "token",
                "GitLab refused the token (unknown, expired or revoked)",
                "create a personal or group access token with the api scope for the bot user and set BACKLINE_GITLAB_TOKEN",
            ));
            return;
        }
        Err(e) => {
            checks.push(unreachable_gitlab(&host, &e));
            checks.push(Check::skip("token", "GitLab could not be reached"));
            return;
        }
    };
    checks.push(token_check(gitlab, &user.username).await);
    checks.push(version_check(settings, gitlab).await);
    checks.push(external_url_check(gitlab).await);
    let sample = match store.map(|s| Catalog::open(s).and_then(|c| c.ids())) {
        None => Vec::new(),
        Some(Ok(ids)) => ids,
        Some(Err(e)) => {
            // A store that fails is said, not read as an empty catalog.
            checks.push(Check::fail(
                "catalog",
                format!("the catalog could not be read: {e}"),
                "check the data directory's disk and permissions",
            ));
            Vec::new()
        }
    };
    let sample: Vec<_> = sample.into_iter().take(SAMPLE).collect();
    if sample.is_empty() {
        checks.push(Check::skip(
            "bot role",
            "nothing catalogued yet (or the data dir is in use)",
        ));
    } else {
        checks.push(role_check(gitlab, &sample).await);
    }
    match (
        &settings.public_url,
        settings.manage_hooks,
        sample.is_empty(),
    ) {
        (Some(public), true, false) => {
            let (check, sampled) = hooks_check(gitlab, public, &sample).await;
            checks.push(check);
            checks.push(match sampled {
                Some((project, hook, url)) => delivery_check(gitlab, project, hook, &url).await,
                None => Check::skip(WEBHOOK_REACH, "no managed hook in the sampled projects"),
            });
        }
        (_, false, _) | (None, _, _) => {
            let why = "hooks are not managed (BACKLINE_MANAGE_HOOKS with BACKLINE_PUBLIC_URL)";
            checks.push(Check::skip("managed hooks", why));
            checks.push(Check::skip(WEBHOOK_REACH, why));
        }
        (_, true, true) => {
            checks.push(Check::skip("managed hooks", "nothing catalogued yet"));
            checks.push(Check::skip(WEBHOOK_REACH, "nothing catalogued yet"));
        }
    }
}

/// A failed first call, said the way an admin can act on it.
fn unreachable_gitlab(host: &str, error: &GitLabError) -> Check {
    let text = error.to_string();
    if is_certificate_error(&text) {
        Check::fail(
            "GitLab",
            format!("TLS: the certificate of {host} was refused ({text})"),
            CA_FIX,
        )
    } else {
        Check::fail(
            "GitLab",
            format!("{host} could not be reached: {text}"),
            "check BACKLINE_GITLAB_URL, DNS and HTTPS_PROXY / NO_PROXY",
        )
    }
}

fn is_certificate_error(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "certificate",
        "unknownissuer",
        "unknown issuer",
        "tls handshake",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

async fn token_check(gitlab: &GitLab, username: &str) -> Check {
    const NAME: &str = "token";
    match gitlab.token_info().await {
        Ok(info) => {
            let assessment = assess_token(&info, OffsetDateTime::now_utc().date());
            let expiry = info.expires_at.as_deref().unwrap_or("never");
            let detail = format!(
                "user {username}, scopes [{}], expires {expiry}",
                info.scopes.join(", ")
            );
            if !assessment.has_api_scope {
                Check::fail(
                    NAME,
                    detail,
                    "give the token the api scope (the bot opens merge requests and comments)",
                )
            } else if assessment.warnings.is_empty() {
                Check::pass(NAME, detail)
            } else {
                Check::warn(
                    NAME,
                    format!("{detail}: {}", assessment.warnings.join("; ")),
                    "rotate the token before it expires",
                )
            }
        }
        Err(e) => Check::warn(
            NAME,
            format!("user {username}; GitLab would not show the token's scopes and expiry ({e})"),
            "check the token's scopes and expiry in GitLab",
        ),
    }
}

async fn version_check(settings: &Settings, gitlab: &GitLab) -> Check {
    const NAME: &str = "GitLab version";
    match gitlab.version().await {
        Ok(v) => version_verdict(&v.version, !settings.signing_keys.is_empty()),
        Err(e) => Check::warn(
            NAME,
            format!("GitLab would not tell its version ({e})"),
            "the token needs read access to /version (api or read_api)",
        ),
    }
}

/// What a version means for the features backline uses.
fn version_verdict(version: &str, signing_configured: bool) -> Check {
    const NAME: &str = "GitLab version";
    let major: Option<u32> = version.split('.').next().and_then(|m| m.parse().ok());
    let signing = major.is_some_and(|m| m >= SIGNING_SINCE_MAJOR);
    let detail = format!(
        "{version}; webhook signing tokens {}",
        if signing {
            "available"
        } else {
            "not available (GitLab 19.0 or later)"
        }
    );
    if signing_configured && !signing {
        Check::warn(
            NAME,
            detail,
            "this GitLab cannot sign deliveries: configure BACKLINE_WEBHOOK_SECRET for its hooks",
        )
    } else {
        Check::pass(NAME, detail)
    }
}

/// GitLab builds pagination links from its own `external_url`: compare it with ours.
async fn external_url_check(gitlab: &GitLab) -> Check {
    const NAME: &str = "external URL";
    let answer = gitlab
        .request(
            Method::GET,
            "projects",
            &[
                ("membership", "true".to_string()),
                ("per_page", "1".to_string()),
                ("simple", "true".to_string()),
            ],
            None::<&()>,
        )
        .await;
    let header = match answer {
        Ok(answer) => answer.header("link").map(str::to_string),
        Err(e) => return Check::warn(NAME, format!("could not list projects ({e})"), "see above"),
    };
    external_url_verdict(gitlab.root(), header.as_deref())
}

fn external_url_verdict(root: &reqwest::Url, link_header: Option<&str>) -> Check {
    const NAME: &str = "external URL";
    let Some(header) = link_header else {
        return Check::skip(NAME, "GitLab sent no Link header to compare");
    };
    let Some(first) = link_targets(header).into_iter().next() else {
        return Check::skip(NAME, "GitLab's Link header holds no URL");
    };
    let Ok(url) = reqwest::Url::parse(&first) else {
        return Check::warn(
            NAME,
            "GitLab's Link header holds no valid URL",
            "check external_url in gitlab.rb",
        );
    };
    let theirs = url.origin().ascii_serialization();
    let ours = root.origin().ascii_serialization();
    if theirs == ours {
        Check::pass(NAME, format!("GitLab calls itself {theirs}, as configured"))
    } else {
        Check::warn(
            NAME,
            format!(
                "GitLab calls itself {theirs} but BACKLINE_GITLAB_URL is {ours}; backline copes (it follows links on its own origin)"
            ),
            "webhook URLs and links GitLab shows use its external_url; set BACKLINE_GITLAB_URL to it if it is reachable from here",
        )
    }
}

async fn role_check(gitlab: &GitLab, sample: &[crate::gitlab::ProjectId]) -> Check {
    const NAME: &str = "bot role";
    let mut below = Vec::new();
    let mut errors = Vec::new();
    for id in sample {
        let path = format!("projects/{id}");
        match gitlab.get::<Value>(&path, &[]).await {
            Ok(project) => {
                if role_level(&project) < 30 {
                    below.push(
                        project["path_with_namespace"]
                            .as_str()
                            .unwrap_or("?")
                            .to_string(),
                    );
                }
            }
            Err(e) => errors.push(format!("{id}: {e}")),
        }
    }
    if !errors.is_empty() {
        Check::warn(
            NAME,
            format!(
                "could not read {} of {} sampled projects: {}",
                errors.len(),
                sample.len(),
                errors.join("; ")
            ),
            "run `backline sync` (or POST /api/v1/sync) to refresh the catalog",
        )
    } else if below.is_empty() {
        Check::pass(
            NAME,
            format!(
                "Developer or more on {} of {} sampled projects",
                sample.len(),
                sample.len()
            ),
        )
    } else {
        Check::fail(
            NAME,
            format!("below Developer on {}", below.join(", ")),
            "give the bot user Developer (Maintainer for managed hooks and badges) on these projects",
        )
    }
}

/// The bot's access level in a single-project answer (project or group access, the higher).
fn role_level(project: &Value) -> u64 {
    ["project_access", "group_access"]
        .iter()
        .filter_map(|k| project["permissions"][k]["access_level"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The name of the "can GitLab reach the webhook URL" check.
const WEBHOOK_REACH: &str = "webhook reachable from GitLab";

/// Asks GitLab to send one sampled managed hook its test delivery (`POST .../hooks/:hook_id/
/// test/push_events`, lib/api/hooks/trigger_test.rb): 201 when the receiver answered 2xx, 422
/// with the receiver's answer or the connection error otherwise. Needs Maintainer; GitLab
/// allows 5 a minute per project. The test is a real push event of the default branch.
async fn delivery_check(
    gitlab: &GitLab,
    project: crate::gitlab::ProjectId,
    hook: u64,
    url: &str,
) -> Check {
    let url = crate::untrusted::terminal::printable(url).into_owned();
    let at = crate::gitlab::ProjectRef::Id(project);
    match gitlab
        .test_project_hook(&at, hook, crate::catalog::hooks::REENABLE_TRIGGER)
        .await
    {
        Ok(()) => Check::pass(
            WEBHOOK_REACH,
            format!("GitLab delivered a test push to {url} (hook {hook} of project {project}) and it was accepted"),
        ),
        Err(GitLabError::Validation { message, .. }) => {
            let said: String = crate::untrusted::terminal::printable(&message)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(200)
                .collect();
            Check::fail(
                WEBHOOK_REACH,
                format!("GitLab's test delivery to {url} failed: {said}"),
                "make BACKLINE_PUBLIC_URL reachable from GitLab (DNS, firewall, proxy; GitLab checks the TLS certificate) and run `backline serve` there",
            )
        }
        Err(GitLabError::RateLimited { .. }) => Check::skip(
            WEBHOOK_REACH,
            "GitLab rate-limits hook tests (5 a minute per project): run doctor again in a minute",
        ),
        Err(e @ (GitLabError::Forbidden { .. } | GitLabError::NotFound { .. } | GitLabError::InsufficientScope { .. })) => Check::skip(
            WEBHOOK_REACH,
            format!("the token cannot use GitLab's hook test endpoint (it needs Maintainer): {e}"),
        ),
        Err(e) => Check::warn(WEBHOOK_REACH, format!("could not ask GitLab for a test delivery: {e}"), "see above"),
    }
}

/// Checks the managed hooks of the sample; also returns one hook to test (project, id, URL).
async fn hooks_check(
    gitlab: &GitLab,
    public_url: &str,
    sample: &[crate::gitlab::ProjectId],
) -> (Check, Option<(crate::gitlab::ProjectId, u64, String)>) {
    const NAME: &str = "managed hooks";
    let mut sampled = None;
    let target = format!("{}/webhooks/gitlab", public_url.trim_end_matches('/'));
    let mut disabled = Vec::new();
    let mut missing = 0;
    for id in sample {
        let hooks = match gitlab
            .get::<Vec<Value>>(&format!("projects/{id}/hooks"), &[])
            .await
        {
            Ok(hooks) => hooks,
            Err(GitLabError::Forbidden { .. }) => {
                missing += 1;
                continue;
            }
            Err(e) => {
                return (
                    Check::warn(
                        NAME,
                        format!("could not list hooks of {id}: {e}"),
                        "see above",
                    ),
                    sampled,
                )
            }
        };
        match hooks.iter().find(|h| {
            h["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(target.as_str()))
        }) {
            None => missing += 1,
            Some(hook) => {
                if sampled.is_none() {
                    if let (Some(hid), Some(url)) = (hook["id"].as_u64(), hook["url"].as_str()) {
                        sampled = Some((*id, hid, url.to_string()));
                    }
                }
                if let Some(state) = hook_alert(hook) {
                    disabled.push(format!("{id} ({state})"));
                }
            }
        }
    }
    let check = if !disabled.is_empty() {
        Check::fail(
            NAME,
            format!("GitLab disabled the hook on {}", disabled.join(", ")),
            format!("check that GitLab reaches {target}; backline re-enables its hooks at the next sync"),
        )
    } else if missing > 0 {
        Check::warn(
            NAME,
            format!("{missing} of {} sampled projects have no hook to {target} (or the role does not show hooks)", sample.len()),
            "give the bot Maintainer on them, then sync",
        )
    } else {
        Check::pass(
            NAME,
            format!(
                "{} of {} sampled projects deliver to {target}",
                sample.len(),
                sample.len()
            ),
        )
    };
    (check, sampled)
}

/// GitLab's `alert_status` of a hook (`executable`, `temporarily_disabled`, `disabled`), when
/// it is not executable (app/models/concerns/web_hooks/auto_disabling.rb).
fn hook_alert(hook: &Value) -> Option<String> {
    match hook["alert_status"].as_str() {
        None | Some("executable") => None,
        Some(state) => Some(match hook["disabled_until"].as_str() {
            Some(until) => format!("{state} until {until}"),
            None => state.to_string(),
        }),
    }
}

async fn reachable(http: &reqwest::Client, name: &'static str, url: &str) -> Check {
    let answer = http.get(url).timeout(Duration::from_secs(15)).send().await;
    let answer = answer
        .map(|r| r.status().as_u16())
        .map_err(|e| match reqwest::Url::parse(url) {
            Ok(parsed) => crate::net::failure::describe(&e, &parsed).to_string(),
            Err(_) => crate::net::failure::chain(&e),
        });
    reachability_verdict(name, url, answer)
}

/// A client with the trust and proxies every backline client uses.
fn http_client(settings: &Settings) -> Result<reqwest::Client, String> {
    settings
        .network
        .client_builder()
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| crate::net::failure::chain(&e))
}

/// Every URL of a `Link` header (`<url>; rel="next", <url>; rel="first"`).
fn link_targets(header: &str) -> Vec<String> {
    header
        .split(',')
        .filter_map(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            Some(part[start..end].trim().to_string())
        })
        .collect()
}

fn reachability_verdict(name: &'static str, url: &str, answer: Result<u16, String>) -> Check {
    match answer {
        Ok(status) if status < 500 => Check::pass(name, format!("{url} answers (HTTP {status})")),
        Ok(status) => Check::warn(
            name,
            format!("{url} answers HTTP {status}"),
            "the service may be down; fixes wait and are retried",
        ),
        Err(e) if is_certificate_error(&e) => Check::fail(
            name,
            format!("TLS: the certificate of {url} was refused ({e})"),
            CA_FIX,
        ),
        Err(e) => Check::fail(
            name,
            format!("{url} could not be reached: {e}"),
            "set the registry URL to a mirror you can reach, or HTTPS_PROXY / NO_PROXY",
        ),
    }
}

fn advisory_index(settings: &Settings, store: Option<&Store>) -> Check {
    const NAME: &str = "advisories";
    if let Some(missing) = settings.advisories.iter().find(|p| !p.exists()) {
        return Check::fail(
            NAME,
            format!("{} (BACKLINE_ADVISORIES) does not exist", missing.display()),
            "point BACKLINE_ADVISORIES at advisory databases on this machine",
        );
    }
    let Some(store) = store else {
        return Check::skip(NAME, "the data dir could not be read");
    };
    let loaded = AdvisoryStore::open(store).and_then(|t| t.load());
    match loaded {
        Err(e) => Check::fail(
            NAME,
            format!("the advisory index cannot be read: {e}"),
            "import again with `backline advisories import`",
        ),
        Ok(stored) if stored.is_empty() && !settings.advisories_sync_interval.is_zero() => {
            Check::pass(
                NAME,
                format!(
                    "none yet; serve downloads them from {} at start",
                    settings.osv_base_url
                ),
            )
        }
        Ok(stored) if stored.is_empty() && !settings.advisories.is_empty() => Check::pass(
            NAME,
            format!(
                "none imported yet; serve imports {} at start",
                settings
                    .advisories
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Ok(stored) => {
            let newest = stored
                .iter()
                .filter_map(|s| s.advisory.modified.as_deref())
                .max()
                .map(str::to_string);
            index_verdict(stored.len(), newest.as_deref(), OffsetDateTime::now_utc())
        }
    }
}

fn index_verdict(count: usize, newest_modified: Option<&str>, now: OffsetDateTime) -> Check {
    const NAME: &str = "advisories";
    if count == 0 {
        return Check::fail(
            NAME,
            "no advisories loaded: every scan would find nothing",
            "run `backline advisories sync` or `backline advisories import DIR`, or set BACKLINE_ADVISORIES",
        );
    }
    let age_days = newest_modified
        .and_then(|m| OffsetDateTime::parse(m, &time::format_description::well_known::Rfc3339).ok())
        .map(|t| (now - t).whole_days());
    match age_days {
        Some(days) if days > STALE_DAYS => Check::warn(
            NAME,
            format!("{count} loaded; the newest was modified {days} days ago"),
            "refresh them: `backline advisories sync`, or BACKLINE_ADVISORIES_SYNC_HOURS",
        ),
        Some(days) => Check::pass(
            NAME,
            format!("{count} loaded; the newest was modified {days} days ago"),
        ),
        None => Check::pass(NAME, format!("{count} loaded")),
    }
}

#[cfg(test)]
mod tests;
