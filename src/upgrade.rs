//! Upgrading a data directory written by an earlier backline, before anything reads it.
//!
//! Schema 1 → 2: findings and remediations gained fields (each advisory's own fix and where its
//! severity came from; dependencies gained their source). Values are postcard-encoded, which is
//! not self-describing, so old values must be rewritten, not just read leniently:
//! - remediations (people's decisions and every MR's history) are decoded in the old layout and
//!   written in the new one;
//! - manifests, findings and the last commit read per project are derived data: they are
//!   dropped, and the next sync rescans each project from its default branch (one tree listing
//!   and the manifest files per project).
//!
//! Schema 2 → 3: remediations gained `copies` (each vulnerable installed version of the package
//! and whether the bot's branch moves it). A schema 2 remediation claimed its title's version
//! alone: that copy is `Moved` when the branch was written, else `Pending`.
//!
//! Schema 3 → 4: remediations gained `route` (how the fix gets through: direct, parent bump,
//! override, blocked; issue 18). A schema 3 remediation has none recorded: `None`, set again
//! the next time its branch is written.

use serde::{Deserialize, Serialize};

use crate::advisories::cvss::Level;
use crate::advisories::severity::SeveritySource;
use crate::advisories::AdvisoryKind;
use crate::ecosystem::Ecosystem;
use crate::findings::AdvisoryRef;
use crate::gitlab::{MrIid, ProjectId};
use crate::remediation::model::{Claim, Copy, Remediation, State, Transition};
use crate::store::{decode, encode, Bytes, Store, StoreError, Table, SCHEMA_VERSION};

/// Trees of derived data, rebuilt by the next scan.
const DERIVED: [&str; 3] = ["manifests", "findings", "project_heads"];
const REMEDIATIONS: &str = crate::remediation::table::REMEDIATIONS;

/// A tree's values as stored, for rows whose layout is read by hand.
type RawRows = Table<u64, Vec<u8>, Bytes>;

/// What an upgrade did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub from: u32,
    pub remediations: usize,
    pub derived_dropped: usize,
}

/// Brings `store` to [`SCHEMA_VERSION`]; `None` when it already was.
pub fn upgrade(store: &Store) -> Result<Option<Upgraded>, StoreError> {
    let found = store.schema_version()?;
    if found >= SCHEMA_VERSION {
        return Ok(None);
    }
    let mut report = Upgraded {
        from: found,
        ..Upgraded::default()
    };
    // Each row is rewritten from the layout its schema wrote; a row already in the current
    // layout (an upgrade interrupted after it) decodes with every byte used and is left.
    let tree: RawRows = store.table(REMEDIATIONS)?;
    for entry in tree.iter() {
        let (id, value) = entry?;
        let key = id.to_be_bytes();
        if decode_exact::<Remediation>(&value).is_some() {
            continue;
        }
        let current = if found < 2 {
            let Ok(old) = decode::<RemediationV1>(REMEDIATIONS, &key, &value) else {
                continue;
            };
            Remediation::from(RemediationV2::from(old))
        } else if found < 3 {
            Remediation::from(decode::<RemediationV2>(REMEDIATIONS, &key, &value)?)
        } else {
            Remediation::from(decode::<RemediationV3>(REMEDIATIONS, &key, &value)?)
        };
        tree.insert(&id, &encode(&current))?;
        report.remediations += 1;
    }
    if found < 2 {
        for name in DERIVED {
            let derived: Table<Vec<u8>, Vec<u8>, Bytes> = store.table(name)?;
            report.derived_dropped += derived.count();
            derived.clear()?;
        }
    }
    if found < 3 {
        let merged = fold_duplicates(store)?;
        if merged > 0 {
            tracing::info!(
                merged,
                "remediations of one package and manifest sharing one MR were merged into one"
            );
        }
    }
    store.set_schema_version(SCHEMA_VERSION)?;
    store.flush_now()?;
    Ok(Some(report))
}

#[cfg(test)]
const KEYS: &str = crate::remediation::table::KEYS;

