//! Pipeline payloads (`Pipeline Hook`). Parsed for completeness; backline ignores them for now.

use serde::{Deserialize, Serialize};

use super::common::{HookCommit, HookProject, HookUser};
use super::time::GitlabTime;
use crate::gitlab::{MrIid, ProjectId};

/// `object_attributes` of a pipeline event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineAttributes {
    /// Pipeline id.
    pub id: u64,
    /// Project-scoped number.
    #[serde(default)]
    pub iid: Option<u64>,
    /// The ref.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Whether the ref is a tag.
    #[serde(default)]
    pub tag: bool,
    /// Commit.
    pub sha: String,
    /// Status (`success`, `failed`, ...).
    pub status: String,
    /// Detailed status.
    #[serde(default)]
    pub detailed_status: Option<String>,
    /// What started it.
    #[serde(default)]
    pub source: Option<String>,
    /// Stage names.
    #[serde(default)]
    pub stages: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    /// Finished.
    #[serde(default)]
    pub finished_at: Option<GitlabTime>,
    /// Seconds.
    #[serde(default)]
    pub duration: Option<u64>,
    /// Web URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// The merge request a pipeline ran for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineMergeRequest {
    /// Global id.
    pub id: u64,
    /// Project-scoped number.
    pub iid: MrIid,
    /// Source branch.
    #[serde(default)]
    pub source_branch: Option<String>,
    /// Target project.
    #[serde(default)]
    pub target_project_id: Option<ProjectId>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
}

/// A pipeline event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineEvent {
    /// `pipeline`.
    pub object_kind: String,
    /// The pipeline.
    pub object_attributes: PipelineAttributes,
    /// The merge request, for MR pipelines.
    #[serde(default)]
    pub merge_request: Option<PipelineMergeRequest>,
    /// Who triggered it.
    #[serde(default)]
    pub user: Option<HookUser>,
    /// The project.
    pub project: HookProject,
    /// The commit.
    #[serde(default)]
    pub commit: Option<HookCommit>,
    /// Jobs (kept loose).
    #[serde(default)]
    pub builds: Vec<serde_json::Value>,
}
