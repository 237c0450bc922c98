//! What a person asked for through the API or the dashboard, as a durable inbox entry (kind
//! `action`): typed, with its parameters and who asked. Pure: no I/O here.

use serde::{Deserialize, Serialize};

use crate::gitlab::ProjectId;

/// Who asked for an action. Recorded in a remediation's history as [`Requester::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    /// `/api/v1` with the admin token.
    Api,
    /// The dashboard (a logged-in session).
    Dashboard,
}

impl Requester {
    /// The name recorded as `by` in a remediation's history (unchanged from before actions were
    /// durable: `api`, `dashboard`).
    pub fn as_str(self) -> &'static str {
        match self {
            Requester::Api => "api",
            Requester::Dashboard => "dashboard",
        }
    }

    /// The `why` of an approval's history entry.
    pub fn approval_reason(self) -> &'static str {
        match self {
            Requester::Api => "approved through the API",
            Requester::Dashboard => "approved on the dashboard",
        }
    }
}

/// One action with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Approve a planned remediation, then plan and act on its project (its MR opens when the
    /// open-MR cap allows).
    Approve {
        /// The remediation.
        remediation: u64,
        /// Its project (the lane).
        project: ProjectId,
    },
    /// Ignore a remediation: the fix, an advisory (id or alias) or a version (`what`), closing
    /// its MR when nothing remains to fix.
    Ignore {
        /// The remediation.
        remediation: u64,
        /// Its project (the lane).
        project: ProjectId,
        /// An advisory id or alias, or a version; none: this fix.
        what: Option<String>,
    },
    /// Download the advisories from OSV, swap the index in, recheck every project.
    SyncAdvisories,
    /// A full catalog sync (then a scan of new and changed projects).
    SyncCatalog,
}

impl Action {
    /// The project whose lane runs the action; `None`: the instance-wide lane.
    pub fn project(&self) -> Option<ProjectId> {
        match self {
            Action::Approve { project, .. } | Action::Ignore { project, .. } => Some(*project),
            Action::SyncAdvisories | Action::SyncCatalog => None,
        }
    }

    /// A short name for logs and outcomes.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Approve { .. } => "approve",
            Action::Ignore { .. } => "ignore",
            Action::SyncAdvisories => "advisory sync",
            Action::SyncCatalog => "catalog sync",
        }
    }
}

/// An action and who asked: the stored body of an `action` inbox entry (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// What.
    #[serde(flatten)]
    pub action: Action,
    /// Who.
    pub by: Requester,
}

/// A stored action body that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("not a stored action: {0}")]
pub struct ActionDecodeError(#[from] serde_json::Error);

impl ActionRequest {
    /// The stored body.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an action serializes")
    }

    /// Reads a stored body.
    pub fn decode(body: &[u8]) -> Result<Self, ActionDecodeError> {
        Ok(serde_json::from_slice(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_its_stored_body() {
        let req = ActionRequest {
            action: Action::Ignore {
                remediation: 7,
                project: ProjectId(3),
                what: Some("1.2.3".into()),
            },
            by: Requester::Dashboard,
        };
        let body = req.encode();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"action": "ignore", "remediation": 7, "project": 3, "what": "1.2.3", "by": "dashboard"})
        );
        assert_eq!(ActionRequest::decode(&body).unwrap(), req);
        assert_eq!(req.action.project(), Some(ProjectId(3)));
        assert!(ActionRequest::decode(br#"{"action":"reboot","by":"api"}"#).is_err());
        let sync = ActionRequest {
            action: Action::SyncAdvisories,
            by: Requester::Api,
        };
        assert_eq!(ActionRequest::decode(&sync.encode()).unwrap(), sync);
        assert_eq!(sync.action.project(), None);
    }
}
