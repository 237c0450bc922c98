//! Merge request events and comment commands on the bot's MRs.

use crate::handlers::refusals::{should_reply, RefusalLog};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::commands::{self, Command};
use crate::gitlab::hooks::merge_request::{MergeRequestAction, MergeRequestEvent};
use crate::gitlab::hooks::note::NoteEvent;
use crate::gitlab::rest::access;
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef, UserId};
use crate::remediation::executor::{ExecError, Executor};
use crate::remediation::model::State;
use crate::remediation::ownership::{self, Confirmed, EventMr};
use crate::remediation::render;

use super::refresh::Scanner;
use super::HandlerError;

/// How long a member's role is trusted without asking GitLab again.
const ROLE_TTL: Duration = Duration::from_secs(60);

/// Roles seen recently, per (project, user).
#[derive(Default)]
pub struct RoleCache {
    seen: Mutex<HashMap<(ProjectId, UserId), (u8, Instant)>>,
}

impl RoleCache {
    async fn level(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        user: UserId,
    ) -> Result<u8, GitLabError> {
        if let Ok(seen) = self.seen.lock() {
            if let Some((level, at)) = seen.get(&(project, user)) {
                if at.elapsed() < ROLE_TTL {
                    return Ok(*level);
                }
            }
        }
        let level = gitlab
            .member(&ProjectRef::Id(project), user)
            .await?
            .map(|m| m.access_level)
            .unwrap_or(0);
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert((project, user), (level, Instant::now()));
        }
        Ok(level)
    }
}

