//! The fixer the server uses: registry facts plus the format-preserving patchers. Until the
//! patchers are wired in, every fix is reported not fixable with a clear reason.

use std::sync::Arc;

use async_trait::async_trait;

use super::executor::{Edit, FixError, FixRequest, Fixer};
use crate::config::Settings;

/// A fixer that edits nothing.
pub struct NoEdits;

#[async_trait]
impl Fixer for NoEdits {
    async fn edits(&self, request: &FixRequest<'_>) -> Result<Vec<Edit>, FixError> {
        Err(FixError::NotFixable(format!(
            "editing {} is not supported yet",
            request
                .manifest
                .rsplit('/')
                .next()
                .unwrap_or(request.manifest)
        )))
    }
}

/// The fixer for these settings.
pub fn default_fixer(_settings: &Settings) -> Arc<dyn Fixer> {
    Arc::new(NoEdits)
}
