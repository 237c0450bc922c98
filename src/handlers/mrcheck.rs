//! MR checks as a reaction: on `open`, `reopen` and `update` with new commits of an MR that is
//! not the bot's, the MR's changed paths are read (one request), and only when a dependency
//! file changed are its manifests read at the head and at the merge base; the commit status
//! `backline/dependencies` and one note tell what the MR adds. The pure parts are in
//! [`crate::mrcheck`].

use std::collections::BTreeSet;

use crate::advisories::cvss::Level;
use crate::catalog::Catalog;
use crate::findings::{findings_for, Finding};
use crate::gitlab::hooks::merge_request::{MergeRequestAction, MergeRequestEvent};
use crate::gitlab::rest::CommitStatus;
use crate::gitlab::{GitLab, GitLabError, MrIid, ProjectId, ProjectRef};
use crate::inventory::refresh::read_manifests_at;
use crate::mrcheck::decide::{self, NoteAction};
use crate::mrcheck::table::{MrCheck, MrChecks};
use crate::mrcheck::{render, AddedVulnerability, Verdict, STATUS_NAME};
use crate::store::StoreError;

use super::refresh::Scanner;
use super::HandlerError;

/// What MR checks need besides the scanner: where results go, the threshold, the page link.
pub struct MrChecker {
    /// The last result per MR.
    pub table: MrChecks,
    /// An added vulnerability at or above this fails the status.
    pub fail_on: Level,
    /// This server's public URL (the status links to the project page there).
    pub public_url: Option<String>,
}

fn store_error(e: StoreError) -> HandlerError {
    HandlerError::from_store(e)
}

fn gitlab_error(e: GitLabError) -> HandlerError {
    HandlerError::from_gitlab(&e)
}

/// The event's facts an MR check needs.
struct Facts {
    project: ProjectId,
    source: ProjectId,
    iid: MrIid,
    head: String,
}

impl MrChecker {
    /// Reacts to a merge request event; `None` when the event is not one an MR check reads.
    pub async fn on_merge_request(
        &self,
        scanner: &Scanner,
        catalog: &Catalog,
        gitlab: &GitLab,
        e: &MergeRequestEvent,
        uuid: Option<&str>,
    ) -> Option<Result<String, HandlerError>> {
        let a = &e.object_attributes;
        let project = a
            .target_project_id
            .or(e.project.as_ref().and_then(|p| p.id))?;
        let iid = a.iid?;
        if let Err(e) = catalog.get(project).transpose()? {
            return Some(Err(store_error(e)));
        }
        match a.action {
            MergeRequestAction::Open | MergeRequestAction::Reopen => {}
            MergeRequestAction::Update if a.oldrev.is_some() => {}
            MergeRequestAction::Close | MergeRequestAction::Merge => {
                return Some(self.closed(project, iid));
            }
            _ => return None,
        }
        let executor = scanner.executor();
        let bot = executor.bot().id;
        if a.author_id == Some(bot) {
            return Some(Ok(format!("!{iid} is backline's own MR: not checked")));
        }
        let source = a.source_project_id.unwrap_or(project);
        if source == project {
            if let Some(branch) = a.source_branch.as_deref() {
                if let Ok(Some(_)) = executor.by_branch(project, branch) {
                    return Some(Ok(format!("!{iid} is backline's own MR: not checked")));
                }
            }
        }
        let head = a.last_commit.as_ref().map(|c| c.id.clone())?;
        // The hook itself shows no changed path: an update whose "new" head is the old one.
        if a.oldrev.as_deref() == Some(head.as_str()) {
            return Some(Ok(format!("!{iid}: no new commits, nothing to check")));
        }
        let facts = Facts {
            project,
            source,
            iid,
            head,
        };
        let gitlab = match uuid {
            Some(u) => gitlab.on_behalf_of(u),
            None => gitlab.clone(),
        };
        // The delivery runs in its project's lane: nothing else moves this project meanwhile.
        Some(self.check(scanner, &gitlab, &facts).await)
    }

    fn closed(&self, project: ProjectId, iid: MrIid) -> Result<String, HandlerError> {
        match self.table.get(project, iid).map_err(store_error)? {
            Some(mut c) if c.open => {
                c.open = false;
                self.table.put(&c).map_err(store_error)?;
                Ok(format!("!{iid} closed: its check is no longer listed"))
            }
            _ => Ok(format!("!{iid} closed: nothing to do")),
        }
    }

