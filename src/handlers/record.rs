//! The recording handler: says what a delivery was, so that the API shows each delivery's kind,
//! project and a one-line summary. Later reactions replace it behind the same trait.

use async_trait::async_trait;

use crate::gitlab::hooks::push::PushEvent;
use crate::gitlab::hooks::HookEvent;
use crate::inbox::DeliveryRecord;

use super::{Handler, HandlerError};

/// Records each delivery's summary as its outcome.
pub struct RecordingHandler;

#[async_trait]
impl Handler for RecordingHandler {
    async fn handle(
        &self,
        _delivery: &DeliveryRecord,
        event: &HookEvent,
    ) -> Result<String, HandlerError> {
        Ok(summarize(event))
    }
}

fn push_summary(p: &PushEvent) -> String {
    let who = p.user_username.as_deref().unwrap_or("someone");
    let what = if p.is_deletion() {
        "deleted".to_string()
    } else {
        let listed = p.commits.len();
        let total = p.total_commits_count;
        if total > listed as u64 {
            format!("{total} commits ({listed} listed)")
        } else {
            format!("{total} commit{}", if total == 1 { "" } else { "s" })
        }
    };
    format!(
        "push to {} of {} by {who}: {what}",
        p.git_ref, p.project.path_with_namespace
    )
}

/// A one-line description of an event.
pub fn summarize(event: &HookEvent) -> String {
    use HookEvent as E;
    match event {
        E::Push(p) | E::SystemPush(p) | E::TagPush(p) | E::SystemTagPush(p) => push_summary(p),
        E::MergeRequest(m) | E::SystemMergeRequest(m) => {
            let a = &m.object_attributes;
            let iid = a.iid.map(|i| format!("!{i}")).unwrap_or_else(|| "?".into());
            let by = m
                .user
                .as_ref()
                .map(|u| format!(" by {}", u.username))
                .unwrap_or_default();
            format!("merge request {iid} {}{by}", a.action)
        }
        E::Note(n) => {
            let on = match &n.merge_request {
                Some(mr) => format!("!{}", mr.iid),
                None => n.object_attributes.noteable_type.to_string(),
            };
            format!("comment on {on} by {}", n.user.username)
        }
        E::Pipeline(p) => format!(
            "pipeline {} on {}: {}",
            p.object_attributes.id, p.object_attributes.git_ref, p.object_attributes.status
        ),
        E::RepositoryUpdate(r) => format!(
            "repository update of {}: {} ref(s)",
            r.project.path_with_namespace,
            r.changes.len()
        ),
        E::ProjectCreate(p)
        | E::ProjectDestroy(p)
        | E::ProjectRename(p)
        | E::ProjectTransfer(p)
        | E::ProjectUpdate(p) => match &p.old_path_with_namespace {
            Some(old) => format!("{} {old} → {}", p.event_name, p.path_with_namespace),
            None => format!("{} {}", p.event_name, p.path_with_namespace),
        },
        E::UserAddToTeam(t) | E::UserRemoveFromTeam(t) | E::UserUpdateForTeam(t) => format!(
            "{} {} as {} in {}",
            t.event_name, t.user_username, t.access_level, t.project_path_with_namespace
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::hooks::{parse, EventKind};

    fn example(file: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/examples/webhooks/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn summaries_say_what_happened() {
        let cases = [
            (
                EventKind::Push,
                "push.json",
                "push to refs/heads/master of mike/diaspora by jsmith: 4 commits (2 listed)",
            ),
            (
                EventKind::MergeRequest,
                "merge-request-merge.json",
                "merge request !16 merge by agarcia",
            ),
            (
                EventKind::Note,
                "note-merge-request.json",
                "comment on !1 by root",
            ),
            (
                EventKind::ProjectRename,
                "system-project-rename.json",
                "project_rename jsmith/overscore → jsmith/underscore",
            ),
            (
                EventKind::UserAddToTeam,
                "system-user-add-to-team.json",
                "user_add_to_team johnsmith as Maintainer in jsmith/storecloud",
            ),
        ];
        for (kind, file, expected) in cases {
            assert_eq!(summarize(&parse(kind, &example(file)).unwrap()), expected);
        }
    }
}
