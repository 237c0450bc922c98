//! Keeping each project's dependency state current: a full scan (one tree listing, then only
//! changed manifest blobs) for new, changed or stale projects, and a push reaction that re-reads
//! only the manifests a push touched, or nothing at all. Findings are recomputed from the stored
//! manifests and the advisory index, keeping their first-seen times; then the remediation
//! executor acts on them.
//!
//! Every method here works on one project and expects its caller to own the project's lane: a
//! worker running one of its deliveries or actions, or [`crate::lanes::Lanes::hold`]. There is
//! no lock of its own.

use std::sync::Arc;

use crate::catalog::{Catalog, CatalogProject};
use crate::clock::now_ms;
use crate::deps::DiscoveryRules;
use crate::findings::table::{FindingsDiff, FindingsTable};
use crate::findings::{findings_for, Finding};
use crate::gitlab::hooks::push::PushEvent;
use crate::gitlab::{GitLab, ProjectId};
use crate::inventory::{
    refresh_all, refresh_touched, Head, Inventory, RefreshError, RefreshReport,
};
use crate::remediation::executor::{ExecError, Executor};
use crate::store::StoreError;

use super::index::AdvisoryIndex;
use super::outdated::OutdatedChecks;

/// What a scan did.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    /// Manifests read.
    pub refresh: RefreshReport,
    /// Findings changes.
    pub findings: FindingsDiff,
    /// Vulnerabilities now (informational advisories not counted).
    pub vulnerabilities: usize,
    /// What the remediation executor did.
    pub actions: Vec<String>,
}

impl ScanSummary {
    /// One line for a delivery's outcome.
    pub fn describe(&self) -> String {
        let r = &self.refresh;
        let mut s = format!(
            "{} manifest{} ({} re-read, {} unchanged, {} removed), {} vulnerabilit{} ({} new, {} resolved)",
            r.manifests,
            if r.manifests == 1 { "" } else { "s" },
            r.parsed,
            r.reused,
            r.removed,
            self.vulnerabilities,
            if self.vulnerabilities == 1 { "y" } else { "ies" },
            self.findings.new,
            self.findings.resolved,
        );
        if !r.errors.is_empty() {
            s.push_str(&format!(", {} unreadable: {}", r.errors.len(), r.errors[0]));
        }
        if !self.actions.is_empty() {
            s.push_str(&format!("; remediation: {}", self.actions.join("; ")));
        }
        s
    }
}

/// Scans projects, reacts to pushes and acts on findings, one project at a time.
pub struct Scanner {
    gitlab: GitLab,
    catalog: Catalog,
    /// The manifests.
    pub inventory: Inventory,
    /// The findings.
    pub findings: FindingsTable,
    index: AdvisoryIndex,
    rules: DiscoveryRules,
    executor: Arc<Executor>,
    outdated: OutdatedChecks,
    /// The repository policies (`.gitlab/backline.yml`), when kept.
    policies: Option<crate::policy::PolicyTable>,
    /// Where the `backline/policy` status links.
    public_url: Option<String>,
}

/// What a [`Scanner`] works with.
pub struct ScannerParts {
    /// GitLab, as the bot.
    pub gitlab: GitLab,
    /// The catalog.
    pub catalog: Catalog,
    /// The manifests.
    pub inventory: Inventory,
    /// The findings.
    pub findings: FindingsTable,
    /// The advisory index.
    pub index: AdvisoryIndex,
    /// The remediation executor.
    pub executor: Arc<Executor>,
    /// Outdated checks.
    pub outdated: OutdatedChecks,
    /// The repository policies: read at scans and on pushes touching the policy file.
    pub policies: Option<crate::policy::PolicyTable>,
    /// Where the `backline/policy` status links.
    pub public_url: Option<String>,
}

impl Scanner {
    /// A scanner over its parts.
    pub fn new(parts: ScannerParts) -> Self {
        let ScannerParts {
            gitlab,
            catalog,
            inventory,
            findings,
            index,
            executor,
            outdated,
            policies,
            public_url,
        } = parts;
        Scanner {
            gitlab,
            catalog,
            inventory,
            findings,
            index,
            rules: DiscoveryRules::default(),
            executor,
            outdated,
            policies,
            public_url,
        }
    }

