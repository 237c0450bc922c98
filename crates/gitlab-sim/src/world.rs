//! The simulated GitLab instance's state and every mutation on it.
//!
//! Mutations that GitLab would announce by webhook queue deliveries (see [`crate::events`]);
//! [`crate::GitLabSim::deliver_pending`] posts them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use crate::events;
use crate::repo::{self, Commit, FileEntry, Merge, Repository, ZERO_SHA};
use crate::util;

/// A user id.
pub type UserId = u64;
/// A project id.
pub type ProjectId = u64;
/// A namespace (group or user namespace) id.
pub type NamespaceId = u64;

/// GitLab's access levels.
pub mod access {
    /// No access.
    pub const NONE: u8 = 0;
    /// Guest.
    pub const GUEST: u8 = 10;
    /// Reporter.
    pub const REPORTER: u8 = 20;
    /// Developer.
    pub const DEVELOPER: u8 = 30;
    /// Maintainer.
    pub const MAINTAINER: u8 = 40;
    /// Owner.
    pub const OWNER: u8 = 50;

    /// The role name GitLab's system hooks use.
    pub fn name(level: u8) -> &'static str {
        match level {
            50 => "Owner",
            40 => "Maintainer",
            30 => "Developer",
            20 => "Reporter",
            10 => "Guest",
            _ => "No access",
        }
    }
}

/// A person given on the command line: `NAME=TOKEN:ROLE`, ROLE one of guest, reporter,
/// developer, maintainer, owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSpec {
    /// Username.
    pub username: String,
    /// Their personal access token.
    pub token: String,
    /// Their access level on every project.
    pub level: u8,
}

impl PersonSpec {
    /// Parses `NAME=TOKEN:ROLE`.
    pub fn parse(s: &str) -> Result<PersonSpec, String> {
        let bad = || format!("--user expects NAME=TOKEN:ROLE, got {s:?}");
        let (name, rest) = s.split_once('=').ok_or_else(bad)?;
        let (token, role) = rest.rsplit_once(':').ok_or_else(bad)?;
        if name.is_empty() || token.is_empty() {
            return Err(bad());
        }
        let level = match role.to_ascii_lowercase().as_str() {
            "guest" => access::GUEST,
            "reporter" => access::REPORTER,
            "developer" => access::DEVELOPER,
            "maintainer" => access::MAINTAINER,
            "owner" => access::OWNER,
            _ => {
                return Err(format!(
                "--user role {role:?} is not one of guest, reporter, developer, maintainer, owner"
            ))
            }
        };
        Ok(PersonSpec {
            username: name.to_string(),
            token: token.to_string(),
            level,
        })
    }
}

/// Project visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Members only.
    #[default]
    Private,
    /// Any signed-in user.
    Internal,
    /// Everyone.
    Public,
}

impl Visibility {
    /// `private`, `internal` or `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    /// GitLab's numeric `visibility_level` (0, 10, 20).
    pub fn level(self) -> u8 {
        match self {
            Visibility::Private => 0,
            Visibility::Internal => 10,
            Visibility::Public => 20,
        }
    }

    /// Parses `private|internal|public`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "private" => Some(Visibility::Private),
            "internal" => Some(Visibility::Internal),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login.
    pub username: String,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// `active` or `blocked`.
    pub state: String,
    /// A bot account.
    pub bot: bool,
    /// An administrator (sees every project).
    pub admin: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// The user's personal namespace.
    pub namespace_id: NamespaceId,
}

/// A personal access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Id.
    pub id: u64,
    /// Token name.
    pub name: String,
    /// Owner.
    pub user_id: UserId,
    /// Scopes such as `api`, `read_api`.
    pub scopes: Vec<String>,
    /// Expiry date `YYYY-MM-DD`; the token stops working on that day.
    pub expires_at: Option<String>,
    /// Revoked.
    pub revoked: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last use (ms).
    pub last_used_at: Option<i64>,
}

impl AccessToken {
    /// Expired as of today (GitLab: a token expires at the start of its `expires_at` day).
    pub fn expired(&self) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|d| d <= util::today().as_str())
    }
}

/// `group` or `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    /// A group or subgroup.
    Group,
    /// A user's personal namespace.
    User,
}

/// A group or user namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Id.
    pub id: NamespaceId,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// Full path (`group/sub`).
    pub full_path: String,
    /// Kind.
    pub kind: NamespaceKind,
    /// Parent group.
    pub parent_id: Option<NamespaceId>,
    /// Group members (inherited by projects and subgroups).
    pub members: BTreeMap<UserId, u8>,
}

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

/// `opened`, `closed`, `merged`, `locked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrState {
    /// Open.
    Opened,
    /// Closed.
    Closed,
    /// Merged.
    Merged,
    /// Locked.
    Locked,
}

impl MrState {
    /// GitLab's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MrState::Opened => "opened",
            MrState::Closed => "closed",
            MrState::Merged => "merged",
            MrState::Locked => "locked",
        }
    }

    /// GitLab's `state_id`.
    pub fn id(self) -> u8 {
        match self {
            MrState::Opened => 1,
            MrState::Closed => 2,
            MrState::Merged => 3,
            MrState::Locked => 4,
        }
    }
}

/// An award emoji.
#[derive(Debug, Clone)]
pub struct Award {
    /// Id.
    pub id: u64,
    /// Emoji name (`thumbsup`).
    pub name: String,
    /// Who awarded it.
    pub user_id: UserId,
    /// When (ms).
    pub created_at: i64,
}

/// A comment on a merge request.
#[derive(Debug, Clone)]
pub struct Note {
    /// Id (global).
    pub id: u64,
    /// Markdown body.
    pub body: String,
    /// Author.
    pub author_id: UserId,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
    /// A system note.
    pub system: bool,
    /// An internal note (`internal`, formerly `confidential`).
    pub internal: bool,
    /// Award emoji on the note.
    pub awards: Vec<Award>,
}

/// A merge request.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    /// Global id.
    pub id: u64,
    /// Per-project id.
    pub iid: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// State.
    pub state: MrState,
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Author.
    pub author_id: UserId,
    /// The project holding the source branch: the target project itself, or a fork of it
    /// (GitLab's `source_project_id`).
    pub source_project_id: ProjectId,
    /// Labels.
    pub labels: Vec<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
    /// Merged (ms).
    pub merged_at: Option<i64>,
    /// Closed (ms).
    pub closed_at: Option<i64>,
    /// Who merged it.
    pub merged_by: Option<UserId>,
    /// Who closed it.
    pub closed_by: Option<UserId>,
    /// Last known source head (kept when the branch is deleted).
    pub sha: String,
    /// Merge commit, once merged.
    pub merge_commit_sha: Option<String>,
    /// The last rebase or merge error.
    pub merge_error: Option<String>,
    /// A rebase is running: set by `PUT .../rebase`, cleared when the background job ends.
    pub rebase_in_progress: bool,
    /// A long-lived transaction holds the MR's row: `rebase_async` cannot take its
    /// `FOR UPDATE NOWAIT` lock (app/models/merge_request.rb `with_retried_nowait_lock`) and
    /// the rebase endpoint answers 409 `RebaseLockTimeout`.
    pub row_locked: bool,
    /// API requests left before the background rebase job runs (0: none queued).
    pub rebase_jobs_left: u32,
    /// Who asked for the queued rebase.
    pub rebase_user: Option<UserId>,
    /// Where GitLab's mergeability check stands.
    pub merge_check: MergeCheck,
    /// Remove the source branch on merge.
    pub remove_source_branch: bool,
    /// Squash on merge.
    pub squash: bool,
    /// Comments.
    pub notes: Vec<Note>,
    /// Award emoji on the MR.
    pub awards: Vec<Award>,
}

/// Where GitLab's asynchronous mergeability check of an MR stands (app/models/merge_request.rb
/// `merge_status` state machine; `MergeRequests::Mergeability::DetailedMergeStatusService`
/// answers `preparing`/`unchecked`/`checking` until it is done, with `has_conflicts` false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeCheck {
    /// Just created: `MergeRequests::AfterCreateService` has not run.
    Preparing,
    /// Something moved (source or target branch); nobody asked since.
    Unchecked,
    /// A read enqueued the check (`check_mergeability(async: true)`); it finishes in the
    /// background before the next request.
    Checking,
    /// Checked: the answer shows the real status.
    Checked,
}

