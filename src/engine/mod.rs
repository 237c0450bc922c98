//! The engine: what backline does to projects, in small parts built with their collaborators.
//!
//! - [`scanner`]: one project's scan, push reaction, findings and acting (its caller owns the
//!   project's lane);
//! - [`outdated`]: outdated checks against the package registry;
//! - [`index`]: the advisory index in use, swapped whole;
//! - [`background`]: work over many projects (after a catalog sync, after the index changed),
//!   each project's part holding its lane;
//! - [`advisory_sync`]: OSV downloads, then the swap and the recheck;
//! - [`action`], [`queue`], [`actions`]: what people ask through the API and the dashboard, as
//!   durable inbox entries run in their project's lane.

pub mod action;
pub mod actions;
pub mod advisory_sync;
pub mod background;
pub mod index;
pub mod outdated;
pub mod queue;
pub mod scanner;

use std::sync::Arc;

pub use action::{Action, ActionRequest, Requester};
pub use advisory_sync::AdvisorySyncSummary;
pub use index::AdvisoryIndex;
pub use scanner::{ScanSummary, Scanner, ScannerParts};

use crate::catalog::CatalogService;
use crate::inventory::RefreshError;
use crate::remediation::executor::Executor;
use crate::store::Store;

/// The parts [`Engine::new`] assembles around (built first, since the catalog service's
/// after-sync work is the background part).
pub struct EngineParts {
    /// One project's scans and reactions.
    pub scanner: Arc<Scanner>,
    /// Work over many projects, ordered by the lanes.
    pub background: Arc<Background>,
    /// The advisory index the scanner reads.
    pub index: AdvisoryIndex,
    /// The catalog service (for catalog sync actions).
    pub catalog: Arc<CatalogService>,
    /// The store advisories are synced into.
    pub store: Store,
    /// Where advisories are downloaded from.
    pub sync_options: crate::advisories::SyncOptions,
}

/// The engine's parts, assembled once.
pub struct Engine {
    scanner: Arc<Scanner>,
    background: Arc<Background>,
    advisories: Arc<AdvisorySync>,
    actions: Actions,
    index: AdvisoryIndex,
}

use actions::Actions;
use advisory_sync::AdvisorySync;
use background::Background;

impl Engine {
    /// Builds the advisory sync and the action runner over the given parts.
    pub fn new(parts: EngineParts) -> Self {
        let EngineParts {
            scanner,
            background,
            index,
            catalog,
            store,
            sync_options,
        } = parts;
        let advisories = Arc::new(AdvisorySync::new(
            store,
            sync_options,
            index.clone(),
            background.clone(),
        ));
        let actions = Actions::new(scanner.clone(), advisories.clone(), catalog);
        Engine {
            scanner,
            background,
            advisories,
            actions,
            index,
        }
    }

    /// One project's scans and reactions.
    pub fn scanner(&self) -> &Arc<Scanner> {
        &self.scanner
    }

    /// Work over many projects (what runs after a catalog sync).
    pub fn background(&self) -> &Arc<Background> {
        &self.background
    }

    /// Advisory syncs.
    pub fn advisories(&self) -> &Arc<AdvisorySync> {
        &self.advisories
    }

    /// The action runner.
    pub fn actions(&self) -> &Actions {
        &self.actions
    }

    /// The remediation executor.
    pub fn executor(&self) -> &Arc<Executor> {
        self.scanner.executor()
    }

    /// Plans and acts on a project now, in its lane.
    pub async fn act_now(
        &self,
        project: crate::gitlab::ProjectId,
    ) -> Result<Vec<String>, RefreshError> {
        self.background.act_now(project).await
    }

    /// Swaps the advisory index in, then rechecks every project (each in its lane). Returns
    /// how many were rechecked.
    pub async fn replace_index(
        &self,
        index: crate::advisories::Index,
    ) -> Result<usize, RefreshError> {
        self.index.swap(index);
        self.background.recheck_all().await
    }

    /// Counts of the advisory index in use.
    pub fn index_stats(&self) -> crate::advisories::Stats {
        self.index.stats()
    }

    /// The last advisory sync's summary.
    pub fn last_advisory_sync(&self) -> Option<AdvisorySyncSummary> {
        self.advisories.last()
    }
}
