//! Work on many projects that does not come from a delivery: the scan of new and changed
//! projects after a catalog sync, the reconcile of MRs that missed webhooks, fixes waiting for
//! a registry, and the recheck of every project after the advisory index changed. Each project's
//! part runs holding that project's lane ([`Lanes::hold`]), so it never interleaves with the
//! project's deliveries and actions: the lanes are the one per-project ordering.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;

use crate::catalog::service::AfterSync;
use crate::gitlab::ProjectId;
use crate::inventory::RefreshError;
use crate::lanes::Lanes;
use crate::store::StoreError;

use super::scanner::Scanner;

/// Background work over the scanner, ordered by the lanes.
pub struct Background {
    scanner: Arc<Scanner>,
    lanes: Arc<Lanes>,
    concurrency: usize,
}

impl Background {
    /// Work through `scanner`, `concurrency` projects at a time, holding lanes of `lanes`.
    pub fn new(scanner: Arc<Scanner>, lanes: Arc<Lanes>, concurrency: usize) -> Self {
        Background {
            scanner,
            lanes,
            concurrency: concurrency.max(1),
        }
    }

    /// Plans and acts on a project now, in its lane (after whatever the lane runs now).
    pub async fn act_now(&self, project: ProjectId) -> Result<Vec<String>, RefreshError> {
        let _lane = self.lanes.hold(project.get()).await;
        self.scanner.act_on(project).await
    }

    /// The schedule tick: acts on each project whose non-security upgrades waited for a
    /// `schedule` window that has opened (the planner then opens them), each in its lane.
    /// Returns how many projects were acted on.
    pub async fn open_scheduled(&self) -> Result<usize, RefreshError> {
        let executor = self.scanner.executor();
        let due = executor.due_on_schedule()?;
        for id in &due {
            let _lane = self.lanes.hold(id.get()).await;
            // Acting records again whether an upgrade still waits (and until when).
            executor.note_schedule(*id, None);
            match self.scanner.act_on(*id).await {
                Ok(lines) => {
                    for line in lines {
                        tracing::info!(
                            project = id.get(),
                            "schedule: {}",
                            crate::untrusted::printable(&line)
                        );
                    }
                }
                Err(e) => {
                    // Due again at the next tick.
                    executor.note_schedule(*id, Some(i64::MIN));
                    tracing::warn!(project = id.get(), error = %e, "acting at the schedule window failed; tried again at the next tick");
                }
            }
        }
        Ok(due.len())
    }

    /// Recomputes every catalogued project's findings from its stored manifests (the index has
    /// changed) and acts on them, each in its lane. Returns how many projects were rechecked.
    pub async fn recheck_all(&self) -> Result<usize, RefreshError> {
        let catalog = self.scanner.catalog();
        let ids = catalog.ids()?;
        for id in &ids {
            let Some(project) = catalog.get(*id)? else {
                continue;
            };
            let _lane = self.lanes.hold(id.get()).await;
            self.scanner.recompute(*id)?;
            self.scanner.act(&project, None).await?;
        }
        Ok(ids.len())
    }

    /// Scans every stale catalogued project (a few at a time) and forgets the state of projects
    /// no longer catalogued. Returns how many were scanned.
    pub async fn scan_stale(&self) -> Result<usize, StoreError> {
        let scanner = &self.scanner;
        let catalog = scanner.catalog();
        for id in scanner.inventory.project_ids()? {
            if catalog.get(id)?.is_none() {
                let _lane = self.lanes.hold(id.get()).await;
                scanner.forget(id)?;
            }
        }
        let mut stale = Vec::new();
        for id in catalog.ids()? {
            if let Some(p) = catalog.get(id)? {
                if scanner.is_stale(&p)? {
                    stale.push(p);
                }
            }
        }
        let scanned = stale.len();
        // Repair what missed MR webhooks would have told (merged or closed while not told).
        let executor = scanner.executor();
        for id in catalog.ids()? {
            let Some(p) = catalog.get(id)? else {
                continue;
            };
            let _lane = self.lanes.hold(id.get()).await;
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
        // Fixes waiting for a package registry: tried again (each registry's back-off decides
        // whether it is asked now or the fix keeps waiting).
        let stale_ids: Vec<ProjectId> = stale.iter().map(|p| p.id).collect();
        for id in executor.waiting_on_registry() {
            if stale_ids.contains(&id) {
                continue;
            }
            let Some(p) = catalog.get(id)? else {
                continue;
            };
            let _lane = self.lanes.hold(id.get()).await;
            match scanner.act(&p, None).await {
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
        futures_util::stream::iter(stale)
            .for_each_concurrent(self.concurrency, |p| async move {
                let _lane = self.lanes.hold(p.id.get()).await;
                match scanner.scan(&p, None).await {
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
impl AfterSync for Background {
    async fn after_sync(&self) {
        match self.scan_stale().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(projects = n, "scanned new and changed projects"),
            Err(e) => tracing::warn!(error = %e, "scanning after the sync failed"),
        }
    }
}
