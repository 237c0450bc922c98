//! Merge requests: open, update, close, reopen, merge.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::repo::{self, Commit, Merge, ZERO_SHA};
use crate::util;

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
    /// Set to merge when the pipeline succeeds, by this user (`merge_user`,
    /// `merge_when_pipeline_succeeds`).
    pub auto_merge_user: Option<UserId>,
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
    /// Assignees (`assignee_ids`).
    pub assignee_ids: Vec<UserId>,
    /// Reviewers (`reviewer_ids`).
    pub reviewer_ids: Vec<UserId>,
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
    /// Assignees.
    pub assignee_ids: Vec<UserId>,
    /// Reviewers.
    pub reviewer_ids: Vec<UserId>,
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

impl World {
    // ---- merge requests ---------------------------------------------------------------------

    /// An MR by iid.
    pub fn mr(&self, project: ProjectId, iid: u64) -> Result<&MergeRequest, WorldError> {
        self.project(project)?
            .merge_requests
            .iter()
            .find(|m| m.iid == iid)
            .ok_or(WorldError::MergeRequestNotFound)
    }

    pub(super) fn mr_mut(
        &mut self,
        project: ProjectId,
        iid: u64,
    ) -> Result<&mut MergeRequest, WorldError> {
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
            ..Default::default()
        };
        self.insert_mr(project, project, author, spec)
    }

    /// Opens an MR from the project's own branch as `spec` says (with its assignees and
    /// reviewers, as `POST /projects/:id/merge_requests` sets them in one go).
    pub fn create_mr_with(
        &mut self,
        project: ProjectId,
        author: UserId,
        spec: MrSpec,
    ) -> Result<u64, WorldError> {
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
    pub(super) fn fetch_fork_commits(&mut self, target: ProjectId, fork: ProjectId) {
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
    pub(super) fn insert_mr(
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
            auto_merge_user: None,
            merge_check: MergeCheck::Preparing,
            remove_source_branch: spec.remove_source_branch,
            squash: spec.squash,
            assignee_ids: spec.assignee_ids,
            reviewer_ids: spec.reviewer_ids,
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

    /// Sets an MR's assignees and/or reviewers (each list whole, as `PUT` with
    /// `assignee_ids`/`reviewer_ids` does in lib/api/merge_requests.rb); emits `update` when
    /// something changed.
    pub fn set_mr_people(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
        assignees: Option<Vec<UserId>>,
        reviewers: Option<Vec<UserId>>,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let m = self.mr_mut(project, iid)?;
        let mut changed = false;
        if let Some(a) = assignees {
            changed |= m.assignee_ids != a;
            m.assignee_ids = a;
        }
        if let Some(r) = reviewers {
            changed |= m.reviewer_ids != r;
            m.reviewer_ids = r;
        }
        if changed {
            m.updated_at = now;
            self.emit_mr(project, iid, user, "update");
        }
        Ok(())
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
}