    async fn check(
        &self,
        scanner: &Scanner,
        gitlab: &GitLab,
        f: &Facts,
    ) -> Result<String, HandlerError> {
        let iid = f.iid;
        let target = ProjectRef::Id(f.project);
        let stored = self.table.get(f.project, iid).map_err(store_error)?;
        if let Some(s) = &stored {
            if s.head_sha == f.head {
                if !s.open {
                    let mut s = s.clone();
                    s.open = true;
                    self.table.put(&s).map_err(store_error)?;
                }
                return Ok(format!(
                    "!{iid}: {} already checked ({})",
                    short(&f.head),
                    s.verdict.as_str()
                ));
            }
        }
        let diffs = gitlab
            .merge_request_diffs(&target, iid)
            .await
            .map_err(gitlab_error)?;
        let changed: Vec<String> = diffs
            .iter()
            .flat_map(|d| [d.old_path.clone(), d.new_path.clone()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let known = scanner
            .inventory
            .manifests(f.project)
            .map_err(store_error)?;
        let concerned = decide::manifests_concerned(&changed, &known, scanner.rules());
        if concerned.is_empty() && stored.is_none() {
            return Ok(format!(
                "!{iid} changes no dependency file: nothing to check"
            ));
        }
        let mr = gitlab
            .merge_request(&target, iid)
            .await
            .map_err(gitlab_error)?;
        let base = mr
            .diff_refs
            .as_ref()
            .and_then(|d| d.base_sha.clone())
            .unwrap_or_else(|| mr.target_branch.clone());
        let (verdict, added) = if concerned.is_empty() {
            (Verdict::Success, Vec::new())
        } else if f.source != f.project && !self.can_read(gitlab, f.source).await? {
            (Verdict::Unreadable, Vec::new())
        } else {
            let head = self.findings_at(scanner, gitlab, f.source, &f.head, &concerned);
            let before = self.findings_at(scanner, gitlab, f.project, &base, &concerned);
            let (head, before) = (head.await?, before.await?);
            let added = decide::added(&head, &before);
            (decide::verdict(&added, self.fail_on), added)
        };
        let description = render::description(verdict, &added, self.fail_on);
        let status = CommitStatus {
            state: verdict.state().into(),
            name: Some(STATUS_NAME.into()),
            target_url: self
                .public_url
                .as_ref()
                .map(|u| format!("{}/projects/{}", u.trim_end_matches('/'), f.project)),
            description: Some(description.clone()),
        };
        gitlab
            .set_commit_status(&target, &f.head, &status)
            .await
            .map_err(gitlab_error)?;
        let before_added = stored.as_ref().map(|s| s.added.clone()).unwrap_or_default();
        let removed: Vec<AddedVulnerability> = before_added
            .into_iter()
            .filter(|b| !added.iter().any(|a| same(a, b)))
            .collect();
        let mut note_id = stored.as_ref().and_then(|s| s.note_id);
        let body = render::note(verdict, &added, &removed, &f.head);
        let wants_note = !added.is_empty() || verdict == Verdict::Unreadable;
        if let NoteAction::Write(body) = decide::note_action(wants_note, note_id.is_some(), body) {
            note_id = Some(self.write_note(gitlab, f, note_id, &body, scanner).await?);
        }
        self.table
            .put(&MrCheck {
                project: f.project.get(),
                iid: iid.get(),
                head_sha: f.head.clone(),
                verdict,
                description: description.clone(),
                added,
                note_id,
                title: mr.title.clone(),
                web_url: mr.web_url.clone(),
                open: true,
                checked_at_ms: crate::clock::now_ms(),
            })
            .map_err(store_error)?;
        Ok(format!(
            "!{iid} {}: {}",
            verdict.as_str(),
            crate::untrusted::printable(&description)
        ))
    }

    /// Whether the token can see a fork (its project answers).
    async fn can_read(&self, gitlab: &GitLab, fork: ProjectId) -> Result<bool, HandlerError> {
        match gitlab.project(&ProjectRef::Id(fork)).await {
            Ok(_) => Ok(true),
            Err(GitLabError::NotFound { .. } | GitLabError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(gitlab_error(e)),
        }
    }

    async fn findings_at(
        &self,
        scanner: &Scanner,
        gitlab: &GitLab,
        project: ProjectId,
        git_ref: &str,
        paths: &[String],
    ) -> Result<Vec<Finding>, HandlerError> {
        let (manifests, _) = read_manifests_at(gitlab, project, git_ref, paths)
            .await
            .map_err(gitlab_error)?;
        let index = scanner.current_index();
        Ok(manifests
            .iter()
            .flat_map(|m| findings_for(&m.path, &m.dependencies, &index))
            .collect())
    }

    /// Updates the bot's note in place, or creates it: found by id, else by its marker (a
    /// store that lost the id), else new. Answers its id.
    async fn write_note(
        &self,
        gitlab: &GitLab,
        f: &Facts,
        known: Option<u64>,
        body: &str,
        scanner: &Scanner,
    ) -> Result<u64, HandlerError> {
        let target = ProjectRef::Id(f.project);
        let id = match known {
            Some(id) => Some(id),
            None => {
                let bot = Some(scanner.executor().bot().id);
                gitlab
                    .merge_request_notes(&target, f.iid)
                    .await
                    .map_err(gitlab_error)?
                    .into_iter()
                    .find(|n| {
                        !n.system && Some(n.author.id) == bot && n.body.starts_with(render::MARKER)
                    })
                    .map(|n| n.id)
            }
        };
        if let Some(id) = id {
            match gitlab
                .update_merge_request_note(&target, f.iid, id, body)
                .await
            {
                Ok(n) => return Ok(n.id),
                // A person deleted it: write a new one.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(gitlab_error(e)),
            }
        }
        gitlab
            .create_merge_request_note(&target, f.iid, body)
            .await
            .map(|n| n.id)
            .map_err(gitlab_error)
    }
}

fn same(a: &AddedVulnerability, b: &AddedVulnerability) -> bool {
    a.ecosystem == b.ecosystem
        && a.package == b.package
        && a.version == b.version
        && a.advisory == b.advisory
}

fn short(sha: &str) -> String {
    crate::untrusted::printable(&sha.chars().take(8).collect::<String>()).into_owned()
}
