//! Keeping each project's dependency state current: a full scan (one tree listing, then only
//! changed manifest blobs) for new, changed or stale projects, and a push reaction that re-reads
//! only the manifests a push touched, or nothing at all. Findings are recomputed from the stored
//! manifests and the advisory index, keeping their first-seen times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use futures_util::StreamExt;

use crate::advisories::Index;
use crate::catalog::service::AfterSync;
use crate::catalog::{Catalog, CatalogProject};
use crate::clock::now_ms;
use crate::deps::DiscoveryRules;
use crate::findings::outdated::{Outdated, OutdatedTable};
use crate::findings::table::{FindingsDiff, FindingsTable};
use crate::findings::{findings_for, Finding};
use crate::gitlab::hooks::push::PushEvent;
use crate::gitlab::{GitLab, ProjectId};
use crate::inventory::{
    refresh_all, refresh_touched, Head, Inventory, RefreshError, RefreshReport,
};
use crate::remediation::executor::{ExecError, Executor};
use crate::store::StoreError;

/// The advisory index in use; replaced whole when advisories change.
pub type SharedIndex = Arc<RwLock<Arc<Index>>>;

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

/// Scans projects and reacts to pushes.
pub struct Scanner {
    gitlab: GitLab,
    catalog: Catalog,
    /// The manifests.
    pub inventory: Inventory,
    /// The findings.
    pub findings: FindingsTable,
    index: SharedIndex,
    rules: DiscoveryRules,
    concurrency: usize,
    locks: Mutex<HashMap<ProjectId, Arc<tokio::sync::Mutex<()>>>>,
    executor: std::sync::OnceLock<Arc<Executor>>,
    outdated: std::sync::OnceLock<(Arc<dyn crate::registry::Registry>, OutdatedTable, bool)>,
    advisory_sync: tokio::sync::Mutex<()>,
    last_advisory_sync: Mutex<Option<serde_json::Value>>,
    /// The repository policies and the public URL their statuses link to.
    policies: std::sync::OnceLock<(crate::policy::PolicyTable, Option<String>)>,
}

impl Scanner {
    /// A scanner over the given tables.
    pub fn new(
        gitlab: GitLab,
        catalog: Catalog,
        inventory: Inventory,
        findings: FindingsTable,
        index: SharedIndex,
        concurrency: usize,
    ) -> Self {
        Scanner {
            gitlab,
            catalog,
            inventory,
            findings,
            index,
            rules: DiscoveryRules::default(),
            concurrency: concurrency.max(1),
            locks: Mutex::new(HashMap::new()),
            executor: std::sync::OnceLock::new(),
            outdated: std::sync::OnceLock::new(),
            advisory_sync: tokio::sync::Mutex::new(()),
            last_advisory_sync: Mutex::new(None),
            policies: std::sync::OnceLock::new(),
        }
    }

    /// Sets the policy table (once): policy files are read at scans and on pushes touching
    /// them; `public_url` is where the `backline/policy` status links.
    pub fn set_policies(&self, table: crate::policy::PolicyTable, public_url: Option<String>) {
        let _ = self.policies.set((table, public_url));
    }