/// Before schema 3, several installed versions of one package in one manifest each made a
/// remediation; all but the last lost their index entry, and all showed the one MR of their
/// shared branch as theirs. Each such record whose indexed twin has the same branch is merged
/// into that twin (a history line says so); the next scan plans the twin again for every
/// installed copy, so that its MR claims exactly what it moves. Returns how many were merged.
fn fold_duplicates(store: &Store) -> Result<usize, StoreError> {
    let tree: RawRows = store.table(REMEDIATIONS)?;
    let keys = crate::remediation::table::Tables::open(store)?.keys;
    let mut indexed = std::collections::BTreeSet::new();
    for kv in keys.iter() {
        let (_, id) = kv?;
        indexed.insert(id);
    }
    let mut merged = 0;
    for kv in tree.iter() {
        let (id, value) = kv?;
        if indexed.contains(&id) {
            continue;
        }
        let orphan: Remediation = decode(REMEDIATIONS, &id.to_be_bytes(), &value)?;
        let natural = crate::remediation::table::natural_key(
            orphan.project,
            &orphan.manifest,
            &orphan.package,
        );
        let Some(twin_id) = keys.get(&natural)? else {
            continue;
        };
        let Some(twin_value) = tree.get(&twin_id)? else {
            continue;
        };
        let mut twin: Remediation = decode(REMEDIATIONS, &twin_id.to_be_bytes(), &twin_value)?;
        if twin.branch != orphan.branch {
            continue;
        }
        twin.history.push(Transition {
            at_ms: twin.updated_at_ms,
            from: Some(twin.state),
            to: twin.state,
            by: "backline".into(),
            why: format!(
                "merged remediation {} ({} {}): one MR per package and manifest, claiming only the copies it moves",
                orphan.id, orphan.package, orphan.from_version
            ),
        });
        tree.insert(&twin_id, &encode(&twin))?;
        tree.remove(&id)?;
        merged += 1;
    }
    Ok(merged)
}

/// Decodes a value only when it uses every byte (postcard's `from_bytes` ignores a tail).
fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (_, rest) = bytes.split_first()?;
    match postcard::take_from_bytes::<T>(rest) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// `AdvisoryRef` as schema 1 stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AdvisoryRefV1 {
    id: String,
    aliases: Vec<String>,
    summary: Option<String>,
    severity: Level,
    cvss: Option<String>,
    cvss_score: Option<f64>,
    kind: AdvisoryKind,
}

impl From<AdvisoryRefV1> for AdvisoryRef {
    fn from(old: AdvisoryRefV1) -> AdvisoryRef {
        // Schema 1 took the level from a CVSS v3 vector, else the database's word.
        let severity_source = match (&old.kind, &old.cvss, old.severity) {
            (AdvisoryKind::Vulnerability, Some(_), _) => SeveritySource::CvssV3,
            (AdvisoryKind::Vulnerability, None, Level::Unknown) => SeveritySource::Default,
            (AdvisoryKind::Vulnerability, None, _) => SeveritySource::Database,
            _ => SeveritySource::None,
        };
        AdvisoryRef {
            id: old.id,
            aliases: old.aliases,
            summary: old.summary,
            severity: old.severity,
            cvss: old.cvss,
            cvss_score: old.cvss_score,
            kind: old.kind,
            severity_source,
            fixed_in: None,
        }
    }
}

/// `Remediation` as schema 1 stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RemediationV1 {
    id: u64,
    project: ProjectId,
    manifest: String,
    ecosystem: Ecosystem,
    package: String,
    direct: bool,
    from_version: String,
    target_version: Option<String>,
    advisories: Vec<AdvisoryRefV1>,
    severity: Level,
    state: State,
    approved_by: Option<String>,
    reason: Option<String>,
    branch: String,
    mr_iid: Option<MrIid>,
    mr_url: Option<String>,
    edited_by_person: bool,
    ignored_versions: Vec<String>,
    ignored_advisories: Vec<String>,
    detected_at_ms: i64,
    updated_at_ms: i64,
    history: Vec<Transition>,
}

impl From<RemediationV1> for RemediationV2 {
    fn from(old: RemediationV1) -> RemediationV2 {
        RemediationV2 {
            id: old.id,
            project: old.project,
            manifest: old.manifest,
            ecosystem: old.ecosystem,
            package: old.package,
            direct: old.direct,
            from_version: old.from_version,
            target_version: old.target_version,
            advisories: old.advisories.into_iter().map(AdvisoryRef::from).collect(),
            severity: old.severity,
            state: old.state,
            approved_by: old.approved_by,
            reason: old.reason,
            branch: old.branch,
            // Schema 1 wrote branches only for its own MRs.
            bot_wrote_branch: old.mr_iid.is_some(),
            mr_iid: old.mr_iid,
            mr_url: old.mr_url,
            edited_by_person: old.edited_by_person,
            ignored_versions: old.ignored_versions,
            ignored_advisories: old.ignored_advisories,
            detected_at_ms: old.detected_at_ms,
            updated_at_ms: old.updated_at_ms,
            history: old.history,
        }
    }
}

