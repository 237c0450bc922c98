//! Project hooks (with auto-disabling), system hooks, badges.

use super::*;
use crate::util;

/// Where to post webhooks.
#[derive(Debug, Clone, Default)]
pub struct HookTarget {
    /// Receiver URL.
    pub url: String,
    /// Secret token (`X-Gitlab-Token`).
    pub token: Option<String>,
    /// `whsec_` signing token.
    pub signing_token: Option<String>,
}

impl HookTarget {
    /// A target with no secrets.
    pub fn new(url: impl Into<String>) -> Self {
        HookTarget {
            url: url.into(),
            ..Default::default()
        }
    }

    /// With a secret token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// With a signing token.
    pub fn signing_token(mut self, token: impl Into<String>) -> Self {
        self.signing_token = Some(token.into());
        self
    }
}

/// A project webhook.
#[derive(Debug, Clone)]
pub struct ProjectHook {
    /// Id.
    pub id: u64,
    /// Target and secrets.
    pub target: HookTarget,
    /// Push events.
    pub push_events: bool,
    /// Merge request events.
    pub merge_requests_events: bool,
    /// Note events.
    pub note_events: bool,
    /// Internal (confidential) note events: `Confidential Note Hook` (off by default).
    pub confidential_note_events: bool,
    /// Tag push events (stored, never emitted: tags are not modelled).
    pub tag_push_events: bool,
    /// Issue events (stored, never emitted).
    pub issues_events: bool,
    /// Pipeline events (stored, never emitted).
    pub pipeline_events: bool,
    /// TLS verification flag (stored only).
    pub enable_ssl_verification: bool,
    /// Branch filter for push events (stored only).
    pub push_events_branch_filter: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Consecutive failed deliveries (`recent_failures`), for auto-disabling.
    pub recent_failures: u32,
    /// End of a temporary disabling (ms), as `disabled_until`.
    pub disabled_until: Option<i64>,
}

/// The `web_hook_test` rate limit: hook test requests a minute per project and user.
pub const HOOK_TESTS_PER_MINUTE: usize = 5;

/// A project hook's `alert_status`, as app/models/concerns/web_hooks/auto_disabling.rb
/// computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAlert {
    /// Deliveries go out.
    Executable,
    /// Backing off until `disabled_until`.
    TemporarilyDisabled,
    /// Disabled until someone re-enables it (a successful test delivery).
    Disabled,
}

impl HookAlert {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HookAlert::Executable => "executable",
            HookAlert::TemporarilyDisabled => "temporarily_disabled",
            HookAlert::Disabled => "disabled",
        }
    }
}

/// Auto-disabling (app/models/concerns/web_hooks/auto_disabling.rb): after more than
/// `TEMPORARILY_DISABLED_FAILURE_THRESHOLD` (3) consecutive failures a hook backs off
/// (1 minute, doubling per failure, at most a day); after more than
/// `PERMANENTLY_DISABLED_FAILURE_THRESHOLD` (39) it is disabled for good.
pub mod auto_disabling {
    /// Failures tolerated before backing off.
    pub const TEMPORARILY_DISABLED_FAILURE_THRESHOLD: u32 = 3;
    /// Failures after which the hook is disabled for good.
    pub const PERMANENTLY_DISABLED_FAILURE_THRESHOLD: u32 = 39;
    /// First backoff (ms).
    pub const INITIAL_BACKOFF_MS: i64 = 60_000;
    /// Longest backoff (ms).
    pub const MAX_BACKOFF_MS: i64 = 86_400_000;
}

impl ProjectHook {
    /// `alert_status` at `now` (ms).
    pub fn alert(&self, now: i64) -> HookAlert {
        use auto_disabling::*;
        if self.recent_failures > PERMANENTLY_DISABLED_FAILURE_THRESHOLD {
            HookAlert::Disabled
        } else if self.recent_failures > TEMPORARILY_DISABLED_FAILURE_THRESHOLD
            && self.disabled_until.is_some_and(|t| t >= now)
        {
            HookAlert::TemporarilyDisabled
        } else {
            HookAlert::Executable
        }
    }

    /// `executable?`: deliveries go out.
    pub fn executable(&self, now: i64) -> bool {
        self.alert(now) == HookAlert::Executable
    }

