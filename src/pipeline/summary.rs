//! The pipeline status of a project's open bot MRs, summed up for the badge JSON and the
//! project API: how many MRs' last pipeline is in each state, and the worst of them. Pure.

use serde::Serialize;

use super::{PipelineState, Status};

/// Open bot MRs by their last pipeline's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PipelineSummary {
    /// Running (created, pending, running, ...).
    pub running: usize,
    /// Passed.
    pub success: usize,
    /// Failed, and not passed since (`pipeline failed`).
    pub failed: usize,
    /// Canceled, skipped or manual.
    pub other: usize,
    /// No pipeline known (no CI, or none reported yet).
    pub none: usize,
    /// The worst status among them: failed, then running, then other, then success; `null`
    /// when no open bot MR has a pipeline.
    pub worst: Option<Status>,
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Success => 0,
        Status::Other => 1,
        Status::Running => 2,
        Status::Failed => 3,
    }
}

impl PipelineSummary {
    /// Counts one open bot MR by what is known of its pipeline. A remediation still marked
    /// `pipeline failed` counts as failed while a rerun runs.
    pub fn add(&mut self, known: Option<&PipelineState>) {
        let Some(k) = known else {
            self.none += 1;
            return;
        };
        let status = if k.failed() { Status::Failed } else { k.status };
        match status {
            Status::Running => self.running += 1,
            Status::Success => self.success += 1,
            Status::Failed => self.failed += 1,
            Status::Other => self.other += 1,
        }
        if self.worst.is_none_or(|w| rank(status) > rank(w)) {
            self.worst = Some(status);
        }
    }

    /// The summary of these MRs' pipelines.
    pub fn of<'a>(known: impl IntoIterator<Item = Option<&'a PipelineState>>) -> PipelineSummary {
        let mut s = PipelineSummary::default();
        for k in known {
            s.add(k);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: Status, marked_failed: bool) -> PipelineState {
        PipelineState {
            pipeline: 1,
            sha: "s".into(),
            status,
            failed_jobs: vec![],
            web_url: None,
            noted: None,
            marked_failed,
        }
    }

    #[test]
    fn counts_and_the_worst() {
        let ok = state(Status::Success, false);
        let running = state(Status::Running, false);
        let rerun_after_failure = state(Status::Running, true);
        let s = PipelineSummary::of([Some(&ok), Some(&running), None]);
        assert_eq!((s.success, s.running, s.none, s.failed), (1, 1, 1, 0));
        assert_eq!(s.worst, Some(Status::Running));
        let s = PipelineSummary::of([Some(&ok), Some(&rerun_after_failure)]);
        assert_eq!(s.failed, 1);
        assert_eq!(s.worst, Some(Status::Failed));
        let s = PipelineSummary::of([None]);
        assert_eq!(s.worst, None);
        assert_eq!(
            serde_json::to_value(PipelineSummary::of([Some(&ok)])).unwrap(),
            serde_json::json!({"running":0,"success":1,"failed":0,"other":0,"none":0,"worst":"success"})
        );
    }
}