/// `Remediation` as schema 2 stored it (before `copies`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RemediationV2 {
    id: u64,
    project: ProjectId,
    manifest: String,
    ecosystem: Ecosystem,
    package: String,
    direct: bool,
    from_version: String,
    target_version: Option<String>,
    advisories: Vec<AdvisoryRef>,
    severity: Level,
    state: State,
    approved_by: Option<String>,
    reason: Option<String>,
    branch: String,
    bot_wrote_branch: bool,
    mr_iid: Option<MrIid>,
    mr_url: Option<String>,
    edited_by_person: bool,
    ignored_versions: Vec<String>,
    ignored_advisories: Vec<String>,
    detected_at_ms: i64,
    updated_at_ms: i64,
    history: Vec<Transition>,
}

impl From<RemediationV2> for Remediation {
    fn from(old: RemediationV2) -> Remediation {
        // Schema 2 moved the title's version alone, once the branch was written.
        let written = old.bot_wrote_branch || old.mr_iid.is_some();
        let copies = vec![Copy {
            version: old.from_version.clone(),
            paths: Vec::new(),
            claim: if written && old.state != State::NotFixable {
                Claim::Moved
            } else {
                Claim::Pending
            },
        }];
        Remediation {
            id: old.id,
            project: old.project,
            manifest: old.manifest,
            ecosystem: old.ecosystem,
            package: old.package,
            direct: old.direct,
            from_version: old.from_version,
            target_version: old.target_version,
            advisories: old.advisories,
            severity: old.severity,
            state: old.state,
            approved_by: old.approved_by,
            reason: old.reason,
            branch: old.branch,
            bot_wrote_branch: old.bot_wrote_branch,
            mr_iid: old.mr_iid,
            mr_url: old.mr_url,
            edited_by_person: old.edited_by_person,
            ignored_versions: old.ignored_versions,
            ignored_advisories: old.ignored_advisories,
            detected_at_ms: old.detected_at_ms,
            updated_at_ms: old.updated_at_ms,
            history: old.history,
            copies,
            route: None,
        }
    }
}

/// `Remediation` as schema 3 stored it (before `route`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RemediationV3 {
    id: u64,
    project: ProjectId,
    manifest: String,
    ecosystem: Ecosystem,
    package: String,
    direct: bool,
    from_version: String,
    target_version: Option<String>,
    advisories: Vec<AdvisoryRef>,
    severity: Level,
    state: State,
    approved_by: Option<String>,
    reason: Option<String>,
    branch: String,
    bot_wrote_branch: bool,
    mr_iid: Option<MrIid>,
    mr_url: Option<String>,
    edited_by_person: bool,
    ignored_versions: Vec<String>,
    ignored_advisories: Vec<String>,
    detected_at_ms: i64,
    updated_at_ms: i64,
    history: Vec<Transition>,
    copies: Vec<Copy>,
}

