//! Which merge requests and branches are the bot's, and what an MR event about them may do.
//! Pure decisions: the executor and handlers do the I/O.
//!
//! Branch names are predictable (`backline/<eco>/<pkg>-<ver>`), and GitLab's MR list filtered
//! by `source_branch` also returns MRs from forks (`MergeRequestsFinder`), whose hooks fire on
//! the target project. So a name never proves ownership: an MR is the bot's only when its
//! source branch lives in the project itself and the bot opened it
//! ([`MergeRequest::is_bots`]); an event is only a hint, acted on once GitLab's own answer for
//! that MR confirms it.

use crate::gitlab::hooks::merge_request::{MergeRequestAction, MergeRequestState};
use crate::gitlab::rest::MergeRequest;
use crate::gitlab::{MrIid, ProjectId, UserId};

use super::model::{branch_name, Remediation};

/// The most alternative branch names tried when the bot's name is taken by someone else.
pub const MAX_ALTERNATIVES: u32 = 20;

/// What an MR event's own fields say about which MR it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMr {
    /// The MR's number in the target project.
    pub iid: Option<MrIid>,
    /// The project of its source branch (a fork's for an MR from a fork).
    pub source_project: Option<ProjectId>,
}

/// Whether an event about `mr` in `project` may concern remediation `r` at all: the MR is the
/// remediation's own (same number) and its branch lives in the project. An event naming
/// another project's branch, or an MR the remediation never opened, changes nothing.
pub fn event_concerns(r: &Remediation, project: ProjectId, mr: EventMr) -> Result<(), String> {
    if let Some(source) = mr.source_project {
        if source != project {
            return Err(format!(
                "the MR's branch is in project {source} (a fork), not this project: not the bot's MR"
            ));
        }
    }
    match (r.mr_iid, mr.iid) {
        (Some(ours), Some(theirs)) if ours == theirs => Ok(()),
        (Some(ours), Some(theirs)) => Err(format!(
            "MR !{theirs} is not the remediation's MR (!{ours})"
        )),
        (None, _) => Err("the remediation has no MR: the event is not about the bot's MR".into()),
        (Some(_), None) => Err("the event names no MR".into()),
    }
}

/// What GitLab's own answer for the MR confirms of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// It is merged.
    Merged {
        /// Who merged it, as GitLab says.
        by: Option<String>,
    },
    /// It is closed.
    Closed {
        /// Who closed it, as GitLab says (`None` when GitLab does not say).
        by: Option<(UserId, String)>,
    },
    /// It is open again.
    Reopened,
    /// Nothing to act on, and why (not the bot's MR, or GitLab's state differs from the event).
    Nothing(String),
}

/// Checks an event's `action` against `mr` as GitLab answers it now: the MR must be the bot's
/// (`project`, `bot`), carry the remediation's branch, and be in the state the action implies.
pub fn confirm(
    action: &MergeRequestAction,
    mr: &MergeRequest,
    r: &Remediation,
    project: ProjectId,
    bot: UserId,
) -> Confirmed {
    if !mr.is_bots(project, bot) {
        return Confirmed::Nothing(format!(
            "MR !{} is not the bot's (opened by someone else or from a fork)",
            mr.iid
        ));
    }
    if mr.source_branch != r.branch {
        return Confirmed::Nothing(format!("MR !{} is not on the remediation's branch", mr.iid));
    }
    let expected = match action {
        MergeRequestAction::Merge => MergeRequestState::Merged,
        MergeRequestAction::Close => MergeRequestState::Closed,
        MergeRequestAction::Reopen => MergeRequestState::Opened,
        other => return Confirmed::Nothing(format!("{}: nothing to do", other.as_str())),
    };
    if mr.state != expected {
        return Confirmed::Nothing(format!(
            "the event says {} but GitLab says the MR is {}: nothing done",
            action.as_str(),
            mr.state.as_str()
        ));
    }
    match action {
        MergeRequestAction::Merge => Confirmed::Merged {
            by: mr.merged_by.as_ref().map(|u| u.username.clone()),
        },
        MergeRequestAction::Close => Confirmed::Closed {
            by: mr.closed_by.as_ref().map(|u| (u.id, u.username.clone())),
        },
        _ => Confirmed::Reopened,
    }
}

/// The `n`th alternative to the remediation's usual branch name (`…-1.5.5-2`), for when the
/// usual name is taken by a branch or MR the bot did not make.
pub fn alternative_branch(r: &Remediation, n: u32) -> String {
    let base = branch_name(
        r.ecosystem,
        &r.manifest,
        &r.package,
        r.target_version.as_deref().unwrap_or("none"),
    );
    if n <= 1 {
        base
    } else {
        format!("{base}-{n}")
    }
}