impl MergeCheck {
    /// Whether the real status is known.
    pub fn done(self) -> bool {
        self == MergeCheck::Checked
    }
}

impl MergeRequest {
    /// Draft, by GitLab's title convention.
    pub fn draft(&self) -> bool {
        let t = self.title.to_ascii_lowercase();
        t.starts_with("draft:") || t.starts_with("[draft]") || t.starts_with("(draft)")
    }
}

/// A commit status.
#[derive(Debug, Clone)]
pub struct CommitStatus {
    /// Id.
    pub id: u64,
    /// Commit.
    pub sha: String,
    /// Ref, if given.
    pub ref_name: Option<String>,
    /// `pending|running|success|failed|canceled`.
    pub status: String,
    /// Name (context).
    pub name: String,
    /// Target URL.
    pub target_url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Author.
    pub author_id: UserId,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// Description.
    pub description: String,
    /// Owning namespace.
    pub namespace_id: NamespaceId,
    /// Visibility.
    pub visibility: Visibility,
    /// Default branch.
    pub default_branch: String,
    /// Archived.
    pub archived: bool,
    /// Created (ms).
    pub created_at: i64,
    /// Last activity (ms).
    pub last_activity_at: i64,
    /// Creator.
    pub creator_id: UserId,
    /// Direct members.
    pub members: BTreeMap<UserId, u8>,
    /// Webhooks.
    pub hooks: Vec<ProjectHook>,
    /// Branches protected with `allow_force_push: false` (app/models/protected_branch.rb): a
    /// rebase of an MR from one is refused (app/services/merge_requests/rebase_service.rb).
    pub protected_no_force_push: BTreeSet<String>,
    /// Badges.
    pub badges: Vec<Badge>,
    /// The repository.
    pub repo: Repository,
    /// Merge requests, by iid order.
    pub merge_requests: Vec<MergeRequest>,
    /// Commit statuses.
    pub statuses: Vec<CommitStatus>,
    /// The project this one is a fork of.
    pub forked_from: Option<ProjectId>,
}

/// What to create with [`World::create_project`].
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    /// Namespace full path; created as groups when missing.
    pub namespace: String,
    /// Name (also the path unless `path` is set).
    pub name: String,
    /// Path, default derived from the name.
    pub path: Option<String>,
    /// Visibility.
    pub visibility: Visibility,
    /// Default branch.
    pub default_branch: String,
    /// Archived.
    pub archived: bool,
    /// Initial files on the default branch (none: an empty repository).
    pub files: Vec<(String, Bytes)>,
    /// Creator (becomes Owner... only when set).
    pub creator: Option<UserId>,
    /// Created time override (ms); default now.
    pub created_at: Option<i64>,
}

impl ProjectSpec {
    /// A private project `namespace/name` on `main`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ProjectSpec {
            namespace: namespace.into(),
            name: name.into(),
            path: None,
            visibility: Visibility::Private,
            default_branch: "main".into(),
            archived: false,
            files: Vec::new(),
            creator: None,
            created_at: None,
        }
    }

    /// Adds an initial file.
    pub fn file(mut self, path: impl Into<String>, content: impl Into<Bytes>) -> Self {
        self.files.push((path.into(), content.into()));
        self
    }

    /// Sets the visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = v;
        self
    }

    /// Sets the default branch.
    pub fn default_branch(mut self, b: impl Into<String>) -> Self {
        self.default_branch = b.into();
        self
    }

    /// Archived or not.
    pub fn archived(mut self, a: bool) -> Self {
        self.archived = a;
        self
    }
}

/// What to open with [`World::open_mr`].
#[derive(Debug, Clone, Default)]
pub struct MrSpec {
    /// Source branch (must exist).
    pub source_branch: String,
    /// Target branch (must exist).
    pub target_branch: String,
    /// Title (`Draft:` prefix makes a draft).
    pub title: String,
    /// Description.
    pub description: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Remove the source branch on merge.
    pub remove_source_branch: bool,
    /// Squash on merge.
    pub squash: bool,
}

impl MrSpec {
    /// An MR from `source` into `target`.
    pub fn new(
        source: impl Into<String>,
        target: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        MrSpec {
            source_branch: source.into(),
            target_branch: target.into(),
            title: title.into(),
            ..Default::default()
        }
    }

    /// With a description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// With labels.
    pub fn labels(mut self, labels: &[&str]) -> Self {
        self.labels = labels.iter().map(|l| l.to_string()).collect();
        self
    }
}

/// One file action of a commit (the REST `actions[]`).
#[derive(Debug, Clone)]
pub enum FileAction {
    /// Create a file; fails if it exists.
    Create(String, Bytes),
    /// Replace a file; fails if missing.
    Update(String, Bytes),
    /// Create or replace (setup API only).
    Upsert(String, Bytes),
    /// Delete a file; fails if missing.
    Delete(String),
    /// Move `from` to `to`, optionally with new content.
    Move {
        /// Old path.
        from: String,
        /// New path.
        to: String,
        /// New content, or keep.
        content: Option<Bytes>,
    },
    /// Set or clear the executable bit.
    Chmod(String, bool),
}

/// A commit to make with [`World::commit_actions`].
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// Branch to commit to.
    pub branch: String,
    /// Message.
    pub message: String,
    /// Start from this branch when `branch` does not exist (or with `force`).
    pub start_branch: Option<String>,
    /// Start from this sha.
    pub start_sha: Option<String>,
    /// Actions.
    pub actions: Vec<FileAction>,
    /// Author name (default: the user).
    pub author_name: Option<String>,
    /// Author e-mail.
    pub author_email: Option<String>,
    /// Rewrite `branch` from the start point.
    pub force: bool,
}

/// Errors of world mutations; the messages are GitLab's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    /// Missing project.
    #[error("404 Project Not Found")]
    ProjectNotFound,
    /// Missing user.
    #[error("404 User Not Found")]
    UserNotFound,
    /// Missing branch.
    #[error("404 Branch Not Found")]
    BranchNotFound,
    /// Missing MR.
    #[error("404 Not found")]
    MergeRequestNotFound,
    /// Missing note.
    #[error("404 Not found")]
    NoteNotFound,
    /// Missing namespace.
    #[error("404 Namespace Not Found")]
    NamespaceNotFound,
    /// `Branch already exists`.
    #[error("Branch already exists")]
    BranchExists,
    /// `Invalid reference name: <ref>`.
    #[error("Invalid reference name: {0}")]
    InvalidRef(String),
    /// A create on an existing path.
    #[error("A file with this name already exists")]
    FileExists,
    /// An update/delete/move of a missing path.
    #[error("A file with this name doesn't exist")]
    FileMissing,
    /// Branch missing and no start point.
    #[error("You can only create or edit files when you are on a branch")]
    NotOnBranch,
    /// Another open MR for the source branch.
    #[error("Another open merge request already exists for this source branch: !{0}")]
    MrExists(u64),
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// The MR's source branch does not exist.
    #[error("Source branch \"{0}\" does not exist")]
    SourceBranchMissing(String),
    /// The MR's target branch does not exist.
    #[error("Target branch \"{0}\" does not exist")]
    TargetBranchMissing(String),
    /// Source and target are the same branch.
    #[error("You can't use same project/branch for source and target")]
    SameBranch,
    /// A path taken by another project.
    #[error("has already been taken")]
    PathTaken,
    /// A reopen refused because a branch of the MR is gone (422).
    #[error("{0}")]
    ReopenBranchGone(String),
}

/// A webhook waiting to be posted.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    /// Where to.
    pub target: HookTarget,
    /// `X-Gitlab-Event`.
    pub event: String,
    /// JSON body.
    pub body: Vec<u8>,
    /// `X-Gitlab-Event-UUID`: the UUID of the API call that caused it, or none (a fresh one
    /// is given when it is sent).
    pub event_uuid: Option<String>,
    /// The project hook it goes to (none for system hooks), whose failures count.
    pub hook: Option<(ProjectId, u64)>,
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