impl From<RemediationV3> for Remediation {
    fn from(old: RemediationV3) -> Remediation {
        Remediation {
            id: old.id,
            project: old.project,
            manifest: old.manifest,
            ecosystem: old.ecosystem,
            package: old.package,
            direct: old.direct,
            from_version: old.from_version,
            target_version: old.target_version,
            advisories: old.advisories,
            severity: old.severity,
            state: old.state,
            approved_by: old.approved_by,
            reason: old.reason,
            branch: old.branch,
            bot_wrote_branch: old.bot_wrote_branch,
            mr_iid: old.mr_iid,
            mr_url: old.mr_url,
            edited_by_person: old.edited_by_person,
            ignored_versions: old.ignored_versions,
            ignored_advisories: old.ignored_advisories,
            detected_at_ms: old.detected_at_ms,
            updated_at_ms: old.updated_at_ms,
            history: old.history,
            copies: old.copies,
            route: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree's keys and values as stored, to write the layouts of earlier schemas by hand.
    fn raw(store: &Store, name: &'static str) -> Table<Vec<u8>, Vec<u8>, Bytes> {
        store.table(name).unwrap()
    }

    fn old_remediation() -> RemediationV1 {
        RemediationV1 {
            id: 7,
            project: ProjectId(42),
            manifest: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: "regex".into(),
            direct: true,
            from_version: "1.5.4".into(),
            target_version: Some("1.5.5".into()),
            advisories: vec![AdvisoryRefV1 {
                id: "RUSTSEC-2022-0013".into(),
                aliases: vec!["CVE-2022-24713".into()],
                summary: Some("Regexes with large repetitions on empty sub-expressions take a very long time to parse".into()),
                severity: Level::High,
                cvss: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into()),
                cvss_score: Some(7.5),
                kind: AdvisoryKind::Vulnerability,
            }],
            severity: Level::High,
            state: State::Dismissed,
            approved_by: Some("alice".into()),
            reason: None,
            branch: "backline/crates.io/regex-1.5.5".into(),
            mr_iid: Some(MrIid(3)),
            mr_url: Some("https://gitlab.example/acme/api/-/merge_requests/3".into()),
            edited_by_person: false,
            ignored_versions: vec!["1.5.5".into()],
            ignored_advisories: vec![],
            detected_at_ms: 1_700_000_000_000,
            updated_at_ms: 1_700_000_100_000,
            history: vec![],
        }
    }

    #[test]
    fn a_schema_1_store_keeps_its_remediations_and_drops_derived_data() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            raw(&store, REMEDIATIONS)
                .insert(&7u64.to_be_bytes().to_vec(), &encode(&old_remediation()))
                .unwrap();
            raw(&store, "findings")
                .insert(&b"x".to_vec(), &b"old".to_vec())
                .unwrap();
            store.set_schema_version(1).unwrap();
            store.flush_now().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        // The new layout cannot read the old value: the upgrade is what makes it readable.
        let value = raw(&store, REMEDIATIONS)
            .get(&7u64.to_be_bytes().to_vec())
            .unwrap()
            .unwrap();
        assert!(decode::<Remediation>(REMEDIATIONS, b"k", &value).is_err());

        let report = upgrade(&store).unwrap().expect("an upgrade");
        assert_eq!(
            report,
            Upgraded {
                from: 1,
                remediations: 1,
                derived_dropped: 1
            }
        );
        let value = raw(&store, REMEDIATIONS)
            .get(&7u64.to_be_bytes().to_vec())
            .unwrap()
            .unwrap();
        let r: Remediation = decode(REMEDIATIONS, b"k", &value).unwrap();
        assert_eq!(r.state, State::Dismissed);
        assert_eq!(r.ignored_versions, vec!["1.5.5".to_string()]);
        assert_eq!(r.mr_iid, Some(MrIid(3)));
        assert_eq!(r.advisories[0].severity_source, SeveritySource::CvssV3);
        // Through schema 2 to 3: the MR claimed its title's version alone.
        assert_eq!(
            r.copies,
            vec![Copy {
                version: "1.5.4".into(),
                paths: vec![],
                claim: Claim::Moved
            }]
        );
        assert!(raw(&store, "findings").is_empty().unwrap());
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        // Twice changes nothing.
        assert_eq!(upgrade(&store).unwrap(), None);
    }

    fn v2_of(old: RemediationV1) -> RemediationV2 {
        RemediationV2::from(old)
    }

