//! Keeping the catalog current: a full sync (discover every project the bot may look after,
//! forget the rest) and single-project reconciliation for system hooks. Both are "make the state
//! so": running them twice changes nothing twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::catalog::filter::NamespaceFilter;
use crate::catalog::hooks::{HookManager, HookOutcome};
use crate::catalog::model::{CatalogProject, HookState};
use crate::catalog::table::{Catalog, Change};
use crate::clock::now_ms;
use crate::gitlab::rest::{access, Project, User};
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef};
use crate::store::StoreError;

/// Why a sync or a reconciliation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// GitLab failed.
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sync is already running.
    #[error("a catalog sync is already running")]
    Busy,
}

impl CatalogError {
    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            CatalogError::GitLab(e) => e.is_transient(),
            CatalogError::Store(_) => false,
            CatalogError::Busy => true,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Projects GitLab listed (member, Developer or more, not archived).
    pub listed: usize,
    /// Left out by the namespace allowlist or denylist.
    pub filtered_out: usize,
    /// New in the catalog.
    pub added: usize,
    /// Changed (renamed, moved, new default branch, ...).
    pub updated: usize,
    /// Already up to date (nothing written).
    pub unchanged: usize,
    /// No longer reachable: removed.
    pub removed: usize,
    /// Managed hooks created or repaired.
    pub hooks_checked: usize,
    /// Projects whose hook needs a Maintainer.
    pub hooks_need_maintainer: usize,
    /// Managed hooks GitLab had disabled that a test delivery enabled again.
    pub hooks_reenabled: usize,
    /// Managed hooks GitLab has disabled that could not be enabled yet.
    pub hooks_disabled: usize,
    /// Status badges created or checked.
    pub badges_checked: usize,
    /// GitLab requests this sync made.
    pub requests: u64,
    /// When it started (ms since the epoch).
    pub started_at_ms: i64,
    /// How long it took.
    pub duration_ms: u64,
}

/// Progress of a running sync, for a progress bar or log lines.
pub trait SyncProgress: Send + Sync {
    /// Another page was read; `listed` so far.
    fn listed(&self, listed: usize);
}

/// Reports nothing.
pub struct Quiet;

impl SyncProgress for Quiet {
    fn listed(&self, _listed: usize) {}
}

/// The state of syncs, for `GET /api/v1/sync`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncStatus {
    /// Whether one is running now.
    pub running: bool,
    /// The last finished sync.
    pub last: Option<SyncReport>,
    /// The last failure, if the last sync failed.
    pub last_error: Option<String>,
}

/// What reconciling one project found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// In the catalog (added, updated or unchanged).
    Catalogued(Change),
    /// Not for the bot: removed if it was there. The reason says why.
    NotCatalogued {
        /// Why.
        reason: &'static str,
        /// Whether it was in the catalog before.
        was_catalogued: bool,
    },
}

/// Work to do after each successful sync (scanning new and changed projects).
#[async_trait::async_trait]
pub trait AfterSync: Send + Sync {
    /// Runs after a sync, still counted as part of it.
    async fn after_sync(&self);
}

/// The catalog and the means to keep it current.
pub struct CatalogService {
    /// The table.
    pub catalog: Catalog,
    gitlab: GitLab,
    bot: User,
    filter: NamespaceFilter,
    hooks: Option<HookManager>,
    badges: Option<crate::catalog::badges::BadgeRegistrar>,
    sync_lock: Arc<tokio::sync::Mutex<()>>,
    status: Mutex<SyncStatus>,
    after: Option<Arc<dyn AfterSync>>,
}

impl CatalogService {
    /// A service for `bot` (the token's user) over `catalog`.
    pub fn new(
        catalog: Catalog,
        gitlab: GitLab,
        bot: User,
        filter: NamespaceFilter,
        hooks: Option<HookManager>,
    ) -> Self {
        CatalogService {
            catalog,
            gitlab,
            bot,
            filter,
            hooks,
            badges: None,
            sync_lock: Arc::new(tokio::sync::Mutex::new(())),
            status: Mutex::new(SyncStatus::default()),
            after: None,
        }
    }

    /// With status badges registered on projects.
    pub fn with_badges(mut self, registrar: crate::catalog::badges::BadgeRegistrar) -> Self {
        self.badges = Some(registrar);
        self
    }

