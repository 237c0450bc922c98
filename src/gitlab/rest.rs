//! REST wire types: the parts of GitLab's answers and requests the bot uses. Fields GitLab may
//! omit are optional; unknown fields are ignored, so a newer GitLab never breaks decoding.

use serde::{Deserialize, Serialize};

use crate::gitlab::hooks::common::Visibility;
use crate::gitlab::{MrIid, ProjectId, UserId};

/// Access levels as numbers (`10` Guest … `50` Owner).
pub mod access {
    /// Guest.
    pub const GUEST: u8 = 10;
    /// Reporter.
    pub const REPORTER: u8 = 20;
    /// Developer: can push branches and open merge requests.
    pub const DEVELOPER: u8 = 30;
    /// Maintainer: can manage hooks and badges.
    pub const MAINTAINER: u8 = 40;
    /// Owner.
    pub const OWNER: u8 = 50;
}

/// `GET /user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `active`, `blocked`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Whether the account is a bot (project or group access token).
    #[serde(default)]
    pub bot: bool,
}

/// `GET /personal_access_tokens/self`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Revoked.
    #[serde(default)]
    pub revoked: bool,
    /// Active.
    #[serde(default = "yes")]
    pub active: bool,
    /// Scopes (`api`, `read_repository`, ...).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Owner.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// `YYYY-MM-DD`, or none for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
}

fn yes() -> bool {
    true
}

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// `19.6.0-ee`.
    pub version: String,
    /// Git revision.
    #[serde(default)]
    pub revision: Option<String>,
}

/// A project's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Last segment.
    #[serde(default)]
    pub path: Option<String>,
    /// `group` or `user`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Full path.
    pub full_path: String,
}

/// The caller's access as the single-project answer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Permissions {
    /// Direct membership.
    #[serde(default)]
    pub project_access: Option<AccessHolder>,
    /// Through a group.
    #[serde(default)]
    pub group_access: Option<AccessHolder>,
}

/// `{"access_level": 30}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessHolder {
    /// The level.
    pub access_level: u8,
}

impl Permissions {
    /// The higher of project and group access.
    pub fn level(&self) -> Option<u8> {
        [&self.project_access, &self.group_access]
            .into_iter()
            .flatten()
            .map(|a| a.access_level)
            .max()
    }
}

/// A project (`GET /projects`, `GET /projects/:id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Last path segment.
    #[serde(default)]
    pub path: Option<String>,
    /// `group/sub/name`.
    pub path_with_namespace: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: Option<Namespace>,
    /// Default branch (none for an empty repository).
    #[serde(default)]
    pub default_branch: Option<String>,
    /// Visibility (absent in `simple=true` answers).
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
    /// Web URL.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Last activity (ISO 8601).
    #[serde(default)]
    pub last_activity_at: Option<String>,
    /// Empty repository.
    #[serde(default)]
    pub empty_repo: bool,
    /// The caller's access (single-project answer).
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

/// An entry of a repository tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// Blob or tree id.
    pub id: String,
    /// File name.
    pub name: String,
    /// `blob`, `tree` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub kind: String,
    /// Path from the repository root.
    pub path: String,
    /// Mode (`100644`).
    #[serde(default)]
    pub mode: Option<String>,
}

/// A file read at a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFile {
    /// The bytes.
    pub content: bytes::Bytes,
    /// Its blob id, from `X-Gitlab-Blob-Id` when GitLab sends it.
    pub blob_id: Option<String>,
    /// The commit it was read at, from `X-Gitlab-Commit-Id`.
    pub commit_id: Option<String>,
    /// The last commit that changed it, from `X-Gitlab-Last-Commit-Id`.
    pub last_commit_id: Option<String>,
}