    /// `backoff!`: one more failure (only counted while executable).
    pub fn backoff(&mut self, now: i64) {
        use auto_disabling::*;
        if !self.executable(now) {
            return;
        }
        let before = self.recent_failures;
        self.recent_failures = (before + 1).min(PERMANENTLY_DISABLED_FAILURE_THRESHOLD + 1);
        if self.recent_failures > TEMPORARILY_DISABLED_FAILURE_THRESHOLD {
            // `next_backoff` reads the count before this failure.
            let steps = before
                .saturating_sub(TEMPORARILY_DISABLED_FAILURE_THRESHOLD)
                .min(31);
            let backoff = INITIAL_BACKOFF_MS
                .saturating_mul(1_i64 << steps)
                .clamp(INITIAL_BACKOFF_MS, MAX_BACKOFF_MS);
            self.disabled_until = Some(now + backoff);
        }
    }

    /// `enable!`: a successful delivery clears the failures.
    pub fn enable(&mut self) {
        self.recent_failures = 0;
        self.disabled_until = None;
    }
}

/// A project badge.
#[derive(Debug, Clone)]
pub struct Badge {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Link URL (may hold `%{project_path}` placeholders).
    pub link_url: String,
    /// Image URL.
    pub image_url: String,
}

/// System hook configuration.
#[derive(Debug, Clone)]
pub struct SystemHook {
    /// Target.
    pub target: HookTarget,
    /// Send `push` events (GitLab's default: on).
    pub push_events: bool,
    /// Send `repository_update` events (GitLab's default: on).
    pub repository_update_events: bool,
    /// Send merge request events (GitLab's default: off).
    pub merge_requests_events: bool,
}

impl World {
    // ---- hooks, badges, statuses -----------------------------------------------------------

    /// Adds a project hook for push, merge request and note events. Returns its id.
    pub fn add_project_hook(
        &mut self,
        project: ProjectId,
        target: HookTarget,
    ) -> Result<u64, WorldError> {
        let id = self.id();
        let now = self.now();
        self.project_mut(project)?.hooks.push(ProjectHook {
            id,
            target,
            push_events: true,
            merge_requests_events: true,
            note_events: true,
            confidential_note_events: false,
            tag_push_events: false,
            issues_events: false,
            pipeline_events: true,
            enable_ssl_verification: true,
            push_events_branch_filter: String::new(),
            created_at: now,
            recent_failures: 0,
            disabled_until: None,
        });
        Ok(id)
    }

    /// Adds a system hook (push and repository_update on, merge requests off, like GitLab).
    pub fn add_system_hook(&mut self, target: HookTarget) {
        self.system_hooks.push(SystemHook {
            target,
            push_events: true,
            repository_update_events: true,
            merge_requests_events: false,
        });
    }

    /// Next id from the global sequence (for REST-created objects).
    pub fn next_id(&mut self) -> u64 {
        self.id()
    }

    /// Adds a project badge. Returns its id.
    pub fn add_badge(
        &mut self,
        project: ProjectId,
        name: &str,
        link_url: &str,
        image_url: &str,
    ) -> Result<u64, WorldError> {
        let id = self.id();
        self.project_mut(project)?.badges.push(Badge {
            id,
            name: name.to_string(),
            link_url: link_url.to_string(),
            image_url: image_url.to_string(),
        });
        Ok(id)
    }

    /// Records the outcome of a delivery to a project hook, as
    /// app/services/web_hooks/log_execution_service.rb does: a 2xx or 3xx answer enables it
    /// (`enable!`), anything else (an error status, no answer) is a failure (`backoff!`).
    pub fn record_hook_outcome(&mut self, project: ProjectId, hook: u64, status: u16) {
        let now = util::now_ms();
        let Some(h) = self
            .projects
            .get_mut(&project)
            .and_then(|p| p.hooks.iter_mut().find(|h| h.id == hook))
        else {
            return;
        };
        if (200..400).contains(&status) {
            h.enable();
        } else {
            h.backoff(now);
        }
    }

    /// Counts a hook test request against `web_hook_test` (lib/gitlab/application_rate_limiter.rb:
    /// 5 a minute, scoped to the project and the user); false when over the limit.
    pub fn allow_hook_test(&mut self, project: ProjectId, user: UserId) -> bool {
        let now = util::now_ms();
        let seen = self.hook_tests.entry((project, user)).or_default();
        seen.retain(|t| now - t < 60_000);
        if seen.len() >= HOOK_TESTS_PER_MINUTE {
            return false;
        }
        seen.push(now);
        true
    }

    /// Mutable access to a project, for REST handlers and tests that edit fields directly
    /// (no events are emitted).
    pub fn project_mut_raw(&mut self, id: ProjectId) -> Result<&mut Project, WorldError> {
        self.project_mut(id)
    }
}
