//! Comment payloads (`Note Hook`): on merge requests (where commands live), commits, issues and
//! snippets.

use serde::{Deserialize, Serialize};

use super::common::{HookCommit, HookProject, HookRepository, HookUser};
use super::merge_request::MergeRequestState;
use super::string_enum::string_enum;
use super::time::GitlabTime;
use crate::gitlab::{MrIid, ProjectId, UserId};

string_enum!(
    /// What was commented on.
    NoteableType {
        /// A merge request.
        MergeRequest = "MergeRequest",
        /// An issue.
        Issue = "Issue",
        /// A commit.
        Commit = "Commit",
        /// A snippet.
        Snippet = "Snippet",
    }
);

/// `object_attributes` of a note event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAttributes {
    /// Note id.
    pub id: u64,
    /// The comment text.
    pub note: String,
    /// What it is on.
    pub noteable_type: NoteableType,
    /// Author.
    pub author_id: UserId,
    /// Created.
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    /// Updated (differs from `created_at` for an edited note).
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    /// `create` or `update` (newer GitLab).
    #[serde(default)]
    pub action: Option<String>,
    /// A system note (GitLab's own).
    #[serde(default)]
    pub system: Option<bool>,
    /// An internal note.
    #[serde(default)]
    pub internal: Option<bool>,
    /// Id of the commented object.
    #[serde(default)]
    pub noteable_id: Option<u64>,
    /// Commit, for a commit or diff note.
    #[serde(default)]
    pub commit_id: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// The merge request a note is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteMergeRequest {
    /// Global id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Project-scoped number.
    pub iid: MrIid,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
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
    /// State.
    #[serde(default)]
    pub state: Option<MergeRequestState>,
    /// Head commit.
    #[serde(default)]
    pub last_commit: Option<HookCommit>,
}

/// A note event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteEvent {
    /// `note`.
    pub object_kind: String,
    /// Who commented.
    pub user: HookUser,
    /// The project.
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    /// The project's details.
    #[serde(default)]
    pub project: Option<HookProject>,
    /// The repository.
    #[serde(default)]
    pub repository: Option<HookRepository>,
    /// The note.
    pub object_attributes: NoteAttributes,
    /// Set for notes on merge requests.
    #[serde(default)]
    pub merge_request: Option<NoteMergeRequest>,
    /// Set for notes on commits.
    #[serde(default)]
    pub commit: Option<HookCommit>,
    /// Set for notes on issues (kept loose: backline does not act on issues).
    #[serde(default)]
    pub issue: Option<serde_json::Value>,
    /// Set for notes on snippets.
    #[serde(default)]
    pub snippet: Option<serde_json::Value>,
}

impl NoteEvent {
    /// The project the note is in.
    pub fn project_id(&self) -> Option<ProjectId> {
        self.project_id.or(self.project.as_ref().and_then(|p| p.id))
    }
}