/// The alternative after the remediation's current branch name (`…-2` after the usual name,
/// `…-3` after `…-2`).
pub fn next_alternative(r: &Remediation) -> String {
    let base = alternative_branch(r, 1);
    let current = r
        .branch
        .strip_prefix(&base)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    alternative_branch(r, current + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::model::State;

    fn remediation() -> Remediation {
        Remediation {
            id: 1,
            project: ProjectId(7),
            manifest: "Cargo.lock".into(),
            ecosystem: crate::ecosystem::Ecosystem::CratesIo,
            package: "regex".into(),
            direct: false,
            from_version: "1.5.4".into(),
            target_version: Some("1.5.5".into()),
            advisories: vec![],
            severity: crate::advisories::cvss::Level::High,
            state: State::MrOpen,
            approved_by: None,
            reason: None,
            branch: "backline/crates.io/regex-1.5.5".into(),
            bot_wrote_branch: true,
            mr_iid: Some(MrIid(3)),
            mr_url: None,
            edited_by_person: false,
            ignored_versions: vec![],
            ignored_advisories: vec![],
            detected_at_ms: 0,
            updated_at_ms: 0,
            history: vec![],
            copies: vec![],
            route: None,
        }
    }

    fn mr(source_project: u64, author: u64, state: &str) -> MergeRequest {
        serde_json::from_value(serde_json::json!({
            "id": 30, "iid": 3, "project_id": 7, "source_project_id": source_project,
            "target_project_id": 7, "title": "t", "state": state,
            "source_branch": "backline/crates.io/regex-1.5.5", "target_branch": "main",
            "author": {"id": author, "username": "u"},
            "closed_by": {"id": 99, "username": "mallory"}
        }))
        .unwrap()
    }

    #[test]
    fn events_about_fork_mrs_or_other_mrs_concern_nothing() {
        let r = remediation();
        let fork = EventMr {
            iid: Some(MrIid(3)),
            source_project: Some(ProjectId(8)),
        };
        assert!(event_concerns(&r, ProjectId(7), fork).is_err());
        let other = EventMr {
            iid: Some(MrIid(4)),
            source_project: Some(ProjectId(7)),
        };
        assert!(event_concerns(&r, ProjectId(7), other).is_err());
        let ours = EventMr {
            iid: Some(MrIid(3)),
            source_project: Some(ProjectId(7)),
        };
        assert!(event_concerns(&r, ProjectId(7), ours).is_ok());
        let mut planned = remediation();
        planned.mr_iid = None;
        assert!(event_concerns(&planned, ProjectId(7), ours).is_err());
    }

    #[test]
    fn only_gitlabs_answer_for_the_bots_own_mr_confirms_an_event() {
        let r = remediation();
        let (p, bot) = (ProjectId(7), UserId(1));
        let close = MergeRequestAction::Close;
        // From a fork, or by a person: never the bot's.
        assert!(matches!(
            confirm(&close, &mr(8, 1, "closed"), &r, p, bot),
            Confirmed::Nothing(_)
        ));
        assert!(matches!(
            confirm(&close, &mr(7, 2, "closed"), &r, p, bot),
            Confirmed::Nothing(_)
        ));
        // The bot's, but still open: the event is stale or forged.
        assert!(matches!(
            confirm(&close, &mr(7, 1, "opened"), &r, p, bot),
            Confirmed::Nothing(_)
        ));
        assert_eq!(
            confirm(&close, &mr(7, 1, "closed"), &r, p, bot),
            Confirmed::Closed {
                by: Some((UserId(99), "mallory".into()))
            }
        );
        assert_eq!(
            confirm(&MergeRequestAction::Reopen, &mr(7, 1, "opened"), &r, p, bot),
            Confirmed::Reopened
        );
        assert!(matches!(
            confirm(&MergeRequestAction::Merge, &mr(7, 1, "closed"), &r, p, bot),
            Confirmed::Nothing(_)
        ));
    }

    #[test]
    fn alternatives_keep_the_usual_name_and_add_a_number() {
        let r = remediation();
        assert_eq!(alternative_branch(&r, 1), "backline/crates.io/regex-1.5.5");
        assert_eq!(
            alternative_branch(&r, 2),
            "backline/crates.io/regex-1.5.5-2"
        );
        assert_eq!(next_alternative(&r), "backline/crates.io/regex-1.5.5-2");
        let mut moved = r.clone();
        moved.branch = "backline/crates.io/regex-1.5.5-2".into();
        assert_eq!(next_alternative(&moved), "backline/crates.io/regex-1.5.5-3");
    }
}
