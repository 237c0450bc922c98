//! Background jobs: queued rebases and mergeability checks.

use std::sync::Arc;

use super::*;
use crate::repo::{self, Commit, Merge};
use crate::util;

impl World {
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
    pub(super) fn invalidate_merge_checks(&mut self, project: ProjectId, branch: &str) {
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
}
