//! What a patch leaves to the package manager, said in the merge request (issue 18): a fix
//! that is complete for the tool but not byte for byte what the tool would write.

use serde::{Deserialize, Serialize};

use crate::deps::{format_of, ManifestFormat};

/// One thing the MR must tell the reviewer about the edited files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchNote {
    /// A yarn berry `yarn.lock`: the moved entries have no `checksum` (yarn's checksum is of
    /// the zip archive it builds from the package, which backline does not rebuild); yarn
    /// accepts the entry, also with `--immutable`, and writes the checksum back.
    YarnBerryChecksumDropped,
}

impl PatchNote {
    /// The paragraph of the MR description.
    pub fn text(self) -> &'static str {
        match self {
            PatchNote::YarnBerryChecksumDropped => {
                "**Checksum:** the moved `yarn.lock` entries have no `checksum` line. Yarn's checksum is the SHA-512 of the zip archive yarn builds from the package, which backline does not rebuild; `yarn install` (also with `--immutable`) accepts such an entry, fetches the package and writes the checksum back into `yarn.lock`, which you may commit to this branch."
            }
        }
    }
}

/// The notes a patch of `manifest_path` (its content before the patch) comes with.
pub fn notes_of(manifest_path: &str, bytes: Option<&[u8]>) -> Vec<PatchNote> {
    let berry = format_of(manifest_path) == Some(ManifestFormat::YarnLock)
        && bytes
            .and_then(|b| std::str::from_utf8(b).ok())
            .is_some_and(crate::ecosystems::yarn::is_berry);
    if berry {
        vec![PatchNote::YarnBerryChecksumDropped]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_berry_yarn_lock_gets_the_checksum_note() {
        let berry = b"__metadata:\n  version: 10\n  cacheKey: 10c0\n";
        assert_eq!(
            notes_of("web/yarn.lock", Some(berry)),
            vec![PatchNote::YarnBerryChecksumDropped]
        );
        assert!(notes_of("yarn.lock", Some(b"# yarn lockfile v1\n")).is_empty());
        assert!(notes_of("pnpm-lock.yaml", Some(berry)).is_empty());
        assert!(notes_of("yarn.lock", None).is_empty());
    }
}
