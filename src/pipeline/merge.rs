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

fn level_name(level: u8) -> &'static str {
    match level {
        0 => "no one",
        l if l >= 50 => "Owner",
        l if l >= 40 => "Maintainer",
        l if l >= 30 => "Developer",
        l if l >= 20 => "Reporter",
        _ => "Guest",
    }
}

/// Whether a person with `level` may merge into `branch` (GitLab's `can_be_merged_by?`):
/// Developer on an unprotected branch (`protected` none), else one of the protected branch's
/// merge access levels (0: no one). The error is the reason, for the reply.
pub fn may_merge(level: u8, branch: &str, protected: Option<&[u8]>) -> Result<(), String> {
    let needed = match protected {
        None => 30,
        Some(levels) => match levels.iter().copied().filter(|l| *l > 0).min() {
            Some(l) => l,
            None => {
                return Err(format!(
                    "`{}` is protected and no one may merge into it",
                    crate::untrusted::markdown_inline(branch)
                ))
            }
        },
    };
    if level >= needed {
        Ok(())
    } else {
        Err(format!(
            "merging into `{}` needs the {} role{} (you have {})",
            crate::untrusted::markdown_inline(branch),
            level_name(needed),
            if protected.is_some() {
                " (a protected branch)"
            } else {
                ""
            },
            level_name(level)
        ))
    }
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

    #[test]
    fn merge_rights_follow_the_target_branch_protection() {
        assert!(may_merge(30, "main", None).is_ok());
        assert!(may_merge(20, "main", None).is_err());
        assert!(may_merge(40, "main", Some(&[40])).is_ok());
        let e = may_merge(30, "main", Some(&[40])).unwrap_err();
        assert_eq!(e, "merging into `main` needs the Maintainer role (a protected branch) (you have Developer)");
        let e = may_merge(50, "main", Some(&[0])).unwrap_err();
        assert!(e.contains("no one may merge"), "{e}");
    }
}
