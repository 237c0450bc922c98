//! The executor's side of `group: manifest`: one MR per manifest carrying all of its approved
//! fixes. The core decides which remediations form which group, the order of the combined
//! patch, the branch and the MR text ([`super::group`]); this applies them: one commit on
//! `backline/group/<manifest-slug>` from the default branch with every member's edits, the MR
//! opened (or its text refreshed), and each member pointed at it. The branch is regenerated
//! only when its content would change, and never over a person's commit.

use std::collections::{BTreeSet, HashMap};

use super::executor::{
    branch_exists, claim, commit_action, ExecError, Executor, FixError, FixRequest, BOT,
};
use super::group::{self, ManifestGroup};
use super::model::{Claim, Remediation, State};
use super::route::FixRoute;
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::gitlab::client::ops::MrState;
use crate::gitlab::hooks::merge_request::MergeRequestState;
use crate::gitlab::rest::{MergeRequestUpdate, NewCommit, NewMergeRequest};
use crate::gitlab::{GitLab, MrIid, ProjectRef};
use crate::policy::people::MrPeople;

impl Executor {
    /// Carries out every group of the project (after the planner's decisions were carried
    /// out with per-package MRs held back); one line per group changed.
    pub(super) async fn sync_groups(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        hold_upgrades: bool,
        rewrite: Option<&str>,
    ) -> Result<Vec<String>, ExecError> {
        let existing = self.table.of_project(project.id)?;
        let cap = self.effective(project.id)?.max_open_mrs.value;
        let mut open = group::open_mrs(&existing);
        let mut lines = Vec::new();
        for g in group::groups(&existing, hold_upgrades) {
            let members: Vec<Remediation> = g
                .members
                .iter()
                .filter_map(|id| existing.iter().find(|r| r.id == *id).cloned())
                .collect();
            let current = members
                .iter()
                .find(|r| r.state == State::MrOpen && r.branch == g.branch)
                .and_then(|r| r.mr_iid);
            if current.is_none() {
                if open >= cap {
                    for mut r in members {
                        let why = format!("waits: {cap} bot MRs are open (the cap)");
                        if r.reason.as_deref() != Some(why.as_str()) {
                            r.reason = Some(why);
                            self.table.put(&r)?;
                        }
                    }
                    continue;
                }
                open += 1;
            }
            let force = rewrite == Some(g.manifest.as_str());
            if let Some(line) = self
                .carry_group(gitlab, project, default_branch, &g, members, current, force)
                .await?
            {
                lines.push(line);
            }
        }
        Ok(lines)
    }

    /// One group: the combined patch, the branch (written again from the default branch when
    /// its content would change, or when `force`), the MR, the members.
    #[allow(clippy::too_many_arguments)]
    async fn carry_group(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        g: &ManifestGroup,
        mut members: Vec<Remediation>,
        current: Option<MrIid>,
        force: bool,
    ) -> Result<Option<String>, ExecError> {
        let p = ProjectRef::Id(project.id);
        let now = now_ms();
        if members
            .iter()
            .any(|r| r.branch == g.branch && r.edited_by_person)
        {
            // A person pushed to the group branch: it is never pushed over (`/backline
            // recreate` hands it back); new fixes wait for that.
            return Ok(None);
        }
        // The combined patch: each member's fix applied to the files the previous ones left.
        let base = self
            .files_for_fix(gitlab, project, default_branch, &g.manifest)
            .await?;
        let mut files = base.clone();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut carried: Vec<Remediation> = Vec::new();
        for mut r in members.drain(..) {
            let Some(to) = r.target_version.clone() else {
                continue;
            };
            let others: Vec<String> = r
                .versions()
                .into_iter()
                .filter(|v| *v != r.from_version)
                .collect();
            let request = FixRequest {
                ecosystem: r.ecosystem,
                manifest: &r.manifest,
                package: &r.package,
                from: &r.from_version,
                to: &to,
                direct: r.direct,
                files: &files,
                others: &others,
            };
            let outcome = self.fixer.fix(&request).await;
            let reason = match outcome {
                Ok(outcome) => {
                    for e in claim(&mut r, outcome) {
                        changed.insert(e.path.clone());
                        files.insert(e.path, e.content);
                    }
                    carried.push(r);
                    continue;
                }
                Err(FixError::Blocked { chain, reason }) => {
                    let why = format!("{chain}: {reason}");
                    r.route = Some(FixRoute::Blocked { chain, reason });
                    why
                }
                Err(FixError::NotFixable(reason)) => {
                    r.route = None;
                    reason
                }
                Err(FixError::Registry(unreachable)) => {
                    return Err(ExecError::RegistryUnreachable(unreachable))
                }
            };
            for c in &mut r.copies {
                c.claim = Claim::Left {
                    reason: reason.clone(),
                };
            }
            r.reason = Some(reason.clone());
            r.transition(State::NotFixable, BOT, reason, now);
            self.table.put(&r)?;
        }
        if carried.is_empty() {
            return Ok(None);
        }
        changed.retain(|path| base.get(path) != files.get(path));
        let refs: Vec<&Remediation> = carried.iter().collect();
        let rewritten = match current {
            Some(_)
                if !force
                    && self
                        .branch_holds(gitlab, &p, &g.branch, &files, &changed)
                        .await? =>
            {
                false
            }
            _ => {
                let written = self
                    .write_group_branch(
                        gitlab,
                        &p,
                        default_branch,
                        g,
                        &refs,
                        &files,
                        &changed,
                        current.is_some(),
                    )
                    .await?;
                if !written {
                    return Ok(Some(format!(
                        "group {}: the branch `{}` exists and was not made by backline; not written",
                        g.manifest, g.branch
                    )));
                }
                true
            }
        };
        let title = group::title(&self.settings.title_prefix, &g.manifest, &refs);
        let description = group::description(&g.manifest, &refs);
        let mr = match current {
            Some(iid) => {
                // The text follows the members (one joined, one left, a target moved).
                let mr = gitlab.merge_request(&p, iid).await?;
                if mr.title != title || mr.description.as_deref() != Some(description.as_str()) {
                    gitlab
                        .update_merge_request(
                            &p,
                            iid,
                            &MergeRequestUpdate {
                                title: Some(title),
                                description: Some(description),
                                ..Default::default()
                            },
                        )
                        .await?
                } else {
                    mr
                }
            }
            None => {
                let own = self
                    .own_mrs(gitlab, project, &g.branch, MrState::Opened)
                    .await?;
                match own.into_iter().next() {
                    Some(mr) => mr,
                    None => {
                        // The group MR carries the policy's labels and people, as a single
                        // fix's MR does (reviewers from CODEOWNERS of the manifest's path).
                        let want = MrPeople::of(&self.effective(project.id)?);
                        let people = self
                            .resolve_people(gitlab, project, &g.manifest, &want)
                            .await?;
                        gitlab
                            .create_merge_request(
                                &p,
                                &NewMergeRequest {
                                    source_branch: g.branch.clone(),
                                    target_branch: default_branch.to_string(),
                                    title,
                                    description: Some(description),
                                    labels: want.labels_param(),
                                    remove_source_branch: Some(true),
                                    assignee_ids: (!people.assignee_ids.is_empty())
                                        .then(|| people.assignee_ids.clone()),
                                    reviewer_ids: (!people.reviewer_ids.is_empty())
                                        .then(|| people.reviewer_ids.clone()),
                                },
                            )
                            .await?
                    }
                }
            }
        };
        if mr.state != MergeRequestState::Opened {
            return Ok(None);
        }
        let n = carried.len();
        for mut r in carried {
            let joined = r.state != State::MrOpen || r.mr_iid != Some(mr.iid);
            r.branch = g.branch.clone();
            r.bot_wrote_branch = true;
            r.mr_iid = Some(mr.iid);
            r.mr_url = mr.web_url.clone();
            if joined {
                r.reason = None;
                r.transition(
                    State::MrOpen,
                    BOT,
                    format!("carried by the group MR !{} of {}", mr.iid, g.manifest),
                    now,
                );
            } else if rewritten {
                r.record(BOT, "the group MR's branch was regenerated", now);
            }
            self.table.put(&r)?;
        }
        Ok(Some(format!(
            "group {}: MR !{} carries {n} fixes{}",
            g.manifest,
            mr.iid,
            if rewritten { " (branch written)" } else { "" }
        )))
    }

