//! Carrying plans out on GitLab: open, retarget, reopen and close the bot's merge requests,
//! record every transition, and answer the MR events and commands that move a remediation.
//! Each step is "make the state so": it looks at GitLab before acting, so a replayed delivery
//! or a retried handler never opens a second MR or pushes over a person's commits.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;

use super::model::{branch_name, Claim, Copy, Remediation, State};
use super::ownership;
pub use super::patch::PlacedCopy;
pub use super::pipeline_steps::PipelineFacts;
use super::planner::{plan, vulnerable, Decision, Policy, Vulnerable};
use super::render;
use super::route::FixRoute;
use super::table::Remediations;
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::ecosystem::Ecosystem;
use crate::findings::Finding;
use crate::gitlab::client::ops::MrState;
use crate::gitlab::hooks::merge_request::MergeRequestState;
use crate::gitlab::mergeability::{mergeability, rebase_progress, Mergeability, RebaseProgress};
use crate::gitlab::rest::{
    CommitAction, MergeRequest, MergeRequestUpdate, NewCommit, NewMergeRequest, User,
};
use crate::gitlab::{GitLab, GitLabError, MrIid, ProjectId, ProjectRef};
use crate::inventory::fetch_manifest_files;
use crate::policy::people::MrPeople;
use crate::store::StoreError;

/// Why carrying out a decision failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// GitLab failed.
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A package registry could not be reached: the fix waits (its reason says so).
    #[error(transparent)]
    RegistryUnreachable(crate::registry::Unreachable),
}

impl ExecError {
    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            ExecError::GitLab(e) => e.is_transient(),
            ExecError::RegistryUnreachable(_) => true,
            ExecError::Store(e) => e.is_transient(),
        }
    }
}

/// One file's new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Path from the repository root.
    pub path: String,
    /// The whole new content.
    pub content: Vec<u8>,
}

/// The request for a fix's edits.
#[derive(Debug, Clone)]
pub struct FixRequest<'a> {
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// The manifest or lockfile.
    pub manifest: &'a str,
    /// Package.
    pub package: &'a str,
    /// Installed version.
    pub from: &'a str,
    /// Target version.
    pub to: &'a str,
    /// Direct dependency.
    pub direct: bool,
    /// The repository files the edit may need (the manifest and its companions).
    pub files: &'a HashMap<String, Vec<u8>>,
    /// The other vulnerable installed versions of the package in the manifest, to move to
    /// `to` too where every range in the tree allows it.
    pub others: &'a [String],
}

/// The edits of a fix and exactly which installed copies they move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOutcome {
    /// The file edits.
    pub edits: Vec<Edit>,
    /// The copies the edits move to the target.
    pub moved: Vec<PlacedCopy>,
    /// The copies they leave, each with why (`needs <parent> to allow <pkg> >= N`).
    pub left: Vec<(PlacedCopy, String)>,
    /// How the fix gets through (a plain move, parent bumps, an override).
    pub route: FixRoute,
}

/// Makes the file edits of a fix, or says why none is correct.
#[async_trait]
pub trait Fixer: Send + Sync {
    /// The edits moving `from`, or the reason no edit is correct ("needs `memchr` >= 2.4").
    async fn edits(&self, request: &FixRequest<'_>) -> Result<Vec<Edit>, FixError>;

    /// The edits moving `from` and each of `others` that can move, and which they move. This
    /// default moves `from` alone and claims only it.
    async fn fix(&self, request: &FixRequest<'_>) -> Result<FixOutcome, FixError> {
        let edits = self.edits(request).await?;
        Ok(FixOutcome {
            edits,
            moved: vec![PlacedCopy {
                version: request.from.to_string(),
                paths: Vec::new(),
            }],
            left: request
                .others
                .iter()
                .map(|v| {
                    (
                        PlacedCopy {
                            version: v.clone(),
                            paths: Vec::new(),
                        },
                        "this fixer moves one installed version at a time".to_string(),
                    )
                })
                .collect(),
            route: FixRoute::Direct,
        })
    }

    /// Gives the fixer the advisories, so that a parent release it bumps to is checked
    /// against them (the default fixer has no use for them).
    fn use_advisories(&self, _index: crate::advisories::shared::AdvisoryIndex) {}
}

/// Why a fix has no edits.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FixError {
    /// No edit is correct; the reason says what is needed.
    #[error("{0}")]
    NotFixable(String),
    /// The registry could not be reached (try again later).
    #[error(transparent)]
    Registry(crate::registry::Unreachable),
    /// A parent's range excludes the fix, and neither a parent bump nor an override gets it
    /// through: the chain that blocks it, and why.
    #[error("{chain}: {reason}")]
    Blocked {
        /// `app -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)`.
        chain: String,
        /// Why no parent bump or override did.
        reason: String,
    },
}

/// How MRs look.
#[derive(Debug, Clone)]
pub struct MrSettings {
    /// Title prefix (`Security:`).
    pub title_prefix: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Approval and pacing.
    pub policy: Policy,
}

impl Default for MrSettings {
    fn default() -> Self {
        MrSettings {
            title_prefix: "Security:".into(),
            labels: vec!["security".into(), "backline".into()],
            policy: Policy::default(),
        }
    }
}

/// Carries out plans.
pub struct Executor {
    gitlab: GitLab,
    /// The remediations.
    pub table: Remediations,
    pub(super) fixer: Arc<dyn Fixer>,
    bot: User,
    pub(super) settings: MrSettings,
    /// Each project's policy from its repository (none: the instance settings everywhere).
    pub(super) policies: Option<crate::policy::PolicyTable>,
    /// The bot MRs' pipelines (none: not tracked).
    pub(super) pipelines: Option<crate::pipeline::table::PipelineTable>,
    /// What each open MR was last given from the policy (none: MRs are not updated when the
    /// policy changes).
    pub(super) people: Option<super::people_steps::MrPeopleTable>,
    /// Username, group and CODEOWNERS lookups of the syncs running now.
    pub(super) people_caches: super::people_steps::PeopleCaches,
    /// Projects with a fix waiting for a package registry to answer again.
    waiting_on_registry: std::sync::Mutex<std::collections::BTreeSet<ProjectId>>,
    /// Where "now" comes from for schedule windows.
    pub(super) clock: crate::clock::Clock,
    /// Projects with an upgrade waiting for its schedule window.
    pub(super) schedule_waits: std::sync::Mutex<super::schedule_steps::ScheduleWaits>,
}

