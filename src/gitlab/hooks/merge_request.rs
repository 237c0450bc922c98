//! Merge request payloads (project `Merge Request Hook` and the system hook `merge_request`).
//!
//! GitLab documents one complete `open` payload and several partial `update` ones; only
//! `object_kind` and `object_attributes.action` are required here, the rest is optional.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{HookCommit, HookProject, HookRepository, HookUser};
use super::string_enum::string_enum;
use super::time::GitlabTime;
use crate::gitlab::{MrIid, ProjectId, UserId};

string_enum!(
    /// What happened to the merge request.
    MergeRequestAction {
        /// Opened.
        Open = "open",
        /// Closed without merging.
        Close = "close",
        /// Reopened.
        Reopen = "reopen",
        /// Edited, or new commits pushed (then `oldrev` is set).
        Update = "update",
        /// Approved by one approver.
        Approved = "approved",
        /// Approval withdrawn.
        Unapproved = "unapproved",
        /// All required approvals given.
        Approval = "approval",
        /// No longer fully approved.
        Unapproval = "unapproval",
        /// Merged.
        Merge = "merge",
    }
);

string_enum!(
    /// The merge request's state.
    MergeRequestState {
        /// Open.
        Opened = "opened",
        /// Closed.
        Closed = "closed",
        /// Merged.
        Merged = "merged",
        /// Locked (merging in progress).
        Locked = "locked",
    }
);

/// `object_attributes` of a merge request event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequestAttributes {
    /// Global id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Project-scoped number.
    #[serde(default)]
    pub iid: Option<MrIid>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<MergeRequestState>,
    /// The action (always present).
    pub action: MergeRequestAction,
    /// Source branch.
    #[serde(default)]
    pub source_branch: Option<String>,
    /// Target branch.
    #[serde(default)]
    pub target_branch: Option<String>,
    /// Source project.
    #[serde(default)]
    pub source_project_id: Option<ProjectId>,
    /// Target project.
    #[serde(default)]
    pub target_project_id: Option<ProjectId>,
    /// Author.
    #[serde(default)]
    pub author_id: Option<UserId>,
    /// The previous head, on an `update` that pushed commits.
    #[serde(default)]
    pub oldrev: Option<String>,
    /// Draft.
    #[serde(default)]
    pub draft: Option<bool>,
    /// Older name of `draft`.
    #[serde(default)]
    pub work_in_progress: Option<bool>,
    /// Mergeability (legacy).
    #[serde(default)]
    pub merge_status: Option<String>,
    /// Mergeability.
    #[serde(default)]
    pub detailed_merge_status: Option<String>,
    /// Merge commit, once merged.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Head commit.
    #[serde(default)]
    pub last_commit: Option<HookCommit>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    /// Whether GitLab itself caused the event.
    #[serde(default)]
    pub system: Option<bool>,
    /// What GitLab did, when `system` is true.
    #[serde(default)]
    pub system_action: Option<String>,
    /// Source project details.
    #[serde(default)]
    pub source: Option<HookProject>,
    /// Target project details.
    #[serde(default)]
    pub target: Option<HookProject>,
}

/// A label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookLabel {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Name.
    pub title: String,
}

/// A before/after pair in `changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    /// Before.
    pub previous: Option<T>,
    /// After.
    pub current: Option<T>,
}

/// `changes`: the typed entries backline reads, and the rest as they came. (Some entries, such
/// as `reviewers` on a re-request, are `[previous, current]` arrays rather than objects, so the
/// rest stays untyped.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestChanges {
    /// State changes (1 opened, 2 closed, 3 merged, 4 locked).
    #[serde(default)]
    pub state_id: Option<Change<u8>>,
    /// Title changes.
    #[serde(default)]
    pub title: Option<Change<String>>,
    /// Draft changes.
    #[serde(default)]
    pub draft: Option<Change<bool>>,
    /// Label changes.
    #[serde(default)]
    pub labels: Option<Change<Vec<HookLabel>>>,
    /// Who updated it.
    #[serde(default)]
    pub updated_by_id: Option<Change<UserId>>,
    /// Everything else.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A merge request event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestEvent {
    /// `merge_request`.
    pub object_kind: String,
    /// `merge_request`.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Who acted.
    #[serde(default)]
    pub user: Option<HookUser>,
    /// The target project.
    #[serde(default)]
    pub project: Option<HookProject>,
    /// The repository.
    #[serde(default)]
    pub repository: Option<HookRepository>,
    /// The merge request.
    pub object_attributes: MergeRequestAttributes,
    /// Labels now.
    #[serde(default)]
    pub labels: Vec<HookLabel>,
    /// What changed.
    #[serde(default)]
    pub changes: MergeRequestChanges,
    /// Assignees.
    #[serde(default)]
    pub assignees: Vec<HookUser>,
    /// Reviewers.
    #[serde(default)]
    pub reviewers: Vec<HookUser>,
}

impl MergeRequestEvent {
    /// The project the merge request targets.
    pub fn project_id(&self) -> Option<ProjectId> {
        self.project
            .as_ref()
            .and_then(|p| p.id)
            .or(self.object_attributes.target_project_id)
    }
}
