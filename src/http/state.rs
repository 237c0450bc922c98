//! What every HTTP handler shares.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::catalog::{Catalog, CatalogService};
use crate::config::Settings;
use crate::http::verify::Verifier;
use crate::inbox::Inbox;
use crate::lanes::Lanes;
use crate::metrics::Metrics;

/// Shared state of the HTTP surface.
pub struct AppState {
    /// The settings the server runs with.
    pub settings: Arc<Settings>,
    /// Webhook verification.
    pub verifier: Verifier,
    /// Bytes buffered at once across every not-yet-verified (signed) delivery.
    pub unverified_budget: Arc<crate::http::budget::ByteBudget>,
    /// Refused webhooks are logged at a bounded rate.
    pub refusal_log: crate::http::log_rate::LogRate,
    /// Live dashboard sessions.
    pub sessions: crate::http::dashboard::session::SessionStore,
    /// Wrong admin tokens (logins, bearer tokens): throttled per client, logged at a bounded rate.
    pub auth_guard: crate::http::throttle::AuthGuard,
    /// The durable inbox.
    pub inbox: Inbox,
    /// The schedule the workers take from.
    pub lanes: Arc<Lanes>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Workers alive right now (readiness).
    pub live_workers: Arc<AtomicUsize>,
    /// The project catalog (read by the API).
    pub catalog: Catalog,
    /// Catalog sync, when GitLab is configured.
    pub catalog_service: Option<Arc<CatalogService>>,
    /// Manifests per project.
    pub inventory: crate::inventory::Inventory,
    /// Findings per project.
    pub findings: crate::findings::table::FindingsTable,
    /// Outdated direct dependencies per project.
    pub outdated: crate::findings::outdated::OutdatedTable,
    /// Remediations, when GitLab is configured.
    pub remediations: Option<crate::remediation::table::Remediations>,
    /// The advisory index in use and the last advisory sync (read only), when GitLab is
    /// configured.
    pub advisories: Option<crate::engine::advisory_sync::AdvisoryStatus>,
    /// Where approvals, ignores and syncs are queued (the HTTP layer never acts itself).
    pub actions: crate::engine::queue::ActionQueue,
    /// The last MR check per merge request.
    pub mr_checks: crate::mrcheck::table::MrChecks,
    /// Repository policies (with GitLab configured).
    pub policies: Option<crate::policy::PolicyTable>,
    /// Bot MRs' last pipelines (with GitLab configured).
    pub pipelines: Option<crate::pipeline::table::PipelineTable>,
}

impl AppState {
    /// Workers configured.
    pub fn workers_configured(&self) -> usize {
        self.settings.workers
    }

    /// Workers alive.
    pub fn workers_alive(&self) -> usize {
        self.live_workers.load(Ordering::SeqCst)
    }
}