    /// Makes a project's badge right when it needs a check; `true` when it asked GitLab.
    async fn check_badge(&self, gitlab: &GitLab, id: ProjectId) -> Result<bool, StoreError> {
        let Some(badges) = &self.badges else {
            return Ok(false);
        };
        let Some(mut p) = self.catalog.get(id)? else {
            return Ok(false);
        };
        if !badges.wants_check(&p) {
            return Ok(false);
        }
        p.badge = badges.ensure(gitlab, &p).await;
        self.catalog.upsert(&p)?;
        Ok(true)
    }

    /// With work to do after each sync (scanning new and changed projects).
    pub fn with_after_sync(mut self, after: Arc<dyn AfterSync>) -> Self {
        self.after = Some(after);
        self
    }

    /// The bot user.
    pub fn bot(&self) -> &User {
        &self.bot
    }

    /// The GitLab client.
    pub fn gitlab(&self) -> &GitLab {
        &self.gitlab
    }

    /// Where syncs stand.
    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Starts a sync in the background unless one is running (`None` then). The sync counts as
    /// running from the moment this returns, so [`CatalogService::wait_idle`] waits for it.
    pub fn start_sync(
        self: &Arc<Self>,
    ) -> Option<tokio::task::JoinHandle<Result<SyncReport, CatalogError>>> {
        let guard = self.sync_lock.clone().try_lock_owned().ok()?;
        self.set_status(|s| s.running = true);
        let me = self.clone();
        Some(tokio::spawn(async move {
            let result = me.sync_locked(&Quiet).await;
            drop(guard);
            match &result {
                Ok(r) => tracing::info!(
                    listed = r.listed,
                    catalogued = me.catalog.len(),
                    added = r.added,
                    updated = r.updated,
                    removed = r.removed,
                    filtered_out = r.filtered_out,
                    requests = r.requests,
                    duration_ms = r.duration_ms,
                    "catalog synced"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "catalog sync failed; the next one will try again")
                }
            }
            result
        }))
    }

    /// Waits until no sync is running.
    pub async fn wait_idle(&self) {
        drop(self.sync_lock.lock().await);
    }

    /// Lists every project the bot is a member of (Developer or more, not archived), applies
    /// the namespace filter, writes what changed and removes what is no longer reachable. A
    /// failure before the listing is complete removes nothing.
    pub async fn sync(&self, progress: &dyn SyncProgress) -> Result<SyncReport, CatalogError> {
        let _running = self.sync_lock.try_lock().map_err(|_| CatalogError::Busy)?;
        self.sync_locked(progress).await
    }

    /// A sync, the lock being held by the caller.
    async fn sync_locked(&self, progress: &dyn SyncProgress) -> Result<SyncReport, CatalogError> {
        self.set_status(|s| s.running = true);
        let result = self.sync_inner(progress).await;
        if result.is_ok() {
            if let Some(after) = &self.after {
                after.after_sync().await;
            }
        }
        self.set_status(|s| {
            s.running = false;
            match &result {
                Ok(r) => {
                    s.last = Some(r.clone());
                    s.last_error = None;
                }
                Err(e) => s.last_error = Some(e.to_string()),
            }
        });
        result
    }

    async fn sync_inner(&self, progress: &dyn SyncProgress) -> Result<SyncReport, CatalogError> {
        let started = std::time::Instant::now();
        let requests_before = self.gitlab.requests_sent();
        let mut report = SyncReport {
            started_at_ms: now_ms(),
            ..SyncReport::default()
        };
        let mut kept = HashSet::new();
        let mut pages = self.gitlab.member_projects(access::DEVELOPER)?;
        while let Some(page) = pages.next_page().await? {
            report.listed += page.len();
            for project in &page {
                if project.archived {
                    continue;
                }
                if !self.filter.allows(&project.path_with_namespace) {
                    report.filtered_out += 1;
                    continue;
                }
                kept.insert(project.id);
                match self.store_project(project)? {
                    Change::Added => report.added += 1,
                    Change::Updated => report.updated += 1,
                    Change::Unchanged => report.unchanged += 1,
                }
            }
            progress.listed(report.listed);
        }
        for id in self.catalog.ids()? {
            if !kept.contains(&id) {
                self.catalog.remove(id)?;
                report.removed += 1;
                tracing::info!(project = %id, "no longer reachable: removed from the catalog");
            }
        }
        for id in &kept {
            if self.check_badge(&self.gitlab, *id).await? {
                report.badges_checked += 1;
            }
        }
        if let Some(hooks) = &self.hooks {
            for id in kept {
                let Some(mut p) = self.catalog.get(id)? else {
                    continue;
                };
                let (state, outcome) = if hooks.wants_check(&p.hook) {
                    report.hooks_checked += 1;
                    hooks.ensure_outcome(&self.gitlab, id, &p.hook).await
                } else if matches!(p.hook, HookState::Installed { .. }) {
                    // GitLab may have disabled it since (failed deliveries).
                    hooks.check(&self.gitlab, id, &p.hook).await
                } else {
                    continue;
                };
                match outcome {
                    HookOutcome::Reenabled => report.hooks_reenabled += 1,
                    HookOutcome::StillDisabled => report.hooks_disabled += 1,
                    HookOutcome::Unchanged | HookOutcome::Repaired => {}
                }
                if state == HookState::NeedsMaintainer {
                    report.hooks_need_maintainer += 1;
                }
                p.hook = state;
                self.catalog.upsert(&p)?;
            }
        }
        report.requests = self.gitlab.requests_sent() - requests_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    fn store_project(&self, project: &Project) -> Result<Change, StoreError> {
        let now = now_ms();
        let record = match self.catalog.get(project.id)? {
            Some(old) => match old.refreshed(project, now) {
                Some(fresh) => fresh,
                None => return Ok(Change::Unchanged),
            },
            None => CatalogProject::from_gitlab(project, now),
        };
        self.catalog.upsert(&record)
    }

    /// Brings one project's catalog entry in line with GitLab (after a system hook): catalogued
    /// when the bot is a member with Developer or more, it is not archived and the namespace
    /// filter allows it; removed otherwise.
    /// Calls carry `event_uuid` (the webhook that caused them) when given.
    pub async fn reconcile(
        &self,
        id: ProjectId,
        event_uuid: Option<&str>,
    ) -> Result<Reconciled, CatalogError> {
        let gitlab = &match event_uuid {
            Some(uuid) => self.gitlab.on_behalf_of(uuid),
            None => self.gitlab.clone(),
        };
        let project = match gitlab.project(&ProjectRef::Id(id)).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => return self.forget(id, "not visible to the bot"),
            Err(e) => return Err(e.into()),
        };
        if project.archived {
            return self.forget(id, "archived");
        }
        if !self.filter.allows(&project.path_with_namespace) {
            return self.forget(id, "outside the namespace allowlist or inside the denylist");
        }
        let level = match project.permissions.as_ref().and_then(|p| p.level()) {
            Some(l) if l >= access::DEVELOPER => l,
            _ => gitlab
                .member(&ProjectRef::Id(id), self.bot.id)
                .await?
                .map(|m| m.access_level)
                .unwrap_or(0),
        };
        if level < access::DEVELOPER {
            return self.forget(id, "the bot is not a Developer or more");
        }
        let change = self.store_project(&project)?;
        self.check_badge(gitlab, id).await?;
        if let Some(hooks) = &self.hooks {
            if let Some(mut p) = self.catalog.get(id)? {
                if hooks.wants_check(&p.hook) || change == Change::Added {
                    p.hook = hooks.ensure(gitlab, id, &p.hook).await;
                    self.catalog.upsert(&p)?;
                }
            }
        }
        Ok(Reconciled::Catalogued(change))
    }

    /// Removes a project from the catalog.
    pub fn forget(&self, id: ProjectId, reason: &'static str) -> Result<Reconciled, CatalogError> {
        let was_catalogued = self.catalog.remove(id)?.is_some();
        Ok(Reconciled::NotCatalogued {
            reason,
            was_catalogued,
        })
    }

    /// Marks a project's hook for a new check (the bot's role changed).
    pub fn recheck_hook(&self, id: ProjectId) -> Result<(), StoreError> {
        if let Some(mut p) = self.catalog.get(id)? {
            use crate::catalog::model::HookState;
            if p.hook == HookState::NeedsMaintainer || p.badge == HookState::NeedsMaintainer {
                if p.hook == HookState::NeedsMaintainer {
                    p.hook = HookState::Unchecked;
                }
                if p.badge == HookState::NeedsMaintainer {
                    p.badge = HookState::Unchecked;
                }
                self.catalog.upsert(&p)?;
            }
        }
        Ok(())
    }

    fn set_status(&self, f: impl FnOnce(&mut SyncStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}