/// Who acts when the bot does.
pub const BOT: &str = "backline";

/// First pause between polls of GitLab's background work (doubled each time).
const POLL_START: std::time::Duration = std::time::Duration::from_millis(50);
/// Reads waiting for GitLab's mergeability check before rebasing anyway.
const CHECK_POLLS: u32 = 4;
/// Reads waiting for a rebase to finish (about 25 s in all).
const REBASE_POLLS: u32 = 10;

impl Executor {
    /// An executor.
    pub fn new(
        gitlab: GitLab,
        table: Remediations,
        fixer: Arc<dyn Fixer>,
        bot: User,
        settings: MrSettings,
    ) -> Self {
        Executor {
            gitlab,
            table,
            fixer,
            bot,
            settings,
            policies: None,
            pipelines: None,
            people: None,
            people_caches: Default::default(),
            waiting_on_registry: Default::default(),
            clock: crate::clock::Clock::system(),
            schedule_waits: Default::default(),
        }
    }

    /// Projects with a fix waiting for a package registry (acted on again after each sync).
    pub fn waiting_on_registry(&self) -> Vec<ProjectId> {
        self.waiting_on_registry
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The bot user.
    pub fn bot(&self) -> &User {
        &self.bot
    }

    /// The GitLab client acting for no delivery (background work).
    pub(super) fn gitlab_client(&self) -> GitLab {
        self.gitlab.clone()
    }

    fn client(&self, uuid: Option<&str>) -> GitLab {
        match uuid {
            Some(u) => self.gitlab.on_behalf_of(u),
            None => self.gitlab.clone(),
        }
    }

    /// Plans the project from its findings and carries the plan out; returns one line per
    /// decision taken.
    pub async fn apply(
        &self,
        project: &CatalogProject,
        findings: &[Finding],
        outdated: &[crate::findings::outdated::Outdated],
        uuid: Option<&str>,
    ) -> Result<Vec<String>, ExecError> {
        let Some(default_branch) = project.default_branch.as_deref() else {
            return Ok(Vec::new());
        };
        let gitlab = self.client(uuid);
        let existing = self.table.of_project(project.id)?;
        let mut wanted = vulnerable(findings);
        // Upgrades of outdated direct dependencies, when asked for: after every security fix,
        // never approved by policy (severity unknown), and never for a package that is vulnerable.
        for o in outdated {
            if wanted
                .iter()
                .any(|v| v.manifest == o.manifest && v.package == o.package)
            {
                continue;
            }
            wanted.push(Vulnerable {
                manifest: o.manifest.clone(),
                ecosystem: o.ecosystem,
                package: o.package.clone(),
                version: o.installed.clone(),
                direct: true,
                fix: Some(o.latest.clone()),
                advisories: Vec::new(),
                severity: crate::advisories::cvss::Level::Unknown,
                others: Vec::new(),
            });
        }
        let policy = self.effective(project.id)?;
        if !policy.enabled.value {
            return Ok(vec![
                "not acted on: the policy file says `enabled: false`".into()
            ]);
        }
        let _people_sync = self.people_sync(project.id);
        let mut lines = Vec::new();
        let screened = self
            .apply_policy(&gitlab, project, &policy, &wanted, &existing, &mut lines)
            .await?;
        let wait = policy.schedule_wait(self.clock.now_ms());
        let mut rules = policy.planner();
        rules.upgrades_wait = wait.as_ref().map(|w| w.reason.clone());
        let decisions = plan(&screened.wanted, &screened.existing, &rules);
        let mut waiting = false;
        // `group: manifest`: per-package MRs are held back; the groups are carried out after.
        let grouped = policy.group.value == crate::policy::file::Group::Manifest;
        for d in decisions {
            let held = rules.upgrades_wait.as_deref();
            match self
                .carry_out(&gitlab, project, default_branch, d, held, grouped)
                .await
            {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => {}
                // A registry outage never fails the project: the other decisions go on, and
                // this one is tried again once the registry's back-off is over.
                Err(ExecError::RegistryUnreachable(u)) => {
                    tracing::warn!(
                        project = %project.path_with_namespace,
                        registry = %u.registry,
                        error = %u.error,
                        "package registry unreachable; the fix waits and will be tried again"
                    );
                    lines.push(format!("waiting: {u}"));
                    waiting = true;
                }
                Err(e) => return Err(e),
            }
        }
        if grouped {
            match self
                .sync_groups(&gitlab, project, default_branch, wait.is_some(), None)
                .await
            {
                Ok(more) => lines.extend(more),
                Err(ExecError::RegistryUnreachable(u)) => {
                    lines.push(format!("waiting: {u}"));
                    waiting = true;
                }
                Err(e) => return Err(e),
            }
        }
        lines.extend(self.sync_mr_people(&gitlab, project, &policy).await?);
        {
            let mut set = self
                .waiting_on_registry
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if waiting {
                set.insert(project.id);
            } else {
                set.remove(&project.id);
            }
        }
        self.settle_schedule(project.id, wait.as_ref())?;
        Ok(lines)
    }

    async fn carry_out(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        decision: Decision,
        upgrades_wait: Option<&str>,
        grouped: bool,
    ) -> Result<Option<String>, ExecError> {
        let now = now_ms();
        match decision {
            Decision::Wait { id, reason } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                r.reason = Some(reason.clone());
                r.record(BOT, reason.clone(), now);
                self.table.put(&r)?;
                Ok(Some(format!("{} {}: {reason}", r.package, r.from_version)))
            }
            Decision::New {
                vulnerable: v,
                approved,
                open,
                reason,
            } => {
                let mut r = self.new_remediation(project, &v, now)?;
                r.approved_by = approved.then(|| "policy".to_string());
                r.reason = Some(reason.clone());
                let state = if v.fix.is_none() {
                    State::NotFixable
                } else {
                    State::Planned
                };
                r.transition(state, BOT, reason, now);
                self.table.put(&r)?;
                if open && !grouped {
                    self.open(gitlab, project, default_branch, &mut r).await?;
                }
                Ok(Some(format!(
                    "{} {}: {}",
                    r.package,
                    r.from_version,
                    r.state.as_str()
                )))
            }
            // Grouped: the group MR takes it (`sync_groups`).
            Decision::Open { .. } if grouped => Ok(None),
            Decision::Open { id, reason } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                r.reason = Some(reason);
                self.open(gitlab, project, default_branch, &mut r).await?;
                Ok(Some(format!(
                    "{} {}: {}",
                    r.package,
                    r.from_version,
                    r.state.as_str()
                )))
            }
            Decision::Retarget {
                id,
                vulnerable: v,
                reason,
            } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                let had_mr = r.state == State::MrOpen;
                r.from_version = v.version.clone();
                r.copies = pending_copies(&v);
                r.target_version = v.fix.clone();
                r.advisories = v.advisories.clone();
                r.severity = v.severity;
                r.direct = v.direct;
                r.reason = Some(reason.clone());
                if had_mr && grouped && r.branch == super::group::group_branch(&r.manifest) {
                    // The group's branch is regenerated with the new target (`sync_groups`).
                    r.record(BOT, reason, now);
                } else if had_mr {
                    // Superseded: the same branch and MR move to the new version.
                    self.write_branch(gitlab, project, default_branch, &mut r)
                        .await?;
                    if r.state == State::MrOpen {
                        self.refresh_mr_text(gitlab, project, &r).await?;
                        r.record(BOT, reason, now);
                    }
                } else {
                    if r.state == State::Dismissed {
                        // A new version after a dismissal: a new branch and MR.
                        r.branch = branch_name(
                            r.ecosystem,
                            &r.manifest,
                            &r.package,
                            v.fix.as_deref().unwrap_or("none"),
                        );
                        r.bot_wrote_branch = false;
                        r.mr_iid = None;
                        r.mr_url = None;
                        r.edited_by_person = false;
                    }
                    let state = if v.fix.is_none() {
                        State::NotFixable
                    } else {
                        State::Planned
                    };
                    r.transition(state, BOT, reason, now);
                    if r.approved_by.is_none()
                        && self.effective(project.id)?.planner().approves(v.severity)
                    {
                        r.approved_by = Some("policy".into());
                    }
                    match upgrades_wait {
                        // A non-security upgrade outside its schedule window waits.
                        Some(why)
                            if state == State::Planned
                                && r.approved_by.is_some()
                                && r.advisories.is_empty() =>
                        {
                            r.reason = Some(why.to_string());
                        }
                        _ if state == State::Planned && r.approved_by.is_some() && !grouped => {
                            self.open(gitlab, project, default_branch, &mut r).await?;
                        }
                        _ => {}
                    }
                }
                self.table.put(&r)?;
                Ok(Some(format!(
                    "{} retargeted to {}: {}",
                    r.package,
                    r.target_version.as_deref().unwrap_or("?"),
                    r.state.as_str()
                )))
            }
            Decision::Reopen {
                id,
                vulnerable: v,
                reason,
            } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                r.from_version = v.version.clone();
                r.copies = pending_copies(&v);
                r.target_version = v.fix.clone();
                r.advisories = v.advisories.clone();
                if grouped {
                    // Back into its manifest's group MR (`sync_groups`).
                    r.transition(State::Planned, BOT, reason, now);
                    self.table.put(&r)?;
                    return Ok(Some(format!(
                        "{} planned again: {}",
                        r.package,
                        r.state.as_str()
                    )));
                }
                self.reopen(gitlab, project, default_branch, &mut r, BOT, &reason)
                    .await?;
                Ok(Some(format!(
                    "{} reopened: {}",
                    r.package,
                    r.state.as_str()
                )))
            }
            Decision::CloseObsolete { id, reason } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                if let Some(iid) = r.mr_iid {
                    let p = ProjectRef::Id(project.id);
                    let mr = gitlab.merge_request(&p, iid).await?;
                    if mr.state == MergeRequestState::Merged {
                        // Merged (by itself, or its event is still on the way): the MR is
                        // what fixed it.
                        let by = mr
                            .merged_by
                            .map(|u| u.username)
                            .unwrap_or_else(|| "gitlab".into());
                        self.merged(&mut r, &by)?;
                        return Ok(Some(format!("{}: merged", r.package)));
                    }
                    if mr.state == MergeRequestState::Opened && self.leaves_group(&r)? {
                        // Others stay in the group MR: this one leaves it (the branch is
                        // regenerated without it); the MR stays open.
                        r.transition(
                            State::Obsolete,
                            BOT,
                            format!("{reason}; it leaves the group MR"),
                            now,
                        );
                        self.table.put(&r)?;
                        return Ok(Some(format!("{}: obsolete, left the group MR", r.package)));
                    }
                    if mr.state == MergeRequestState::Opened {
                        gitlab
                            .create_merge_request_note(&p, iid, &render::obsolete_note(&r, &reason))
                            .await?;
                        gitlab
                            .update_merge_request(
                                &p,
                                iid,
                                &MergeRequestUpdate {
                                    state_event: Some("close".into()),
                                    ..Default::default()
                                },
                            )
                            .await?;
                    }
                }
                r.transition(State::Obsolete, BOT, reason, now);
                self.table.put(&r)?;
                Ok(Some(format!("{}: obsolete, MR closed", r.package)))
            }
            Decision::Fixed { id, reason } => {
                let Some(mut r) = self.table.get(id)? else {
                    return Ok(None);
                };
                r.transition(State::Fixed, BOT, reason, now);
                self.table.put(&r)?;
                Ok(Some(format!("{}: fixed", r.package)))
            }
        }
    }

    pub(super) fn new_remediation(
        &self,
        project: &CatalogProject,
        v: &Vulnerable,
        now: i64,
    ) -> Result<Remediation, StoreError> {
        Ok(Remediation {
            id: self.table.next_id()?,
            project: project.id,
            manifest: v.manifest.clone(),
            ecosystem: v.ecosystem,
            package: v.package.clone(),
            direct: v.direct,
            from_version: v.version.clone(),
            target_version: v.fix.clone(),
            advisories: v.advisories.clone(),
            severity: v.severity,
            state: State::Planned,
            approved_by: None,
            reason: None,
            branch: branch_name(
                v.ecosystem,
                &v.manifest,
                &v.package,
                v.fix.as_deref().unwrap_or("none"),
            ),
            bot_wrote_branch: false,
            mr_iid: None,
            mr_url: None,
            edited_by_person: false,
            ignored_versions: Vec::new(),
            ignored_advisories: Vec::new(),
            detected_at_ms: now,
            updated_at_ms: now,
            history: Vec::new(),
            copies: pending_copies(v),
            route: None,
        })
    }

    /// The bot's own MRs of `branch` (GitLab's list also holds fork MRs and people's MRs of
    /// that branch name: those are never the bot's).
    pub(super) async fn own_mrs(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        branch: &str,
        state: MrState,
    ) -> Result<Vec<MergeRequest>, GitLabError> {
        let all = gitlab
            .merge_requests_from(&ProjectRef::Id(project.id), branch, state)
            .await?;
        Ok(all
            .into_iter()
            .filter(|m| m.is_bots(project.id, self.bot.id))
            .collect())
    }

    /// Opens (or adopts) the MR of a remediation: look the branch's MRs up first, write the
    /// branch, create the MR, adopt the bot's own on 409. Only the bot's own MRs (from the
    /// project itself, opened by the bot) are ever adopted. Saves the remediation.
    pub async fn open(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        r: &mut Remediation,
    ) -> Result<(), ExecError> {
        let p = ProjectRef::Id(project.id);
        let now = now_ms();
        let existing = self
            .own_mrs(gitlab, project, &r.branch, MrState::All)
            .await?;
        if let Some(mr) = existing
            .iter()
            .find(|m| m.state == MergeRequestState::Opened)
        {
            self.adopt(r, mr, "adopted the open MR of this branch", now);
            self.table.put(r)?;
            return Ok(());
        }
        if let Some(mr) = existing
            .iter()
            .find(|m| m.state == MergeRequestState::Merged)
        {
            r.mr_iid = Some(mr.iid);
            r.transition(
                State::Merged,
                BOT,
                "this branch's MR was already merged",
                now,
            );
            self.table.put(r)?;
            return Ok(());
        }
        if let Some(mr) = existing
            .iter()
            .find(|m| m.state == MergeRequestState::Closed)
        {
            // A person closed it before: that version stays ignored.
            r.mr_iid = Some(mr.iid);
            if let Some(t) = &r.target_version {
                if !r.ignored_versions.contains(t) {
                    r.ignored_versions.push(t.clone());
                }
            }
            r.transition(
                State::Dismissed,
                BOT,
                "this branch's MR was closed by a person",
                now,
            );
            self.table.put(r)?;
            return Ok(());
        }
        self.write_branch(gitlab, project, default_branch, r)
            .await?;
        // Saved now: a retry after a failed MR creation knows the branch is the bot's.
        self.table.put(r)?;
        if r.state == State::NotFixable {
            return Ok(());
        }
        let want = MrPeople::of(&self.effective(project.id)?);
        let people = self
            .resolve_people(gitlab, project, &r.manifest, &want)
            .await?;
        let new = NewMergeRequest {
            source_branch: r.branch.clone(),
            target_branch: default_branch.to_string(),
            title: render::title(&self.settings.title_prefix, r),
            description: Some(render::description(r)),
            labels: want.labels_param(),
            remove_source_branch: Some(true),
            assignee_ids: (!people.assignee_ids.is_empty()).then(|| people.assignee_ids.clone()),
            reviewer_ids: (!people.reviewer_ids.is_empty()).then(|| people.reviewer_ids.clone()),
        };
        let mr = match gitlab.create_merge_request(&p, &new).await {
            Ok(mr) => mr,
            Err(GitLabError::Conflict { .. }) => {
                let open = self
                    .own_mrs(gitlab, project, &r.branch, MrState::Opened)
                    .await?;
                match open.into_iter().next() {
                    Some(mr) => mr,
                    None => {
                        return Err(ExecError::GitLab(GitLabError::Conflict {
                            endpoint: "POST merge_requests".into(),
                            message: "GitLab reported a conflicting MR that it does not list"
                                .into(),
                        }))
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        self.adopt(r, &mr, "opened the MR", now);
        for skipped in &people.skipped {
            tracing::warn!(
                project = %project.path_with_namespace,
                remediation = r.id,
                "{skipped}"
            );
            r.record(BOT, skipped.clone(), now);
        }
        self.table.put(r)?;
        if let Some(t) = &self.people {
            t.put(r.id, &want)?;
        }
        // Asking to merge never undoes the opening: a refusal is recorded and asked again
        // after the next pipeline.
        if let Err(e) = self.request_merge(gitlab, project, r).await {
            r.record(BOT, format!("asking GitLab to merge failed: {e}"), now_ms());
            self.table.put(r)?;
        }
        Ok(())
    }

    fn adopt(&self, r: &mut Remediation, mr: &MergeRequest, why: &str, now: i64) {
        r.mr_iid = Some(mr.iid);
        r.mr_url = mr.web_url.clone();
        r.reason = None;
        r.transition(State::MrOpen, BOT, why, now);
    }

    /// Writes the fix onto the remediation's branch: one commit from the default branch's head
    /// (creating or replacing the branch). Never replaces a branch a person has pushed to, and
    /// never takes over a branch of that name the bot did not write: then the next free
    /// alternative name (`…-2`) is used and the change recorded in the history.
    /// Sets `NotFixable` when no edit is correct.
    pub async fn write_branch(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        r: &mut Remediation,
    ) -> Result<(), ExecError> {
        let p = ProjectRef::Id(project.id);
        let Some(to) = r.target_version.clone() else {
            r.transition(
                State::NotFixable,
                BOT,
                "no fixed version is published",
                now_ms(),
            );
            return Ok(());
        };
        let files = self
            .files_for_fix(gitlab, project, default_branch, &r.manifest)
            .await?;
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
        let edits = match self.fixer.fix(&request).await {
            Ok(outcome) => claim(r, outcome),
            Err(FixError::Blocked { chain, reason }) => {
                let why = format!("{chain}: {reason}");
                for c in &mut r.copies {
                    c.claim = Claim::Left {
                        reason: why.clone(),
                    };
                }
                r.route = Some(FixRoute::Blocked { chain, reason });
                r.reason = Some(why.clone());
                r.transition(State::NotFixable, BOT, why, now_ms());
                return Ok(());
            }
            Err(FixError::NotFixable(reason)) => {
                r.route = None;
                for c in &mut r.copies {
                    c.claim = Claim::Left {
                        reason: reason.clone(),
                    };
                }
                r.reason = Some(reason.clone());
                r.transition(State::NotFixable, BOT, reason, now_ms());
                return Ok(());
            }
            Err(FixError::Registry(unreachable)) => {
                // The plan waits with the reason; nothing on GitLab changes.
                r.reason = Some(unreachable.to_string());
                if r.state == State::Planned {
                    self.table.put(r)?;
                }
                return Err(ExecError::RegistryUnreachable(unreachable));
            }
        };
        let actions = edits.into_iter().map(commit_action).collect();
        let mut commit = NewCommit {
            branch: r.branch.clone(),
            commit_message: render::commit_message(r),
            start_branch: Some(default_branch.to_string()),
            start_sha: None,
            actions,
            author_email: None,
            author_name: None,
            force: false,
        };
        match gitlab.create_commit(&p, &commit).await {
            Ok(_) => {}
            Err(e) if branch_exists(&e) => {
                if r.owns_branch() {
                    if r.edited_by_person {
                        return Ok(());
                    }
                    // Our branch from an earlier attempt (or an outdated one): rebuild it.
                    commit.force = true;
                    gitlab.create_commit(&p, &commit).await?;
                } else {
                    self.write_alternative(gitlab, &p, r, commit).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
        r.bot_wrote_branch = true;
        Ok(())
    }

    /// The files a fix in `manifest` reads and may edit, from `git_ref`: the manifest and its
    /// companions, and files the patch may edit that the parse does not read (`go.sum`,
    /// `pyproject.toml` beside a `uv.lock`, `Gemfile`): absent ones stay absent.
    pub(super) async fn files_for_fix(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        git_ref: &str,
        manifest: &str,
    ) -> Result<HashMap<String, Vec<u8>>, ExecError> {
        let p = ProjectRef::Id(project.id);
        let mut files = fetch_manifest_files(gitlab, project.id, git_ref, manifest).await?;
        let mut wanted = crate::remediation::patch::files_to_edit(manifest);
        // A packages.lock.json's direct versions live in project files whose names only the
        // tree tells (`*.csproj`, the nearest `Directory.Packages.props`).
        if crate::deps::format_of(manifest) == Some(crate::deps::ManifestFormat::NugetLock) {
            let tree: Vec<String> = gitlab
                .tree(&p, git_ref)
                .await?
                .into_iter()
                .filter(|e| e.kind == "blob")
                .map(|e| e.path)
                .collect();
            wanted.extend(crate::remediation::patch::nuget_files(manifest, &tree));
        }
        // Files the patch may edit that the parse does not read: absent ones stay absent.
        for path in wanted {
            if files.contains_key(&path) {
                continue;
            }
            match gitlab.raw_file(&p, &path, git_ref).await {
                Ok(f) => {
                    files.insert(path, f.content.to_vec());
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(files)
    }

    /// The remediation's branch name is taken by a branch the bot did not write: writes the
    /// commit to the first free alternative name and records the change.
    async fn write_alternative(
        &self,
        gitlab: &GitLab,
        p: &ProjectRef,
        r: &mut Remediation,
        mut commit: NewCommit,
    ) -> Result<(), ExecError> {
        let taken = r.branch.clone();
        for n in 2..=ownership::MAX_ALTERNATIVES {
            let candidate = ownership::alternative_branch(r, n);
            if candidate == taken {
                continue;
            }
            // A name with someone else's MR on it (even with its branch gone) is skipped too.
            let mrs = gitlab
                .merge_requests_from(p, &candidate, MrState::All)
                .await?;
            if !mrs.is_empty() {
                continue;
            }
            commit.branch = candidate.clone();
            match gitlab.create_commit(p, &commit).await {
                Ok(_) => {
                    r.branch = candidate.clone();
                    r.record(
                        BOT,
                        format!(
                            "the branch `{taken}` exists and was not made by backline: the fix is on `{candidate}` instead"
                        ),
                        now_ms(),
                    );
                    return Ok(());
                }
                Err(e) if branch_exists(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ExecError::GitLab(GitLabError::Conflict {
            endpoint: "POST repository/commits".into(),
            message: format!(
                "the branch `{taken}` and {} alternatives are taken by branches backline did not make",
                ownership::MAX_ALTERNATIVES - 1
            ),
        }))
    }

    async fn refresh_mr_text(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &Remediation,
    ) -> Result<(), ExecError> {
        if let Some(iid) = r.mr_iid {
            gitlab
                .update_merge_request(
                    &ProjectRef::Id(project.id),
                    iid,
                    &MergeRequestUpdate {
                        title: Some(render::title(&self.settings.title_prefix, r)),
                        description: Some(render::description(r)),
                        ..Default::default()
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Reopens the remediation's MR, and refreshes its branch unless a person edited it.
    /// GitLab refuses a reopen with 422 when the MR's source or target branch is gone, and
    /// with 409 when another open MR has the same branches (lib/api/merge_requests.rb): then
    /// the bot's own open MR of the branch is adopted, or a fresh MR is opened (on another
    /// branch name when the open MR of this branch is not the bot's).
    pub async fn reopen(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        r: &mut Remediation,
        by: &str,
        why: &str,
    ) -> Result<(), ExecError> {
        let p = ProjectRef::Id(project.id);
        if let Some(t) = &r.target_version {
            r.ignored_versions.retain(|v| v != t);
        }
        let Some(iid) = r.mr_iid else {
            r.transition(State::Planned, by, why, now_ms());
            return self.open(gitlab, project, default_branch, r).await;
        };
        if !r.edited_by_person {
            self.write_branch(gitlab, project, default_branch, r)
                .await?;
        }
        let reopen = MergeRequestUpdate {
            state_event: Some("reopen".into()),
            title: Some(render::title(&self.settings.title_prefix, r)),
            description: Some(render::description(r)),
            ..Default::default()
        };
        let mr = gitlab.merge_request(&p, iid).await?;
        let answer = if mr.state == MergeRequestState::Opened {
            Ok(mr)
        } else {
            gitlab.update_merge_request(&p, iid, &reopen).await
        };
        let refused = match answer {
            Ok(mr) if mr.state == MergeRequestState::Opened => {
                r.mr_url = mr.web_url.clone();
                r.transition(State::MrOpen, by, why, now_ms());
                self.table.put(r)?;
                return Ok(());
            }
            // An older GitLab answers 200 and leaves it closed.
            Ok(_) => "GitLab kept it closed".to_string(),
            Err(GitLabError::Validation { status: 422, .. }) => {
                "a branch of it is gone (422)".to_string()
            }
            Err(GitLabError::Conflict { .. }) => {
                let own = self
                    .own_mrs(gitlab, project, &r.branch, MrState::Opened)
                    .await?;
                if let Some(mr) = own.first() {
                    self.adopt(
                        r,
                        mr,
                        "adopted the bot's open MR of this branch (reopen refused: 409)",
                        now_ms(),
                    );
                    self.table.put(r)?;
                    return Ok(());
                }
                "another open MR, not the bot's, has the same branches (409)".to_string()
            }
            Err(e) => return Err(e.into()),
        };
        // A fresh MR on a fresh branch name: the old closed MR keeps its branch name (and a
        // closed bot MR of a branch means a dismissal when opening).
        let fresh = ownership::next_alternative(r);
        let old = std::mem::replace(&mut r.branch, fresh);
        r.bot_wrote_branch = false;
        r.edited_by_person = false;
        r.mr_iid = None;
        r.mr_url = None;
        r.transition(
            State::Planned,
            by,
            format!(
                "{why}; the old MR could not be reopened: {refused}; a fresh MR from `{}` replaces the one from `{old}`",
                r.branch
            ),
            now_ms(),
        );
        self.open(gitlab, project, default_branch, r).await?;
        self.table.put(r)?;
        Ok(())
    }

    /// The MR of `branch` was merged.
    pub fn merged(&self, r: &mut Remediation, by: &str) -> Result<(), StoreError> {
        let why = "the MR was merged; fixed once the default branch shows it";
        r.transition(State::Merged, by, why, now_ms());
        self.table.put(r)?;
        // A group MR: every fix it carries is merged with it.
        for mut other in self.group_siblings(r)? {
            other.transition(State::Merged, by, why, now_ms());
            self.table.put(&other)?;
        }
        Ok(())
    }

    /// The other open remediations carried by the same MR (a `group: manifest` MR).
    pub fn group_siblings(&self, r: &Remediation) -> Result<Vec<Remediation>, StoreError> {
        let Some(iid) = r.mr_iid else {
            return Ok(Vec::new());
        };
        Ok(self
            .table
            .of_project(r.project)?
            .into_iter()
            .filter(|o| {
                o.id != r.id
                    && o.state == State::MrOpen
                    && o.mr_iid == Some(iid)
                    && o.branch == r.branch
            })
            .collect())
    }

    /// Whether an open remediation shares its group MR with others (it then leaves the MR
    /// instead of closing it).
    fn leaves_group(&self, r: &Remediation) -> Result<bool, StoreError> {
        Ok(r.branch == super::group::group_branch(&r.manifest)
            && !self.group_siblings(r)?.is_empty())
    }

    /// A person closed the MR: ignore this version and say how to undo.
    pub async fn dismissed(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        by: &str,
    ) -> Result<(), ExecError> {
        let dismiss = |x: &mut Remediation| {
            if let Some(t) = &x.target_version {
                if !x.ignored_versions.contains(t) {
                    x.ignored_versions.push(t.clone());
                }
            }
            x.transition(
                State::Dismissed,
                by,
                "the MR was closed by a person",
                now_ms(),
            );
        };
        // A group MR: every fix it carries is dismissed with it (one note says so).
        for mut other in self.group_siblings(r)? {
            dismiss(&mut other);
            self.table.put(&other)?;
        }
        dismiss(r);
        self.table.put(r)?;
        if let Some(iid) = r.mr_iid {
            gitlab
                .create_merge_request_note(
                    &ProjectRef::Id(project.id),
                    iid,
                    &render::dismissed_note(r),
                )
                .await?;
        }
        Ok(())
    }

    /// Rebases the MR: GitLab's rebase unless GitLab knows it conflicts; GitLab rebases in the
    /// background, so the MR is polled (`rebase_in_progress`, `merge_error`). When the MR
    /// conflicts or the rebase failed and no person edited the branch, the branch is
    /// regenerated from the default branch. A mergeability GitLab has not checked yet is
    /// unknown, never taken as clean.
    pub async fn rebase(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
    ) -> Result<String, ExecError> {
        let Some(iid) = r.mr_iid else {
            return Ok("there is no MR to rebase".into());
        };
        let Some(default_branch) = project.default_branch.as_deref() else {
            return Ok("the project has no default branch".into());
        };
        let p = ProjectRef::Id(project.id);
        let mut mr = gitlab.merge_request(&p, iid).await?;
        let mut wait = POLL_START;
        for _ in 0..CHECK_POLLS {
            if mergeability(&mr) != Mergeability::Unknown {
                break;
            }
            gitlab.pause(wait).await;
            wait *= 2;
            mr = gitlab.merge_request(&p, iid).await?;
        }
        if mergeability(&mr) == Mergeability::Conflict {
            return self
                .regenerate(gitlab, project, default_branch, r, "the branch conflicted")
                .await;
        }
        match gitlab.rebase_merge_request(&p, iid).await {
            Ok(()) => {}
            Err(e) => match rebase_refusal(&e) {
                Some(RebaseRefusal::SourceBranchMissing) => {
                    return self
                        .regenerate(
                            gitlab,
                            project,
                            default_branch,
                            r,
                            "GitLab could not rebase: the source branch is gone",
                        )
                        .await;
                }
                Some(refusal) => return Ok(refusal.reply(&mr.source_branch)),
                None => return Err(e.into()),
            },
        }
        let mut wait = POLL_START;
        for _ in 0..REBASE_POLLS {
            let mr = gitlab.merge_request(&p, iid).await?;
            match rebase_progress(&mr) {
                RebaseProgress::Running => {
                    gitlab.pause(wait).await;
                    wait *= 2;
                }
                RebaseProgress::Done => return Ok("rebased on the default branch".into()),
                RebaseProgress::Failed(error) => {
                    let why = format!("GitLab's rebase failed ({})", render::one_line(&error, 200));
                    return self
                        .regenerate(gitlab, project, default_branch, r, &why)
                        .await;
                }
            }
        }
        Ok("rebase requested; GitLab is still working on it".into())
    }

    /// Regenerates the branch after a conflict or a failed rebase, unless a person edited it.
    async fn regenerate(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        default_branch: &str,
        r: &mut Remediation,
        why: &str,
    ) -> Result<String, ExecError> {
        if let Some(done) = self
            .rewrite_group(gitlab, project, default_branch, r, false)
            .await?
        {
            // The group step saved it: carry on with what it saved.
            if let Some(fresh) = self.table.get(r.id)? {
                *r = fresh;
            }
            return Ok(format!("{why}: {done}"));
        }
        if r.edited_by_person {
            return Ok(format!("{why} and has commits by a person: `/backline recreate` rebuilds it (discarding them)"));
        }
        self.write_branch(gitlab, project, default_branch, r)
            .await?;
        self.table.put(r)?;
        Ok(format!("{why}: regenerated it from the default branch"))
    }

    /// Rebuilds the branch from the default branch, discarding edits.
    pub async fn recreate(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        by: &str,
    ) -> Result<String, ExecError> {
        let Some(default_branch) = project.default_branch.as_deref() else {
            return Ok("the project has no default branch".into());
        };
        if let Some(done) = self
            .rewrite_group(gitlab, project, default_branch, r, true)
            .await?
        {
            if let Some(fresh) = self.table.get(r.id)? {
                *r = fresh;
            }
            r.record(by, "group branch recreated on request", now_ms());
            self.table.put(r)?;
            return Ok(format!(
                "recreated the group branch from the default branch: {done}"
            ));
        }
        r.edited_by_person = false;
        self.write_branch(gitlab, project, default_branch, r)
            .await?;
        r.record(by, "branch recreated on request", now_ms());
        self.table.put(r)?;
        Ok("recreated the branch from the default branch".into())
    }

    /// Approves a planned remediation (and opens its MR when the cap allows).
    pub async fn approve(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        by: &str,
    ) -> Result<String, ExecError> {
        if r.approved_by.is_none() {
            r.approved_by = Some(by.to_string());
        }
        if r.state != State::Planned {
            self.table.put(r)?;
            return Ok(format!("approved (it is {})", r.state.as_str()));
        }
        // A group MR counts once.
        let open = super::group::open_mrs(&self.table.of_project(project.id)?);
        if r.advisories.is_empty() {
            if let Some(wait) = self.upgrade_wait(project.id)? {
                r.reason = Some(wait.reason.clone());
                self.table.put(r)?;
                self.note_schedule(project.id, Some(wait.opens_ms));
                return Ok(format!("approved; {}", wait.reason));
            }
        }
        if open >= self.effective(project.id)?.max_open_mrs.value {
            r.reason = Some(format!(
                "approved; waits: {open} bot MRs are open (the cap)"
            ));
            self.table.put(r)?;
            return Ok("approved; it opens when an open bot MR closes (the cap is reached)".into());
        }
        let Some(default_branch) = project.default_branch.as_deref() else {
            return Ok("the project has no default branch".into());
        };
        self.open(gitlab, project, default_branch, r).await?;
        Ok(format!("approved: {}", r.state.as_str()))
    }

    /// Compares each open remediation's MR with GitLab (a missed webhook: merged or closed while
    /// backline was not told) and moves the remediation as the event would have. Returns one
    /// line per repair.
    pub async fn reconcile_mrs(&self, project: &CatalogProject) -> Result<Vec<String>, ExecError> {
        let p = ProjectRef::Id(project.id);
        let mut lines = Vec::new();
        for mut r in self.table.of_project(project.id)? {
            if r.state != State::MrOpen {
                continue;
            }
            let Some(iid) = r.mr_iid else { continue };
            let mr = match self.gitlab.merge_request(&p, iid).await {
                Ok(mr) if !mr.is_bots(project.id, self.bot.id) => {
                    // Never the bot's MR (a record from before ownership was checked): let go.
                    r.mr_iid = None;
                    r.mr_url = None;
                    r.bot_wrote_branch = false;
                    r.transition(
                        State::Planned,
                        BOT,
                        "its MR is not the bot's own (from a fork or opened by a person)",
                        now_ms(),
                    );
                    self.table.put(&r)?;
                    lines.push(format!("{}: MR not the bot's, planned again", r.package));
                    continue;
                }
                Ok(mr) => mr,
                Err(e) if e.is_not_found() => {
                    r.mr_iid = None;
                    r.transition(State::Planned, BOT, "its MR is gone", now_ms());
                    self.table.put(&r)?;
                    lines.push(format!("{}: MR gone, planned again", r.package));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match mr.state {
                MergeRequestState::Merged => {
                    self.merged(&mut r, "gitlab")?;
                    lines.push(format!("{}: MR was merged (missed event)", r.package));
                }
                MergeRequestState::Closed => {
                    self.dismissed(&self.gitlab, project, &mut r, "someone")
                        .await?;
                    lines.push(format!(
                        "{}: MR was closed (missed event): dismissed",
                        r.package
                    ));
                }
                MergeRequestState::Opened => {
                    // A missed Pipeline Hook: the MR's head pipeline says what it would have.
                    if let Some(line) = self.catch_up_pipeline(project, &mut r, &mr).await? {
                        lines.push(line);
                    }
                }
                _ => {}
            }
        }
        Ok(lines)
    }

    /// Ignores this fix (`what` = none), an advisory id or alias, or a version; when nothing the
    /// fix is for remains, the MR is closed and the remediation dismissed. Returns the answer.
    pub async fn ignore(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        r: &mut Remediation,
        who: &str,
        what: Option<&str>,
    ) -> Result<String, ExecError> {
        match what {
            Some(w)
                if r.advisories.iter().any(|a| {
                    a.id.eq_ignore_ascii_case(w)
                        || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(w))
                }) =>
            {
                r.ignored_advisories.push(w.to_string());
            }
            Some(v) => r.ignored_versions.push(v.to_string()),
            None => {
                if let Some(t) = &r.target_version {
                    r.ignored_versions.push(t.clone());
                }
            }
        }
        let dismiss = r.is_ignored();
        if dismiss && r.state == State::MrOpen {
            if let Some(iid) = r.mr_iid {
                gitlab
                    .update_merge_request(
                        &ProjectRef::Id(project.id),
                        iid,
                        &MergeRequestUpdate {
                            state_event: Some("close".into()),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
        }
        if dismiss {
            r.transition(State::Dismissed, who, "ignored on request", now_ms());
        } else {
            r.record(
                who,
                format!("ignored {}", what.unwrap_or("this fix")),
                now_ms(),
            );
        }
        self.table.put(r)?;
        Ok(if dismiss {
            "ignored; the MR is closed. `/backline unignore` undoes it".into()
        } else {
            "noted; other advisories still need this fix".into()
        })
    }

    /// Looks up the remediation of `project`'s bot branch `branch`.
    pub fn by_branch(
        &self,
        project: crate::gitlab::ProjectId,
        branch: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        self.table.by_branch(project, branch)
    }

    /// The MR number of a remediation, if any.
    pub fn iid(r: &Remediation) -> Option<MrIid> {
        r.mr_iid
    }
}

/// Every vulnerable installed version of `v`, none claimed yet (the branch decides).
/// A file edit as a commit action (base64 when it is not UTF-8).
pub(super) fn commit_action(e: Edit) -> CommitAction {
    match String::from_utf8(e.content) {
        Ok(text) => CommitAction::update(e.path, text),
        Err(bytes) => CommitAction {
            encoding: Some("base64".into()),
            ..CommitAction::update(
                e.path,
                base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes()),
            )
        },
    }
}

fn pending_copies(v: &Vulnerable) -> Vec<Copy> {
    v.versions().into_iter().map(Copy::pending).collect()
}

/// Whether GitLab refused a commit because its branch already exists.
/// The remediation claims exactly the copies the outcome's edits move; returns the edits.
pub(super) fn claim(r: &mut Remediation, outcome: FixOutcome) -> Vec<Edit> {
    r.copies = outcome
        .moved
        .into_iter()
        .map(|c| Copy {
            version: c.version,
            paths: c.paths,
            claim: Claim::Moved,
        })
        .chain(outcome.left.into_iter().map(|(c, reason)| Copy {
            version: c.version,
            paths: c.paths,
            claim: Claim::Left { reason },
        }))
        .collect();
    r.route = Some(outcome.route);
    outcome.edits
}

pub(super) fn branch_exists(e: &GitLabError) -> bool {
    matches!(e, GitLabError::Validation { message, .. } if message.contains("already exists"))
}

/// Why GitLab refused to queue a rebase (`PUT .../rebase`, lib/api/merge_requests.rb with
/// app/services/merge_requests/rebase_service.rb `validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebaseRefusal {
    /// 403 "Source branch does not exist": the branch is regenerated.
    SourceBranchMissing,
    /// 403 "Source branch is protected from force push".
    Protected,
    /// 403 "Cannot push to source branch": the bot's role cannot push there.
    CannotPush,
    /// 409 "Failed to enqueue the rebase operation": a lock; asking again later works.
    NotEnqueued,
}

/// Classifies a rebase error (pure); `None` for any other error.
pub fn rebase_refusal(e: &crate::gitlab::GitLabError) -> Option<RebaseRefusal> {
    use crate::gitlab::GitLabError;
    match e {
        GitLabError::Forbidden { message, .. } => {
            if message.contains("Source branch does not exist") {
                Some(RebaseRefusal::SourceBranchMissing)
            } else if message.contains("protected from force push") {
                Some(RebaseRefusal::Protected)
            } else if message.contains("Cannot push to source branch") {
                Some(RebaseRefusal::CannotPush)
            } else {
                None
            }
        }
        GitLabError::Conflict { message, .. }
            if message.contains("Failed to enqueue the rebase operation") =>
        {
            Some(RebaseRefusal::NotEnqueued)
        }
        _ => None,
    }
}

impl RebaseRefusal {
    /// The reply to `/backline rebase`.
    pub fn reply(self, branch: &str) -> String {
        let branch = render::one_line(branch, 200);
        match self {
            RebaseRefusal::SourceBranchMissing => {
                format!("GitLab could not rebase: the branch {branch} is gone")
            }
            RebaseRefusal::Protected => format!(
                "GitLab will not rebase: the branch {branch} is protected from force push; allow force push on it (Settings → Repository → Protected branches) or merge the default branch into it"
            ),
            RebaseRefusal::CannotPush => format!(
                "GitLab will not rebase: the bot cannot push to {branch} (its role, or branch protection)"
            ),
            RebaseRefusal::NotEnqueued => "GitLab could not queue the rebase just now (another operation held the merge request); send `/backline rebase` again in a minute".to_string(),
        }
    }
}

#[cfg(test)]
mod rebase_refusal_tests {
    use super::*;
    use crate::gitlab::GitLabError;

    fn from(status: u16, body: &str) -> GitLabError {
        GitLabError::from_status("PUT /rebase".into(), status, body.as_bytes(), None)
    }

    #[test]
    fn gitlabs_rebase_refusals_are_told_apart() {
        let cases = [
            (
                403,
                r#"{"merge_error":"Source branch does not exist"}"#,
                Some(RebaseRefusal::SourceBranchMissing),
            ),
            (
                403,
                r#"{"merge_error":"Source branch is protected from force push"}"#,
                Some(RebaseRefusal::Protected),
            ),
            (
                403,
                r#"{"merge_error":"Cannot push to source branch"}"#,
                Some(RebaseRefusal::CannotPush),
            ),
            (
                409,
                r#"{"merge_error":"Failed to enqueue the rebase operation, possibly due to a long-lived transaction. Try again later."}"#,
                Some(RebaseRefusal::NotEnqueued),
            ),
            (403, r#"{"message":"403 Forbidden"}"#, None),
            (409, r#"{"message":"something else"}"#, None),
            (500, r#"{"message":"500 Internal Server Error"}"#, None),
        ];
        for (status, body, want) in cases {
            assert_eq!(rebase_refusal(&from(status, body)), want, "{status} {body}");
        }
        assert!(RebaseRefusal::Protected
            .reply("backline/x")
            .contains("`backline/x` is protected from force push"));
    }
}