pub(crate) fn exec_error(e: ExecError) -> HandlerError {
    if let ExecError::GitLab(g) = &e {
        return HandlerError::from_gitlab(g);
    }
    if e.is_transient() {
        HandlerError::Transient(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

/// The value of a store read that may find nothing: `None` (the event is not the bot's) when
/// it finds nothing, and the store's error, never "nothing", when it fails.
macro_rules! found {
    ($read:expr) => {
        match $read {
            Ok(Some(v)) => v,
            Ok(None) => return None,
            Err(e) => return Some(Err(HandlerError::from_store(e))),
        }
    };
}

fn gitlab_error(e: GitLabError) -> HandlerError {
    exec_error(ExecError::GitLab(e))
}

fn client(gitlab: &GitLab, uuid: Option<&str>) -> GitLab {
    match uuid {
        Some(u) => gitlab.on_behalf_of(u),
        None => gitlab.clone(),
    }
}

/// A merge request event on one of the bot's MRs: merged, closed or reopened by a person.
/// `None` when no remediation has the event's branch name.
///
/// The event is a hint, GitLab is the truth: an event about an MR that is not the
/// remediation's own (another number, a fork's branch) changes nothing, and before acting on a
/// close, merge or reopen the MR is read again from GitLab, which must say it is the bot's
/// (from the project itself, opened by the bot) and in the state the event claims.
pub async fn on_merge_request(
    scanner: &Scanner,
    catalog: &Catalog,
    gitlab: &GitLab,
    e: &MergeRequestEvent,
    uuid: Option<&str>,
) -> Option<Result<String, HandlerError>> {
    let executor = scanner.executor();
    let a = &e.object_attributes;
    let project_id = a
        .target_project_id
        .or(e.project.as_ref().and_then(|p| p.id))?;
    let branch = a.source_branch.as_deref()?;
    let project = found!(catalog.get(project_id));
    let r = found!(executor.by_branch(project_id, branch));
    let action = a.action.clone();
    if !matches!(
        action,
        MergeRequestAction::Merge | MergeRequestAction::Close | MergeRequestAction::Reopen
    ) {
        return Some(Ok(format!(
            "{} MR {}: nothing to do",
            r.package,
            action.as_str()
        )));
    }
    let event_mr = EventMr {
        iid: a.iid,
        source_project: a.source_project_id,
    };
    if let Err(why) = ownership::event_concerns(&r, project_id, event_mr) {
        return Some(Ok(format!("{}: {why}; nothing done", r.package)));
    }
    let actor = e.user.as_ref();
    let bot = executor.bot().id;
    let by_bot = actor.and_then(|u| u.id) == Some(bot);
    let who = actor
        .map(|u| u.username.clone())
        .unwrap_or_else(|| "someone".into());
    let gitlab = client(gitlab, uuid);
    // The delivery runs in its project's lane: nothing else moves this project meanwhile.
    let result = async {
        // Re-read: the remediation may have moved since it was looked up.
        let mut r = match executor.table.get(r.id) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok("remediation gone".to_string()),
            Err(e) => return Err(exec_error(e.into())),
        };
        if let Err(why) = ownership::event_concerns(&r, project_id, event_mr) {
            return Ok(format!("{}: {why}; nothing done", r.package));
        }
        let Some(iid) = r.mr_iid else {
            return Ok("the remediation has no MR".to_string());
        };
        let mr = match gitlab.merge_request(&ProjectRef::Id(project_id), iid).await {
            Ok(mr) => mr,
            Err(e) if e.is_not_found() => {
                return Ok(format!("{} MR !{iid} is gone: nothing done", r.package))
            }
            Err(e) => return Err(gitlab_error(e)),
        };
        match ownership::confirm(&action, &mr, &r, project_id, bot) {
            Confirmed::Nothing(why) => Ok(format!("{}: {why}", r.package)),
            Confirmed::Merged { by } => {
                let by = by.unwrap_or_else(|| who.clone());
                executor
                    .merged(&mut r, &by)
                    .map_err(|e| exec_error(e.into()))?;
                Ok(format!("{} MR merged by {by}: merged", r.package))
            }
            // A person deleting the bot's branch closes the MR too (GitLab's
            // MergeRequests::RefreshService, with them as the closer): that is read as a
            // dismissal of this version, exactly like closing the MR.
            Confirmed::Closed { by } => {
                let (closer, by) = match by {
                    Some((id, name)) => (Some(id), name),
                    None => (actor.and_then(|u| u.id), who.clone()),
                };
                if closer == Some(bot) {
                    return Ok(format!("{} MR closed by backline", r.package));
                }
                if r.state == State::Dismissed {
                    return Ok(format!("{} already dismissed", r.package));
                }
                executor
                    .dismissed(&gitlab, &project, &mut r, &by)
                    .await
                    .map_err(exec_error)?;
                Ok(format!(
                    "{} MR closed by {by}: dismissed, version ignored",
                    r.package
                ))
            }
            Confirmed::Reopened if by_bot || r.state == State::MrOpen => {
                Ok(format!("{} MR reopened: already tracked", r.package))
            }
            Confirmed::Reopened => {
                let Some(default_branch) = project.default_branch.clone() else {
                    return Ok("no default branch".into());
                };
                executor
                    .reopen(
                        &gitlab,
                        &project,
                        &default_branch,
                        &mut r,
                        &who,
                        "the MR was reopened by a person",
                    )
                    .await
                    .map_err(exec_error)?;
                Ok(format!(
                    "{} MR reopened by {who}: {}",
                    r.package,
                    r.state.as_str()
                ))
            }
        }
    }
    .await;
    Some(result)
}

/// A comment on one of the bot's MRs: runs the `/backline` commands it carries (only the new
/// ones of an edited note), for members with Developer access or more, with one reply and an
/// award emoji. `None` when it is not a comment on a bot MR.
pub async fn on_note(
    scanner: &Scanner,
    catalog: &Catalog,
    gitlab: &GitLab,
    roles: &RoleCache,
    e: &NoteEvent,
    uuid: Option<&str>,
) -> Option<Result<String, HandlerError>> {
    let executor = scanner.executor();
    let mr = e.merge_request.as_ref()?;
    let project_id = e.project_id()?;
    let note = &e.object_attributes;
    if note.author_id == executor.bot().id || note.system == Some(true) {
        return Some(Ok(
            "the bot's own note (or a system note): not read as commands".into(),
        ));
    }
    let parsed = commands::parse(&note.note);
    let previous = match executor.table.note_commands(note.id) {
        Ok(previous) => previous,
        Err(e) => return Some(Err(HandlerError::from_store(e))),
    };
    let texts: Vec<String> = parsed.iter().map(ToString::to_string).collect();
    let fresh: Vec<Command> = match &previous {
        Some(before) => {
            let before: Vec<Command> = before
                .iter()
                .flat_map(|t| commands::parse(&format!("/backline {t}")))
                .collect();
            commands::added(&before, &parsed)
        }
        None => parsed,
    };
    if fresh.is_empty() {
        return Some(Ok("no new /backline command".into()));
    }
    let branch = mr.source_branch.as_deref()?;
    let project = found!(catalog.get(project_id));
    let r = found!(executor.by_branch(project_id, branch));
    // Commands count only on the remediation's own MR (never on a fork's MR or a person's MR
    // that carries the bot's branch name).
    let event_mr = EventMr {
        iid: Some(mr.iid),
        source_project: mr.source_project_id,
    };
    if let Err(why) = ownership::event_concerns(&r, project_id, event_mr) {
        return Some(Ok(format!("{}: {why}; commands not run", r.package)));
    }
    let gitlab = client(gitlab, uuid);
    let p = ProjectRef::Id(project_id);
    let iid = mr.iid;
    let result = async {
            // A replayed delivery (a crash after the reply, before the record): the reply carries
            // a marker naming this note and its commands, so it is never posted twice.
            let marker = reply_marker(note.id, &texts);
            let notes = gitlab.merge_request_notes(&p, iid).await.map_err(gitlab_error)?;
            if notes.iter().any(|n| n.author.id == executor.bot().id && n.body.contains(&marker)) {
                executor.table.set_note_commands(note.id, &texts).map_err(|e| exec_error(e.into()))?;
                return Ok("commands already answered".to_string());
            }
            let author = e.user.username.clone();
            let level = roles.level(&gitlab, project_id, note.author_id).await.map_err(gitlab_error)?;
            if level < access::DEVELOPER {
                // One refusal reply per person, MR and day; later attempts get the emoji only.
                let refusals = RefusalLog::open(executor.table.store()).map_err(|e| exec_error(e.into()))?;
                let now = crate::clock::now_ms();
                let last = refusals.last(project_id, iid, note.author_id).map_err(|e| exec_error(e.into()))?;
                let replied = should_reply(last, now);
                if replied {
                    gitlab
                        .create_merge_request_note(&p, iid, &format!("@{author} only members with the Developer role or more can run `/backline` commands on this project.\n\n{marker}"))
                        .await
                        .map_err(gitlab_error)?;
                    refusals.record(project_id, iid, note.author_id, now).map_err(|e| exec_error(e.into()))?;
                }
                award(&gitlab, &p, iid, note.id, "no_entry_sign").await?;
                executor.table.set_note_commands(note.id, &texts).map_err(|e| exec_error(e.into()))?;
                return Ok(if replied {
                    format!("refused {} command(s) from {author} (not a Developer)", fresh.len())
                } else {
                    format!("refused {} command(s) from {author} (not a Developer; already told today)", fresh.len())
                });
            }
            award(&gitlab, &p, iid, note.id, "eyes").await?;
            let mut r = match executor.table.get(r.id) {
                Ok(Some(r)) => r,
                Ok(None) => return Ok("remediation gone".to_string()),
                Err(e) => return Err(HandlerError::from_store(e)),
            };
            let mut lines = Vec::new();
            for command in &fresh {
                let answer = run(executor, &gitlab, &project, &mut r, command, &author, level).await.map_err(exec_error)?;
                let command = crate::untrusted::markdown_inline(&command.to_string());
                lines.push(format!("- `/backline {command}`: {answer}"));
            }
            let reply = format!("@{author}\n\n{}\n\n{marker}", lines.join("\n"));
            gitlab.create_merge_request_note(&p, iid, &reply).await.map_err(gitlab_error)?;
            award(&gitlab, &p, iid, note.id, "white_check_mark").await?;
            executor.table.set_note_commands(note.id, &texts).map_err(|e| exec_error(e.into()))?;
            Ok(format!("ran {} command(s) from {author}", fresh.len()))
        }
        .await;
    Some(result)
}

/// The hidden marker of the reply to `note` for these commands.
fn reply_marker(note: u64, commands: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(commands.join("\n").as_bytes());
    format!(
        "<!-- backline-reply {note} {} -->",
        hex::encode(&digest[..6])
    )
}

/// Awards an emoji to a note; one already there (a replay) is fine.
async fn award(
    gitlab: &GitLab,
    p: &ProjectRef,
    iid: crate::gitlab::MrIid,
    note: u64,
    name: &str,
) -> Result<(), HandlerError> {
    match gitlab.award_note_emoji(p, iid, note, name).await {
        Ok(_) => Ok(()),
        Err(GitLabError::NotFound { message, .. } | GitLabError::Validation { message, .. })
            if message.contains("already") =>
        {
            Ok(())
        }
        Err(e) => Err(gitlab_error(e)),
    }
}

async fn run(
    executor: &Executor,
    gitlab: &GitLab,
    project: &crate::catalog::CatalogProject,
    r: &mut crate::remediation::model::Remediation,
    command: &Command,
    who: &str,
    level: u8,
) -> Result<String, ExecError> {
    Ok(match command {
        Command::Rebase => executor.rebase(gitlab, project, r).await?,
        Command::Recreate => executor.recreate(gitlab, project, r, who).await?,
        Command::Approve => executor.approve(gitlab, project, r, who).await?,
        Command::Merge => {
            executor
                .merge_on_request(gitlab, project, r, who, level)
                .await?
        }
        // The answer repeats the person's argument: one line, no mention, no quick action.
        Command::Ignore(what) => crate::untrusted::markdown_prose(
            &executor
                .ignore(gitlab, project, r, who, what.as_deref())
                .await?,
        ),
        Command::Unignore => {
            r.ignored_versions.clear();
            r.ignored_advisories.clear();
            if r.state == State::Dismissed {
                let default_branch = project.default_branch.clone().unwrap_or_default();
                executor
                    .reopen(
                        gitlab,
                        project,
                        &default_branch,
                        r,
                        who,
                        "unignored on request",
                    )
                    .await?;
                format!("unignored: {}", r.state.as_str())
            } else {
                executor.table.put(r)?;
                "nothing was ignored".into()
            }
        }
        Command::Status => render::status_note(r),
        Command::Policy => {
            let record = match executor.policies() {
                Some(t) => t.get(project.id)?,
                None => None,
            };
            crate::policy::render::note(record.as_ref(), &executor.effective(project.id)?)
        }
        Command::Help => commands::help_text(),
        Command::Unknown(word) => {
            format!(
                "`{}` is not a command.\n\n{}",
                crate::untrusted::markdown_inline(word),
                commands::help_text()
            )
        }
    })
}
