//! Reading GitLab's asynchronous MR state: the mergeability check and background rebases.
//! Pure decisions over a [`MergeRequest`] as GitLab answers it.
//!
//! GitLab checks mergeability in the background: until then `has_conflicts` is false and
//! `detailed_merge_status` is `unchecked`, `checking` or `preparing`
//! (app/services/merge_requests/mergeability/detailed_merge_status_service.rb), so those states
//! are unknown, never "clean". `PUT .../rebase` answers 202 and a worker rebases later: the MR
//! shows `rebase_in_progress` (with `include_rebase_in_progress=true`) and, on failure,
//! `merge_error` (app/services/merge_requests/rebase_service.rb).

use super::rest::MergeRequest;

/// What GitLab knows about merging the MR now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mergeability {
    /// It conflicts with its target.
    Conflict,
    /// Checked, and it does not conflict.
    Clean,
    /// Not checked yet (or GitLab did not say): neither clean nor conflicting.
    Unknown,
}

/// The statuses GitLab answers while its check has not run.
const UNCHECKED: [&str; 4] = [
    "unchecked",
    "checking",
    "preparing",
    "cannot_be_merged_recheck",
];

/// Mergeability from `has_conflicts` and `detailed_merge_status`.
pub fn mergeability(mr: &MergeRequest) -> Mergeability {
    let status = mr.detailed_merge_status.as_deref();
    if status == Some("conflict") || mr.has_conflicts {
        return Mergeability::Conflict;
    }
    match status {
        None => Mergeability::Unknown,
        Some(s) if UNCHECKED.contains(&s) => Mergeability::Unknown,
        Some(_) => Mergeability::Clean,
    }
}

/// Where a requested rebase stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebaseProgress {
    /// Still running (or not reported: asked without `include_rebase_in_progress`).
    Running,
    /// Failed, with GitLab's `merge_error`.
    Failed(String),
    /// Done: no error, or the branch no longer lags its target.
    Done,
}

/// The rebase's progress. A `merge_error` left from an earlier attempt does not count as a
/// failure when the branch is up to date (`diverged_commits_count` 0).
pub fn rebase_progress(mr: &MergeRequest) -> RebaseProgress {
    if mr.rebase_in_progress != Some(false) {
        return RebaseProgress::Running;
    }
    match &mr.merge_error {
        Some(e) if !e.is_empty() && mr.diverged_commits_count != Some(0) => {
            RebaseProgress::Failed(e.clone())
        }
        _ => RebaseProgress::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(extra: serde_json::Value) -> MergeRequest {
        let mut v = serde_json::json!({
            "id": 1, "iid": 1, "project_id": 1, "title": "t", "state": "opened",
            "source_branch": "b", "target_branch": "main"
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn unchecked_states_are_unknown_never_clean() {
        for s in ["unchecked", "checking", "preparing"] {
            let m = mr(serde_json::json!({"detailed_merge_status": s, "has_conflicts": false}));
            assert_eq!(mergeability(&m), Mergeability::Unknown, "{s}");
        }
        assert_eq!(
            mergeability(&mr(serde_json::json!({}))),
            Mergeability::Unknown
        );
        let m = mr(serde_json::json!({"detailed_merge_status": "conflict"}));
        assert_eq!(mergeability(&m), Mergeability::Conflict);
        let m = mr(serde_json::json!({"detailed_merge_status": "mergeable"}));
        assert_eq!(mergeability(&m), Mergeability::Clean);
    }

    #[test]
    fn a_rebase_is_running_until_gitlab_says_otherwise() {
        assert_eq!(
            rebase_progress(&mr(serde_json::json!({}))),
            RebaseProgress::Running
        );
        let m = mr(serde_json::json!({"rebase_in_progress": true}));
        assert_eq!(rebase_progress(&m), RebaseProgress::Running);
        let m = mr(
            serde_json::json!({"rebase_in_progress": false, "merge_error": "Rebase failed",
                                      "diverged_commits_count": 2}),
        );
        assert_eq!(
            rebase_progress(&m),
            RebaseProgress::Failed("Rebase failed".into())
        );
        let m = mr(
            serde_json::json!({"rebase_in_progress": false, "merge_error": "old",
                                      "diverged_commits_count": 0}),
        );
        assert_eq!(rebase_progress(&m), RebaseProgress::Done);
        let m = mr(serde_json::json!({"rebase_in_progress": false}));
        assert_eq!(rebase_progress(&m), RebaseProgress::Done);
    }
}
