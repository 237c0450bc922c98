//! The pure planner: current vulnerabilities and existing remediations in, one decision per
//! (manifest, package) out, each with its reason. No I/O: the executor carries decisions out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::model::{Remediation, State};
use crate::advisories::cvss::Level;
use crate::ecosystem::Ecosystem;
use crate::findings::{AdvisoryRef, Finding};

/// Approval and pacing rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Fixes at or above this level are approved by policy; `None`: every fix waits for a person.
    pub auto_approve: Option<Level>,
    /// Open bot MRs per project at most.
    pub max_open_mrs: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            auto_approve: Some(Level::High),
            max_open_mrs: 10,
        }
    }
}

impl Policy {
    /// Whether a fix of `level` is approved without a person.
    pub fn approves(&self, level: Level) -> bool {
        self.auto_approve
            .is_some_and(|min| level >= min && level != Level::Unknown)
    }
}

/// One vulnerable package version in one manifest, with every advisory on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vulnerable {
    /// Manifest.
    pub manifest: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Direct dependency.
    pub direct: bool,
    /// The smallest version no advisory affects.
    pub fix: Option<String>,
    /// The advisories.
    pub advisories: Vec<AdvisoryRef>,
    /// Highest severity.
    pub severity: Level,
    /// The other vulnerable installed versions of the package in this manifest: one MR moves
    /// every copy it can (see [`merge_copies`]).
    pub others: Vec<String>,
}

