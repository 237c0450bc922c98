//! Managed project webhooks (`BACKLINE_MANAGE_HOOKS`): each catalogued project gets exactly one
//! hook pointing at the bot, with push, merge request and note events and its own secret token.
//! The decision is pure ([`plan`]); [`HookManager::ensure`] carries it out.
//!
//! GitLab disables a hook whose deliveries keep failing (app/models/concerns/web_hooks/
//! auto_disabling.rb: backing off after 4 consecutive failures, for good after 40) and shows it
//! as `alert_status`. Updating a hook does not enable it again; a successful test delivery
//! does (lib/api/hooks/trigger_test.rb runs it with `force: true`, and a 2xx answer calls
//! `enable!`). So at each sync [`HookManager::check`] reads the managed hook, and a disabled
//! one gets a test delivery: re-enabled when the bot answers it, recorded as
//! [`HookState::Disabled`] (with GitLab's reason) when not; a hook that is gone is re-created.

use sha2::{Digest, Sha256};

use crate::catalog::model::HookState;
use crate::gitlab::rest::{HookAlertStatus, HookSpec, ProjectHook};
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef};
use crate::hook_secret::{project_hook_path, project_hook_secret};
use crate::secret::Secret;
use crate::untrusted::terminal::printable;

/// The trigger of the test delivery that re-enables a hook (a push sample: GitLab builds it
/// from the default branch, so any project with a commit has one).
pub const REENABLE_TRIGGER: &str = "push_events";

/// What a sync did about a project's managed hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookOutcome {
    /// Nothing to do.
    Unchanged,
    /// Created or updated.
    Repaired,
    /// GitLab had disabled it; a test delivery enabled it again.
    Reenabled,
    /// GitLab has disabled it and it could not be enabled yet.
    StillDisabled,
}

/// The answer to a re-enabling test delivery, decided into a state (pure).
pub fn after_test(
    hook: &ProjectHook,
    fingerprint: &str,
    result: Result<(), GitLabError>,
) -> Result<HookState, GitLabError> {
    let disabled = |reason: String| HookState::Disabled {
        hook_id: hook.id,
        secret_fingerprint: fingerprint.to_string(),
        alert: hook.alert_status,
        disabled_until: hook.disabled_until.clone(),
        reason,
    };
    match result {
        Ok(()) => Ok(HookState::Installed {
            hook_id: hook.id,
            secret_fingerprint: fingerprint.to_string(),
        }),
        // GitLab's answer carries the receiver's answer (or the transport error): someone
        // else's text, so neutralised and cut short.
        Err(GitLabError::Validation { message, .. }) => Ok(disabled(format!(
            "GitLab's test delivery failed: {}",
            short(&message)
        ))),
        Err(GitLabError::RateLimited { .. }) => Ok(disabled(
            "GitLab rate-limits hook tests (5 a minute per project); the next sync tries again"
                .to_string(),
        )),
        Err(GitLabError::Forbidden { .. }) => Ok(HookState::NeedsMaintainer),
        Err(e) => Err(e),
    }
}

fn short(text: &str) -> String {
    let clean: String = printable(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = clean.chars().take(160).collect();
    if clean.chars().count() > 160 {
        out.push('…');
    }
    out
}

/// What to do about a project's hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookPlan {
    /// The hook is right.
    Keep(u64),
    /// No hook points at the bot: create one.
    Create,
    /// This hook points at the bot but differs (events, TLS, or a rotated secret): update it.
    Update(u64),
}

/// Decides from the project's hooks, the wanted spec and the fingerprint of the secret the bot
/// last gave the hook (GitLab never shows a secret back). A hook at `legacy_url` (the shared
/// URL that managed hooks used before per-project secrets) is the bot's too, and is moved.
pub fn plan(
    existing: &[ProjectHook],
    want: &HookSpec,
    legacy_url: &str,
    recorded: &HookState,
    fingerprint: &str,
) -> HookPlan {
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    let hook = existing
        .iter()
        .find(|h| same(&h.url, &want.url))
        .or_else(|| existing.iter().find(|h| same(&h.url, legacy_url)));
    let Some(hook) = hook else {
        return HookPlan::Create;
    };
    let events_right = same(&hook.url, &want.url)
        && hook.push_events == want.push_events
        && hook.merge_requests_events == want.merge_requests_events
        && hook.note_events == want.note_events
        && hook.confidential_note_events == want.confidential_note_events
        && hook.pipeline_events == want.pipeline_events
        && hook.enable_ssl_verification == want.enable_ssl_verification;
    let secret_right = matches!(recorded, HookState::Installed { hook_id, secret_fingerprint }
        if *hook_id == hook.id && secret_fingerprint == fingerprint);
    if events_right && secret_right {
        HookPlan::Keep(hook.id)
    } else {
        HookPlan::Update(hook.id)
    }
}

