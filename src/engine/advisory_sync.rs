//! Advisory sync inside the server: download from OSV (conditional requests; unchanged
//! ecosystems keep their data), swap the new index in, recheck every project. One sync at a
//! time; the last summary is kept for `GET /api/v1/advisories`.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::advisories::{Outcome, SyncOptions};
use crate::clock::{now_ms, rfc3339};
use crate::ecosystem::Ecosystem;
use crate::store::Store;

use super::background::Background;
use super::index::AdvisoryIndex;

/// What one ecosystem's download did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemSync {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// `updated: N advisories`, `not modified` or `failed: <why>`.
    pub outcome: String,
}

/// What an advisory sync did (the JSON of `POST /api/v1/advisories/sync?wait=true` and of
/// `last_sync` in `GET /api/v1/advisories`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisorySyncSummary {
    /// When it finished (RFC 3339).
    pub at: String,
    /// One entry per configured ecosystem, in order.
    pub ecosystems: Vec<EcosystemSync>,
    /// Advisories in the index after the sync.
    pub advisories: usize,
    /// Projects whose findings were recomputed (none when nothing changed).
    pub projects_rechecked: usize,
}

/// One ecosystem's outcome in words.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Updated { advisories, .. } => format!("updated: {advisories} advisories"),
        Outcome::NotModified => "not modified".to_string(),
        Outcome::Failed(m) => format!("failed: {m}"),
    }
}

/// Why a sync did not complete.
#[derive(Debug, thiserror::Error)]
pub enum AdvisorySyncError {
    /// The download or import could not complete (the store failed).
    #[error(transparent)]
    Sync(#[from] crate::advisories::sync::SyncError),
    /// The recheck failed (GitLab, the store or a registry).
    #[error(transparent)]
    Recheck(#[from] crate::inventory::RefreshError),
}

/// Advisory syncs, one at a time.
pub struct AdvisorySync {
    store: Store,
    options: SyncOptions,
    index: AdvisoryIndex,
    background: Arc<Background>,
    running: tokio::sync::Mutex<()>,
    last: Arc<Mutex<Option<AdvisorySyncSummary>>>,
}

/// What `GET /api/v1/advisories` reads: the index in use and the last sync, and nothing that
/// acts (the HTTP layer gets this, not the engine).
#[derive(Clone)]
pub struct AdvisoryStatus {
    index: AdvisoryIndex,
    last: Arc<Mutex<Option<AdvisorySyncSummary>>>,
}

impl AdvisoryStatus {
    /// Counts of the index in use.
    pub fn index_stats(&self) -> crate::advisories::Stats {
        self.index.stats()
    }

    /// The last sync's summary.
    pub fn last_sync(&self) -> Option<AdvisorySyncSummary> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl AdvisorySync {
    /// Syncs into `store` with `options`, swapping `index`, rechecking through `background`.
    pub fn new(
        store: Store,
        options: SyncOptions,
        index: AdvisoryIndex,
        background: Arc<Background>,
    ) -> Self {
        AdvisorySync {
            store,
            options,
            index,
            background,
            running: tokio::sync::Mutex::new(()),
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// One sync (after the one running, if any).
    pub async fn sync(&self) -> Result<AdvisorySyncSummary, AdvisorySyncError> {
        let _running = self.running.lock().await;
        let report = crate::advisories::sync(&self.store, &self.options).await?;
        let ecosystems = report
            .outcomes
            .iter()
            .map(|(eco, outcome)| EcosystemSync {
                ecosystem: *eco,
                outcome: describe(outcome),
            })
            .collect();
        let changed = report
            .outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Updated { .. }));
        let advisories = report.index.stats().advisories;
        let projects_rechecked = if changed {
            self.index.swap(report.index);
            self.background.recheck_all().await?
        } else {
            0
        };
        let summary = AdvisorySyncSummary {
            at: rfc3339(now_ms()),
            ecosystems,
            advisories,
            projects_rechecked,
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(summary.clone());
        Ok(summary)
    }

    /// The last sync's summary.
    pub fn last(&self) -> Option<AdvisorySyncSummary> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A read-only view of the index and the last sync.
    pub fn status(&self) -> AdvisoryStatus {
        AdvisoryStatus {
            index: self.index.clone(),
            last: self.last.clone(),
        }
    }
}