    /// The policy table, when kept.
    pub fn policies(&self) -> Option<&crate::policy::PolicyTable> {
        self.policies.as_ref()
    }

    /// Reads the project's policy file at `git_ref` (a push's commit in `changed_in` when the
    /// push touched it); the discovery rules and whether the project is enabled follow.
    async fn read_policy(
        &self,
        gitlab: &GitLab,
        project: ProjectId,
        git_ref: &str,
        changed_in: Option<&str>,
    ) -> Result<(DiscoveryRules, bool), RefreshError> {
        let Some(table) = &self.policies else {
            return Ok((self.rules.clone(), true));
        };
        let line = crate::policy::read::refresh(
            gitlab,
            table,
            project,
            git_ref,
            changed_in,
            self.public_url.as_deref(),
        )
        .await
        .map_err(|e| match e {
            crate::policy::read::PolicyReadError::GitLab(g) => RefreshError::GitLab(g),
            crate::policy::read::PolicyReadError::Store(s) => RefreshError::Store(s),
        })?;
        tracing::debug!(project = %project, "{}", crate::untrusted::printable(&line));
        self.policy_rules(project)
    }

    /// The discovery rules with the project's `paths_ignore`, and whether it is enabled.
    fn policy_rules(&self, project: ProjectId) -> Result<(DiscoveryRules, bool), RefreshError> {
        let Some(table) = &self.policies else {
            return Ok((self.rules.clone(), true));
        };
        let policy = table.effective(project)?;
        let mut rules = self.rules.clone();
        rules.skip.extend(
            policy
                .paths_ignore
                .value
                .iter()
                .map(|g| g.0.as_str().to_string()),
        );
        Ok((rules, policy.enabled.value))
    }

    /// The remediation executor.
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Ignores a remediation (a version, an advisory, or the fix), closing its MR when nothing
    /// remains to fix.
    pub async fn ignore(
        &self,
        id: u64,
        who: &str,
        what: Option<&str>,
    ) -> Result<String, ExecError> {
        let Some(r) = self.executor.table.get(id)? else {
            return Ok("no such remediation".into());
        };
        let Some(project) = self.catalog.get(r.project)? else {
            return Ok("the project is no longer catalogued".into());
        };
        let mut r = r;
        self.executor
            .ignore(&self.gitlab, &project, &mut r, who, what)
            .await
    }

    /// Plans and acts on a catalogued project's findings; nothing for one no longer catalogued.
    pub async fn act_on(&self, project: ProjectId) -> Result<Vec<String>, RefreshError> {
        let Some(p) = self.catalog.get(project)? else {
            return Ok(Vec::new());
        };
        self.act(&p, None).await
    }

    /// Plans and acts on the project's current findings.
    pub(crate) async fn act(
        &self,
        project: &CatalogProject,
        uuid: Option<&str>,
    ) -> Result<Vec<String>, RefreshError> {
        let executor = &self.executor;
        let findings: Vec<Finding> = self
            .findings
            .of_project(project.id)?
            .into_iter()
            .map(|s| s.finding)
            .collect();
        let updates = match &self.policies {
            Some(policies) => self.outdated.to_plan_if(
                project.id,
                policies.effective(project.id)?.update_outdated.value,
            )?,
            None => self.outdated.to_plan(project.id)?,
        };
        executor
            .apply(project, &findings, &updates, uuid)
            .await
            .map_err(|e| match e {
                ExecError::GitLab(g) => RefreshError::GitLab(g),
                ExecError::Store(s) => RefreshError::Store(s),
                ExecError::RegistryUnreachable(u) => RefreshError::Registry(u),
            })
    }

    /// The advisory index in use now.
    pub fn current_index(&self) -> Arc<crate::advisories::Index> {
        self.index()
    }

    /// Which paths are manifests (and which are skipped).
    pub fn rules(&self) -> &DiscoveryRules {
        &self.rules
    }

    fn index(&self) -> Arc<crate::advisories::Index> {
        self.index.current()
    }

