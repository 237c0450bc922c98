//! When to ask GitLab to merge a bot MR whose fix may merge itself: with auto-merge while its
//! head pipeline runs, at once when it passed or there is none, never after a failure. GitLab
//! answers 405/406/422 while it is still checking mergeability; those are retried with
//! backoff (as Renovate does), other refusals end the attempt. Pure.

use super::Status;

/// What to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `merge_when_pipeline_succeeds: true`.
    WhenPipelineSucceeds,
    /// A plain merge (no pipeline, or it passed).
    Now,
    /// Nothing: the pipeline failed or ended without a verdict.
    Nothing,
}

/// The ask for a head pipeline status (none: no pipeline configured).
pub fn ask(head_pipeline: Option<Status>) -> Ask {
    match head_pipeline {
        Some(Status::Running) => Ask::WhenPipelineSucceeds,
        Some(Status::Success) | None => Ask::Now,
        Some(Status::Failed) | Some(Status::Other) => Ask::Nothing,
    }
}

/// Whether GitLab's answer means "not yet" (try again after a pause).
pub fn retryable(status: u16) -> bool {
    matches!(status, 405 | 406 | 422)
}

/// Attempts at most (with the pauses doubling from 100 ms, about 6 s in all).
pub const ATTEMPTS: u32 = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_pipelines_merge_when_they_succeed_and_failures_never() {
        assert_eq!(ask(Some(Status::Running)), Ask::WhenPipelineSucceeds);
        assert_eq!(ask(Some(Status::Success)), Ask::Now);
        assert_eq!(ask(None), Ask::Now);
        assert_eq!(ask(Some(Status::Failed)), Ask::Nothing);
        assert!(retryable(422) && retryable(405) && retryable(406));
        assert!(!retryable(401) && !retryable(409));
    }
}
