//! CI pipelines of the bot's MRs: the last pipeline status per remediation (`table`), what a
//! Pipeline Hook means for it (`decide`, pure), the failure note (`render`, pure), and when to
//! ask GitLab to merge (`merge`, pure). The reaction is `handlers/pipeline.rs`.

pub mod merge;
pub mod render;
pub mod summary;
pub mod table;

use serde::{Deserialize, Serialize};

/// A pipeline status as GitLab names it, folded to what the bot tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `created`, `waiting_for_resource`, `preparing`, `pending`, `running`, `scheduled`.
    Running,
    /// `success`.
    Success,
    /// `failed`.
    Failed,
    /// `canceled`, `skipped`, `manual`: finished without a verdict.
    Other,
}

impl Status {
    /// From GitLab's word.
    pub fn from_gitlab(word: &str) -> Status {
        match word {
            "success" => Status::Success,
            "failed" => Status::Failed,
            "created"
            | "waiting_for_resource"
            | "preparing"
            | "pending"
            | "running"
            | "scheduled" => Status::Running,
            _ => Status::Other,
        }
    }

    /// The word the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Other => "other",
        }
    }
}

/// What the bot knows of a remediation's MR pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineState {
    /// The pipeline's id.
    pub pipeline: u64,
    /// Its commit.
    pub sha: String,
    /// Its status.
    pub status: Status,
    /// The failed jobs' names (untrusted: escape where shown).
    pub failed_jobs: Vec<String>,
    /// Its page.
    pub web_url: Option<String>,
    /// The pipeline whose failure the bot's note is about (one note per failed pipeline).
    pub noted: Option<u64>,
    /// Marked `pipeline failed`: from a failed pipeline until a green one.
    pub marked_failed: bool,
}

impl PipelineState {
    /// `pipeline failed`: a pipeline failed and none passed since.
    pub fn failed(&self) -> bool {
        self.marked_failed
    }
}

/// What to do with a pipeline event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An older pipeline than the one known: nothing.
    Stale,
    /// Record the status (running, or no change worth telling).
    Record,
    /// It failed: read the failed jobs, note once, mark the remediation `pipeline failed`.
    Failed {
        /// Post the note (not yet posted for this pipeline).
        note: bool,
    },
    /// It passed after a failure: the mark is cleared.
    Cleared,
}

/// Decides what a pipeline event means, given what is known.
pub fn decide(known: Option<&PipelineState>, pipeline: u64, status: Status) -> Step {
    if known.is_some_and(|k| pipeline < k.pipeline) {
        return Step::Stale;
    }
    match status {
        Status::Failed => Step::Failed {
            note: known.and_then(|k| k.noted) != Some(pipeline),
        },
        Status::Success if known.is_some_and(PipelineState::failed) => Step::Cleared,
        _ => Step::Record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pipeline: u64, status: Status, noted: Option<u64>) -> PipelineState {
        PipelineState {
            pipeline,
            sha: "s".into(),
            status,
            failed_jobs: vec![],
            web_url: None,
            noted,
            marked_failed: status == Status::Failed,
        }
    }

    #[test]
    fn one_note_per_failed_pipeline_and_green_clears() {
        assert_eq!(decide(None, 5, Status::Running), Step::Record);
        assert_eq!(decide(None, 5, Status::Failed), Step::Failed { note: true });
        let failed = state(5, Status::Failed, Some(5));
        assert_eq!(
            decide(Some(&failed), 5, Status::Failed),
            Step::Failed { note: false }
        );
        assert_eq!(
            decide(Some(&failed), 6, Status::Failed),
            Step::Failed { note: true }
        );
        assert_eq!(decide(Some(&failed), 6, Status::Running), Step::Record);
        let rerun = PipelineState {
            status: Status::Running,
            ..failed.clone()
        };
        assert_eq!(
            decide(Some(&rerun), 6, Status::Success),
            Step::Cleared,
            "a running rerun keeps the mark"
        );
        assert_eq!(decide(Some(&failed), 6, Status::Success), Step::Cleared);
        assert_eq!(decide(Some(&failed), 4, Status::Success), Step::Stale);
        assert_eq!(
            decide(Some(&state(6, Status::Success, None)), 7, Status::Success),
            Step::Record
        );
        assert_eq!(Status::from_gitlab("pending"), Status::Running);
        assert_eq!(Status::from_gitlab("canceled"), Status::Other);
    }
}