/// The whole simulated instance.
#[derive(Debug)]
pub struct World {
    /// Instance root URL (`http://127.0.0.1:PORT`), used in `web_url`s.
    pub base_url: String,
    /// Users by id.
    pub users: BTreeMap<UserId, User>,
    /// Tokens by token string.
    pub tokens: HashMap<String, AccessToken>,
    /// Namespaces by id.
    pub namespaces: BTreeMap<NamespaceId, Namespace>,
    /// Projects by id (ordered, for listing and keyset pagination).
    pub projects: BTreeMap<ProjectId, Project>,
    /// Full path → project id.
    pub project_paths: HashMap<String, ProjectId>,
    /// Full path → namespace id.
    pub namespace_paths: HashMap<String, NamespaceId>,
    /// System hooks.
    pub system_hooks: Vec<SystemHook>,
    /// Queued webhook deliveries.
    pub pending: Vec<PendingDelivery>,
    /// The bot user.
    pub bot_user: UserId,
    /// Hooks each event UUID has reached (by target URL), for recursion blocking.
    pub hook_chains: HashMap<String, HashSet<String>>,
    /// Deliveries dropped by recursion blocking.
    pub blocked_deliveries: Vec<PendingDelivery>,
    /// How many API requests a background job (rebase, mergeability check) takes to finish
    /// after it is queued; GitLab runs them in Sidekiq, so callers must poll.
    pub background_delay: u32,
    /// Hook test requests per (project, user), for the `web_hook_test` rate limit (ms).
    pub hook_tests: HashMap<(ProjectId, UserId), Vec<i64>>,
    /// People with a role on every project (`gitlab-sim --user NAME=TOKEN:ROLE`), given to
    /// projects created later too.
    pub people: Vec<(UserId, u8)>,
    next_id: u64,
    clock: i64,
}

impl World {
    /// An empty world whose URLs start with `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        World {
            base_url: base_url.into(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            namespaces: BTreeMap::new(),
            projects: BTreeMap::new(),
            project_paths: HashMap::new(),
            namespace_paths: HashMap::new(),
            system_hooks: Vec::new(),
            pending: Vec::new(),
            bot_user: 0,
            hook_chains: HashMap::new(),
            blocked_deliveries: Vec::new(),
            background_delay: 2,
            hook_tests: HashMap::new(),
            people: Vec::new(),
            next_id: 1,
            clock: 0,
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Now, strictly increasing across calls (so commit order is well defined).
    pub fn now(&mut self) -> i64 {
        let t = util::now_ms().max(self.clock + 1);
        self.clock = t;
        t
    }

    // ---- users and tokens ----------------------------------------------------------------

    /// Creates a user (and its personal namespace).
    pub fn create_user(&mut self, username: &str, name: &str) -> UserId {
        let id = self.id();
        let ns = self.id();
        self.namespaces.insert(
            ns,
            Namespace {
                id: ns,
                name: name.to_string(),
                path: username.to_string(),
                full_path: username.to_string(),
                kind: NamespaceKind::User,
                parent_id: None,
                members: BTreeMap::from([(id, access::OWNER)]),
            },
        );
        self.namespace_paths.insert(username.to_string(), ns);
        let created_at = self.now();
        self.users.insert(
            id,
            User {
                id,
                username: username.to_string(),
                name: name.to_string(),
                email: format!("{username}@example.com"),
                state: "active".into(),
                bot: false,
                admin: false,
                created_at,
                namespace_id: ns,
            },
        );
        id
    }

    /// Looks a user up by username.
    pub fn user_by_name(&self, username: &str) -> Option<UserId> {
        self.users
            .values()
            .find(|u| u.username == username)
            .map(|u| u.id)
    }

    /// Creates a personal access token for a user; returns the token string.
    pub fn create_token(
        &mut self,
        user: UserId,
        token: &str,
        scopes: &[&str],
        expires_at: Option<&str>,
    ) -> String {
        let id = self.id();
        let created_at = self.now();
        self.tokens.insert(
            token.to_string(),
            AccessToken {
                id,
                name: format!("token-{id}"),
                user_id: user,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                expires_at: expires_at.map(str::to_string),
                revoked: false,
                created_at,
                last_used_at: None,
            },
        );
        token.to_string()
    }

    /// Revokes a token.
    pub fn revoke_token(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    // ---- namespaces ----------------------------------------------------------------------

    /// Returns the group at `full_path`, creating it and its parents as needed.
    pub fn ensure_group(&mut self, full_path: &str) -> NamespaceId {
        let full_path = full_path.trim_matches('/');
        if let Some(id) = self.namespace_paths.get(full_path) {
            return *id;
        }
        let (parent, path) = match full_path.rsplit_once('/') {
            Some((p, last)) => (Some(self.ensure_group(p)), last),
            None => (None, full_path),
        };
        let id = self.id();
        let mut name: String = path.replace(['-', '_'], " ");
        if let Some(f) = name.get(..1) {
            name = f.to_uppercase() + &name[1..];
        }
        self.namespaces.insert(
            id,
            Namespace {
                id,
                name,
                path: path.to_string(),
                full_path: full_path.to_string(),
                kind: NamespaceKind::Group,
                parent_id: parent,
                members: BTreeMap::new(),
            },
        );
        self.namespace_paths.insert(full_path.to_string(), id);
        id
    }

    /// Adds a member to a group (inherited by its subgroups and projects).
    pub fn add_group_member(&mut self, group: NamespaceId, user: UserId, level: u8) {
        if let Some(ns) = self.namespaces.get_mut(&group) {
            ns.members.insert(user, level);
        }
    }

    // ---- projects --------------------------------------------------------------------------

    /// Full path of a project.
    pub fn project_path(&self, p: &Project) -> String {
        match self.namespaces.get(&p.namespace_id) {
            Some(ns) => format!("{}/{}", ns.full_path, p.path),
            None => p.path.clone(),
        }
    }

    /// The project's web URL.
    pub fn project_url(&self, p: &Project) -> String {
        format!("{}/{}", self.base_url, self.project_path(p))
    }

    /// Finds a project by numeric id or full path.
    pub fn find_project(&self, id_or_path: &str) -> Option<ProjectId> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            if self.projects.contains_key(&id) {
                return Some(id);
            }
        }
        self.project_paths.get(id_or_path).copied()
    }

    /// A project by id.
    pub fn project(&self, id: ProjectId) -> Result<&Project, WorldError> {
        self.projects.get(&id).ok_or(WorldError::ProjectNotFound)
    }

    fn project_mut(&mut self, id: ProjectId) -> Result<&mut Project, WorldError> {
        self.projects
            .get_mut(&id)
            .ok_or(WorldError::ProjectNotFound)
    }

    /// Creates a project (and its namespace groups); emits `project_create`.
    pub fn create_project(&mut self, spec: ProjectSpec) -> Result<ProjectId, WorldError> {
        let ns = match self.namespace_paths.get(spec.namespace.trim_matches('/')) {
            Some(id) => *id,
            None => self.ensure_group(&spec.namespace),
        };
        let path = spec.path.clone().unwrap_or_else(|| slug(&spec.name));
        let full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if self.project_paths.contains_key(&full) {
            return Err(WorldError::PathTaken);
        }
        let id = self.id();
        let now = spec.created_at.unwrap_or_else(|| self.now());
        let creator = spec.creator.unwrap_or(self.bot_user);
        let mut repo = Repository::default();
        if !spec.files.is_empty() {
            let files: BTreeMap<String, FileEntry> = spec
                .files
                .into_iter()
                .map(|(p, c)| (p, FileEntry::new(c)))
                .collect();
            let (name, email) = self.author_of(creator);
            let sha = util::sha1_of(&[
                b"initial",
                id.to_string().as_bytes(),
                now.to_string().as_bytes(),
            ]);
            repo.insert(Commit {
                id: sha.clone(),
                parent_ids: vec![],
                message: "Initial commit".into(),
                author_name: name,
                author_email: email,
                created_at: now,
                files: Arc::new(files),
            });
            repo.branches.insert(spec.default_branch.clone(), sha);
        }
        let mut members = BTreeMap::new();
        if let Some(c) = spec.creator {
            members.insert(c, access::OWNER);
        }
        self.projects.insert(
            id,
            Project {
                id,
                name: spec.name,
                path,
                description: String::new(),
                namespace_id: ns,
                visibility: spec.visibility,
                default_branch: spec.default_branch,
                archived: spec.archived,
                created_at: now,
                last_activity_at: now,
                creator_id: creator,
                members,
                hooks: Vec::new(),
                protected_no_force_push: BTreeSet::new(),
                badges: Vec::new(),
                repo,
                merge_requests: Vec::new(),
                statuses: Vec::new(),
                forked_from: None,
            },
        );
        self.project_paths.insert(full, id);
        let people = self.people.clone();
        if let Some(p) = self.projects.get_mut(&id) {
            for (user, level) in people {
                let level = p.members.get(&user).copied().unwrap_or(0).max(level);
                p.members.insert(user, level);
            }
        }
        self.emit_system(events::project_event(self, id, "project_create", None));
        Ok(id)
    }