/// A commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Full sha.
    pub id: String,
    /// Short sha.
    #[serde(default)]
    pub short_id: Option<String>,
    /// First line.
    #[serde(default)]
    pub title: Option<String>,
    /// Whole message.
    #[serde(default)]
    pub message: Option<String>,
    /// Parents.
    #[serde(default)]
    pub parent_ids: Vec<String>,
    /// Author name.
    #[serde(default)]
    pub author_name: Option<String>,
    /// Author email.
    #[serde(default)]
    pub author_email: Option<String>,
    /// Committed (ISO 8601).
    #[serde(default)]
    pub committed_date: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    /// Name.
    pub name: String,
    /// Head commit.
    pub commit: Commit,
    /// Merged into the default branch.
    #[serde(default)]
    pub merged: bool,
    /// Protected.
    #[serde(default)]
    pub protected: bool,
    /// The default branch.
    #[serde(default)]
    pub default: bool,
}

/// One file's change in a compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Path before.
    pub old_path: String,
    /// Path after.
    pub new_path: String,
    /// Added.
    #[serde(default)]
    pub new_file: bool,
    /// Renamed.
    #[serde(default)]
    pub renamed_file: bool,
    /// Deleted.
    #[serde(default)]
    pub deleted_file: bool,
}

/// `GET /projects/:id/repository/compare`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    /// Commits between.
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// Changed files.
    #[serde(default)]
    pub diffs: Vec<Diff>,
    /// Whether GitLab gave up computing it.
    #[serde(default)]
    pub compare_timeout: bool,
    /// `from` and `to` are the same.
    #[serde(default)]
    pub compare_same_ref: bool,
}

/// One action of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAction {
    /// `create`, `update`, `delete`, `move`, `chmod`.
    pub action: String,
    /// The file.
    pub file_path: String,
    /// For `move`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_path: Option<String>,
    /// New content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `text` or `base64`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Optimistic lock: the last commit that touched the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit_id: Option<String>,
}

impl CommitAction {
    /// Replaces a file's content.
    pub fn update(path: impl Into<String>, content: impl Into<String>) -> Self {
        CommitAction {
            action: "update".into(),
            file_path: path.into(),
            previous_path: None,
            content: Some(content.into()),
            encoding: None,
            last_commit_id: None,
        }
    }

    /// Creates a file.
    pub fn create(path: impl Into<String>, content: impl Into<String>) -> Self {
        CommitAction {
            action: "create".into(),
            ..CommitAction::update(path, content)
        }
    }
}

/// `POST /projects/:id/repository/commits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommit {
    /// The branch to commit to (created from `start_branch` when missing).
    pub branch: String,
    /// Message.
    pub commit_message: String,
    /// Where a new branch starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_branch: Option<String>,
    /// Or a sha it starts at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_sha: Option<String>,
    /// The changes.
    pub actions: Vec<CommitAction>,
    /// Author email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
    /// Author name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// Replace the branch with `start_branch` + this commit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// A user as lists embed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    /// Global id.
    pub id: u64,
    /// Project-scoped number.
    pub iid: MrIid,
    /// Project.
    pub project_id: ProjectId,
    /// The project the source branch lives in: a fork's id for an MR from a fork. GitLab's MR
    /// list filtered by `source_branch` returns such MRs too (`MergeRequestsFinder`).
    #[serde(default)]
    pub source_project_id: Option<ProjectId>,
    /// The project the MR merges into.
    #[serde(default)]
    pub target_project_id: Option<ProjectId>,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `opened`, `closed`, `merged`, `locked` (the hook models' state: one enum for both).
    pub state: crate::gitlab::hooks::merge_request::MergeRequestState,
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Author.
    #[serde(default)]
    pub author: Option<UserRef>,
    /// Head sha.
    #[serde(default)]
    pub sha: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Conflicts with the target.
    #[serde(default)]
    pub has_conflicts: bool,
    /// `mergeable`, `conflict`, `need_rebase`, ...
    #[serde(default)]
    pub detailed_merge_status: Option<String>,
    /// With `include_rebase_in_progress=true`.
    #[serde(default)]
    pub rebase_in_progress: Option<bool>,
    /// With `include_diverged_commits_count=true`.
    #[serde(default)]
    pub diverged_commits_count: Option<u64>,
    /// The last rebase or merge error.
    #[serde(default)]
    pub merge_error: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Merged at.
    #[serde(default)]
    pub merged_at: Option<String>,
    /// Closed at.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Who closed it.
    #[serde(default)]
    pub closed_by: Option<UserRef>,
    /// Who merged it.
    #[serde(default)]
    pub merged_by: Option<UserRef>,
    /// Set to merge when its pipeline succeeds.
    #[serde(default)]
    pub merge_when_pipeline_succeeds: Option<bool>,
    /// The newest pipeline of its head (single-MR answers only).
    #[serde(default)]
    pub head_pipeline: Option<PipelineRef>,
    /// Assignees.
    #[serde(default)]
    pub assignees: Vec<UserRef>,
    /// Reviewers.
    #[serde(default)]
    pub reviewers: Vec<UserRef>,
    /// The commits the MR's diff is between (single-MR answers only).
    #[serde(default)]
    pub diff_refs: Option<DiffRefs>,
}