impl Vulnerable {
    /// Every vulnerable installed version, sorted.
    pub fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = std::iter::once(self.version.clone())
            .chain(self.others.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Merges the vulnerable versions of each (manifest, package) into one: the first (the
/// caller's order: highest severity first) names it, the others ride along; the target is the
/// highest of their fixes (no advisory affects it, so it fixes every copy), the advisories are
/// the union, the severity the highest.
pub fn merge_copies(sorted: Vec<&Vulnerable>) -> Vec<Vulnerable> {
    let mut out: Vec<Vulnerable> = Vec::new();
    for v in sorted {
        let Some(m) = out
            .iter_mut()
            .find(|m| m.manifest == v.manifest && m.package == v.package)
        else {
            out.push(v.clone());
            continue;
        };
        if m.version != v.version && !m.others.contains(&v.version) {
            m.others.push(v.version.clone());
        }
        for o in &v.others {
            if *o != m.version && !m.others.contains(o) {
                m.others.push(o.clone());
            }
        }
        m.direct |= v.direct;
        m.severity = m.severity.max(v.severity);
        m.fix = match (m.fix.take(), &v.fix) {
            (Some(a), Some(b)) => Some(
                if crate::advisories::version::compare(m.ecosystem, &a, b).is_lt() {
                    b.clone()
                } else {
                    a
                },
            ),
            (a, b) => a.or_else(|| b.clone()),
        };
        for a in &v.advisories {
            if !m.advisories.iter().any(|x| x.id == a.id) {
                m.advisories.push(a.clone());
            }
        }
    }
    out
}

/// Groups vulnerability findings by (manifest, package, version); informational ones are left out.
pub fn vulnerable(findings: &[Finding]) -> Vec<Vulnerable> {
    let mut groups: BTreeMap<(String, String, String), Vulnerable> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.is_vulnerability()) {
        let g = groups
            .entry((f.path.clone(), f.package.clone(), f.version.clone()))
            .or_insert_with(|| Vulnerable {
                manifest: f.path.clone(),
                ecosystem: f.ecosystem,
                package: f.package.clone(),
                version: f.version.clone(),
                direct: f.direct,
                fix: f.fixes_all.clone(),
                advisories: Vec::new(),
                severity: Level::Unknown,
                others: Vec::new(),
            });
        g.direct |= f.direct;
        g.severity = g.severity.max(f.advisory.severity);
        if g.fix.is_none() {
            g.fix = f.fixes_all.clone();
        }
        g.advisories.push(f.advisory.clone());
    }
    groups.into_values().collect()
}

/// What to do about one (manifest, package).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// Track a new remediation; open its MR at once when `open` (approved and under the cap).
    New {
        /// The vulnerability.
        vulnerable: Vulnerable,
        /// Approved by policy.
        approved: bool,
        /// Open the MR now.
        open: bool,
        /// Why it is not fixable, or why it waits.
        reason: String,
    },
    /// Open the MR of an approved, planned remediation.
    Open {
        /// Remediation id.
        id: u64,
        /// Why.
        reason: String,
    },
    /// Move the remediation to a new target (a newer advisory, or the installed version moved):
    /// the same branch and MR are updated when one is open.
    Retarget {
        /// Remediation id.
        id: u64,
        /// The vulnerability now.
        vulnerable: Vulnerable,
        /// Why.
        reason: String,
    },
    /// The vulnerability came back after a fix: reopen the bot's MR and refresh its branch.
    Reopen {
        /// Remediation id.
        id: u64,
        /// The vulnerability now.
        vulnerable: Vulnerable,
        /// Why.
        reason: String,
    },
    /// Fixed another way while the MR was open: close it with a note.
    CloseObsolete {
        /// Remediation id.
        id: u64,
        /// Why.
        reason: String,
    },
    /// The default branch no longer has the vulnerable version.
    Fixed {
        /// Remediation id.
        id: u64,
        /// Why.
        reason: String,
    },
}

/// Plans one project. Decisions come ordered by severity (highest first), so that the cap on
/// open MRs goes to the worst vulnerabilities.
pub fn plan(vulns: &[Vulnerable], existing: &[Remediation], policy: &Policy) -> Vec<Decision> {
    let by_key: BTreeMap<(&str, &str), &Remediation> = existing
        .iter()
        .map(|r| ((r.manifest.as_str(), r.package.as_str()), r))
        .collect();
    let mut open_now = existing.iter().filter(|r| r.state == State::MrOpen).count();
    let mut sorted: Vec<&Vulnerable> = vulns.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.package.cmp(&b.package)));
    // One decision per (manifest, package): several installed versions share one MR.
    let merged = merge_copies(sorted);
    let mut sorted: Vec<&Vulnerable> = merged.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.package.cmp(&b.package)));
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for v in sorted {
        let key = (v.manifest.as_str(), v.package.as_str());
        seen.insert(key);
        let mut room = || {
            if open_now < policy.max_open_mrs {
                open_now += 1;
                true
            } else {
                false
            }
        };
        let Some(r) = by_key.get(&key) else {
            let approved = policy.approves(v.severity);
            let (open, reason) = match &v.fix {
                None => (false, "no fixed version is published".to_string()),
                Some(_) if !approved => (
                    false,
                    format!(
                        "{} severity: waits for `/backline approve` or the API",
                        v.severity.as_str()
                    ),
                ),
                Some(_) if room() => (true, "approved by policy".to_string()),
                Some(_) => (
                    false,
                    format!("waits: {} bot MRs are open (the cap)", policy.max_open_mrs),
                ),
            };
            out.push(Decision::New {
                vulnerable: v.clone(),
                approved,
                open,
                reason,
            });
            continue;
        };
        let target_changed = r.target_version != v.fix
            || r.from_version != v.version
            || r.versions() != v.versions();
        match r.state {
            State::Dismissed | State::NotFixable | State::Planned
                if target_changed
                    && !(r.state == State::Dismissed
                        && v.fix
                            .as_ref()
                            .is_some_and(|f| r.ignored_versions.contains(f))) =>
            {
                out.push(Decision::Retarget {
                    id: r.id,
                    vulnerable: v.clone(),
                    reason: format!(
                        "now {} {} needs {}",
                        v.package,
                        v.version,
                        v.fix
                            .as_deref()
                            .unwrap_or("a fix that is not published yet")
                    ),
                });
            }
            State::Planned
                if r.approved_by.is_some() && v.fix.is_some() && !r.is_ignored() && room() =>
            {
                out.push(Decision::Open {
                    id: r.id,
                    reason: "approved".into(),
                });
            }
            State::MrOpen if target_changed => out.push(Decision::Retarget {
                id: r.id,
                vulnerable: v.clone(),
                reason: match (&r.target_version, &v.fix) {
                    (Some(old), Some(new)) if old != new => {
                        format!("superseded: a newer advisory needs {new} instead of {old}")
                    }
                    _ => format!("the installed version is now {}", v.version),
                },
            }),
            State::Fixed | State::Obsolete if !r.is_ignored() => out.push(Decision::Reopen {
                id: r.id,
                vulnerable: v.clone(),
                reason: format!("{} {} is vulnerable again", v.package, v.version),
            }),
            _ => {}
        }
    }
    for r in existing {
        if seen.contains(&(r.manifest.as_str(), r.package.as_str())) {
            continue;
        }
        match r.state {
            State::MrOpen => out.push(Decision::CloseObsolete {
                id: r.id,
                reason: format!(
                    "{} is no longer vulnerable in {} (fixed another way)",
                    r.package, r.manifest
                ),
            }),
            State::Merged | State::Planned | State::NotFixable => out.push(Decision::Fixed {
                id: r.id,
                reason: format!("{} is no longer vulnerable in {}", r.package, r.manifest),
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::AdvisoryKind;
    use crate::ids::ProjectId;

    fn adv(id: &str, severity: Level) -> AdvisoryRef {
        AdvisoryRef {
            id: id.into(),
            aliases: vec![],
            summary: None,
            severity,
            cvss: None,
            cvss_score: None,
            kind: AdvisoryKind::Vulnerability,
            severity_source: crate::advisories::severity::SeveritySource::CvssV3,
            fixed_in: None,
        }
    }

    fn vuln(package: &str, version: &str, fix: Option<&str>, severity: Level) -> Vulnerable {
        Vulnerable {
            manifest: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: package.into(),
            version: version.into(),
            direct: true,
            fix: fix.map(str::to_string),
            advisories: vec![adv("RUSTSEC-1", severity)],
            severity,
            others: vec![],
        }
    }

    fn rem(id: u64, v: &Vulnerable, state: State) -> Remediation {
        Remediation {
            id,
            project: ProjectId(1),
            manifest: v.manifest.clone(),
            ecosystem: v.ecosystem,
            package: v.package.clone(),
            direct: v.direct,
            from_version: v.version.clone(),
            target_version: v.fix.clone(),
            advisories: v.advisories.clone(),
            severity: v.severity,
            state,
            approved_by: Some("policy".into()),
            reason: None,
            branch: "b".into(),
            bot_wrote_branch: false,
            mr_iid: None,
            mr_url: None,
            edited_by_person: false,
            ignored_versions: vec![],
            ignored_advisories: vec![],
            detected_at_ms: 0,
            updated_at_ms: 0,
            history: vec![],
            copies: vec![],
            route: None,
        }
    }

    #[test]
    fn new_vulnerabilities_are_approved_by_severity_and_capped() {
        let policy = Policy {
            auto_approve: Some(Level::High),
            max_open_mrs: 1,
        };
        let vulns = vec![
            vuln("a", "1.0.0", Some("1.0.1"), Level::High),
            vuln("b", "1.0.0", Some("1.0.1"), Level::Critical),
            vuln("c", "1.0.0", Some("1.0.1"), Level::Medium),
            vuln("d", "1.0.0", None, Level::Critical),
        ];
        let d = plan(&vulns, &[], &policy);
        let summary: Vec<(String, bool, bool)> = d
            .iter()
            .map(|x| match x {
                Decision::New {
                    vulnerable,
                    approved,
                    open,
                    ..
                } => (vulnerable.package.clone(), *approved, *open),
                other => panic!("{other:?}"),
            })
            .collect();
        // Critical first; the cap of one goes to b; a waits for room; c waits for a person; d
        // has no fix.
        assert_eq!(
            summary,
            vec![
                ("b".into(), true, true),
                ("d".into(), true, false),
                ("a".into(), true, false),
                ("c".into(), false, false),
            ]
        );
        match &d[1] {
            Decision::New { reason, .. } => assert_eq!(reason, "no fixed version is published"),
            _ => unreachable!(),
        }
        match &d[2] {
            Decision::New { reason, .. } => assert!(reason.contains("cap")),
            _ => unreachable!(),
        }
    }

    #[test]
    fn lifecycle_decisions() {
        let policy = Policy::default();
        let v = vuln("regex", "1.5.4", Some("1.5.5"), Level::High);
        // Open and unchanged: nothing.
        assert!(plan(
            std::slice::from_ref(&v),
            &[rem(1, &v, State::MrOpen)],
            &policy
        )
        .is_empty());
        // A newer advisory needs 1.5.6: the same MR is retargeted.
        let newer = vuln("regex", "1.5.4", Some("1.5.6"), Level::High);
        match &plan(
            std::slice::from_ref(&newer),
            &[rem(1, &v, State::MrOpen)],
            &policy,
        )[0]
        {
            Decision::Retarget { id: 1, reason, .. } => assert!(reason.starts_with("superseded")),
            other => panic!("{other:?}"),
        }
        // Gone while the MR is open: obsolete. Gone after merge: fixed.
        assert!(matches!(
            plan(&[], &[rem(1, &v, State::MrOpen)], &policy)[0],
            Decision::CloseObsolete { id: 1, .. }
        ));
        assert!(matches!(
            plan(&[], &[rem(1, &v, State::Merged)], &policy)[0],
            Decision::Fixed { id: 1, .. }
        ));
        // Back after being fixed: reopen.
        assert!(matches!(
            plan(
                std::slice::from_ref(&v),
                &[rem(1, &v, State::Obsolete)],
                &policy
            )[0],
            Decision::Reopen { id: 1, .. }
        ));
        // Dismissed for this version: nothing, even when it comes back.
        let mut dismissed = rem(1, &v, State::Dismissed);
        dismissed.ignored_versions.push("1.5.5".into());
        assert!(plan(std::slice::from_ref(&v), &[dismissed.clone()], &policy).is_empty());
        // ... but a fix to another version is planned again.
        assert!(matches!(
            plan(&[newer], &[dismissed], &policy)[0],
            Decision::Retarget { id: 1, .. }
        ));
        // Approved and planned: opened when there is room.
        assert!(matches!(
            plan(
                std::slice::from_ref(&v),
                &[rem(1, &v, State::Planned)],
                &policy
            )[0],
            Decision::Open { id: 1, .. }
        ));
        let mut waiting = rem(1, &v, State::Planned);
        waiting.approved_by = None;
        assert!(plan(&[v], &[waiting], &policy).is_empty());
    }

    #[test]
    fn findings_group_by_package_version() {
        let f = |id: &str, sev| Finding {
            path: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: "h2".into(),
            version: "0.3.15".into(),
            direct: false,
            fix_version: Some("0.4.16".into()),
            fixes_all: Some("0.4.16".into()),
            advisory: adv(id, sev),
        };
        let g = vulnerable(&[f("A", Level::Medium), f("B", Level::High)]);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].severity, Level::High);
        assert_eq!(g[0].advisories.len(), 2);
    }

    /// Issue 13: three installed versions of one package in one lockfile make one decision
    /// (one MR and branch), whose target fixes them all; a changed set of copies retargets it.
    #[test]
    fn several_installed_versions_make_one_decision() {
        let npm = |version: &str, fix: &str, sev: Level| Vulnerable {
            manifest: "package-lock.json".into(),
            ecosystem: Ecosystem::Npm,
            package: "lodash".into(),
            version: version.into(),
            direct: version == "4.17.11",
            fix: Some(fix.into()),
            advisories: vec![adv(&format!("GHSA-{version}"), sev)],
            severity: sev,
            others: vec![],
        };
        let vulns = vec![
            npm("2.4.2", "4.17.21", Level::Medium),
            npm("4.13.1", "4.17.19", Level::High),
            npm("4.17.11", "4.17.21", Level::Critical),
        ];
        let d = plan(&vulns, &[], &Policy::default());
        assert_eq!(d.len(), 1, "{d:?}");
        let Decision::New { vulnerable, .. } = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(vulnerable.version, "4.17.11", "the worst copy names it");
        assert_eq!(vulnerable.versions(), vec!["2.4.2", "4.13.1", "4.17.11"]);
        assert_eq!(vulnerable.fix.as_deref(), Some("4.17.21"));
        assert_eq!(vulnerable.severity, Level::Critical);
        assert!(vulnerable.direct);
        assert_eq!(vulnerable.advisories.len(), 3);

        // The MR is open for these three copies: nothing to do.
        let mut r = rem(1, vulnerable, State::MrOpen);
        r.copies = vulnerable
            .versions()
            .into_iter()
            .map(crate::remediation::model::Copy::pending)
            .collect();
        assert!(plan(&vulns, std::slice::from_ref(&r), &Policy::default()).is_empty());
        // One copy gone (a parent was upgraded): the same MR is retargeted.
        assert!(matches!(
            plan(&vulns[1..], &[r], &Policy::default())[..],
            [Decision::Retarget { id: 1, .. }]
        ));
    }
}