    /// A person (`--user NAME=TOKEN:ROLE`): a user whose token (`api` scope) acts as them
    /// through the API, with `role` on every project, now and later (direct memberships, so
    /// the hooks name them as GitLab's would). Returns their id.
    pub fn add_person(&mut self, spec: &PersonSpec) -> UserId {
        let id = match self.user_by_name(&spec.username) {
            Some(id) => id,
            None => self.create_user(&spec.username, &spec.username),
        };
        self.create_token(id, &spec.token, &["api"], None);
        let projects: Vec<ProjectId> = self.projects.keys().copied().collect();
        for p in projects {
            // The project exists and so does the user: this cannot fail.
            let _ = self.add_member(p, id, spec.level);
        }
        self.people.push((id, spec.level));
        id
    }

    /// Adds or changes a direct project member; emits `user_add_to_team` (or
    /// `user_update_for_team` when the user was already a member).
    pub fn add_member(
        &mut self,
        project: ProjectId,
        user: UserId,
        level: u8,
    ) -> Result<(), WorldError> {
        if !self.users.contains_key(&user) {
            return Err(WorldError::UserNotFound);
        }
        let old = self.project_mut(project)?.members.insert(user, level);
        let name = if old.is_some() {
            "user_update_for_team"
        } else {
            "user_add_to_team"
        };
        self.emit_system(events::team_event(self, project, user, level, name));
        Ok(())
    }

    /// Removes a direct project member; emits `user_remove_from_team`.
    pub fn remove_member(&mut self, project: ProjectId, user: UserId) -> Result<(), WorldError> {
        let old = self.project_mut(project)?.members.remove(&user);
        if let Some(level) = old {
            self.emit_system(events::team_event(
                self,
                project,
                user,
                level,
                "user_remove_from_team",
            ));
        }
        Ok(())
    }

    /// The user's effective access level: direct membership or inherited from groups.
    pub fn access_level(&self, project: &Project, user: UserId) -> u8 {
        let mut level = project.members.get(&user).copied().unwrap_or(0);
        let mut ns = Some(project.namespace_id);
        while let Some(id) = ns {
            match self.namespaces.get(&id) {
                Some(n) => {
                    level = level.max(n.members.get(&user).copied().unwrap_or(0));
                    ns = n.parent_id;
                }
                None => break,
            }
        }
        level
    }

    /// Whether the user sees the project at all.
    pub fn can_see(&self, project: &Project, user: UserId) -> bool {
        let admin = self.users.get(&user).is_some_and(|u| u.admin);
        admin
            || project.visibility != Visibility::Private
            || self.access_level(project, user) >= access::GUEST
    }

    /// Whether the user can read the repository (Reporter+ on private projects).
    pub fn can_read_code(&self, project: &Project, user: UserId) -> bool {
        let admin = self.users.get(&user).is_some_and(|u| u.admin);
        admin
            || project.visibility != Visibility::Private
            || self.access_level(project, user) >= access::REPORTER
    }

    /// Renames a project (name and path); emits `project_rename`.
    pub fn rename_project(
        &mut self,
        project: ProjectId,
        name: &str,
        path: &str,
    ) -> Result<(), WorldError> {
        let old = self.project_path(self.project(project)?);
        let ns = self.project(project)?.namespace_id;
        let new_full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if new_full != old && self.project_paths.contains_key(&new_full) {
            return Err(WorldError::PathTaken);
        }
        let p = self.project_mut(project)?;
        p.name = name.to_string();
        p.path = path.to_string();
        self.project_paths.remove(&old);
        self.project_paths.insert(new_full, project);
        self.emit_system(events::project_event(
            self,
            project,
            "project_rename",
            Some(&old),
        ));
        Ok(())
    }

    /// Moves a project to another namespace (created as needed); emits `project_transfer`.
    pub fn transfer_project(
        &mut self,
        project: ProjectId,
        namespace: &str,
    ) -> Result<(), WorldError> {
        let old = self.project_path(self.project(project)?);
        let ns = match self.namespace_paths.get(namespace) {
            Some(id) => *id,
            None => self.ensure_group(namespace),
        };
        let path = self.project(project)?.path.clone();
        let new_full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if self.project_paths.contains_key(&new_full) {
            return Err(WorldError::PathTaken);
        }
        self.project_mut(project)?.namespace_id = ns;
        self.project_paths.remove(&old);
        self.project_paths.insert(new_full, project);
        self.emit_system(events::project_event(
            self,
            project,
            "project_transfer",
            Some(&old),
        ));
        Ok(())
    }

