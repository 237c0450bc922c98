//! Reactions to deliveries, behind one dispatch. In this first version the handler records what
//! each delivery was (kind, project, a one-line summary); later reactions plug in behind the same
//! [`Handler`] trait, written as "make the state so" so that a replay changes nothing twice.

mod record;

use async_trait::async_trait;

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
}
