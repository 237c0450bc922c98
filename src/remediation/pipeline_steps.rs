//! The executor's side of CI: recording a bot MR's pipeline (one note per failed pipeline
//! naming the failed jobs, `pipeline failed` in the history, cleared by a green one), and
//! asking GitLab to merge a fix the policy lets merge itself.

use std::time::Duration;

use super::executor::{ExecError, Executor, BOT};
use super::model::{Remediation, State};
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::gitlab::rest::MergeOptions;
use crate::gitlab::{GitLab, GitLabError, ProjectRef};
use crate::pipeline::merge::{ask, retryable, Ask, ATTEMPTS};
use crate::pipeline::table::PipelineTable;
use crate::pipeline::{decide, render, PipelineState, Status, Step};

/// First pause between merge attempts GitLab answered "not yet" (doubled each time).
const MERGE_PAUSE: Duration = Duration::from_millis(100);

fn status_of(e: &GitLabError) -> Option<u16> {
    match e {
        GitLabError::Validation { status, .. } | GitLabError::Unexpected { status, .. } => {
            Some(*status)
        }
        _ => None,
    }
}

/// Whether the head pipeline read on reconcile is news: another pipeline than the one known
/// (a newer one; an older one is stale), or the same one in another status.
fn catch_up_needed(known: Option<&PipelineState>, pipeline: u64, status: Status) -> bool {
    match known {
        None => true,
        Some(k) => pipeline > k.pipeline || (pipeline == k.pipeline && status != k.status),
    }
}

/// A pipeline event's facts.
#[derive(Debug, Clone)]
pub struct PipelineFacts {
    /// Pipeline id.
    pub id: u64,
    /// Commit.
    pub sha: String,
    /// Status.
    pub status: Status,
    /// Its page.
    pub web_url: Option<String>,
}

impl Executor {
    /// The executor with the pipeline table (given at construction); without it pipelines are
    /// not tracked.
    pub fn with_pipelines(mut self, table: PipelineTable) -> Self {
        self.pipelines = Some(table);
        self
    }

    /// The pipeline table, when set.
    pub fn pipelines(&self) -> Option<&PipelineTable> {
        self.pipelines.as_ref()
    }

    /// Records a pipeline of the remediation's MR; returns one line.
    pub async fn on_pipeline(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        facts: &PipelineFacts,
    ) -> Result<String, ExecError> {
        let Some(table) = &self.pipelines else {
            return Ok("pipelines are not tracked".into());
        };
        let Some(iid) = r.mr_iid.filter(|_| r.state == State::MrOpen) else {
            return Ok(format!("{}: no open MR; pipeline not recorded", r.package));
        };
        let known = table.get(r.id)?;
        let step = decide(known.as_ref(), facts.id, facts.status);
        if step == Step::Stale {
            return Ok(format!(
                "{}: pipeline {} is older than the one known",
                r.package, facts.id
            ));
        }
        let mut state = PipelineState {
            pipeline: facts.id,
            sha: facts.sha.clone(),
            status: facts.status,
            failed_jobs: Vec::new(),
            web_url: facts.web_url.clone(),
            noted: known.as_ref().and_then(|k| k.noted),
            marked_failed: known.as_ref().is_some_and(PipelineState::failed),
        };
        let p = ProjectRef::Id(project.id);
        let line = match step {
            Step::Failed { note } => {
                let jobs = gitlab.pipeline_jobs(&p, facts.id, "failed").await?;
                state.failed_jobs = jobs.into_iter().map(|j| j.name).collect();
                state.marked_failed = true;
                if note {
                    let body = render::failure_note(
                        facts.id,
                        facts.web_url.as_deref(),
                        &state.failed_jobs,
                    );
                    gitlab.create_merge_request_note(&p, iid, &body).await?;
                    state.noted = Some(facts.id);
                    r.record(
                        BOT,
                        format!(
                            "pipeline failed: {}",
                            crate::untrusted::markdown_inline(&state.failed_jobs.join(", "))
                        ),
                        now_ms(),
                    );
                    self.table.put(r)?;
                }
                format!("{}: pipeline {} failed", r.package, facts.id)
            }
            Step::Cleared => {
                state.marked_failed = false;
                r.record(BOT, "pipeline passed: the failure is cleared", now_ms());
                self.table.put(r)?;
                format!("{}: pipeline {} passed", r.package, facts.id)
            }
            _ => format!(
                "{}: pipeline {} {}",
                r.package,
                facts.id,
                facts.status.as_str()
            ),
        };
        table.put(r.id, &state)?;
        if facts.status == Status::Success {
            if let Some(more) = self.request_merge(gitlab, project, r).await? {
                return Ok(format!("{line}; {more}"));
            }
        }
        Ok(line)
    }

    /// Catches up with the MR's head pipeline (read on reconcile, from the single-MR answer):
    /// when it is not the pipeline and status known, it is handled as its Pipeline Hook would
    /// have been (note on failure, cleared and merged on success). `None` when nothing is new.
    pub(super) async fn catch_up_pipeline(
        &self,
        project: &CatalogProject,
        r: &mut Remediation,
        mr: &crate::gitlab::rest::MergeRequest,
    ) -> Result<Option<String>, ExecError> {
        let (Some(table), Some(head)) = (&self.pipelines, &mr.head_pipeline) else {
            return Ok(None);
        };
        let status = Status::from_gitlab(&head.status);
        let known = table.get(r.id)?;
        if !catch_up_needed(known.as_ref(), head.id, status) {
            return Ok(None);
        }
        let facts = PipelineFacts {
            id: head.id,
            sha: head
                .sha
                .clone()
                .or_else(|| mr.sha.clone())
                .unwrap_or_default(),
            status,
            web_url: head.web_url.clone(),
        };
        let gitlab = self.gitlab_client();
        let line = self.on_pipeline(&gitlab, project, r, &facts).await?;
        Ok(Some(format!("{line} (head pipeline read on reconcile)")))
    }