/// A pipeline as an MR's `head_pipeline` (`Entities::Ci::PipelineBasic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRef {
    /// Id.
    pub id: u64,
    /// The commit.
    #[serde(default)]
    pub sha: Option<String>,
    /// `created`, `pending`, `running`, `success`, `failed`, `canceled`, `skipped`, `manual`.
    pub status: String,
    /// Its page.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A CI job (`Entities::Ci::Job`), the fields backline reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Stage.
    #[serde(default)]
    pub stage: Option<String>,
    /// Status.
    pub status: String,
    /// Its page.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// An access level entry of a protected branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLevelEntry {
    /// The access level (0: no one).
    pub access_level: u8,
    /// A user given the right by name, if any.
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// A protected branch (`lib/api/entities/protected_branch.rb`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedBranch {
    /// Name or wildcard.
    pub name: String,
    /// Who may merge into it.
    #[serde(default)]
    pub merge_access_levels: Vec<AccessLevelEntry>,
}

/// `PUT /projects/:id/merge_requests/:iid/merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MergeOptions {
    /// Merge when the head pipeline succeeds (GitLab's auto-merge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_when_pipeline_succeeds: Option<bool>,
    /// The head the merge is for (409 when it moved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// Remove the source branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub should_remove_source_branch: Option<bool>,
}

/// `diff_refs` of a merge request: its merge base, head and the target's tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DiffRefs {
    /// The merge base of source and target.
    #[serde(default)]
    pub base_sha: Option<String>,
    /// The source head.
    #[serde(default)]
    pub head_sha: Option<String>,
    /// The target branch's tip.
    #[serde(default)]
    pub start_sha: Option<String>,
}

impl MergeRequest {
    /// Whether this MR is the bot's own in `project`: its source branch lives in `project`
    /// itself (not a fork) and the bot opened it. Any other MR, even one whose branch carries
    /// a bot branch name, is never the bot's.
    pub fn is_bots(&self, project: ProjectId, bot: UserId) -> bool {
        self.source_project_id == Some(project) && self.author.as_ref().map(|a| a.id) == Some(bot)
    }
}

/// `POST /projects/:id/merge_requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewMergeRequest {
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Delete the source branch when merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_source_branch: Option<bool>,
    /// Assignees (lib/api/merge_requests.rb `assignee_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_ids: Option<Vec<UserId>>,
    /// Reviewers (`reviewer_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_ids: Option<Vec<UserId>>,
}

/// `PUT /projects/:id/merge_requests/:iid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MergeRequestUpdate {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// `close` or `reopen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_event: Option<String>,
    /// Assignees: the whole list (an empty list unassigns everyone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_ids: Option<Vec<UserId>>,
    /// Reviewers: the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_ids: Option<Vec<UserId>>,
}

