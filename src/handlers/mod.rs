//! Reactions to deliveries, behind one dispatch ([`Reactor`]). Each reaction is written as "make
//! the state so", so that a replay changes nothing twice. Events without a reaction yet are
//! recorded with a one-line summary.

pub mod mrcheck;
mod pipeline;
mod record;
pub mod refresh;
pub mod refusals;
pub mod remediation;
pub mod system;

use std::sync::Arc;

use async_trait::async_trait;

use crate::catalog::CatalogService;
use crate::engine::actions::ActionError;
use crate::engine::{ActionRequest, Engine};
use crate::gitlab::hooks::HookEvent;
use crate::inbox::DeliveryRecord;

pub use record::{summarize, RecordingHandler};

/// Why a handler did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying later (GitLab 5xx, 429, a timeout).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (the delivery goes to the dead letters at once).
    #[error("{0}")]
    Permanent(String),
    /// GitLab rate-limited the bot for longer than the client waits in-process: the delivery is
    /// parked until then, and the wait does not count as a failed attempt.
    #[error("{message}")]
    RateLimited {
        /// What was refused.
        message: String,
        /// GitLab's `Retry-After`.
        retry_after: std::time::Duration,
    },
}

impl HandlerError {
    /// A store failure as a handler error: retried when the store may answer later (the
    /// delivery stays queued), permanent when retrying cannot help (a value that does not
    /// decode). Never read as "not found".
    pub fn from_store(e: crate::store::StoreError) -> HandlerError {
        if e.is_transient() {
            HandlerError::Transient(format!("store: {e}"))
        } else {
            HandlerError::Permanent(format!("store: {e}"))
        }
    }

    /// A GitLab failure as a handler error: a rate limit with its `Retry-After` parks the
    /// delivery, other transient failures are retried, the rest are permanent.
    pub fn from_gitlab(e: &crate::gitlab::GitLabError) -> HandlerError {
        match e {
            crate::gitlab::GitLabError::RateLimited {
                retry_after: Some(retry_after),
                ..
            } => HandlerError::RateLimited {
                message: e.to_string(),
                retry_after: *retry_after,
            },
            e if e.is_transient() => HandlerError::Transient(e.to_string()),
            e => HandlerError::Permanent(e.to_string()),
        }
    }
}

/// Something that reacts to a verified, parsed delivery and says what it did.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one delivery; the `Ok` text is recorded as its outcome.
    async fn handle(
        &self,
        delivery: &DeliveryRecord,
        event: &HookEvent,
    ) -> Result<String, HandlerError>;

    /// Runs one queued action (an inbox entry of kind `action`); the `Ok` text is its outcome.
    /// Without an engine (no GitLab configured) there is nothing to act with.
    async fn act(
        &self,
        delivery: &DeliveryRecord,
        request: &ActionRequest,
    ) -> Result<String, HandlerError> {
        let _ = delivery;
        Err(HandlerError::Permanent(format!(
            "{}: no GitLab configured",
            request.action.name()
        )))
    }
}

/// An action's failure as a handler error: GitLab's and the store's transient failures are
/// retried like a delivery's.
pub fn action_error(e: ActionError) -> HandlerError {
    match e {
        ActionError::Store(s) => HandlerError::Transient(s.to_string()),
        ActionError::Refresh(r) => system::refresh_error(r),
        ActionError::Exec(x) => remediation::exec_error(x),
        ActionError::AdvisorySync(a) => match a {
            crate::engine::advisory_sync::AdvisorySyncError::Recheck(r) => system::refresh_error(r),
            other => HandlerError::Transient(other.to_string()),
        },
        ActionError::Catalog(c) => system::into_handler_error(c),
    }
}

/// The bot's reactions: the catalog follows system hooks, the dependency state follows pushes
/// to default branches; the rest is recorded.
pub struct Reactor {
    catalog: Arc<CatalogService>,
    engine: Arc<Engine>,
    scanner: Arc<refresh::Scanner>,
    roles: remediation::RoleCache,
    mr_checks: Option<mrcheck::MrChecker>,
}

impl Reactor {
    /// Reactions over the catalog service and the engine.
    pub fn new(catalog: Arc<CatalogService>, engine: Arc<Engine>) -> Self {
        Reactor {
            catalog,
            scanner: engine.scanner().clone(),
            engine,
            roles: remediation::RoleCache::default(),
            mr_checks: None,
        }
    }

    /// With MR checks on the merge request events of MRs that are not the bot's.
    pub fn with_mr_checks(mut self, checker: mrcheck::MrChecker) -> Self {
        self.mr_checks = Some(checker);
        self
    }
}

#[async_trait]
impl Handler for Reactor {
    async fn handle(
        &self,
        delivery: &DeliveryRecord,
        event: &HookEvent,
    ) -> Result<String, HandlerError> {
        if let Some(result) = system::react(&self.catalog, &self.scanner, delivery, event).await {
            return result;
        }
        let uuid = delivery.event_uuid.as_deref();
        match event {
            HookEvent::Push(p) | HookEvent::SystemPush(p) => self
                .scanner
                .on_push(p, uuid)
                .await
                .map_err(system::refresh_error),
            HookEvent::MergeRequest(m) | HookEvent::SystemMergeRequest(m) => {
                let gitlab = self.catalog.gitlab();
                match remediation::on_merge_request(
                    &self.scanner,
                    &self.catalog.catalog,
                    gitlab,
                    m,
                    uuid,
                )
                .await
                {
                    Some(r) => r,
                    None => match &self.mr_checks {
                        Some(checker) => checker
                            .on_merge_request(&self.scanner, &self.catalog.catalog, gitlab, m, uuid)
                            .await
                            .unwrap_or_else(|| Ok(summarize(event))),
                        None => Ok(summarize(event)),
                    },
                }
            }
            HookEvent::Note(n) => {
                let gitlab = self.catalog.gitlab();
                match remediation::on_note(
                    &self.scanner,
                    &self.catalog.catalog,
                    gitlab,
                    &self.roles,
                    n,
                    uuid,
                )
                .await
                {
                    Some(r) => r,
                    None => Ok(summarize(event)),
                }
            }
            HookEvent::Pipeline(p) => {
                pipeline::on_pipeline(
                    &self.scanner,
                    &self.catalog.catalog,
                    self.catalog.gitlab(),
                    p,
                    uuid,
                )
                .await
            }
            _ => Ok(summarize(event)),
        }
    }

    async fn act(
        &self,
        _delivery: &DeliveryRecord,
        request: &ActionRequest,
    ) -> Result<String, HandlerError> {
        self.engine
            .actions()
            .run(request)
            .await
            .map_err(action_error)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::HandlerError;
    use crate::gitlab::GitLabError;

    #[test]
    fn a_long_rate_limit_parks_and_other_failures_keep_their_kind() {
        let limited = GitLabError::RateLimited {
            endpoint: "GET /api/v4/projects/1".into(),
            retry_after: Some(Duration::from_secs(600)),
        };
        assert!(matches!(
            HandlerError::from_gitlab(&limited),
            HandlerError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(600)
        ));
        let unsaid = GitLabError::RateLimited {
            endpoint: "GET /x".into(),
            retry_after: None,
        };
        assert!(matches!(
            HandlerError::from_gitlab(&unsaid),
            HandlerError::Transient(_)
        ));
        let missing = GitLabError::NotFound {
            endpoint: "GET /x".into(),
            message: "404".into(),
        };
        assert!(matches!(
            HandlerError::from_gitlab(&missing),
            HandlerError::Permanent(_)
        ));
    }
}