    /// Asks GitLab to merge the remediation's MR when the policy lets its bump merge itself:
    /// with auto-merge while the head pipeline runs, at once when it passed or there is none.
    /// "Not yet" answers (405/406/422 while GitLab checks mergeability) are retried with
    /// backoff. Returns what was done, `None` when the policy does not merge it.
    pub async fn request_merge(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
    ) -> Result<Option<String>, ExecError> {
        let policy = self.effective(project.id)?;
        let (Some(to), Some(iid)) = (r.target_version.clone(), r.mr_iid) else {
            return Ok(None);
        };
        if r.state != State::MrOpen || !policy.merges_itself(&r.from_version, &to) {
            return Ok(None);
        }
        let bump = crate::policy::file::Bump::between(&r.from_version, &to).as_str();
        let why = format!("a {bump} bump within the policy's auto_merge max_bump");
        self.ask_to_merge(gitlab, project, r, iid, BOT, &why)
            .await
            .map(Some)
    }

    /// `/backline merge` from a person with `level` on the project: allowed when they may
    /// merge into the target branch (its protection's merge access levels), otherwise refused
    /// with the reason. Returns the answer.
    pub async fn merge_on_request(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        who: &str,
        level: u8,
    ) -> Result<String, ExecError> {
        let Some(iid) = r.mr_iid.filter(|_| r.state == State::MrOpen) else {
            return Ok(format!(
                "there is no open MR to merge (it is {})",
                r.state.as_str()
            ));
        };
        let p = ProjectRef::Id(project.id);
        let target = project.default_branch.clone().unwrap_or_default();
        let protected = match gitlab.protected_branch(&p, &target).await {
            Ok(b) => b.map(|b| b.merge_access_levels.iter().map(|l| l.access_level).collect::<Vec<u8>>()),
            Err(GitLabError::Forbidden { .. }) => {
                return Ok("refused: the bot cannot read the target branch's protection (it needs the Maintainer role)".into())
            }
            Err(e) => return Err(e.into()),
        };
        if let Err(why) = crate::pipeline::merge::may_merge(level, &target, protected.as_deref()) {
            r.record(who, format!("`/backline merge` refused: {why}"), now_ms());
            self.table.put(r)?;
            return Ok(format!("refused: {why}"));
        }
        self.ask_to_merge(gitlab, project, r, iid, who, "merge requested")
            .await
    }

    /// Asks GitLab to merge: with auto-merge while the head pipeline runs, at once when it
    /// passed or there is none; "not yet" answers retried with backoff. Records `why`.
    async fn ask_to_merge(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        iid: crate::gitlab::MrIid,
        who: &str,
        why: &str,
    ) -> Result<String, ExecError> {
        let p = ProjectRef::Id(project.id);
        let mut pause = MERGE_PAUSE;
        for _ in 0..ATTEMPTS {
            let mr = gitlab.merge_request(&p, iid).await?;
            if mr.state != "opened" {
                return Ok(format!("the MR is {}: nothing to merge", mr.state));
            }
            if mr.merge_when_pipeline_succeeds == Some(true) {
                return Ok("already set to merge when the pipeline succeeds".into());
            }
            let head = mr
                .head_pipeline
                .as_ref()
                .map(|h| Status::from_gitlab(&h.status));
            let options = match ask(head) {
                Ask::Nothing => return Ok("the pipeline did not pass: not merged".into()),
                Ask::WhenPipelineSucceeds => MergeOptions {
                    merge_when_pipeline_succeeds: Some(true),
                    sha: mr.sha.clone(),
                    should_remove_source_branch: Some(true),
                },
                Ask::Now => MergeOptions {
                    merge_when_pipeline_succeeds: None,
                    sha: mr.sha.clone(),
                    should_remove_source_branch: Some(true),
                },
            };
            match gitlab.merge_merge_request(&p, iid, &options).await {
                Ok(m) => {
                    let done = if m.state == "merged" {
                        format!("merged ({why})")
                    } else {
                        format!("asked GitLab to merge when the pipeline succeeds ({why})")
                    };
                    r.record(who, done.clone(), now_ms());
                    self.table.put(r)?;
                    return Ok(done);
                }
                Err(e) if status_of(&e).is_some_and(retryable) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => return Err(e.into()),
            }
        }
        r.record(
            who,
            "GitLab did not accept the merge yet (still checking); the next pipeline asks again",
            now_ms(),
        );
        self.table.put(r)?;
        Ok("GitLab did not accept the merge yet".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_catches_up_only_with_news() {
        let known = PipelineState {
            pipeline: 5,
            sha: "s".into(),
            status: Status::Running,
            failed_jobs: vec![],
            web_url: None,
            noted: None,
            marked_failed: false,
        };
        assert!(catch_up_needed(None, 5, Status::Running));
        assert!(!catch_up_needed(Some(&known), 5, Status::Running));
        assert!(catch_up_needed(Some(&known), 5, Status::Failed));
        assert!(catch_up_needed(Some(&known), 6, Status::Running));
        assert!(!catch_up_needed(Some(&known), 4, Status::Success));
    }
}