    /// Archives or unarchives; emits `project_update`.
    pub fn set_archived(&mut self, project: ProjectId, archived: bool) -> Result<(), WorldError> {
        self.project_mut(project)?.archived = archived;
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Changes visibility; emits `project_update`.
    pub fn set_visibility(&mut self, project: ProjectId, v: Visibility) -> Result<(), WorldError> {
        self.project_mut(project)?.visibility = v;
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Changes the default branch; emits `project_update`.
    pub fn set_default_branch(
        &mut self,
        project: ProjectId,
        branch: &str,
    ) -> Result<(), WorldError> {
        self.project_mut(project)?.default_branch = branch.to_string();
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Deletes a project; emits `project_destroy`.
    pub fn destroy_project(&mut self, project: ProjectId) -> Result<(), WorldError> {
        let body = events::project_event(self, project, "project_destroy", None);
        let p = self
            .projects
            .remove(&project)
            .ok_or(WorldError::ProjectNotFound)?;
        let full = match self.namespaces.get(&p.namespace_id) {
            Some(ns) => format!("{}/{}", ns.full_path, p.path),
            None => p.path.clone(),
        };
        self.project_paths.remove(&full);
        self.emit_system(body);
        Ok(())
    }

    // ---- repository ------------------------------------------------------------------------

    fn author_of(&self, user: UserId) -> (String, String) {
        self.users
            .get(&user)
            .map(|u| (u.name.clone(), u.email.clone()))
            .unwrap_or_else(|| ("Administrator".into(), "admin@example.com".into()))
    }

    /// Commits files to a branch (creating it from the default branch when missing); a `None`
    /// content deletes the path. Emits a push. Returns the new sha.
    pub fn commit_files(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        message: &str,
        files: Vec<(String, Option<Bytes>)>,
    ) -> Result<String, WorldError> {
        let start = {
            let p = self.project(project)?;
            if p.repo.branches.contains_key(branch) || p.repo.branches.is_empty() {
                None
            } else {
                Some(p.default_branch.clone())
            }
        };
        let actions = files
            .into_iter()
            .map(|(path, c)| match c {
                Some(c) => FileAction::Upsert(path, c),
                None => FileAction::Delete(path),
            })
            .collect();
        let c = self.commit_actions(
            project,
            user,
            CommitRequest {
                branch: branch.to_string(),
                message: message.to_string(),
                start_branch: start,
                start_sha: None,
                actions,
                author_name: None,
                author_email: None,
                force: false,
            },
        )?;
        Ok(c.id.clone())
    }

    /// Makes one commit from file actions (the Commits API); emits a push.
    pub fn commit_actions(
        &mut self,
        project: ProjectId,
        user: UserId,
        req: CommitRequest,
    ) -> Result<Arc<Commit>, WorldError> {
        let now = self.now();
        let (def_name, def_email) = self.author_of(user);
        let p = self.project(project)?;
        let existing = p.repo.head(&req.branch);
        let start: Option<Arc<Commit>> = if let Some(sha) = &req.start_sha {
            Some(
                p.repo
                    .resolve(sha)
                    .ok_or_else(|| WorldError::InvalidRef(sha.clone()))?,
            )
        } else if let Some(sb) = &req.start_branch {
            if existing.is_some() && !req.force && sb != &req.branch {
                return Err(WorldError::Invalid(format!(
                    "A branch called '{}' already exists. Switch to that branch in order to make changes",
                    req.branch
                )));
            }
            Some(
                p.repo
                    .head(sb)
                    .ok_or_else(|| WorldError::InvalidRef(sb.clone()))?,
            )
        } else {
            None
        };
        let parent = match (&existing, &start, req.force) {
            (_, Some(s), true) => Some(s.clone()),
            (Some(e), _, _) => Some(e.clone()),
            (None, Some(s), _) => Some(s.clone()),
            (None, None, _) => {
                if p.repo.branches.is_empty() {
                    None // first commit of an empty repository
                } else {
                    return Err(WorldError::NotOnBranch);
                }
            }
        };
        let mut files: BTreeMap<String, FileEntry> = parent
            .as_ref()
            .map(|c| (*c.files).clone())
            .unwrap_or_default();
        for a in req.actions {
            match a {
                FileAction::Create(path, c) => {
                    if files.contains_key(&path) {
                        return Err(WorldError::FileExists);
                    }
                    files.insert(path, FileEntry::new(c));
                }
                FileAction::Update(path, c) => {
                    let exec = files.get(&path).ok_or(WorldError::FileMissing)?.executable;
                    let mut f = FileEntry::new(c);
                    f.executable = exec;
                    files.insert(path, f);
                }
                FileAction::Upsert(path, c) => {
                    files.insert(path, FileEntry::new(c));
                }
                FileAction::Delete(path) => {
                    files.remove(&path).ok_or(WorldError::FileMissing)?;
                }
                FileAction::Move { from, to, content } => {
                    let old = files.remove(&from).ok_or(WorldError::FileMissing)?;
                    if files.contains_key(&to) {
                        return Err(WorldError::FileExists);
                    }
                    let f = match content {
                        Some(c) => FileEntry::new(c),
                        None => old,
                    };
                    files.insert(to, f);
                }
                FileAction::Chmod(path, exec) => {
                    files
                        .get_mut(&path)
                        .ok_or(WorldError::FileMissing)?
                        .executable = exec;
                }
            }
        }
        let parent_ids: Vec<String> = parent.iter().map(|c| c.id.clone()).collect();
        let id = util::sha1_of(&[
            project.to_string().as_bytes(),
            parent_ids.join(",").as_bytes(),
            req.message.as_bytes(),
            now.to_string().as_bytes(),
        ]);
        let commit = Commit {
            id: id.clone(),
            parent_ids,
            message: req.message,
            author_name: req.author_name.unwrap_or(def_name),
            author_email: req.author_email.unwrap_or(def_email),
            created_at: now,
            files: Arc::new(files),
        };
        let before = existing.map(|c| c.id.clone());
        let p = self.project_mut(project)?;
        let c = p.repo.insert(commit);
        p.repo.branches.insert(req.branch.clone(), id);
        p.last_activity_at = now;
        self.emit_push(project, user, &req.branch, before.as_deref(), &c.id);
        Ok(c)
    }

    /// Creates a branch at a ref (branch name or sha); emits a push.
    pub fn create_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        reference: &str,
    ) -> Result<Arc<Commit>, WorldError> {
        let p = self.project(project)?;
        if p.repo.branches.contains_key(branch) {
            return Err(WorldError::BranchExists);
        }
        if !valid_branch_name(branch) {
            return Err(WorldError::Invalid("Branch name is invalid".into()));
        }
        let c = p
            .repo
            .resolve(reference)
            .ok_or_else(|| WorldError::InvalidRef(reference.to_string()))?;
        self.project_mut(project)?
            .repo
            .branches
            .insert(branch.to_string(), c.id.clone());
        self.emit_push(project, user, branch, None, &c.id);
        Ok(c)
    }

    /// Deletes a branch; emits a push with `after` all zeros.
    pub fn delete_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
    ) -> Result<(), WorldError> {
        let sha = self
            .project_mut(project)?
            .repo
            .branches
            .remove(branch)
            .ok_or(WorldError::BranchNotFound)?;
        self.emit_push(project, user, branch, Some(&sha), ZERO_SHA);
        Ok(())
    }

    /// Moves a branch to a commit (a force push); emits a push.
    pub fn force_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        sha: &str,
    ) -> Result<(), WorldError> {
        let p = self.project_mut(project)?;
        if !p.repo.commits.contains_key(sha) {
            return Err(WorldError::InvalidRef(sha.to_string()));
        }
        let before = p.repo.branches.insert(branch.to_string(), sha.to_string());
        self.emit_push(project, user, branch, before.as_deref(), sha);
        Ok(())
    }

    // ---- merge requests ---------------------------------------------------------------------

    /// An MR by iid.
    pub fn mr(&self, project: ProjectId, iid: u64) -> Result<&MergeRequest, WorldError> {
        self.project(project)?
            .merge_requests
            .iter()
            .find(|m| m.iid == iid)
            .ok_or(WorldError::MergeRequestNotFound)
    }

    fn mr_mut(&mut self, project: ProjectId, iid: u64) -> Result<&mut MergeRequest, WorldError> {
        self.project_mut(project)?
            .merge_requests
            .iter_mut()
            .find(|m| m.iid == iid)
            .ok_or(WorldError::MergeRequestNotFound)
    }

    /// Opens an MR; emits a Merge Request Hook `open`. Returns the iid.
    #[allow(clippy::too_many_arguments)]
    pub fn create_mr(
        &mut self,
        project: ProjectId,
        author: UserId,
        source_branch: &str,
        target_branch: &str,
        title: &str,
        description: &str,
        labels: Vec<String>,
        remove_source_branch: bool,
        squash: bool,
    ) -> Result<u64, WorldError> {
        let spec = MrSpec {
            source_branch: source_branch.to_string(),
            target_branch: target_branch.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            labels,
            remove_source_branch,
            squash,
        };
        self.insert_mr(project, project, author, spec)
    }

    /// Forks `upstream` into the namespace `namespace` (created when missing) for `user`, who
    /// owns the fork: the same branches and commits, `forked_from` set. Like GitLab's
    /// `Projects::ForkService` (app/services/projects/fork_service.rb), hooks, badges, members
    /// and MRs are not copied. Returns the fork's id.
    pub fn fork_project(
        &mut self,
        upstream: ProjectId,
        user: UserId,
        namespace: &str,
    ) -> Result<ProjectId, WorldError> {
        let up = self.project(upstream)?.clone();
        let spec = ProjectSpec {
            creator: Some(user),
            path: Some(up.path.clone()),
            visibility: up.visibility,
            default_branch: up.default_branch.clone(),
            ..ProjectSpec::new(namespace, up.name.clone())
        };
        let id = self.create_project(spec)?;
        let fork = self.project_mut(id)?;
        fork.repo = up.repo.clone();
        fork.forked_from = Some(upstream);
        Ok(id)
    }

    /// Opens an MR from `fork`'s branch into the project it was forked from (GitLab:
    /// `POST /projects/:fork/merge_requests` with `target_project_id`). The MR lives in the
    /// target project, whose hooks get its events; its `source_project_id` is the fork.
    /// Returns the target project and the MR's iid there.
    pub fn open_fork_mr(
        &mut self,
        fork: ProjectId,
        author: UserId,
        spec: MrSpec,
    ) -> Result<(ProjectId, u64), WorldError> {
        let target = self
            .project(fork)?
            .forked_from
            .ok_or_else(|| WorldError::Invalid("the project is not a fork".into()))?;
        let iid = self.insert_mr(target, fork, author, spec)?;
        Ok((target, iid))
    }

    /// The head of an MR's source branch, read from its source project (a fork for fork MRs).
    pub fn mr_source_head(&self, target: &Project, mr: &MergeRequest) -> Option<Arc<Commit>> {
        if mr.source_project_id == target.id {
            return target.repo.head(&mr.source_branch);
        }
        self.projects
            .get(&mr.source_project_id)?
            .repo
            .head(&mr.source_branch)
    }

