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
use crate::lanes::Lanes;
use crate::remediation::executor::Executor;
use crate::store::Store;

/// Everything [`Engine::new`] needs.
pub struct EngineParts {
    /// The scanner's parts.
    pub scanner: ScannerParts,
    /// The catalog service (for catalog sync actions).
    pub catalog: Arc<CatalogService>,
    /// The schedule: the one per-project ordering.
    pub lanes: Arc<Lanes>,
    /// Projects scanned at once after a catalog sync.
    pub concurrency: usize,
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
    /// Builds every part with its collaborators.
    pub fn new(parts: EngineParts) -> Self {
        let index = parts.scanner.index.clone();
        let scanner = Arc::new(Scanner::new(parts.scanner));
        let background = Arc::new(Background::new(
            scanner.clone(),
            parts.lanes,
            parts.concurrency,
        ));
        let advisories = Arc::new(AdvisorySync::new(
            parts.store,
            parts.sync_options,
            index.clone(),
            background.clone(),
        ));
        let actions = Actions::new(scanner.clone(), advisories.clone(), parts.catalog);
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
