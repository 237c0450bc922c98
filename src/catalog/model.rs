//! A catalogued project: what the bot knows of a GitLab project it looks after.

use serde::{Deserialize, Serialize};

use crate::gitlab::hooks::common::Visibility;
use crate::gitlab::rest::{HookAlertStatus, Project};
use crate::gitlab::ProjectId;

/// Where a managed webhook stands on a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum HookState {
    /// Not managed, or not checked yet.
    #[default]
    Unchecked,
    /// One hook points at the bot with the right events and secret.
    Installed {
        /// The hook's id.
        hook_id: u64,
        /// SHA-256 of the secret it was given (GitLab never shows it back), hex, 16 chars.
        secret_fingerprint: String,
    },
    /// The bot's role cannot manage hooks: a person must add it, or give the bot Maintainer.
    NeedsMaintainer,
    /// The last attempt failed for another reason.
    Failed {
        /// What happened.
        reason: String,
    },
    /// GitLab disabled the hook after failed deliveries (its `alert_status`) and the bot could
    /// not enable it again yet; the next sync tries again.
    Disabled {
        /// The hook's id.
        hook_id: u64,
        /// The secret's fingerprint, as in `Installed`.
        secret_fingerprint: String,
        /// GitLab's `alert_status`.
        alert: HookAlertStatus,
        /// GitLab's `disabled_until`, for a temporary disabling.
        disabled_until: Option<String>,
        /// Why re-enabling did not work (GitLab's test delivery answer, neutralised).
        reason: String,
    },
}

/// A project in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogProject {
    /// GitLab's id.
    pub id: ProjectId,
    /// `group/sub/name`.
    pub path_with_namespace: String,
    /// Display name.
    pub name: String,
    /// Default branch (none while the repository is empty).
    pub default_branch: Option<String>,
    /// Visibility.
    pub visibility: Option<Visibility>,
    /// Web URL.
    pub web_url: Option<String>,
    /// Last activity, as GitLab reports it (ISO 8601).
    pub last_activity_at: Option<String>,
    /// When the bot first catalogued it (ms since the epoch).
    pub added_at_ms: i64,
    /// When the record last changed (ms since the epoch).
    pub updated_at_ms: i64,
    /// The managed webhook.
    pub hook: HookState,
    /// The registered status badge (same states as the hook).
    pub badge: HookState,
}

impl CatalogProject {
    /// A new record from GitLab's project answer.
    pub fn from_gitlab(p: &Project, now_ms: i64) -> Self {
        CatalogProject {
            id: p.id,
            path_with_namespace: p.path_with_namespace.clone(),
            name: p
                .name
                .clone()
                .or_else(|| p.path.clone())
                .unwrap_or_else(|| last_segment(&p.path_with_namespace).to_string()),
            default_branch: p.default_branch.clone(),
            visibility: p.visibility,
            web_url: p.web_url.clone(),
            last_activity_at: p.last_activity_at.clone(),
            added_at_ms: now_ms,
            updated_at_ms: now_ms,
            hook: HookState::Unchecked,
            badge: HookState::Unchecked,
        }
    }

    /// This record updated with GitLab's current view, keeping what only the bot knows. `None`
    /// when nothing GitLab reports has changed.
    pub fn refreshed(&self, p: &Project, now_ms: i64) -> Option<Self> {
        let mut fresh = CatalogProject::from_gitlab(p, now_ms);
        fresh.added_at_ms = self.added_at_ms;
        fresh.hook = self.hook.clone();
        fresh.badge = self.badge.clone();
        if fresh.visibility.is_none() {
            fresh.visibility = self.visibility;
        }
        let mut same = fresh.clone();
        same.updated_at_ms = self.updated_at_ms;
        (same != *self).then_some(fresh)
    }
}

impl HookState {
    /// Whether GitLab has disabled this managed hook.
    pub fn is_disabled(&self) -> bool {
        matches!(self, HookState::Disabled { .. })
    }

    /// A short description for the API and the dashboard.
    pub fn describe(&self) -> String {
        match self {
            HookState::Unchecked => "not managed".to_string(),
            HookState::Installed { hook_id, .. } => format!("installed (id {hook_id})"),
            HookState::NeedsMaintainer => {
                "needs Maintainer: add it by hand or give the bot the Maintainer role".to_string()
            }
            HookState::Failed { reason } => format!("setup failed: {reason}"),
            HookState::Disabled {
                hook_id,
                alert,
                disabled_until,
                reason,
                ..
            } => {
                let until = disabled_until
                    .as_deref()
                    .filter(|_| *alert == HookAlertStatus::TemporarilyDisabled)
                    .map(|u| format!(" until {u}"))
                    .unwrap_or_default();
                format!(
                    "disabled by GitLab (id {hook_id}, {}{until}); re-enabling failed: {reason}",
                    alert.as_str()
                )
            }
        }
    }
}

/// The last segment of a path.
pub fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
