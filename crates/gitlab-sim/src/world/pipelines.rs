//! CI pipelines, auto-merge and protected-branch merge rights.
//!
//! A project with CI jobs ([`Project::ci_jobs`]) gets a pipeline for each commit pushed to a
//! branch (app/services/ci/create_pipeline_service.rb on `git push`), `running` at once and
//! finished by [`World::run_pipelines`] (the simulator's runner), each job `success` unless
//! named in [`Project::failing_jobs`] (fault injection). Each status change sends a Pipeline
//! Hook (lib/gitlab/data_builder/pipeline.rb). An MR's head pipeline is the newest pipeline of
//! its source head (`MergeRequest#diff_head_pipeline`). When it succeeds, an MR set to merge
//! automatically is merged by the user who set it
//! (app/services/auto_merge/merge_when_checks_pass_service.rb `process`).

use std::collections::BTreeMap;

use super::*;
use crate::{events, repo, util};

/// A CI job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Id (global).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// `running`, `success`, `failed`.
    pub status: String,
    /// Created (ms).
    pub created_at: i64,
    /// Finished (ms).
    pub finished_at: Option<i64>,
}

/// A pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Id (global).
    pub id: u64,
    /// Per-project number.
    pub iid: u64,
    /// The branch.
    pub ref_name: String,
    /// The commit.
    pub sha: String,
    /// The commit before (the push's `before`).
    pub before_sha: String,
    /// `running`, `success`, `failed`.
    pub status: String,
    /// Who pushed.
    pub user_id: UserId,
    /// Created (ms).
    pub created_at: i64,
    /// Finished (ms).
    pub finished_at: Option<i64>,
    /// Jobs.
    pub jobs: Vec<Job>,
}

/// A protected branch's rules (app/models/protected_branch.rb): who may merge into it and
/// push to it, by access level (0: no one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtectedBranch {
    /// `merge_access_levels`.
    pub merge_access_level: u8,
    /// `push_access_levels`.
    pub push_access_level: u8,
}

impl World {
    /// Gives a project CI jobs (none: no pipelines).
    pub fn set_ci_jobs(&mut self, project: ProjectId, jobs: &[&str]) -> Result<(), WorldError> {
        self.project_mut(project)?.ci_jobs = jobs.iter().map(|j| j.to_string()).collect();
        Ok(())
    }

    /// Makes a job fail in the project's pipelines from now on (`false`: succeed again).
    pub fn set_job_failing(
        &mut self,
        project: ProjectId,
        job: &str,
        failing: bool,
    ) -> Result<(), WorldError> {
        let p = self.project_mut(project)?;
        if failing {
            p.failing_jobs.insert(job.to_string());
        } else {
            p.failing_jobs.remove(job);
        }
        Ok(())
    }

    /// Protects a branch with these merge and push access levels.
    pub fn protect_branch(
        &mut self,
        project: ProjectId,
        branch: &str,
        rules: ProtectedBranch,
    ) -> Result<(), WorldError> {
        self.project_mut(project)?
            .protected_branches
            .insert(branch.to_string(), rules);
        Ok(())
    }

    /// Whether `user` may merge into `branch` (`MergeRequest#can_be_merged_by?`: Developer on
    /// an unprotected branch, the protected branch's merge access level otherwise).
    pub fn can_merge_into(&self, project: &Project, user: UserId, branch: &str) -> bool {
        let level = self.access_level(project, user);
        match project.protected_branches.get(branch) {
            Some(rules) => rules.merge_access_level > 0 && level >= rules.merge_access_level,
            None => level >= access::DEVELOPER,
        }
    }