    fn client(&self, uuid: Option<&str>) -> GitLab {
        match uuid {
            Some(u) => self.gitlab.on_behalf_of(u),
            None => self.gitlab.clone(),
        }
    }

    /// Whether a project's stored state may be behind GitLab: never scanned, another default
    /// branch, or activity since the last scan.
    pub fn is_stale(&self, project: &CatalogProject) -> Result<bool, StoreError> {
        let Some(head) = self.inventory.head(project.id)? else {
            return Ok(project.default_branch.is_some());
        };
        Ok(head.branch != project.default_branch || head.activity != project.last_activity_at)
    }

    /// Lists the project's default branch and brings its manifests and findings up to date.
    /// `None` for an empty repository (no default branch).
    pub async fn scan(
        &self,
        project: &CatalogProject,
        uuid: Option<&str>,
    ) -> Result<Option<ScanSummary>, RefreshError> {
        let Some(branch) = project.default_branch.clone() else {
            return Ok(None);
        };
        let gitlab = self.client(uuid);
        let (rules, enabled) = self.read_policy(&gitlab, project.id, &branch, None).await?;
        if !enabled {
            return Ok(Some(ScanSummary {
                actions: vec!["not scanned: the policy file says `enabled: false`".into()],
                ..ScanSummary::default()
            }));
        }
        let refresh = refresh_all(&gitlab, &self.inventory, project.id, &branch, &rules).await?;
        let (findings, vulnerabilities) = self.recompute(project.id)?;
        if refresh.parsed > 0 || refresh.removed > 0 {
            self.outdated.check(&self.inventory, project.id).await?;
        }
        self.inventory.set_head(
            project.id,
            &Head {
                branch: Some(branch),
                activity: project.last_activity_at.clone(),
                sha: None,
                refreshed_at_ms: now_ms(),
                tree_listed_at_ms: Some(now_ms()),
            },
        )?;
        let actions = self.act(project, uuid).await?;
        Ok(Some(ScanSummary {
            refresh,
            findings,
            vulnerabilities,
            actions,
        }))
    }