    /// Copies a fork's commits into the target project's object store, as GitLab fetches a
    /// fork MR's head into the target repository (`refs/merge-requests/:iid/head`,
    /// app/models/merge_request.rb `fetch_ref!`), so merge facts, rebases and merges see them.
    fn fetch_fork_commits(&mut self, target: ProjectId, fork: ProjectId) {
        if target == fork {
            return;
        }
        let Some(commits) = self.projects.get(&fork).map(|f| f.repo.commits.clone()) else {
            return;
        };
        if let Some(t) = self.projects.get_mut(&target) {
            for (id, c) in commits {
                t.repo.commits.entry(id).or_insert(c);
            }
        }
    }

    /// Opens an MR in `project` from `source_project`'s branch. GitLab's uniqueness rule
    /// (app/models/merge_request.rb `validate_branches`): one open MR per source project,
    /// source branch, target project and target branch, so a fork MR with the same branch
    /// names as an upstream MR does not conflict with it.
    fn insert_mr(
        &mut self,
        project: ProjectId,
        source_project: ProjectId,
        author: UserId,
        spec: MrSpec,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let p = self.project(project)?;
        let src = self
            .project(source_project)?
            .repo
            .head(&spec.source_branch)
            .ok_or_else(|| WorldError::SourceBranchMissing(spec.source_branch.clone()))?;
        if p.repo.head(&spec.target_branch).is_none() {
            return Err(WorldError::TargetBranchMissing(spec.target_branch.clone()));
        }
        if source_project == project && spec.source_branch == spec.target_branch {
            return Err(WorldError::SameBranch);
        }
        if let Some(m) = p.merge_requests.iter().find(|m| {
            m.state == MrState::Opened
                && m.source_project_id == source_project
                && m.source_branch == spec.source_branch
                && m.target_branch == spec.target_branch
        }) {
            return Err(WorldError::MrExists(m.iid));
        }
        let iid = p.merge_requests.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
        let id = self.id();
        self.fetch_fork_commits(project, source_project);
        let p = self.project_mut(project)?;
        p.merge_requests.push(MergeRequest {
            id,
            iid,
            title: spec.title,
            description: spec.description,
            state: MrState::Opened,
            source_branch: spec.source_branch,
            target_branch: spec.target_branch,
            author_id: author,
            source_project_id: source_project,
            labels: spec.labels,
            created_at: now,
            updated_at: now,
            merged_at: None,
            closed_at: None,
            merged_by: None,
            closed_by: None,
            sha: src.id.clone(),
            merge_commit_sha: None,
            merge_error: None,
            rebase_in_progress: false,
            row_locked: false,
            rebase_jobs_left: 0,
            rebase_user: None,
            merge_check: MergeCheck::Preparing,
            remove_source_branch: spec.remove_source_branch,
            squash: spec.squash,
            notes: Vec::new(),
            awards: Vec::new(),
        });
        p.last_activity_at = now;
        self.emit_mr(project, iid, author, "open");
        Ok(iid)
    }

    /// Opens an MR from a spec; emits a Merge Request Hook `open`. Returns the iid.
    pub fn open_mr(
        &mut self,
        project: ProjectId,
        author: UserId,
        spec: MrSpec,
    ) -> Result<u64, WorldError> {
        self.create_mr(
            project,
            author,
            &spec.source_branch,
            &spec.target_branch,
            &spec.title,
            &spec.description,
            spec.labels,
            spec.remove_source_branch,
            spec.squash,
        )
    }

    /// Edits title, description, labels or target branch; emits `update` when anything changed.
    #[allow(clippy::too_many_arguments)]
    pub fn update_mr(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
        title: Option<String>,
        description: Option<String>,
        labels: Option<Vec<String>>,
        target_branch: Option<String>,
    ) -> Result<(), WorldError> {
        if let Some(t) = &target_branch {
            if self.project(project)?.repo.head(t).is_none() {
                return Err(WorldError::TargetBranchMissing(t.clone()));
            }
        }
        let now = self.now();
        let m = self.mr_mut(project, iid)?;
        let mut changed = false;
        if let Some(t) = title {
            changed |= m.title != t;
            m.title = t;
        }
        if let Some(d) = description {
            changed |= m.description != d;
            m.description = d;
        }
        if let Some(l) = labels {
            changed |= m.labels != l;
            m.labels = l;
        }
        if let Some(t) = target_branch {
            changed |= m.target_branch != t;
            m.target_branch = t;
        }
        if changed {
            m.updated_at = now;
            self.emit_mr(project, iid, user, "update");
        }
        Ok(())
    }

    /// Closes an open MR; emits `close`.
    pub fn close_mr(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let m = self.mr_mut(project, iid)?;
        if m.state != MrState::Opened {
            return Ok(());
        }
        m.state = MrState::Closed;
        m.closed_at = Some(now);
        m.closed_by = Some(user);
        m.updated_at = now;
        self.emit_mr(project, iid, user, "close");
        Ok(())
    }

    /// Reopens a closed MR; emits `reopen`. Like GitLab (app/models/merge_request.rb
    /// `validate_branches`, answered by lib/api/merge_requests.rb `handle_merge_request_errors!`),
    /// refuses when its source or target branch is gone ([`WorldError::ReopenBranchGone`], 422)
    /// or another open MR has the same branches ([`WorldError::MrExists`], 409).
    pub fn reopen_mr(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let p = self.project(project)?;
        let m = self.mr(project, iid)?;
        if m.state != MrState::Closed {
            return Ok(());
        }
        let src = self.mr_source_head(p, m);
        let other_open = p
            .merge_requests
            .iter()
            .find(|o| {
                o.iid != iid
                    && o.state == MrState::Opened
                    && o.source_project_id == m.source_project_id
                    && o.source_branch == m.source_branch
                    && o.target_branch == m.target_branch
            })
            .map(|o| o.iid);
        let Some(src) = src else {
            return Err(WorldError::ReopenBranchGone(format!(
                "Source branch \"{}\" does not exist",
                m.source_branch
            )));
        };
        if p.repo.head(&m.target_branch).is_none() {
            return Err(WorldError::ReopenBranchGone(format!(
                "Target branch \"{}\" does not exist",
                m.target_branch
            )));
        }
        if let Some(other) = other_open {
            return Err(WorldError::MrExists(other));
        }
        let m = self.mr_mut(project, iid)?;
        m.state = MrState::Opened;
        m.closed_at = None;
        m.closed_by = None;
        m.sha = src.id.clone();
        m.updated_at = now;
        self.emit_mr(project, iid, user, "reopen");
        Ok(())
    }

    /// Diff facts about an open MR: (has_conflicts, diverged_commits_count).
    pub fn mr_merge_facts(&self, project: &Project, mr: &MergeRequest) -> (bool, usize) {
        let (Some(src), Some(tgt)) = (
            self.mr_source_head(project, mr),
            project.repo.head(&mr.target_branch),
        ) else {
            return (false, 0);
        };
        let diverged = project.repo.commits_between(&src.id, &tgt.id).len();
        let conflicts = match project.repo.merge_base(&src.id, &tgt.id) {
            Some(base) => match project.repo.commits.get(&base) {
                Some(b) => matches!(
                    repo::three_way(&b.files, &tgt.files, &src.files),
                    Merge::Conflict(_)
                ),
                None => false,
            },
            None => true,
        };
        (conflicts, diverged)
    }

