//! Runs a queued action in its lane (a worker hands it over like a delivery). An approval is
//! recorded here, inside the project's lane, so that it never races a reaction to the same
//! remediation.

use std::sync::Arc;

use crate::catalog::service::Quiet;
use crate::catalog::{CatalogError, CatalogService};
use crate::clock::now_ms;
use crate::inventory::RefreshError;
use crate::remediation::executor::ExecError;
use crate::remediation::model::Transition;
use crate::store::StoreError;

use super::action::{Action, ActionRequest, Requester};
use super::advisory_sync::{AdvisorySync, AdvisorySyncError};
use super::scanner::Scanner;

/// Why an action did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Planning or acting failed.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// The remediation executor failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The advisory sync failed.
    #[error(transparent)]
    AdvisorySync(#[from] AdvisorySyncError),
    /// The catalog sync failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Runs actions.
pub struct Actions {
    scanner: Arc<Scanner>,
    advisories: Arc<AdvisorySync>,
    catalog: Arc<CatalogService>,
}

impl Actions {
    /// Actions through these parts.
    pub fn new(
        scanner: Arc<Scanner>,
        advisories: Arc<AdvisorySync>,
        catalog: Arc<CatalogService>,
    ) -> Self {
        Actions {
            scanner,
            advisories,
            catalog,
        }
    }

    /// Runs one action; the text is its outcome (for an advisory sync, the summary's JSON).
    pub async fn run(&self, request: &ActionRequest) -> Result<String, ActionError> {
        let by = request.by;
        match &request.action {
            Action::Approve { remediation, .. } => self.approve(*remediation, by).await,
            Action::Ignore {
                remediation, what, ..
            } => {
                let outcome = self
                    .scanner
                    .ignore(*remediation, by.as_str(), what.as_deref())
                    .await?;
                Ok(outcome)
            }
            Action::SyncAdvisories => {
                let summary = self.advisories.sync().await?;
                Ok(serde_json::to_string(&summary).expect("a summary serializes"))
            }
            Action::SyncCatalog => match self.catalog.sync(&Quiet).await {
                Ok(r) => Ok(format!(
                    "catalog synced: {} listed, {} added, {} updated, {} removed",
                    r.listed, r.added, r.updated, r.removed
                )),
                Err(CatalogError::Busy) => Ok("a catalog sync was already running".into()),
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn approve(&self, id: u64, by: Requester) -> Result<String, ActionError> {
        let table = &self.scanner.executor().table;
        let Some(mut r) = table.get(id)? else {
            return Ok(format!("remediation {id}: no such remediation"));
        };
        if r.approved_by.is_none() {
            r.approved_by = Some(by.as_str().to_string());
            r.history.push(Transition {
                at_ms: now_ms(),
                from: Some(r.state),
                to: r.state,
                by: by.as_str().into(),
                why: by.approval_reason().into(),
            });
            table.put(&r)?;
        }
        for line in self.scanner.act_on(r.project).await? {
            tracing::info!(remediation = id, "{}", crate::untrusted::printable(&line));
        }
        Ok(format!(
            "remediation {id} approved by {}; its project was planned and acted on",
            by.as_str()
        ))
    }
}