    /// The policy table, when set.
    pub fn policies(&self) -> Option<&crate::policy::PolicyTable> {
        self.policies.get().map(|(t, _)| t)
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
        let Some((table, url)) = self.policies.get() else {
            return Ok((self.rules.clone(), true));
        };
        let line = crate::policy::read::refresh(
            gitlab,
            table,
            project,
            git_ref,
            changed_in,
            url.as_deref(),
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
        let Some((table, _)) = self.policies.get() else {
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

    /// Sets the remediation executor (once); without it findings are recorded but not acted on.
    pub fn set_executor(&self, executor: Arc<Executor>) {
        let _ = self.executor.set(executor);
    }

    /// Sets the registry for outdated checks (once); `plan_updates` also plans upgrades of
    /// outdated direct dependencies (never auto-approved).
    pub fn set_outdated(
        &self,
        registry: Arc<dyn crate::registry::Registry>,
        table: OutdatedTable,
        plan_updates: bool,
    ) {
        let _ = self.outdated.set((registry, table, plan_updates));
    }

    /// Asks the registry for the latest version of each pinned direct dependency (the registry
    /// client caches answers for a day) and stores those behind. A registry failure leaves the
    /// previous list.
    async fn check_outdated(&self, project: ProjectId) -> Result<(), StoreError> {
        let Some((registry, table, _)) = self.outdated.get() else {
            return Ok(());
        };
        let mut wanted = Vec::new();
        for m in self.inventory.manifests(project)? {
            for d in m.dependencies.iter().filter(|d| d.direct && !d.dev) {
                // Git, path and other-registry dependencies are not the registry's package.
                if let Some(v) = d.checkable_version() {
                    wanted.push((m.path.clone(), d.ecosystem, d.name.clone(), v.to_string()));
                }
            }
        }
        let results: Vec<Option<Outdated>> = futures_util::stream::iter(wanted)
            .map(|(manifest, eco, name, installed)| async move {
                match registry.latest(eco, &name).await {
                    Ok(Some(latest))
                        if crate::advisories::version::compare(eco, &latest, &installed)
                            == std::cmp::Ordering::Greater =>
                    {
                        Some(Outdated {
                            manifest,
                            ecosystem: eco,
                            package: name,
                            installed,
                            latest,
                        })
                    }
                    Ok(_) => None,
                    Err(e) => {
                        tracing::debug!(package = %crate::untrusted::printable(&name), error = %e, "latest version unknown");
                        None
                    }
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let list: Vec<Outdated> = results.into_iter().flatten().collect();
        table.replace(project, &list)
    }

    /// The remediation executor, when set.
    pub fn executor(&self) -> Option<&Arc<Executor>> {
        self.executor.get()
    }

    /// Runs one closure while holding the project's lock.
    pub async fn with_project_lock<T, F: std::future::Future<Output = T>>(
        &self,
        project: ProjectId,
        f: F,
    ) -> T {
        let lock = self.lock(project);
        let _held = lock.lock().await;
        f.await
    }

    /// Ignores a remediation (a version, an advisory, or the fix) under its project's lock,
    /// closing its MR when nothing remains to fix.
    pub async fn ignore_now(
        &self,
        id: u64,
        who: &str,
        what: Option<&str>,
    ) -> Result<String, crate::remediation::executor::ExecError> {
        let Some(executor) = self.executor.get() else {
            return Ok("no GitLab configured".into());
        };
        let Some(r) = executor.table.get(id)? else {
            return Ok("no such remediation".into());
        };
        let Some(project) = self.catalog.get(r.project)? else {
            return Ok("the project is no longer catalogued".into());
        };
        let lock = self.lock(r.project);
        let _held = lock.lock().await;
        let Some(mut r) = executor.table.get(id)? else {
            return Ok("no such remediation".into());
        };
        executor
            .ignore(&self.gitlab, &project, &mut r, who, what)
            .await
    }

    /// Plans and acts on a project now (after an approval), under its lock.
    pub async fn act_now(&self, project: ProjectId) -> Result<Vec<String>, RefreshError> {
        let Some(p) = self.catalog.get(project)? else {
            return Ok(Vec::new());
        };
        let lock = self.lock(project);
        let _held = lock.lock().await;
        self.act(&p, None).await
    }

    /// Plans and acts on the project's current findings (under the caller's project lock).
    async fn act(
        &self,
        project: &CatalogProject,
        uuid: Option<&str>,
    ) -> Result<Vec<String>, RefreshError> {
        let Some(executor) = self.executor.get() else {
            return Ok(Vec::new());
        };
        let findings: Vec<Finding> = self
            .findings
            .of_project(project.id)?
            .into_iter()
            .map(|s| s.finding)
            .collect();
        let plan_updates = match self.policies.get() {
            Some((policies, _)) => policies.effective(project.id)?.update_outdated.value,
            None => matches!(self.outdated.get(), Some((_, _, true))),
        };
        let updates = match self.outdated.get() {
            Some((_, table, _)) if plan_updates => table.of_project(project.id)?,
            _ => Vec::new(),
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
    pub fn current_index(&self) -> Arc<Index> {
        self.index()
    }

    /// Which paths are manifests (and which are skipped).
    pub fn rules(&self) -> &DiscoveryRules {
        &self.rules
    }

    fn index(&self) -> Arc<Index> {
        self.index
            .read()
            .map(|i| i.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// One project's work at a time (a push and a rescan never interleave).
    fn lock(&self, project: ProjectId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(project).or_default().clone()
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
        let lock = self.lock(project.id);
        let _held = lock.lock().await;
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
            self.check_outdated(project.id).await?;
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
        let lock = self.lock(project.id);
        let _held = lock.lock().await;
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
            self.check_outdated(project.id).await?;
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
        let Some(executor) = self.executor.get() else {
            return Ok(format!(
                "push to {branch} of {path}: not the default branch"
            ));
        };
        let lock = self.lock(project.id);
        let _held = lock.lock().await;
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
    fn recompute(&self, project: ProjectId) -> Result<(FindingsDiff, usize), StoreError> {
        let index = self.index();
        let mut all: Vec<Finding> = Vec::new();
        for m in self.inventory.manifests(project)? {
            all.extend(findings_for(&m.path, &m.dependencies, &index));
        }
        let vulnerabilities = all.iter().filter(|f| f.is_vulnerability()).count();
        let diff = self.findings.replace(project, all, now_ms())?;
        Ok((diff, vulnerabilities))
    }

    /// Downloads the advisories from OSV (conditional requests; unchanged ecosystems keep their
    /// data), swaps the new index in, then recomputes every project's findings and acts on
    /// them. Returns a summary of what changed, also kept for `GET /api/v1/advisories`.
    pub async fn sync_advisories(
        &self,
        store: &crate::store::Store,
        options: &crate::advisories::SyncOptions,
    ) -> Result<serde_json::Value, String> {
        let _running = self.advisory_sync.lock().await;
        let report = crate::advisories::sync(store, options)
            .await
            .map_err(|e| e.to_string())?;
        let outcomes: Vec<serde_json::Value> = report
            .outcomes
            .iter()
            .map(|(eco, outcome)| {
                let what = match outcome {
                    crate::advisories::Outcome::Updated { advisories, .. } => {
                        format!("updated: {advisories} advisories")
                    }
                    crate::advisories::Outcome::NotModified => "not modified".to_string(),
                    crate::advisories::Outcome::Failed(m) => format!("failed: {m}"),
                };
                serde_json::json!({"ecosystem": eco, "outcome": what})
            })
            .collect();
        let changed = report
            .outcomes
            .iter()
            .any(|(_, o)| matches!(o, crate::advisories::Outcome::Updated { .. }));
        let advisories = report.index.stats().advisories;
        let projects = if changed {
            self.replace_index(report.index)
                .await
                .map_err(|e| e.to_string())?
        } else {
            0
        };
        let summary = serde_json::json!({
            "at": crate::clock::rfc3339(now_ms()),
            "ecosystems": outcomes,
            "advisories": advisories,
            "projects_rechecked": projects,
        });
        if let Ok(mut last) = self.last_advisory_sync.lock() {
            *last = Some(summary.clone());
        }
        Ok(summary)
    }

    /// The last advisory sync's summary.
    pub fn last_advisory_sync(&self) -> Option<serde_json::Value> {
        self.last_advisory_sync.lock().ok().and_then(|l| l.clone())
    }

    /// Counts of the advisory index in use.
    pub fn index_stats(&self) -> crate::advisories::Stats {
        self.index().stats().clone()
    }

    /// Swaps the advisory index in, then recomputes every project's findings and acts on them
    /// (a newer advisory moves open MRs to a higher version; a withdrawn one resolves findings).
    pub async fn replace_index(&self, mut index: Index) -> Result<usize, RefreshError> {
        // The configured default for unknown severities carries over to the new index.
        index.set_unknown_severity(self.index().unknown_severity());
        match self.index.write() {
            Ok(mut current) => *current = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
        let ids = self.catalog.ids()?;
        for id in &ids {
            let Some(project) = self.catalog.get(*id)? else {
                continue;
            };
            let lock = self.lock(*id);
            let _held = lock.lock().await;
            self.recompute(*id)?;
            self.act(&project, None).await?;
        }
        Ok(ids.len())
    }

    /// Forgets a project's manifests and findings.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        if let Some((_, table, _)) = self.outdated.get() {
            table.forget(project)?;
        }
        self.inventory.forget(project)?;
        self.findings.forget(project)
    }

    /// Scans every stale catalogued project (a few at a time) and forgets the state of projects
    /// no longer catalogued. Returns how many were scanned.
    pub async fn scan_stale(&self) -> Result<usize, StoreError> {
        for id in self.inventory.project_ids()? {
            if self.catalog.get(id)?.is_none() {
                self.forget(id)?;
            }
        }
        let mut stale = Vec::new();
        for id in self.catalog.ids()? {
            if let Some(p) = self.catalog.get(id)? {
                if self.is_stale(&p)? {
                    stale.push(p);
                }
            }
        }
        let scanned = stale.len();
        // Repair what missed MR webhooks would have told (merged or closed while not told).
        if let Some(executor) = self.executor.get() {
            for id in self.catalog.ids()? {
                let Some(p) = self.catalog.get(id)? else {
                    continue;
                };
                let lock = self.lock(id);
                let _held = lock.lock().await;
                match executor.reconcile_mrs(&p).await {
                    Ok(lines) => {
                        for line in lines {
                            tracing::info!(project = %p.path_with_namespace, "reconciled: {}", crate::untrusted::printable(&line));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(project = %p.path_with_namespace, error = %e, "MR reconcile failed")
                    }
                }
            }
        }
        // Fixes waiting for a package registry: tried again (each registry's back-off decides
        // whether it is asked now or the fix keeps waiting).
        let stale_ids: Vec<ProjectId> = stale.iter().map(|p| p.id).collect();
        if let Some(executor) = self.executor.get() {
            for id in executor.waiting_on_registry() {
                if stale_ids.contains(&id) {
                    continue;
                }
                let Some(p) = self.catalog.get(id)? else {
                    continue;
                };
                let lock = self.lock(id);
                let _held = lock.lock().await;
                match self.act(&p, None).await {
                    Ok(lines) => {
                        for line in lines {
                            tracing::info!(project = %p.path_with_namespace, "{line}");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(project = %p.path_with_namespace, error = %e, "acting again failed")
                    }
                }
            }
        }
        futures_util::stream::iter(stale)
            .for_each_concurrent(self.concurrency, |p| async move {
                match self.scan(&p, None).await {
                    Ok(Some(s)) => tracing::info!(
                        project = %p.path_with_namespace,
                        "scanned: {}",
                        s.describe()
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        project = %p.path_with_namespace,
                        error = %e,
                        "scan failed; the next sync will try again"
                    ),
                }
            })
            .await;
        Ok(scanned)
    }
}

#[async_trait]
impl AfterSync for Scanner {
    async fn after_sync(&self) {
        match self.scan_stale().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(projects = n, "scanned new and changed projects"),
            Err(e) => tracing::warn!(error = %e, "scanning after the sync failed"),
        }
    }
}
