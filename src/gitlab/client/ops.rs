//! Typed GitLab operations: one method per REST call the bot makes.

use reqwest::Method;

use super::{encode, GitLab, GitLabError, Pages, ProjectRef};
use crate::gitlab::rest::*;
use crate::gitlab::{MrIid, UserId};

type Query<'a> = Vec<(&'a str, String)>;

/// The state filter of a merge-request list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrState {
    /// Open.
    Opened,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
    /// Any.
    All,
}

impl MrState {
    fn as_str(self) -> &'static str {
        match self {
            MrState::Opened => "opened",
            MrState::Closed => "closed",
            MrState::Merged => "merged",
            MrState::All => "all",
        }
    }
}

impl GitLab {
    /// `GET /user`: who the token belongs to.
    pub async fn current_user(&self) -> Result<User, GitLabError> {
        self.get("user", &[]).await
    }

    /// `GET /personal_access_tokens/self`: the token's scopes and expiry.
    pub async fn token_info(&self) -> Result<TokenInfo, GitLabError> {
        self.get("personal_access_tokens/self", &[]).await
    }

    /// The user with this username, if any (`GET /users?username=`, lib/api/users.rb: an
    /// exact, case-insensitive match; a list of at most one).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, GitLabError> {
        let users: Vec<User> = self
            .get("users", &[("username", username.to_string())])
            .await?;
        Ok(users
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username)))
    }

    /// A group's members, inherited ones included (`GET /groups/:id/members/all`,
    /// lib/api/members.rb), every page; `None` when the group is not found (or not visible).
    pub async fn group_members(&self, group: &str) -> Result<Option<Vec<Member>>, GitLabError> {
        not_found_as_none(
            self.get_all(
                &format!("groups/{}/members/all", encode(group)),
                &[("per_page", "100".into())],
            )
            .await,
        )
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<VersionInfo, GitLabError> {
        self.get("version", &[]).await
    }

    /// The projects the token is a member of with at least `min_access_level`, not archived,
    /// 100 per page, by keyset pagination on id (stable while projects come and go).
    pub fn member_projects(&self, min_access_level: u8) -> Result<Pages<Project>, GitLabError> {
        self.pages(
            "projects",
            &[
                ("membership", "true".into()),
                ("min_access_level", min_access_level.to_string()),
                ("archived", "false".into()),
                ("pagination", "keyset".into()),
                ("order_by", "id".into()),
                ("sort", "asc".into()),
                ("per_page", "100".into()),
            ],
        )
    }

    /// `GET /projects/:id`.
    pub async fn project(&self, project: &ProjectRef) -> Result<Project, GitLabError> {
        self.get(&format!("projects/{project}"), &[]).await
    }

    /// The whole tree at `git_ref`, recursively, every page.
    pub async fn tree(
        &self,
        project: &ProjectRef,
        git_ref: &str,
    ) -> Result<Vec<TreeEntry>, GitLabError> {
        self.get_all(
            &format!("projects/{project}/repository/tree"),
            &[
                ("recursive", "true".into()),
                ("ref", git_ref.to_string()),
                ("per_page", "100".into()),
                ("pagination", "keyset".into()),
            ],
        )
        .await
    }

    /// A file's bytes at `git_ref` (`404 File Not Found` when absent).
    pub async fn raw_file(
        &self,
        project: &ProjectRef,
        path: &str,
        git_ref: &str,
    ) -> Result<RawFile, GitLabError> {
        self.raw_file_within(project, path, git_ref, super::MAX_BODY_BYTES)
            .await
    }

    /// [`GitLab::raw_file`], reading at most `max_bytes` of it: a longer file is
    /// [`GitLabError::TooLarge`], not retried.
    pub async fn raw_file_within(
        &self,
        project: &ProjectRef,
        path: &str,
        git_ref: &str,
        max_bytes: usize,
    ) -> Result<RawFile, GitLabError> {
        let answer = self
            .request_within(
                Method::GET,
                &format!("projects/{project}/repository/files/{}/raw", encode(path)),
                &[("ref", git_ref.to_string())],
                None::<&()>,
                max_bytes,
            )
            .await?;
        Ok(RawFile {
            blob_id: answer.header("x-gitlab-blob-id").map(str::to_string),
            commit_id: answer.header("x-gitlab-commit-id").map(str::to_string),
            last_commit_id: answer.header("x-gitlab-last-commit-id").map(str::to_string),
            content: answer.body,
        })
    }

    /// `GET /projects/:id/repository/compare?from=&to=`.
    pub async fn compare(
        &self,
        project: &ProjectRef,
        from: &str,
        to: &str,
    ) -> Result<Compare, GitLabError> {
        self.get(
            &format!("projects/{project}/repository/compare"),
            &[("from", from.to_string()), ("to", to.to_string())],
        )
        .await
    }

    /// A branch, or `None` when it does not exist.
    pub async fn branch(
        &self,
        project: &ProjectRef,
        name: &str,
    ) -> Result<Option<Branch>, GitLabError> {
        not_found_as_none(
            self.get(
                &format!("projects/{project}/repository/branches/{}", encode(name)),
                &[],
            )
            .await,
        )
    }

    /// Creates a branch at `from` (a branch name or sha). "Branch already exists" is a
    /// [`GitLabError::Validation`].
    pub async fn create_branch(
        &self,
        project: &ProjectRef,
        name: &str,
        from: &str,
    ) -> Result<Branch, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/repository/branches"),
            &[("branch", name.to_string()), ("ref", from.to_string())],
            None::<&()>,
        )
        .await
    }

    /// Deletes a branch; `false` when it was already gone.
    pub async fn delete_branch(
        &self,
        project: &ProjectRef,
        name: &str,
    ) -> Result<bool, GitLabError> {
        let r = self
            .request(
                Method::DELETE,
                &format!("projects/{project}/repository/branches/{}", encode(name)),
                &[],
                None::<&()>,
            )
            .await;
        not_found_as_none(r).map(|a| a.is_some())
    }

    /// Commits `actions` (see [`NewCommit`]: `start_branch`, `force`).
    pub async fn create_commit(
        &self,
        project: &ProjectRef,
        commit: &NewCommit,
    ) -> Result<Commit, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/repository/commits"),
            &[],
            Some(commit),
        )
        .await
    }

    /// Merge requests from `source_branch` in `state` (every page).
    pub async fn merge_requests_from(
        &self,
        project: &ProjectRef,
        source_branch: &str,
        state: MrState,
    ) -> Result<Vec<MergeRequest>, GitLabError> {
        self.get_all(
            &format!("projects/{project}/merge_requests"),
            &[
                ("source_branch", source_branch.to_string()),
                ("state", state.as_str().to_string()),
                ("per_page", "100".into()),
            ],
        )
        .await
    }

    /// Opens a merge request. A second open MR for the branch is a [`GitLabError::Conflict`].
    pub async fn create_merge_request(
        &self,
        project: &ProjectRef,
        mr: &NewMergeRequest,
    ) -> Result<MergeRequest, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/merge_requests"),
            &[],
            Some(mr),
        )
        .await
    }

    /// One merge request, with `rebase_in_progress` and `diverged_commits_count`.
    pub async fn merge_request(
        &self,
        project: &ProjectRef,
        iid: MrIid,
    ) -> Result<MergeRequest, GitLabError> {
        self.get(
            &format!("projects/{project}/merge_requests/{iid}"),
            &[
                ("include_rebase_in_progress", "true".into()),
                ("include_diverged_commits_count", "true".into()),
            ],
        )
        .await
    }

    /// Updates a merge request (title, description, labels, `state_event`). Check the answer's
    /// `state` after a reopen: GitLab answers 200 and leaves it closed when the source branch is
    /// gone.
    pub async fn update_merge_request(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        update: &MergeRequestUpdate,
    ) -> Result<MergeRequest, GitLabError> {
        self.json(
            Method::PUT,
            &format!("projects/{project}/merge_requests/{iid}"),
            &[],
            Some(update),
        )
        .await
    }

    /// `PUT /projects/:id/merge_requests/:iid/merge`: merges now, or (with
    /// `merge_when_pipeline_succeeds`) when the head pipeline succeeds. GitLab answers 405,
    /// 406 or 422 while it cannot (yet).
    pub async fn merge_merge_request(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeRequest, GitLabError> {
        self.json(
            Method::PUT,
            &format!("projects/{project}/merge_requests/{iid}/merge"),
            &[],
            Some(options),
        )
        .await
    }

    /// A pipeline's jobs with the given status (`GET /projects/:id/pipelines/:id/jobs`).
    pub async fn pipeline_jobs(
        &self,
        project: &ProjectRef,
        pipeline: u64,
        status: &str,
    ) -> Result<Vec<Job>, GitLabError> {
        self.get(
            &format!("projects/{project}/pipelines/{pipeline}/jobs"),
            &[("scope[]", status.to_string()), ("per_page", "100".into())],
        )
        .await
    }

    /// A protected branch's rules, or `None` when the branch is not protected.
    pub async fn protected_branch(
        &self,
        project: &ProjectRef,
        name: &str,
    ) -> Result<Option<ProtectedBranch>, GitLabError> {
        not_found_as_none(
            self.get(
                &format!("projects/{project}/protected_branches/{}", encode(name)),
                &[],
            )
            .await,
        )
    }

    /// Asks GitLab to rebase the merge request's source branch (asynchronous: poll
    /// [`GitLab::merge_request`] for `rebase_in_progress`).
    pub async fn rebase_merge_request(
        &self,
        project: &ProjectRef,
        iid: MrIid,
    ) -> Result<(), GitLabError> {
        self.request(
            Method::PUT,
            &format!("projects/{project}/merge_requests/{iid}/rebase"),
            &[],
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// The files a merge request changes, between its merge base and its source head (every
    /// page of `GET /projects/:id/merge_requests/:iid/diffs`).
    pub async fn merge_request_diffs(
        &self,
        project: &ProjectRef,
        iid: MrIid,
    ) -> Result<Vec<Diff>, GitLabError> {
        self.get_all(
            &format!("projects/{project}/merge_requests/{iid}/diffs"),
            &[("per_page", "100".into())],
        )
        .await
    }

    /// The notes of a merge request (every page).
    pub async fn merge_request_notes(
        &self,
        project: &ProjectRef,
        iid: MrIid,
    ) -> Result<Vec<Note>, GitLabError> {
        self.get_all(
            &format!("projects/{project}/merge_requests/{iid}/notes"),
            &[("per_page", "100".into())],
        )
        .await
    }

    /// Comments on a merge request.
    pub async fn create_merge_request_note(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        body: &str,
    ) -> Result<Note, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/merge_requests/{iid}/notes"),
            &[],
            Some(&serde_json::json!({ "body": body })),
        )
        .await
    }

    /// Edits a comment.
    pub async fn update_merge_request_note(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        note_id: u64,
        body: &str,
    ) -> Result<Note, GitLabError> {
        self.json(
            Method::PUT,
            &format!("projects/{project}/merge_requests/{iid}/notes/{note_id}"),
            &[],
            Some(&serde_json::json!({ "body": body })),
        )
        .await
    }

    /// The award emoji on a note of a merge request.
    pub async fn note_award_emoji(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        note_id: u64,
    ) -> Result<Vec<AwardEmoji>, GitLabError> {
        self.get_all(
            &format!("projects/{project}/merge_requests/{iid}/notes/{note_id}/award_emoji"),
            &[],
        )
        .await
    }

    /// Awards an emoji to a note of a merge request (the bot's "seen it" on a command).
    pub async fn award_note_emoji(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        note_id: u64,
        name: &str,
    ) -> Result<AwardEmoji, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/merge_requests/{iid}/notes/{note_id}/award_emoji"),
            &[("name", name.to_string())],
            None::<&()>,
        )
        .await
    }

    /// Awards an emoji to a merge request.
    pub async fn award_merge_request_emoji(
        &self,
        project: &ProjectRef,
        iid: MrIid,
        name: &str,
    ) -> Result<AwardEmoji, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/merge_requests/{iid}/award_emoji"),
            &[("name", name.to_string())],
            None::<&()>,
        )
        .await
    }

    /// A user's effective membership (direct or inherited), or `None`.
    pub async fn member(
        &self,
        project: &ProjectRef,
        user: UserId,
    ) -> Result<Option<Member>, GitLabError> {
        not_found_as_none(
            self.get(&format!("projects/{project}/members/all/{user}"), &[])
                .await,
        )
    }

    /// Sets a commit status.
    pub async fn set_commit_status(
        &self,
        project: &ProjectRef,
        sha: &str,
        status: &CommitStatus,
    ) -> Result<CommitStatusAnswer, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/statuses/{}", encode(sha)),
            &[],
            Some(status),
        )
        .await
    }

    /// The project's hooks (needs Maintainer).
    pub async fn project_hooks(
        &self,
        project: &ProjectRef,
    ) -> Result<Vec<ProjectHook>, GitLabError> {
        self.get_all(&format!("projects/{project}/hooks"), &Query::new())
            .await
    }

    /// Adds a project hook.
    pub async fn create_project_hook(
        &self,
        project: &ProjectRef,
        spec: &HookSpec,
    ) -> Result<ProjectHook, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/hooks"),
            &[],
            Some(spec),
        )
        .await
    }

    /// Changes a project hook.
    pub async fn update_project_hook(
        &self,
        project: &ProjectRef,
        hook_id: u64,
        spec: &HookSpec,
    ) -> Result<ProjectHook, GitLabError> {
        self.json(
            Method::PUT,
            &format!("projects/{project}/hooks/{hook_id}"),
            &[],
            Some(spec),
        )
        .await
    }

    /// One project hook.
    pub async fn project_hook(
        &self,
        project: &ProjectRef,
        hook_id: u64,
    ) -> Result<Option<ProjectHook>, GitLabError> {
        not_found_as_none(
            self.get(&format!("projects/{project}/hooks/{hook_id}"), &[])
                .await,
        )
    }

    /// Sends a project hook's test delivery (`POST .../hooks/:hook_id/test/:trigger`,
    /// lib/api/hooks/trigger_test.rb): Ok when the receiver answered 2xx (GitLab then
    /// enables a disabled hook again); a 422 [`GitLabError::Validation`] carries the
    /// receiver's answer or the transport error. Rate limited to 5 a minute per project.
    pub async fn test_project_hook(
        &self,
        project: &ProjectRef,
        hook_id: u64,
        trigger: &str,
    ) -> Result<(), GitLabError> {
        self.request(
            Method::POST,
            &format!(
                "projects/{project}/hooks/{hook_id}/test/{}",
                encode(trigger)
            ),
            &[],
            None::<&()>,
        )
        .await
        .map(|_| ())
    }

    /// The project's badges.
    pub async fn project_badges(&self, project: &ProjectRef) -> Result<Vec<Badge>, GitLabError> {
        self.get_all(&format!("projects/{project}/badges"), &[])
            .await
    }

    /// Adds a badge.
    pub async fn create_project_badge(
        &self,
        project: &ProjectRef,
        spec: &BadgeSpec,
    ) -> Result<Badge, GitLabError> {
        self.json(
            Method::POST,
            &format!("projects/{project}/badges"),
            &[],
            Some(spec),
        )
        .await
    }

    /// Changes a badge.
    pub async fn update_project_badge(
        &self,
        project: &ProjectRef,
        badge_id: u64,
        spec: &BadgeSpec,
    ) -> Result<Badge, GitLabError> {
        self.json(
            Method::PUT,
            &format!("projects/{project}/badges/{badge_id}"),
            &[],
            Some(spec),
        )
        .await
    }
}

fn not_found_as_none<T>(r: Result<T, GitLabError>) -> Result<Option<T>, GitLabError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
