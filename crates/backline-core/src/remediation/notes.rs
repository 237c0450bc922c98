//! What a patch leaves to the package manager, said in the merge request (issue 18): a fix
//! that is complete for the tool but not byte for byte what the tool would write.
//!
//! Derived from the remediation alone (nothing new is stored): the MR text is rendered again
//! on every refresh, where the lockfile is not at hand.

use crate::deps::{format_of, ManifestFormat};
use crate::remediation::model::{Claim, Remediation};

/// One thing the MR must tell the reviewer about the edited files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Whether a copy's place is a yarn berry entry key: each descriptor `<package>@npm:<range>`
/// (yarn v1 headers have no `npm:` but for aliases, `alias@npm:real@range`).
fn is_berry_key(package: &str, key: &str) -> bool {
    let prefix = format!("{package}@npm:");
    key.split(", ").all(|d| {
        d.strip_prefix(&prefix)
            .is_some_and(|range| !range.is_empty() && !range.contains('@'))
    })
}

/// The notes the remediation's edits come with.
pub fn notes_for(r: &Remediation) -> Vec<PatchNote> {
    let berry = format_of(&r.manifest) == Some(ManifestFormat::YarnLock)
        && r.copies.iter().any(|c| {
            c.claim == Claim::Moved && c.paths.iter().any(|p| is_berry_key(&r.package, p))
        });
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
    fn berry_keys_are_told_from_yarn_v1_headers() {
        assert!(is_berry_key("lodash", "lodash@npm:4.17.20"));
        assert!(is_berry_key(
            "@babel/core",
            "@babel/core@npm:^7.0.0, @babel/core@npm:^7.1.0"
        ));
        assert!(!is_berry_key("lodash", "lodash@4.17.20, lodash@^4.17.15"));
        assert!(!is_berry_key("lodash", "lodash@npm:lodash@^4"));
        assert!(!is_berry_key("lodash", "lodash@npm:^4, lodash@^4.1.0"));
        assert!(!is_berry_key("lodash", "lodash@npm:"));
    }
}
