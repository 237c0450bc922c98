//! Pipeline Hooks of the bot's MRs: the remediation of the pipeline's branch records its
//! status (one note per failed pipeline, `pipeline failed` cleared by a green one) and, when
//! the policy lets the fix merge itself, GitLab is asked to merge.

use crate::catalog::Catalog;
use crate::gitlab::hooks::pipeline::PipelineEvent;
use crate::gitlab::GitLab;
use crate::pipeline::Status;
use crate::remediation::executor::{ExecError, PipelineFacts};

use super::refresh::Scanner;
use super::HandlerError;

fn exec_error(e: ExecError) -> HandlerError {
    if let ExecError::GitLab(g) = &e {
        return HandlerError::from_gitlab(g);
    }
    if e.is_transient() {
        HandlerError::Transient(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

/// Reacts to a pipeline of a bot branch.
pub async fn on_pipeline(
    scanner: &Scanner,
    catalog: &Catalog,
    gitlab: &GitLab,
    e: &PipelineEvent,
    uuid: Option<&str>,
) -> Result<String, HandlerError> {
    let executor = scanner.executor();
    let Some(project_id) = e.project.id else {
        return Ok("pipeline without a project id".into());
    };
    let a = &e.object_attributes;
    let Some(project) = catalog
        .get(project_id)
        .map_err(|s| HandlerError::Transient(s.to_string()))?
    else {
        return Ok("pipeline of a project not catalogued".into());
    };
    let gitlab = match uuid {
        Some(u) => gitlab.on_behalf_of(u),
        None => gitlab.clone(),
    };
    let facts = PipelineFacts {
        id: a.id,
        sha: a.sha.clone(),
        status: Status::from_gitlab(&a.status),
        web_url: a.url.clone(),
    };
    // The delivery runs in the project's lane: nothing else of this project runs meanwhile.
    let mut r = match executor.by_branch(project_id, &a.git_ref) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok("pipeline of a branch no remediation has".to_string()),
        Err(s) => return Err(exec_error(s.into())),
    };
    executor
        .on_pipeline(&gitlab, &project, &mut r, &facts)
        .await
        .map_err(exec_error)
}