    #[test]
    fn a_schema_2_store_gains_the_copies_its_mrs_moved() {
        let dir = tempfile::tempdir().unwrap();
        let mut open_mr = v2_of(old_remediation());
        open_mr.state = State::MrOpen;
        // A second installed version that shared remediation 7's branch and MR, its index
        // entry lost (the pre-schema-3 bug): merged into 7.
        let mut twin = v2_of(old_remediation());
        twin.id = 6;
        twin.from_version = "1.4.0".into();
        twin.state = State::MrOpen;
        let mut waiting = v2_of(old_remediation());
        waiting.id = 8;
        waiting.package = "memchr".into();
        waiting.branch = "backline/crates.io/memchr-2.5.0".into();
        waiting.state = State::Planned;
        waiting.mr_iid = None;
        waiting.mr_url = None;
        waiting.bot_wrote_branch = false;
        {
            let store = Store::open(dir.path()).unwrap();
            let tree = raw(&store, REMEDIATIONS);
            tree.insert(&7u64.to_be_bytes().to_vec(), &encode(&open_mr))
                .unwrap();
            tree.insert(&8u64.to_be_bytes().to_vec(), &encode(&waiting))
                .unwrap();
            tree.insert(&6u64.to_be_bytes().to_vec(), &encode(&twin))
                .unwrap();
            let mut natural = 42u64.to_be_bytes().to_vec();
            natural.extend_from_slice(b"Cargo.lock\0regex");
            raw(&store, KEYS)
                .insert(&natural, &7u64.to_be_bytes().to_vec())
                .unwrap();
            let mut natural = 42u64.to_be_bytes().to_vec();
            natural.extend_from_slice(b"Cargo.lock\0memchr");
            raw(&store, KEYS)
                .insert(&natural, &8u64.to_be_bytes().to_vec())
                .unwrap();
            raw(&store, "findings")
                .insert(&b"x".to_vec(), &b"kept".to_vec())
                .unwrap();
            store.set_schema_version(2).unwrap();
            store.flush_now().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let tree = raw(&store, REMEDIATIONS);
        let value = tree.get(&7u64.to_be_bytes().to_vec()).unwrap().unwrap();
        assert!(decode::<Remediation>(REMEDIATIONS, b"k", &value).is_err());
        let report = upgrade(&store).unwrap().expect("an upgrade");
        assert_eq!(
            report,
            Upgraded {
                from: 2,
                remediations: 3,
                derived_dropped: 0
            }
        );
        let read = |id: u64| -> Remediation {
            let value = tree.get(&id.to_be_bytes().to_vec()).unwrap().unwrap();
            decode(REMEDIATIONS, b"k", &value).unwrap()
        };
        let r = read(7);
        assert_eq!(r.state, State::MrOpen);
        assert_eq!(r.mr_iid, Some(MrIid(3)));
        assert_eq!(r.moved_versions(), vec!["1.5.4"]);
        assert_eq!(r.copies[0].claim, Claim::Moved);
        assert_eq!(read(8).copies[0].claim, Claim::Pending);
        // The twin is gone, named in 7's history.
        assert!(tree.get(&6u64.to_be_bytes().to_vec()).unwrap().is_none());
        assert!(r
            .history
            .last()
            .unwrap()
            .why
            .starts_with("merged remediation 6 (regex 1.4.0)"));
        // Schema 2 findings are still readable: kept.
        assert_eq!(raw(&store, "findings").count(), 1);
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(upgrade(&store).unwrap(), None);
    }

    /// Issue 18: a schema 3 remediation is read into the schema 4 layout with no route.
    #[test]
    fn a_schema_3_store_gains_an_empty_route() {
        let dir = tempfile::tempdir().unwrap();
        let current = Remediation::from(v2_of(old_remediation()));
        let v3 = RemediationV3 {
            id: current.id,
            project: current.project,
            manifest: current.manifest.clone(),
            ecosystem: current.ecosystem,
            package: current.package.clone(),
            direct: current.direct,
            from_version: current.from_version.clone(),
            target_version: current.target_version.clone(),
            advisories: current.advisories.clone(),
            severity: current.severity,
            state: State::MrOpen,
            approved_by: current.approved_by.clone(),
            reason: current.reason.clone(),
            branch: current.branch.clone(),
            bot_wrote_branch: true,
            mr_iid: current.mr_iid,
            mr_url: current.mr_url.clone(),
            edited_by_person: false,
            ignored_versions: vec![],
            ignored_advisories: vec![],
            detected_at_ms: 1,
            updated_at_ms: 2,
            history: current.history.clone(),
            copies: current.copies.clone(),
        };
        {
            let store = Store::open(dir.path()).unwrap();
            let tree = raw(&store, REMEDIATIONS);
            tree.insert(&7u64.to_be_bytes().to_vec(), &encode(&v3))
                .unwrap();
            store.set_schema_version(3).unwrap();
            store.flush_now().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let tree = raw(&store, REMEDIATIONS);
        let bytes = tree.get(&7u64.to_be_bytes().to_vec()).unwrap().unwrap();
        assert!(decode::<Remediation>(REMEDIATIONS, b"k", &bytes).is_err());
        let report = upgrade(&store).unwrap().expect("an upgrade");
        assert_eq!((report.from, report.remediations), (3, 1));
        let bytes = tree.get(&7u64.to_be_bytes().to_vec()).unwrap().unwrap();
        let r: Remediation = decode(REMEDIATIONS, b"k", &bytes).unwrap();
        assert_eq!(r.route, None);
        assert_eq!((r.state, r.copies.clone()), (State::MrOpen, v3.copies));
        assert_eq!(store.schema_version().unwrap(), 4);
    }
}