    /// Merges an open MR into its target (a merge commit), removes the source branch when asked;
    /// emits a push on the target and `merge`.
    pub fn merge_mr(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<String, WorldError> {
        let now = self.now();
        let m = self.mr(project, iid)?.clone();
        self.fetch_fork_commits(project, m.source_project_id);
        let p = self.project(project)?;
        if m.state != MrState::Opened {
            return Err(WorldError::Invalid("405 Method Not Allowed".into()));
        }
        let src = self
            .mr_source_head(p, &m)
            .ok_or(WorldError::BranchNotFound)?;
        let tgt = p
            .repo
            .head(&m.target_branch)
            .ok_or(WorldError::BranchNotFound)?;
        let base = p
            .repo
            .merge_base(&src.id, &tgt.id)
            .and_then(|b| p.repo.commits.get(&b).cloned());
        let empty = BTreeMap::new();
        let base_files = base.as_ref().map(|b| &*b.files).unwrap_or(&empty);
        let files = match repo::three_way(base_files, &tgt.files, &src.files) {
            Merge::Clean(f) => f,
            Merge::Conflict(_) => {
                return Err(WorldError::Invalid("Merge request is not mergeable".into()))
            }
        };
        let (name, email) = self.author_of(user);
        let message = format!(
            "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
            m.source_branch,
            m.target_branch,
            m.title,
            self.project_path(p),
            iid
        );
        let sha = util::sha1_of(&[
            b"merge",
            src.id.as_bytes(),
            tgt.id.as_bytes(),
            now.to_string().as_bytes(),
        ]);
        let pm = self.project_mut(project)?;
        pm.repo.insert(Commit {
            id: sha.clone(),
            parent_ids: vec![tgt.id.clone(), src.id.clone()],
            message,
            author_name: name,
            author_email: email,
            created_at: now,
            files: Arc::new(files),
        });
        pm.repo
            .branches
            .insert(m.target_branch.clone(), sha.clone());
        pm.last_activity_at = now;
        if let Some(mm) = pm.merge_requests.iter_mut().find(|x| x.iid == iid) {
            mm.state = MrState::Merged;
            mm.merged_at = Some(now);
            mm.merged_by = Some(user);
            mm.updated_at = now;
            mm.merge_commit_sha = Some(sha.clone());
            mm.sha = src.id.clone();
        }
        self.emit_push(project, user, &m.target_branch, Some(&tgt.id), &sha);
        if m.remove_source_branch {
            let source = m.source_project_id;
            self.project_mut(source)?
                .repo
                .branches
                .remove(&m.source_branch);
            self.emit_push(source, user, &m.source_branch, Some(&src.id), ZERO_SHA);
        }
        self.emit_mr(project, iid, user, "merge");
        Ok(sha)
    }

    /// Queues a rebase as `PUT .../rebase` does (lib/api/merge_requests.rb answers 202 and
    /// `MergeRequests::RebaseService` runs in `RebaseWorker`): `rebase_in_progress` is true for
    /// [`World::background_delay`] requests, then [`World::rebase_mr`] runs.
    pub fn enqueue_rebase(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<(), WorldError> {
        let delay = self.background_delay;
        let m = self.mr_mut(project, iid)?;
        m.rebase_in_progress = true;
        m.rebase_jobs_left = delay.max(1);
        m.rebase_user = Some(user);
        if delay == 0 {
            m.rebase_jobs_left = 0;
            return self.rebase_mr(project, iid, user);
        }
        Ok(())
    }

    /// One step of the background jobs, run before each API request: queued rebases count
    /// down and run; checks a read enqueued finish; just-created MRs become `unchecked`.
    pub fn run_background(&mut self) {
        let mut due = Vec::new();
        for p in self.projects.values_mut() {
            for m in &mut p.merge_requests {
                m.merge_check = match m.merge_check {
                    MergeCheck::Preparing => MergeCheck::Unchecked,
                    MergeCheck::Checking => MergeCheck::Checked,
                    other => other,
                };
                if m.rebase_jobs_left > 0 {
                    m.rebase_jobs_left -= 1;
                    if m.rebase_jobs_left == 0 {
                        due.push((p.id, m.iid, m.rebase_user.unwrap_or(self.bot_user)));
                    }
                }
            }
        }
        for (project, iid, user) in due {
            if let Err(e) = self.rebase_mr(project, iid, user) {
                if let Ok(m) = self.mr_mut(project, iid) {
                    m.rebase_in_progress = false;
                    m.merge_error = Some(format!("Rebase failed: {e}"));
                }
            }
        }
    }

    /// A read of these MRs enqueued their mergeability check (`check_mergeability(async:
    /// true)` in the API entity): unchecked ones become `checking`.
    pub fn mark_checking(&mut self, project: ProjectId, iids: &[u64]) {
        if let Some(p) = self.projects.get_mut(&project) {
            for m in &mut p.merge_requests {
                if iids.contains(&m.iid) && m.merge_check == MergeCheck::Unchecked {
                    m.merge_check = MergeCheck::Checking;
                }
            }
        }
    }

    /// A branch moved: every open MR with it as source or target needs checking again
    /// (`MergeRequests::RefreshService` marks them `unchecked`).
    fn invalidate_merge_checks(&mut self, project: ProjectId, branch: &str) {
        let upstream = self.projects.get(&project).and_then(|p| p.forked_from);
        for p in self.projects.values_mut() {
            if p.id != project && Some(p.id) != upstream {
                continue;
            }
            for m in &mut p.merge_requests {
                let source = m.source_project_id == project && m.source_branch == branch;
                let target = p.id == project && m.target_branch == branch;
                if m.state == MrState::Opened
                    && (source || target)
                    && m.merge_check != MergeCheck::Preparing
                {
                    m.merge_check = MergeCheck::Unchecked;
                }
            }
        }
    }

    /// Rebases the MR's source branch onto its target, replaying each commit (the background
    /// job). On conflict the branch stays and `merge_error` is set.
    pub fn rebase_mr(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<(), WorldError> {
        let p = self.project(project)?;
        let m = self.mr(project, iid)?.clone();
        if m.source_project_id != project {
            // Pushing to a fork's branch needs `allow_collaboration`, which is not modelled.
            return Err(WorldError::Invalid("Cannot push to source branch".into()));
        }
        let src = p
            .repo
            .head(&m.source_branch)
            .ok_or(WorldError::BranchNotFound)?;
        let tgt = p
            .repo
            .head(&m.target_branch)
            .ok_or(WorldError::BranchNotFound)?;
        let to_replay = p.repo.commits_between(&tgt.id, &src.id);
        let mut head = tgt.clone();
        let mut new_commits = Vec::new();
        let mut failed = false;
        for c in &to_replay {
            let parent_files = c
                .parent_ids
                .first()
                .and_then(|pid| p.repo.commits.get(pid))
                .map(|pc| pc.files.clone())
                .unwrap_or_default();
            match repo::three_way(&parent_files, &head.files, &c.files) {
                Merge::Clean(files) => {
                    let id = util::sha1_of(&[b"rebase", c.id.as_bytes(), head.id.as_bytes()]);
                    let nc = Arc::new(Commit {
                        id,
                        parent_ids: vec![head.id.clone()],
                        message: c.message.clone(),
                        author_name: c.author_name.clone(),
                        author_email: c.author_email.clone(),
                        created_at: c.created_at,
                        files: Arc::new(files),
                    });
                    new_commits.push(nc.clone());
                    head = nc;
                }
                Merge::Conflict(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let now = self.now();
        if failed {
            let mm = self.mr_mut(project, iid)?;
            mm.merge_error = Some(
                "Rebase failed: Rebase locally, resolve all conflicts, then push the branch."
                    .into(),
            );
            mm.rebase_in_progress = false;
            return Ok(());
        }
        let pm = self.project_mut(project)?;
        for c in new_commits {
            pm.repo.commits.insert(c.id.clone(), c);
        }
        pm.repo
            .branches
            .insert(m.source_branch.clone(), head.id.clone());
        if let Some(mm) = pm.merge_requests.iter_mut().find(|x| x.iid == iid) {
            mm.merge_error = None;
            mm.rebase_in_progress = false;
            mm.sha = head.id.clone();
            mm.updated_at = now;
        }
        if head.id != src.id {
            // The push sends the MR `update` hook (with `oldrev`) through the refresh.
            self.emit_push(project, user, &m.source_branch, Some(&src.id), &head.id);
        }
        Ok(())
    }

    /// Adds a comment to an MR; emits a Note Hook. Returns the note id.
    pub fn add_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
    ) -> Result<u64, WorldError> {
        self.push_note(project, iid, author, body, false)
    }

    /// Adds an internal note (visible to members with Reporter or more); emits a
    /// `Confidential Note Hook`. Returns the note id.
    pub fn add_internal_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
    ) -> Result<u64, WorldError> {
        self.push_note(project, iid, author, body, true)
    }

    fn push_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
        internal: bool,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let id = self.id();
        self.mr_mut(project, iid)?.notes.push(Note {
            id,
            body: body.to_string(),
            author_id: author,
            created_at: now,
            updated_at: now,
            system: false,
            internal,
            awards: Vec::new(),
        });
        self.project_mut(project)?.last_activity_at = now;
        self.emit_note(project, iid, id, author, "create");
        Ok(id)
    }

    /// Edits a note's body; emits a Note Hook with action `update` when the text changed. As
    /// `app/services/notes/update_service.rb` (`execute_note_webhook`) builds it, the hook's
    /// `user` is the note's author, whoever edited it.
    pub fn edit_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        note: u64,
        _editor: UserId,
        body: &str,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let n = self
            .mr_mut(project, iid)?
            .notes
            .iter_mut()
            .find(|n| n.id == note)
            .ok_or(WorldError::NoteNotFound)?;
        if n.body == body {
            return Ok(());
        }
        n.body = body.to_string();
        n.updated_at = now;
        let author = n.author_id;
        self.emit_note(project, iid, note, author, "update");
        Ok(())
    }

    /// Awards an emoji to an MR or, with `note`, to one of its notes. Returns the award id.
    pub fn award(
        &mut self,
        project: ProjectId,
        iid: u64,
        note: Option<u64>,
        user: UserId,
        name: &str,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let id = self.id();
        let m = self.mr_mut(project, iid)?;
        let list = match note {
            Some(n) => {
                &mut m
                    .notes
                    .iter_mut()
                    .find(|x| x.id == n)
                    .ok_or(WorldError::NoteNotFound)?
                    .awards
            }
            None => &mut m.awards,
        };
        if list.iter().any(|a| a.user_id == user && a.name == name) {
            return Err(WorldError::Invalid(
                "Award Emoji Name has already been taken".into(),
            ));
        }
        list.push(Award {
            id,
            name: name.to_string(),
            user_id: user,
            created_at: now,
        });
        Ok(id)
    }

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
            pipeline_events: false,
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

    // ---- event queue -----------------------------------------------------------------------

    fn emit_system(&mut self, body: serde_json::Value) {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        for h in &self.system_hooks {
            self.pending.push(PendingDelivery {
                target: h.target.clone(),
                event: "System Hook".into(),
                body: bytes.clone(),
                event_uuid: None,
                hook: None,
            });
        }
    }

    fn emit_project(&mut self, project: ProjectId, event: &str, body: serde_json::Value) {
        let Some(p) = self.projects.get(&project) else {
            return;
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let now = util::now_ms();
        for h in &p.hooks {
            // Project#execute_hooks reads `hooks.executable` (auto_disabling.rb): a disabled
            // hook is not even queued.
            if !h.executable(now) {
                continue;
            }
            let on = match event {
                "Push Hook" => h.push_events,
                "Merge Request Hook" => h.merge_requests_events,
                "Note Hook" => h.note_events,
                "Confidential Note Hook" => h.confidential_note_events,
                _ => false,
            };
            if on {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: event.to_string(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: Some((project, h.id)),
                });
            }
        }
    }

    fn emit_push(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        before: Option<&str>,
        after: &str,
    ) {
        let before = before.unwrap_or(ZERO_SHA);
        self.invalidate_merge_checks(project, branch);
        let body = events::push(self, project, user, branch, before, after);
        self.emit_project(project, "Push Hook", body.clone());
        self.refresh_source_mrs(project, user, branch, before, after);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let update = serde_json::to_vec(&events::repository_update(
            self, project, user, branch, before, after,
        ))
        .unwrap_or_default();
        for h in &self.system_hooks {
            if h.push_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
            if h.repository_update_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: update.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
        }
    }

    /// Recursion blocking (lib/gitlab/web_hooks/recursion_detection.rb): deliveries queued by an
    /// API call that carried `X-Gitlab-Event-UUID: uuid` (from `first` on in `pending`) belong
    /// to that event's chain; one to a hook the chain has already reached is dropped (kept in
    /// [`World::blocked_deliveries`]), the others carry the UUID.
    pub fn chain_deliveries(&mut self, uuid: &str, first: usize) {
        if first >= self.pending.len() {
            return;
        }
        let queued = self.pending.split_off(first);
        for mut d in queued {
            let reached = self.hook_chains.entry(uuid.to_string()).or_default();
            if reached.contains(&d.target.url) {
                self.blocked_deliveries.push(d);
                continue;
            }
            reached.insert(d.target.url.clone());
            d.event_uuid = Some(uuid.to_string());
            self.pending.push(d);
        }
    }

    /// Gives a delivery that no API call caused its own event UUID, starting its chain.
    pub fn start_chain(&mut self, d: &mut PendingDelivery) -> String {
        let uuid = d
            .event_uuid
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        self.hook_chains
            .entry(uuid.clone())
            .or_default()
            .insert(d.target.url.clone());
        uuid
    }

    /// What a push does to the open MRs whose source branch it moved
    /// (app/services/merge_requests/refresh_service.rb): a deletion closes them, by the person
    /// who deleted the branch (`close_upon_missing_source_branch_ref`); new commits update
    /// their head and send a Merge Request Hook `update` with `oldrev`
    /// (`execute_mr_web_hooks`).
    fn refresh_source_mrs(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        before: &str,
        after: &str,
    ) {
        let upstream = self.projects.get(&project).and_then(|p| p.forked_from);
        let mut touched = Vec::new();
        for p in self.projects.values() {
            if p.id != project && Some(p.id) != upstream {
                continue;
            }
            for m in &p.merge_requests {
                if m.state == MrState::Opened
                    && m.source_project_id == project
                    && m.source_branch == branch
                {
                    touched.push((p.id, m.iid));
                }
            }
        }
        for (target, iid) in touched {
            // The refresh reloads the MR's diff (app/services/merge_requests/refresh_service.rb
            // `reload_merge_requests`), and a new diff fetches a fork MR's head into the
            // target project first (app/models/merge_request.rb `create_merge_request_diff`
            // calls `fetch_ref!`), so statuses and diffs there see its commits.
            self.fetch_fork_commits(target, project);
            let now = self.now();
            let Ok(m) = self.mr_mut(target, iid) else {
                continue;
            };
            m.updated_at = now;
            if after == ZERO_SHA {
                m.state = MrState::Closed;
                m.closed_at = Some(now);
                m.closed_by = Some(user);
                self.emit_mr(target, iid, user, "close");
            } else {
                m.sha = after.to_string();
                let mut body = events::merge_request(self, target, iid, user, "update");
                if before != ZERO_SHA {
                    body["object_attributes"]["oldrev"] = serde_json::json!(before);
                }
                self.emit_mr_body(body);
            }
        }
    }

    fn emit_mr(&mut self, project: ProjectId, iid: u64, user: UserId, action: &str) {
        let body = events::merge_request(self, project, iid, user, action);
        self.emit_mr_body(body);
    }

    fn emit_mr_body(&mut self, body: serde_json::Value) {
        let Some(project) = body["project"]["id"].as_u64() else {
            return;
        };
        self.emit_project(project, "Merge Request Hook", body.clone());
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        for h in &self.system_hooks {
            if h.merge_requests_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
        }
    }

    /// An internal note goes only to hooks with `confidential_note_events`, as
    /// `Confidential Note Hook` (app/models/note.rb `confidential?` picks the
    /// `:confidential_note_hooks` scope), never as `Note Hook`.
    fn emit_note(&mut self, project: ProjectId, iid: u64, note: u64, user: UserId, action: &str) {
        let internal = self
            .mr(project, iid)
            .ok()
            .and_then(|m| m.notes.iter().find(|n| n.id == note))
            .is_some_and(|n| n.internal);
        let body = events::note(self, project, iid, note, user, action);
        let event = if internal {
            "Confidential Note Hook"
        } else {
            "Note Hook"
        };
        self.emit_project(project, event, body);
    }
}

/// A path slug of a name (lower case, `-` for anything else).
pub fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').to_string()
}

/// Git's ref-name rules, the parts that matter for branch names.
pub fn valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name != "HEAD"
        && !name
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
}
