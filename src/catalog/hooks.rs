//! Managed project webhooks (`BACKLINE_MANAGE_HOOKS`): each catalogued project gets exactly one
//! hook pointing at the bot, with push, merge request and note events and the secret token.
//! The decision is pure ([`plan`]); [`HookManager::ensure`] carries it out.

use sha2::{Digest, Sha256};

use crate::catalog::model::HookState;
use crate::gitlab::rest::{HookSpec, ProjectHook};
use crate::gitlab::{GitLab, GitLabError, ProjectRef};
use crate::secret::Secret;

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
/// last gave the hook (GitLab never shows a secret back).
pub fn plan(
    existing: &[ProjectHook],
    want: &HookSpec,
    recorded: &HookState,
    fingerprint: &str,
) -> HookPlan {
    let same_url = |h: &&ProjectHook| h.url.trim_end_matches('/') == want.url.trim_end_matches('/');
    let Some(hook) = existing.iter().find(same_url) else {
        return HookPlan::Create;
    };
    let events_right = hook.push_events == want.push_events
        && hook.merge_requests_events == want.merge_requests_events
        && hook.note_events == want.note_events
        && hook.confidential_note_events == want.confidential_note_events
        && hook.enable_ssl_verification == want.enable_ssl_verification;
    let secret_right = matches!(recorded, HookState::Installed { hook_id, secret_fingerprint }
        if *hook_id == hook.id && secret_fingerprint == fingerprint);
    if events_right && secret_right {
        HookPlan::Keep(hook.id)
    } else {
        HookPlan::Update(hook.id)
    }
}

/// The version of the managed hooks' settings (v2: internal note events on).
const HOOK_SETTINGS_VERSION: &[u8] = b"hook-settings-v2";

/// Installs and repairs the bot's hook on projects.
#[derive(Clone)]
pub struct HookManager {
    spec: HookSpec,
    fingerprint: String,
}

impl std::fmt::Debug for HookManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookManager")
            .field("url", &self.spec.url)
            .finish_non_exhaustive()
    }
}

impl HookManager {
    /// Hooks to `{public_url}/webhooks/gitlab` carrying `secret`.
    pub fn new(public_url: &str, secret: Option<&Secret>) -> Self {
        let url = format!("{}/webhooks/gitlab", public_url.trim_end_matches('/'));
        // The fingerprint covers the secret and the version of the hook's settings, so that
        // hooks installed with older settings are checked (and updated) once more.
        let fingerprint = match secret {
            Some(s) => {
                let mut h = Sha256::new();
                h.update(s.expose().as_bytes());
                h.update(HOOK_SETTINGS_VERSION);
                hex::encode(&h.finalize()[..8])
            }
            None => String::from_utf8_lossy(HOOK_SETTINGS_VERSION).into_owned(),
        };
        HookManager {
            spec: HookSpec {
                enable_ssl_verification: url.starts_with("https://"),
                url,
                push_events: true,
                merge_requests_events: true,
                note_events: true,
                // Internal notes are comments too (`/backline` commands in them count).
                confidential_note_events: true,
                token: secret.map(|s| s.expose().to_string()),
            },
            fingerprint,
        }
    }

    /// Whether a project in `state` should be (re)checked by a sync: not yet managed, failed
    /// last time, or installed with another secret. "Needs Maintainer" waits for a role change.
    pub fn wants_check(&self, state: &HookState) -> bool {
        match state {
            HookState::Unchecked | HookState::Failed { .. } => true,
            HookState::Installed {
                secret_fingerprint, ..
            } => *secret_fingerprint != self.fingerprint,
            HookState::NeedsMaintainer => false,
        }
    }

    /// Makes the project's hook right; returns the new state (never an error: a failure is
    /// recorded in the state, and a 403 means the role cannot manage hooks).
    pub async fn ensure(
        &self,
        gitlab: &GitLab,
        project: &ProjectRef,
        recorded: &HookState,
    ) -> HookState {
        match self.try_ensure(gitlab, project, recorded).await {
            Ok(id) => HookState::Installed {
                hook_id: id,
                secret_fingerprint: self.fingerprint.clone(),
            },
            Err(GitLabError::Forbidden { .. }) => HookState::NeedsMaintainer,
            Err(e) => HookState::Failed {
                reason: e.to_string(),
            },
        }
    }

    async fn try_ensure(
        &self,
        gitlab: &GitLab,
        project: &ProjectRef,
        recorded: &HookState,
    ) -> Result<u64, GitLabError> {
        let existing = gitlab.project_hooks(project).await?;
        match plan(&existing, &self.spec, recorded, &self.fingerprint) {
            HookPlan::Keep(id) => Ok(id),
            HookPlan::Create => Ok(gitlab.create_project_hook(project, &self.spec).await?.id),
            HookPlan::Update(id) => Ok(gitlab
                .update_project_hook(project, id, &self.spec)
                .await?
                .id),
        }
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
            enable_ssl_verification: true,
        }
    }

    #[test]
    fn plans_create_update_keep() {
        let m = HookManager::new("https://bot.example/", Some(&Secret::new("s1")));
        assert_eq!(m.spec.url, "https://bot.example/webhooks/gitlab");
        let installed = |id| HookState::Installed {
            hook_id: id,
            secret_fingerprint: m.fingerprint.clone(),
        };
        let other = hook(1, "https://ci.example/hook", true);
        assert_eq!(
            plan(
                std::slice::from_ref(&other),
                &m.spec,
                &HookState::Unchecked,
                &m.fingerprint
            ),
            HookPlan::Create
        );
        let ours = hook(2, "https://bot.example/webhooks/gitlab/", true);
        assert_eq!(
            plan(
                &[other.clone(), ours.clone()],
                &m.spec,
                &installed(2),
                &m.fingerprint
            ),
            HookPlan::Keep(2)
        );
        // Found but never given our secret (or given an older one): update.
        assert_eq!(
            plan(
                std::slice::from_ref(&ours),
                &m.spec,
                &HookState::Unchecked,
                &m.fingerprint
            ),
            HookPlan::Update(2)
        );
        let rotated = HookManager::new("https://bot.example", Some(&Secret::new("s2")));
        assert!(rotated.wants_check(&installed(2)));
        assert!(!m.wants_check(&installed(2)));
        assert!(!m.wants_check(&HookState::NeedsMaintainer));
        // Events switched off by someone: update.
        let wrong = hook(2, "https://bot.example/webhooks/gitlab", false);
        assert_eq!(
            plan(&[wrong], &m.spec, &installed(2), &m.fingerprint),
            HookPlan::Update(2)
        );
    }

    #[test]
    fn the_secret_never_shows() {
        let m = HookManager::new("https://bot.example", Some(&Secret::new("very-secret")));
        assert!(!format!("{m:?}").contains("very-secret"));
        assert!(!m.fingerprint.contains("very-secret"));
    }
}