    /// Writes a group member's branch again from the default branch with every fix of its
    /// group (a conflict on `/backline rebase`, or `/backline recreate`, which first hands the
    /// branch back from a person). `None` when `r` is not in a group MR.
    pub(super) async fn rewrite_group(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        r: &Remediation,
        recreate: bool,
    ) -> Result<Option<String>, ExecError> {
        if r.branch != group::group_branch(&r.manifest) || r.mr_iid.is_none() {
            return Ok(None);
        }
        let mut carried = self.group_siblings(r)?;
        carried.push(r.clone());
        if carried.iter().any(|m| m.edited_by_person) {
            if !recreate {
                return Ok(Some("the group branch has commits by a person: `/backline recreate` rebuilds it (discarding them)".into()));
            }
            for mut m in carried {
                m.edited_by_person = false;
                self.table.put(&m)?;
            }
        }
        let hold = self.upgrade_wait(project.id)?.is_some();
        let lines = self
            .sync_groups(gitlab, project, default_branch, hold, Some(&r.manifest))
            .await?;
        Ok(Some(lines.join("; ")))
    }

    /// Whether the group branch already has exactly `files` at every changed path.
    async fn branch_holds(
        &self,
        gitlab: &GitLab,
        p: &ProjectRef,
        branch: &str,
        files: &HashMap<String, Vec<u8>>,
        changed: &BTreeSet<String>,
    ) -> Result<bool, ExecError> {
        for path in changed {
            match gitlab.raw_file(p, path, branch).await {
                Ok(f) if Some(&f.content.to_vec()) == files.get(path) => {}
                Ok(_) => return Ok(false),
                Err(e) if e.is_not_found() => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    /// One commit from the default branch with every member's edits; replaces the bot's own
    /// group branch, never a branch of that name the bot did not write (then `false`).
    #[allow(clippy::too_many_arguments)]
    async fn write_group_branch(
        &self,
        gitlab: &GitLab,
        p: &ProjectRef,
        default_branch: &str,
        g: &ManifestGroup,
        members: &[&Remediation],
        files: &HashMap<String, Vec<u8>>,
        changed: &BTreeSet<String>,
        bots: bool,
    ) -> Result<bool, ExecError> {
        let actions = changed
            .iter()
            .filter_map(|path| {
                files.get(path).map(|content| {
                    commit_action(super::executor::Edit {
                        path: path.clone(),
                        content: content.clone(),
                    })
                })
            })
            .collect();
        let mut commit = NewCommit {
            branch: g.branch.clone(),
            commit_message: group::commit_message(&g.manifest, members),
            start_branch: Some(default_branch.to_string()),
            start_sha: None,
            actions,
            author_email: None,
            author_name: None,
            force: false,
        };
        match gitlab.create_commit(p, &commit).await {
            Ok(_) => Ok(true),
            Err(e) if branch_exists(&e) => {
                let ours = bots
                    || members
                        .iter()
                        .any(|r| r.branch == g.branch && r.bot_wrote_branch);
                if !ours {
                    return Ok(false);
                }
                commit.force = true;
                gitlab.create_commit(p, &commit).await?;
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }
}