/// Installs and repairs the bot's hook on projects: each project's hook posts to its own URL
/// (`/webhooks/gitlab/projects/{id}`) with its own secret, derived from the master secret
/// ([`crate::hook_secret`]), so a secret taken from one project opens no other.
#[derive(Clone)]
pub struct HookManager {
    base: String,
    master: Option<Secret>,
    fingerprint: String,
}

impl std::fmt::Debug for HookManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookManager")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HookManager {
    /// Hooks to `{public_url}/webhooks/gitlab/projects/{id}`, each carrying the secret derived
    /// from `master` for its project.
    pub fn new(public_url: &str, master: Option<&Secret>) -> Self {
        // The fingerprint names the master and the scheme: hooks installed with the shared
        // secret (before per-project secrets) or another master are updated.
        let fingerprint = match master {
            Some(s) => {
                let mut h = Sha256::new();
                // v2: internal note events on.
                h.update(b"per-project-v2:");
                h.update(s.expose().as_bytes());
                hex::encode(&h.finalize()[..8])
            }
            None => String::new(),
        };
        HookManager {
            base: public_url.trim_end_matches('/').to_string(),
            master: master.cloned(),
            fingerprint,
        }
    }

    /// The hook `project` should have.
    pub fn spec_for(&self, project: ProjectId) -> HookSpec {
        let url = format!("{}{}", self.base, project_hook_path(project));
        HookSpec {
            enable_ssl_verification: url.starts_with("https://"),
            url,
            push_events: true,
            merge_requests_events: true,
            note_events: true,
            // Internal notes are comments too (`/backline` commands in them count).
            confidential_note_events: true,
            // The bot's MRs' pipelines (issue 17).
            pipeline_events: true,
            token: self
                .master
                .as_ref()
                .map(|m| project_hook_secret(m, project).expose().to_string()),
        }
    }

    fn legacy_url(&self) -> String {
        format!("{}/webhooks/gitlab", self.base)
    }

    /// Whether a project in `state` should be (re)checked by a sync: not yet managed, failed
    /// last time, or installed with another secret. "Needs Maintainer" waits for a role change.
    pub fn wants_check(&self, state: &HookState) -> bool {
        match state {
            HookState::Unchecked | HookState::Failed { .. } | HookState::Disabled { .. } => true,
            HookState::Installed {
                secret_fingerprint, ..
            } => *secret_fingerprint != self.fingerprint,
            HookState::NeedsMaintainer => false,
        }
    }

    /// Makes the project's hook right (pushing its spec and secret again, which also repairs a
    /// hook disabled because someone edited its token) and enables it again when GitLab has
    /// disabled it; returns the new state (never an error: a failure is recorded in the state,
    /// and a 403 means the role cannot manage hooks).
    pub async fn ensure(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        recorded: &HookState,
    ) -> HookState {
        self.ensure_outcome(gitlab, project, recorded).await.0
    }

    /// [`HookManager::ensure`], also saying what it did.
    pub async fn ensure_outcome(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        recorded: &HookState,
    ) -> (HookState, HookOutcome) {
        match self.try_ensure(gitlab, project, recorded).await {
            Ok((state, true)) => settle(Ok(state), HookOutcome::Reenabled),
            Ok((state, false)) => settle(Ok(state), HookOutcome::Repaired),
            Err(e) => settle(Err(e), HookOutcome::Repaired),
        }
    }

    /// At a sync, for a project whose hook is installed and current: reads it from GitLab and,
    /// when GitLab has disabled it, enables it again (or re-creates it when it is gone).
    pub async fn check(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        recorded: &HookState,
    ) -> (HookState, HookOutcome) {
        let HookState::Installed { hook_id, .. } = recorded else {
            return self.ensure_outcome(gitlab, project, recorded).await;
        };
        let at = ProjectRef::Id(project);
        match gitlab.project_hook(&at, *hook_id).await {
            Ok(Some(hook)) if hook.alert_status == HookAlertStatus::Executable => {
                (recorded.clone(), HookOutcome::Unchanged)
            }
            Ok(Some(hook)) => settle(
                self.reenable(gitlab, &at, &hook).await,
                HookOutcome::Reenabled,
            ),
            // Deleted by someone: the full check re-creates it.
            Ok(None) => {
                self.ensure_outcome(gitlab, project, &HookState::Unchecked)
                    .await
            }
            Err(e) => settle(Err(e), HookOutcome::Unchanged),
        }
    }

    async fn reenable(
        &self,
        gitlab: &GitLab,
        at: &ProjectRef,
        hook: &ProjectHook,
    ) -> Result<HookState, GitLabError> {
        let result = gitlab
            .test_project_hook(at, hook.id, REENABLE_TRIGGER)
            .await;
        let state = after_test(hook, &self.fingerprint, result)?;
        match &state {
            HookState::Installed { .. } => tracing::info!(
                project = %at,
                hook = hook.id,
                was = hook.alert_status.as_str(),
                "GitLab had disabled the managed hook; a test delivery enabled it again"
            ),
            HookState::Disabled { reason, .. } => tracing::warn!(
                project = %at,
                hook = hook.id,
                alert_status = hook.alert_status.as_str(),
                reason = %reason,
                "GitLab has disabled the managed hook and it could not be enabled yet"
            ),
            _ => {}
        }
        Ok(state)
    }

    async fn try_ensure(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        recorded: &HookState,
    ) -> Result<(HookState, bool), GitLabError> {
        let at = ProjectRef::Id(project);
        let existing = gitlab.project_hooks(&at).await?;
        let spec = self.spec_for(project);
        let hook = match plan(
            &existing,
            &spec,
            &self.legacy_url(),
            recorded,
            &self.fingerprint,
        ) {
            HookPlan::Keep(id) => existing
                .into_iter()
                .find(|h| h.id == id)
                .ok_or_else(|| GitLabError::Config(format!("hook {id} vanished")))?,
            HookPlan::Create => gitlab.create_project_hook(&at, &spec).await?,
            HookPlan::Update(id) => gitlab.update_project_hook(&at, id, &spec).await?,
        };
        if hook.alert_status == HookAlertStatus::Executable {
            Ok((
                HookState::Installed {
                    hook_id: hook.id,
                    secret_fingerprint: self.fingerprint.clone(),
                },
                false,
            ))
        } else {
            // Updating does not enable it: only a successful delivery does.
            Ok((self.reenable(gitlab, &at, &hook).await?, true))
        }
    }
}