/// A note (comment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Id.
    pub id: u64,
    /// Text.
    pub body: String,
    /// Author.
    pub author: UserRef,
    /// A system note ("added 1 commit").
    #[serde(default)]
    pub system: bool,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// An award emoji.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardEmoji {
    /// Id.
    pub id: u64,
    /// `thumbsup`, `eyes`, ...
    pub name: String,
    /// Who awarded it.
    pub user: UserRef,
}

/// A project member (`members/all/:user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// User id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Access level.
    pub access_level: u8,
    /// `active`, ...
    #[serde(default)]
    pub state: Option<String>,
}

/// `POST /projects/:id/statuses/:sha`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    /// `pending`, `running`, `success`, `failed`, `canceled` (sent as `state`; GitLab answers
    /// with a [`CommitStatusAnswer`]).
    pub state: String,
    /// The status's name (context).
    #[serde(default)]
    pub name: Option<String>,
    /// Link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A commit status as GitLab answers it (`lib/api/entities/commit_status.rb`): the state the
/// request sent as `state` comes back as `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatusAnswer {
    /// Id.
    pub id: u64,
    /// The commit.
    pub sha: String,
    /// `pending`, `running`, `success`, `failed`, `canceled`, `skipped`.
    pub status: String,
    /// The status's name (context).
    #[serde(default)]
    pub name: Option<String>,
    /// Link.
    #[serde(default)]
    pub target_url: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A project hook as GitLab answers it (the secret token is never returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectHook {
    /// Id.
    pub id: u64,
    /// Target.
    pub url: String,
    /// Push events.
    #[serde(default)]
    pub push_events: bool,
    /// Merge request events.
    #[serde(default)]
    pub merge_requests_events: bool,
    /// Comment events.
    #[serde(default)]
    pub note_events: bool,
    /// Internal note events (`Confidential Note Hook`).
    #[serde(default)]
    pub confidential_note_events: bool,
    /// Pipeline events.
    #[serde(default)]
    pub pipeline_events: bool,
    /// TLS verification.
    #[serde(default)]
    pub enable_ssl_verification: bool,
    /// Whether GitLab still sends to it (auto-disabling after failed deliveries).
    #[serde(default)]
    pub alert_status: HookAlertStatus,
    /// End of a temporary disabling (ISO 8601), as GitLab gives it.
    #[serde(default)]
    pub disabled_until: Option<String>,
}

/// A hook's `alert_status` (app/models/concerns/web_hooks/auto_disabling.rb): GitLab backs a
/// hook off after 4 consecutive failed deliveries (1 minute, doubling, at most a day) and
/// disables it for good after 40; a successful test delivery enables it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HookAlertStatus {
    /// Deliveries go out (also what GitLab versions without the field mean).
    #[default]
    Executable,
    /// Backing off until `disabled_until`.
    TemporarilyDisabled,
    /// Disabled until re-enabled.
    Disabled,
}

impl HookAlertStatus {
    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HookAlertStatus::Executable => "executable",
            HookAlertStatus::TemporarilyDisabled => "temporarily_disabled",
            HookAlertStatus::Disabled => "disabled",
        }
    }
}

/// What a project hook should be (create or update).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSpec {
    /// Target.
    pub url: String,
    /// Push events.
    pub push_events: bool,
    /// Merge request events.
    pub merge_requests_events: bool,
    /// Comment events.
    pub note_events: bool,
    /// Internal note events: GitLab sends internal notes only to hooks with this set.
    pub confidential_note_events: bool,
    /// Pipeline events (the bot's MRs' CI results).
    pub pipeline_events: bool,
    /// TLS verification.
    pub enable_ssl_verification: bool,
    /// The secret token GitLab sends as `X-Gitlab-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A project badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Badge {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Link.
    pub link_url: String,
    /// Image.
    pub image_url: String,
    /// `project` or `group`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// What a badge should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeSpec {
    /// Name.
    pub name: String,
    /// Link.
    pub link_url: String,
    /// Image.
    pub image_url: String,
}
