//! Outdated checks: the latest version of each pinned direct dependency, from the registry.

use std::sync::Arc;

use futures_util::StreamExt;

use crate::findings::outdated::{Outdated, OutdatedTable};
use crate::gitlab::ProjectId;
use crate::inventory::Inventory;
use crate::registry::Registry;
use crate::store::StoreError;

/// The registry asked, where answers go, and whether upgrades of outdated direct dependencies
/// are planned (never auto-approved).
pub struct OutdatedChecks {
    registry: Arc<dyn Registry>,
    table: OutdatedTable,
    plan_updates: bool,
}

impl OutdatedChecks {
    /// Checks against `registry`, stored in `table`.
    pub fn new(registry: Arc<dyn Registry>, table: OutdatedTable, plan_updates: bool) -> Self {
        OutdatedChecks {
            registry,
            table,
            plan_updates,
        }
    }

    /// Asks the registry for the latest version of each pinned direct dependency (the registry
    /// client caches answers for a day) and stores those behind. A registry failure leaves the
    /// previous list.
    pub async fn check(&self, inventory: &Inventory, project: ProjectId) -> Result<(), StoreError> {
        let mut wanted = Vec::new();
        for m in inventory.manifests(project)? {
            for d in m.dependencies.iter().filter(|d| d.direct && !d.dev) {
                // Git, path and other-registry dependencies are not the registry's package.
                if let Some(v) = d.checkable_version() {
                    wanted.push((m.path.clone(), d.ecosystem, d.name.clone(), v.to_string()));
                }
            }
        }
        let registry = &self.registry;
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
        self.table.replace(project, &list)
    }

    /// The upgrades to plan for a project: its outdated direct dependencies when updates are
    /// planned, none otherwise.
    pub fn to_plan(&self, project: ProjectId) -> Result<Vec<Outdated>, StoreError> {
        if self.plan_updates {
            self.table.of_project(project)
        } else {
            Ok(Vec::new())
        }
    }

    /// The project's outdated list when `plan` (a repository policy's `update_outdated`, which
    /// overrides the instance setting), else nothing.
    pub fn to_plan_if(&self, project: ProjectId, plan: bool) -> Result<Vec<Outdated>, StoreError> {
        if plan {
            self.table.of_project(project)
        } else {
            Ok(Vec::new())
        }
    }

    /// Forgets a project's list.
    pub fn forget(&self, project: ProjectId) -> Result<(), StoreError> {
        self.table.forget(project)
    }
}