/// A state from an attempt: errors are recorded (a 403 means the role cannot manage hooks).
fn settle(result: Result<HookState, GitLabError>, done: HookOutcome) -> (HookState, HookOutcome) {
    // Only an installed hook counts as re-enabled.
    let other = if done == HookOutcome::Reenabled {
        HookOutcome::Unchanged
    } else {
        done
    };
    match result {
        Ok(state @ HookState::Installed { .. }) => (state, done),
        Ok(state @ HookState::Disabled { .. }) => (state, HookOutcome::StillDisabled),
        Ok(state) => (state, other),
        Err(GitLabError::Forbidden { .. }) => (HookState::NeedsMaintainer, other),
        Err(e) => (
            HookState::Failed {
                reason: e.to_string(),
            },
            other,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: u64, url: &str, all_events: bool) -> ProjectHook {
        ProjectHook {
            id,
            url: url.into(),
            push_events: true,
            merge_requests_events: all_events,
            note_events: true,
            confidential_note_events: true,
            pipeline_events: all_events,
            enable_ssl_verification: true,
            alert_status: HookAlertStatus::Executable,
            disabled_until: None,
        }
    }

    #[test]
    fn plans_create_update_keep() {
        let m = HookManager::new("https://bot.example/", Some(&Secret::new("s1")));
        let spec = m.spec_for(ProjectId(5));
        assert_eq!(spec.url, "https://bot.example/webhooks/gitlab/projects/5");
        let legacy = m.legacy_url();
        let fp = &m.fingerprint;
        let installed = |id| HookState::Installed {
            hook_id: id,
            secret_fingerprint: m.fingerprint.clone(),
        };
        let other = hook(1, "https://ci.example/hook", true);
        assert_eq!(
            plan(
                std::slice::from_ref(&other),
                &spec,
                &legacy,
                &HookState::Unchecked,
                fp
            ),
            HookPlan::Create
        );
        let ours = hook(2, "https://bot.example/webhooks/gitlab/projects/5/", true);
        assert_eq!(
            plan(
                &[other.clone(), ours.clone()],
                &spec,
                &legacy,
                &installed(2),
                fp
            ),
            HookPlan::Keep(2)
        );
        // Found but never given our secret (or given an older one): update.
        assert_eq!(
            plan(
                std::slice::from_ref(&ours),
                &spec,
                &legacy,
                &HookState::Unchecked,
                fp
            ),
            HookPlan::Update(2)
        );
        let rotated = HookManager::new("https://bot.example", Some(&Secret::new("s2")));
        assert!(rotated.wants_check(&installed(2)));
        assert!(!m.wants_check(&installed(2)));
        assert!(!m.wants_check(&HookState::NeedsMaintainer));
        // Events switched off by someone: update.
        let wrong = hook(2, "https://bot.example/webhooks/gitlab/projects/5", false);
        assert_eq!(
            plan(&[wrong], &spec, &legacy, &installed(2), fp),
            HookPlan::Update(2)
        );
        // A hook from before pipeline events were asked for: update (issue 17).
        assert!(spec.pipeline_events);
        let mut no_pipelines = ours.clone();
        no_pipelines.pipeline_events = false;
        assert_eq!(
            plan(&[no_pipelines], &spec, &legacy, &installed(2), fp),
            HookPlan::Update(2)
        );
        // A hook at the shared URL (installed before per-project secrets) is moved, not doubled,
        // even when its recorded state matches.
        let old = hook(3, "https://bot.example/webhooks/gitlab", true);
        assert_eq!(
            plan(&[old], &spec, &legacy, &installed(3), fp),
            HookPlan::Update(3)
        );
    }

    #[test]
    fn each_project_gets_its_own_derived_secret() {
        let master = Secret::new("master");
        let m = HookManager::new("https://bot.example", Some(&master));
        let a = m.spec_for(ProjectId(1)).token.unwrap();
        let b = m.spec_for(ProjectId(2)).token.unwrap();
        assert_ne!(a, b);
        assert_ne!(a, "master");
        assert_eq!(a, project_hook_secret(&master, ProjectId(1)).expose());
        // The fingerprint of the shared-secret scheme differs, so old installs are re-checked.
        let shared_fp = hex::encode(&Sha256::digest(b"master")[..8]);
        assert!(m.wants_check(&HookState::Installed {
            hook_id: 1,
            secret_fingerprint: shared_fp
        }));
    }

    #[test]
    fn a_test_delivery_decides_the_state() {
        let mut h = hook(7, "https://bot.example/webhooks/gitlab/projects/5", true);
        h.alert_status = HookAlertStatus::TemporarilyDisabled;
        h.disabled_until = Some("2026-12-02T00:01:00.000Z".into());
        assert_eq!(
            after_test(&h, "fp", Ok(())).unwrap(),
            HookState::Installed {
                hook_id: 7,
                secret_fingerprint: "fp".into()
            }
        );
        // The receiver's answer is someone else's text: control characters go, length is cut.
        let refused = GitLabError::Validation {
            endpoint: "POST /x".into(),
            status: 422,
            message: format!("\u{1b}[31mno\n{}", "y".repeat(500)),
        };
        let state = after_test(&h, "fp", Err(refused)).unwrap();
        let HookState::Disabled {
            hook_id,
            alert,
            disabled_until,
            reason,
            ..
        } = &state
        else {
            panic!("{state:?}");
        };
        assert_eq!(
            (*hook_id, *alert),
            (7, HookAlertStatus::TemporarilyDisabled)
        );
        assert!(disabled_until.is_some());
        assert!(
            !reason.contains('\u{1b}') && !reason.contains('\n'),
            "{reason}"
        );
        assert!(reason.chars().count() < 220, "{reason}");
        assert!(state.describe().contains("until 2026-12-02T00:01:00.000Z"));
        assert!(state.is_disabled());
        let limited = GitLabError::RateLimited {
            endpoint: "POST /x".into(),
            retry_after: None,
        };
        assert!(after_test(&h, "fp", Err(limited)).unwrap().is_disabled());
        let gone = GitLabError::NotFound {
            endpoint: "POST /x".into(),
            message: "404".into(),
        };
        assert!(after_test(&h, "fp", Err(gone)).is_err());
    }

    #[test]
    fn the_secret_never_shows() {
        let m = HookManager::new("https://bot.example", Some(&Secret::new("very-secret")));
        assert!(!format!("{m:?}").contains("very-secret"));
        assert!(!m.fingerprint.contains("very-secret"));
    }
}