    /// Reacts to a push: on the default branch, re-reads the manifests it touched (or all of
    /// them when the push may hide changes) and recomputes the findings; otherwise nothing.
    pub async fn on_push(
        &self,
        push: &PushEvent,
        uuid: Option<&str>,
    ) -> Result<String, RefreshError> {
        let Some(project) = self.catalog.get(push.project_id)? else {
            return Ok(format!(
                "push to {}: not a catalogued project",
                push.project.path_with_namespace
            ));
        };
        let branch = push.branch().unwrap_or(&push.git_ref);
        if project.default_branch.as_deref() != Some(branch) {
            return self.on_other_branch_push(&project, branch, push).await;
        }
        if push.is_deletion() {
            return Ok(format!(
                "{branch} of {} deleted",
                project.path_with_namespace
            ));
        }
        let head = self.inventory.head(project.id)?;
        if head.as_ref().and_then(|h| h.sha.as_deref()) == Some(push.after.as_str()) {
            // The same push through another hook (project and system hooks both configured).
            return Ok(format!(
                "push to {branch} of {}: {} already read",
                project.path_with_namespace,
                &push.after[..push.after.len().min(8)]
            ));
        }
        let gitlab = self.client(uuid);
        // The listed commits tell the whole change only when they continue what we last saw
        // and nothing was left out; otherwise read the tree (a force push, a missed push, a
        // truncated list).
        let continuous = head.as_ref().and_then(|h| h.sha.as_deref()) == Some(push.before.as_str())
            || head
                .as_ref()
                .is_some_and(|h| h.sha.is_none() && h.branch.as_deref() == Some(branch));
        let whole =
            !continuous || push.is_truncated() || push.is_creation() || push.commits.is_empty();
        let touched = push.touched_paths();
        // The policy file is read again only when the push touched it (or may hide that it
        // did); then the whole tree is read, as `paths_ignore` may have moved.
        let policy_touched = crate::policy::read::touches_policy(touched.iter().copied());
        let (rules, enabled) = if policy_touched || whole {
            let changed_in = policy_touched.then(|| {
                crate::policy::read::last_commit_touching(&push.commits).unwrap_or(&push.after)
            });
            self.read_policy(&gitlab, project.id, &push.after, changed_in)
                .await?
        } else {
            self.policy_rules(project.id)?
        };
        if !enabled {
            return Ok(format!(
                "push to {branch} of {}: not read, the policy file says `enabled: false`",
                project.path_with_namespace
            ));
        }
        let whole = whole || policy_touched;
        let refresh = if whole {
            refresh_all(&gitlab, &self.inventory, project.id, &push.after, &rules).await?
        } else {
            refresh_touched(
                &gitlab,
                &self.inventory,
                project.id,
                &push.after,
                &touched,
                &rules,
            )
            .await?
        };
        let summary = if whole || refresh.parsed > 0 || refresh.removed > 0 {
            let (findings, vulnerabilities) = self.recompute(project.id)?;
            self.outdated.check(&self.inventory, project.id).await?;
            Some(ScanSummary {
                refresh,
                findings,
                vulnerabilities,
                actions: Vec::new(),
            })
        } else {
            None
        };
        self.inventory.set_head(
            project.id,
            &Head {
                branch: Some(branch.to_string()),
                activity: project.last_activity_at.clone(),
                sha: Some(push.after.clone()),
                refreshed_at_ms: now_ms(),
                tree_listed_at_ms: if whole {
                    Some(now_ms())
                } else {
                    head.and_then(|h| h.tree_listed_at_ms)
                },
            },
        )?;
        let summary = match summary {
            Some(mut s) => {
                s.actions = self.act(&project, uuid).await?;
                Some(s)
            }
            None => None,
        };
        Ok(match summary {
            Some(s) => format!(
                "push to {branch} of {}: {}{}",
                project.path_with_namespace,
                if whole { "whole tree read; " } else { "" },
                s.describe()
            ),
            None => format!(
                "push to {branch} of {}: no manifest touched, nothing read",
                project.path_with_namespace
            ),
        })
    }

    /// A push to another branch: when it is a bot branch and someone else pushed, the MR is
    /// marked edited by a person (no automatic force-push from then on).
    async fn on_other_branch_push(
        &self,
        project: &CatalogProject,
        branch: &str,
        push: &PushEvent,
    ) -> Result<String, RefreshError> {
        let path = &project.path_with_namespace;
        let executor = &self.executor;
        let Some(mut r) = executor.by_branch(project.id, branch)? else {
            return Ok(format!(
                "push to {branch} of {path}: not the default branch"
            ));
        };
        if push.user_id == executor.bot().id || push.is_deletion() {
            return Ok(format!(
                "push to bot branch {branch} of {path}: the bot's own"
            ));
        }
        if !r.edited_by_person {
            r.edited_by_person = true;
            let who = push
                .user_username
                .clone()
                .unwrap_or_else(|| "a person".into());
            r.history.push(crate::remediation::model::Transition {
                at_ms: now_ms(),
                from: Some(r.state),
                to: r.state,
                by: who.clone(),
                why: "pushed to the bot's branch: no automatic force-push from now on".into(),
            });
            executor.table.put(&r)?;
        }
        Ok(format!(
            "push to bot branch {branch} of {path} by someone else: marked edited by a person"
        ))
    }

    /// Recomputes a project's findings from its stored manifests.
    pub(crate) fn recompute(
        &self,
        project: ProjectId,
    ) -> Result<(FindingsDiff, usize), StoreError> {
        let index = self.index();
        let mut all: Vec<Finding> = Vec::new();
        for m in self.inventory.manifests(project)? {
            all.extend(findings_for(&m.path, &m.dependencies, &index));
        }
        let vulnerabilities = all.iter().filter(|f| f.is_vulnerability()).count();
        let diff = self.findings.replace(project, all, now_ms())?;
        Ok((diff, vulnerabilities))
    }

    /// Forgets a project's manifests, findings and outdated list.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        self.outdated.forget(project)?;
        self.inventory.forget(project)?;
        self.findings.forget(project)
    }
}
