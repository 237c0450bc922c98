//! Pure decisions of an MR check: which manifests an MR's changed paths concern, what it adds,
//! and the verdict against the threshold.

use std::collections::{BTreeMap, BTreeSet};

use crate::advisories::cvss::Level;
use crate::deps::{self, DiscoveryRules};
use crate::ecosystem::Ecosystem;
use crate::findings::Finding;
use crate::inventory::StoredManifest;

use super::{AddedVulnerability, Verdict};

/// The manifests to read for an MR that changes `changed` (old and new paths): the changed
/// paths that are manifests or lockfiles themselves, and the known manifests (of the default
/// branch's inventory) that read a changed path as a companion or an include. Empty: the MR
/// changes no dependency file.
pub fn manifests_concerned(
    changed: &[String],
    known: &[StoredManifest],
    rules: &DiscoveryRules,
) -> Vec<String> {
    let mut out: BTreeSet<String> = deps::discover(changed, rules).into_iter().collect();
    for m in known {
        if changed.iter().any(|c| m.reads(c)) {
            out.insert(m.path.clone());
        }
    }
    out.into_iter().collect()
}

type Key = (Ecosystem, String, String, String);

fn key(f: &Finding) -> Key {
    (
        f.ecosystem,
        f.package.clone(),
        f.version.clone(),
        f.advisory.id.clone(),
    )
}

/// The vulnerabilities in `head` that `base` does not have, one per distinct (ecosystem,
/// package, version, advisory) whatever manifest shows it; most severe first.
pub fn added(head: &[Finding], base: &[Finding]) -> Vec<AddedVulnerability> {
    let before: BTreeSet<Key> = base
        .iter()
        .filter(|f| f.is_vulnerability())
        .map(key)
        .collect();
    let mut out: BTreeMap<Key, AddedVulnerability> = BTreeMap::new();
    for f in head.iter().filter(|f| f.is_vulnerability()) {
        let k = key(f);
        if before.contains(&k) {
            continue;
        }
        out.entry(k).or_insert_with(|| AddedVulnerability {
            manifest: f.path.clone(),
            ecosystem: f.ecosystem,
            package: f.package.clone(),
            version: f.version.clone(),
            advisory: f.advisory.id.clone(),
            severity: f.advisory.severity,
            fix: f.fix_version.clone(),
        });
    }
    let mut list: Vec<AddedVulnerability> = out.into_values().collect();
    list.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.advisory.cmp(&b.advisory))
    });
    list
}

/// `Failed` when anything added is at or above `fail_on`.
pub fn verdict(added: &[AddedVulnerability], fail_on: Level) -> Verdict {
    if added.iter().any(|a| a.severity >= fail_on) {
        Verdict::Failed
    } else {
        Verdict::Success
    }
}

/// What to do with the MR's note: nothing when it adds nothing and never had a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteAction {
    /// Leave the MR alone.
    Nothing,
    /// Write (create, or update the existing note) with this body.
    Write(String),
}

/// Whether to write the note: when the MR adds something, or when a note exists and says
/// something else now.
pub fn note_action(added_any: bool, had_note: bool, body: String) -> NoteAction {
    if added_any || had_note {
        NoteAction::Write(body)
    } else {
        NoteAction::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::severity::SeveritySource;
    use crate::advisories::AdvisoryKind;
    use crate::findings::AdvisoryRef;
    use crate::inventory::Input;

    fn finding(path: &str, package: &str, version: &str, id: &str, severity: Level) -> Finding {
        Finding {
            path: path.into(),
            ecosystem: Ecosystem::Npm,
            package: package.into(),
            version: version.into(),
            direct: true,
            fix_version: Some("9.9.9".into()),
            fixes_all: None,
            advisory: AdvisoryRef {
                id: id.into(),
                aliases: vec![],
                summary: None,
                severity,
                cvss: None,
                cvss_score: None,
                kind: AdvisoryKind::Vulnerability,
                severity_source: SeveritySource::Default,
                fixed_in: None,
            },
        }
    }

    #[test]
    fn only_changed_manifests_and_the_manifests_reading_a_changed_file_are_concerned() {
        let rules = DiscoveryRules::default();
        assert!(manifests_concerned(&["README.md".into()], &[], &rules).is_empty());
        let lock = StoredManifest {
            path: "Cargo.lock".into(),
            inputs: vec![
                Input {
                    path: "Cargo.lock".into(),
                    blob_id: None,
                },
                Input {
                    path: "Cargo.toml".into(),
                    blob_id: None,
                },
            ],
            dependencies: vec![],
            error: None,
            parsed_at_ms: 0,
        };
        assert_eq!(
            manifests_concerned(&["Cargo.toml".into()], std::slice::from_ref(&lock), &rules),
            vec!["Cargo.lock".to_string()]
        );
        assert_eq!(
            manifests_concerned(
                &["web/package-lock.json".into(), "src/main.rs".into()],
                &[lock],
                &rules
            ),
            vec!["web/package-lock.json".to_string()]
        );
    }

    #[test]
    fn added_is_head_minus_base_once_per_package_version_advisory() {
        let base = vec![finding(
            "a/package-lock.json",
            "lodash",
            "4.17.20",
            "GHSA-1",
            Level::High,
        )];
        let head = vec![
            finding(
                "a/package-lock.json",
                "lodash",
                "4.17.20",
                "GHSA-1",
                Level::High,
            ),
            finding(
                "a/package-lock.json",
                "minimist",
                "1.2.0",
                "GHSA-2",
                Level::Medium,
            ),
            finding(
                "b/package-lock.json",
                "minimist",
                "1.2.0",
                "GHSA-2",
                Level::Medium,
            ),
            finding(
                "b/package-lock.json",
                "axios",
                "0.1.0",
                "GHSA-3",
                Level::Critical,
            ),
        ];
        let added = added(&head, &base);
        let names: Vec<&str> = added.iter().map(|a| a.package.as_str()).collect();
        assert_eq!(names, ["axios", "minimist"]);
        assert_eq!(verdict(&added, Level::High), Verdict::Failed);
        assert_eq!(verdict(&added[1..], Level::High), Verdict::Success);
        assert_eq!(verdict(&added[1..], Level::Medium), Verdict::Failed);
    }

    #[test]
    fn a_note_is_written_only_when_something_is_added_or_one_exists() {
        assert_eq!(note_action(false, false, "x".into()), NoteAction::Nothing);
        assert_eq!(
            note_action(false, true, "x".into()),
            NoteAction::Write("x".into())
        );
        assert_eq!(
            note_action(true, false, "x".into()),
            NoteAction::Write("x".into())
        );
    }
}
