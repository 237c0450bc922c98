//! requirements.
use super::{not_fixable, FileChange, PatchError, PatchRequest};

pub(super) fn patch(_req: &PatchRequest, _bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    not_fixable("editing requirements is not supported yet")
}
