//! Push and tag push payloads (project hooks and the system hooks `push` / `tag_push`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::common::{HookCommit, HookProject, HookRepository};
use crate::gitlab::{ProjectId, UserId};

/// The all-zero SHA GitLab uses for "no commit" (branch created or deleted).
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// A push (or tag push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEvent {
    /// `push` or `tag_push` (system-hook examples omit it).
    #[serde(default)]
    pub object_kind: Option<String>,
    /// `push` or `tag_push`.
    #[serde(default)]
    pub event_name: Option<String>,
    /// Head before the push.
    pub before: String,
    /// Head after the push.
    pub after: String,
    /// The ref, e.g. `refs/heads/main`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Whether the ref is protected.
    #[serde(default)]
    pub ref_protected: Option<bool>,
    /// The checked-out SHA (null when the branch was deleted).
    #[serde(default)]
    pub checkout_sha: Option<String>,
    /// Tag message.
    #[serde(default)]
    pub message: Option<String>,
    /// Who pushed.
    pub user_id: UserId,
    /// Their name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Their login.
    #[serde(default)]
    pub user_username: Option<String>,
    /// Their email.
    #[serde(default)]
    pub user_email: Option<String>,
    /// The project.
    pub project_id: ProjectId,
    /// The project's details.
    pub project: HookProject,
    /// The newest commits (GitLab lists at most 20).
    #[serde(default)]
    pub commits: Vec<HookCommit>,
    /// How many commits the push has in all.
    #[serde(default)]
    pub total_commits_count: u64,
    /// `git push -o` options.
    #[serde(default)]
    pub push_options: Option<serde_json::Value>,
    /// The repository.
    #[serde(default)]
    pub repository: Option<HookRepository>,
}

impl PushEvent {
    /// The branch name, for a branch push.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// Whether a tag was pushed.
    pub fn is_tag(&self) -> bool {
        self.git_ref.starts_with("refs/tags/")
    }

    /// Whether the push deleted the ref.
    pub fn is_deletion(&self) -> bool {
        self.after == ZERO_SHA
    }

    /// Whether the push created the ref.
    pub fn is_creation(&self) -> bool {
        self.before == ZERO_SHA
    }

    /// Whether GitLab left commits out (`total_commits_count` above the listed commits), so the
    /// touched paths are incomplete.
    pub fn is_truncated(&self) -> bool {
        self.total_commits_count > self.commits.len() as u64
    }

    /// Every path the listed commits added, modified or removed, once each, sorted.
    pub fn touched_paths(&self) -> BTreeSet<&str> {
        self.commits
            .iter()
            .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
            .map(String::as_str)
            .collect()
    }
}