    /// A pipeline for a push to `branch` when the project has CI jobs.
    pub(super) fn create_pipeline(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        before: &str,
        after: &str,
    ) {
        let Ok(p) = self.project(project) else { return };
        if p.ci_jobs.is_empty() || after == repo::ZERO_SHA {
            return;
        }
        let names = p.ci_jobs.clone();
        let iid = p.pipelines.len() as u64 + 1;
        let now = self.now();
        let id = self.id();
        let jobs = names
            .iter()
            .map(|name| Job {
                id: self.id(),
                name: name.clone(),
                stage: "test".into(),
                status: "running".into(),
                created_at: now,
                finished_at: None,
            })
            .collect();
        let pipeline = Pipeline {
            id,
            iid,
            ref_name: branch.to_string(),
            sha: after.to_string(),
            before_sha: before.to_string(),
            status: "running".into(),
            user_id: user,
            created_at: now,
            finished_at: None,
            jobs,
        };
        if let Ok(p) = self.project_mut(project) {
            p.pipelines.push(pipeline);
        }
        self.emit_pipeline(project, id);
    }

    /// The newest pipeline of `sha`.
    pub fn pipeline_of<'a>(&self, project: &'a Project, sha: &str) -> Option<&'a Pipeline> {
        project.pipelines.iter().rev().find(|p| p.sha == sha)
    }

    /// The MR's head pipeline (of its source head).
    pub fn head_pipeline<'a>(
        &self,
        project: &'a Project,
        mr: &MergeRequest,
    ) -> Option<&'a Pipeline> {
        let head = self.mr_source_head(project, mr)?;
        self.pipeline_of(project, &head.id)
    }

    /// The runner: finishes every running pipeline (jobs named in `failing_jobs` fail), sends
    /// the Pipeline Hooks, and merges the MRs waiting on a pipeline that succeeded.
    pub fn run_pipelines(&mut self) {
        let mut finished: Vec<(ProjectId, u64, String, String)> = Vec::new();
        let now = self.now();
        for p in self.projects.values_mut() {
            let failing = p.failing_jobs.clone();
            for pl in p.pipelines.iter_mut().filter(|pl| pl.status == "running") {
                for j in &mut pl.jobs {
                    j.status = if failing.contains(&j.name) {
                        "failed"
                    } else {
                        "success"
                    }
                    .into();
                    j.finished_at = Some(now);
                }
                pl.status = if pl.jobs.iter().any(|j| j.status == "failed") {
                    "failed".into()
                } else {
                    "success".into()
                };
                pl.finished_at = Some(now);
                finished.push((p.id, pl.id, pl.sha.clone(), pl.status.clone()));
            }
        }
        for (project, id, sha, status) in finished {
            self.emit_pipeline(project, id);
            if status != "success" {
                continue;
            }
            let waiting: Vec<(u64, UserId)> = self
                .project(project)
                .map(|p| {
                    p.merge_requests
                        .iter()
                        .filter(|m| m.state == MrState::Opened && m.sha == sha)
                        .filter_map(|m| m.auto_merge_user.map(|u| (m.iid, u)))
                        .collect()
                })
                .unwrap_or_default();
            for (iid, user) in waiting {
                // MergeWhenChecksPassService#process: merged by the user who set it; a merge
                // that cannot happen leaves the MR open with its error.
                if let Err(e) = self.merge_mr(project, iid, user) {
                    if let Ok(m) = self.mr_mut(project, iid) {
                        m.merge_error = Some(e.to_string());
                    }
                }
            }
        }
    }

    /// Sets an MR to merge when its pipeline succeeds (`auto_merge_enabled`, `merge_user`).
    pub fn set_auto_merge(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
    ) -> Result<(), WorldError> {
        let m = self.mr_mut(project, iid)?;
        m.auto_merge_user = Some(user);
        let now = self.now();
        self.push_system_note(
            project,
            iid,
            user,
            "enabled an automatic merge when all merge checks pass",
            now,
        )
    }

    fn push_system_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        user: UserId,
        body: &str,
        now: i64,
    ) -> Result<(), WorldError> {
        let id = self.id();
        let m = self.mr_mut(project, iid)?;
        m.notes.push(Note {
            id,
            body: body.to_string(),
            author_id: user,
            created_at: now,
            updated_at: now,
            system: true,
            internal: false,
            awards: Vec::new(),
        });
        Ok(())
    }

    fn emit_pipeline(&mut self, project: ProjectId, pipeline: u64) {
        let Some(body) = self.pipeline_body(project, pipeline) else {
            return;
        };
        self.emit_project(project, "Pipeline Hook", body);
    }

    /// The Pipeline Hook body (lib/gitlab/data_builder/pipeline.rb).
    fn pipeline_body(&self, project: ProjectId, pipeline: u64) -> Option<serde_json::Value> {
        let p = self.project(project).ok()?;
        let pl = p.pipelines.iter().find(|x| x.id == pipeline)?;
        let url = format!("{}/-/pipelines/{}", self.project_url(p), pl.id);
        let mr = p.merge_requests.iter().rev().find(|m| {
            m.source_branch == pl.ref_name
                && m.source_project_id == project
                && m.state == MrState::Opened
        });
        let duration = pl.finished_at.map(|f| (f - pl.created_at).max(0) / 1000);
        let mut stages: Vec<String> = pl.jobs.iter().map(|j| j.stage.clone()).collect();
        stages.dedup();
        let user = self.users.get(&pl.user_id);
        Some(serde_json::json!({
            "object_kind": "pipeline",
            "object_attributes": {
                "id": pl.id,
                "iid": pl.iid,
                "name": null,
                "ref": pl.ref_name,
                "tag": false,
                "sha": pl.sha,
                "before_sha": pl.before_sha,
                "source": "push",
                "status": pl.status,
                "detailed_status": if pl.status == "success" { "passed" } else { pl.status.as_str() },
                "stages": stages,
                "created_at": util::hook_time(pl.created_at),
                "finished_at": pl.finished_at.map(util::hook_time),
                "duration": duration,
                "queued_duration": null,
                "variables": [],
                "url": url,
            },
            "merge_request": mr.map(|m| serde_json::json!({
                "id": m.id,
                "iid": m.iid,
                "title": m.title,
                "source_branch": m.source_branch,
                "source_project_id": m.source_project_id,
                "target_branch": m.target_branch,
                "target_project_id": project,
                "state": m.state.as_str(),
                "merge_status": "can_be_merged",
                "detailed_merge_status": "mergeable",
                "url": format!("{}/-/merge_requests/{}", self.project_url(p), m.iid),
            })),
            "user": user.map(|u| serde_json::json!({
                "id": u.id, "name": u.name, "username": u.username, "avatar_url": null, "email": "[REDACTED]",
            })),
            "project": events::hook_project(self, p),
            "commit": p.repo.commits.get(&pl.sha).map(|c| serde_json::json!({
                "id": c.id, "message": c.message, "title": c.message.lines().next().unwrap_or(""),
                "timestamp": util::iso_ms(c.created_at), "url": format!("{}/-/commit/{}", self.project_url(p), c.id),
                "author": {"name": c.author_name, "email": c.author_email},
            })),
            "builds": pl.jobs.iter().map(|j| serde_json::json!({
                "id": j.id, "stage": j.stage, "name": j.name, "status": j.status,
                "created_at": util::hook_time(j.created_at), "started_at": util::hook_time(j.created_at),
                "finished_at": j.finished_at.map(util::hook_time),
                "duration": j.finished_at.map(|f| (f - j.created_at).max(0) / 1000),
                "queued_duration": null,
                "failure_reason": (j.status == "failed").then_some("script_failure"),
                "when": "on_success", "manual": false, "allow_failure": false,
                "user": null, "runner": null,
                "artifacts_file": {"filename": null, "size": null},
                "environment": null,
            })).collect::<Vec<_>>(),
            "source_pipeline": null,
        }))
    }
}

/// Rules of protected branches by name.
pub type ProtectedBranches = BTreeMap<String, ProtectedBranch>;
