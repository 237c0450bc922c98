//! `package-lock.json`.
use super::{not_fixable, FileChange, PatchError, PatchRequest};

pub(super) fn patch(_req: &PatchRequest, _bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    not_fixable("editing package-lock.json is not supported yet")
}
