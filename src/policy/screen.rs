//! What the effective policy does to a plan, before the planner runs: manifests under
//! `paths_ignore` leave the plan (their remediations are neither fixed nor acted on), ignored
//! fixes leave it (to be recorded as dismissed by the policy, with the reason and expiry), and
//! fixes the policy dismissed whose ignore lapsed or was removed come back. Pure.

use super::effective::Effective;
use super::file::{Day, IgnoreRule};
use crate::remediation::model::{Remediation, State};
use crate::remediation::planner::{merge_copies, Vulnerable};

/// Who acts when the policy file does (in remediation histories).
pub const POLICY_ACTOR: &str = "policy file";

/// Whether the policy file dismissed this remediation (its last transition).
pub fn dismissed_by_policy(r: &Remediation) -> bool {
    r.state == State::Dismissed
        && r.history
            .iter()
            .rev()
            .find(|t| t.from != Some(t.to))
            .is_some_and(|t| t.by == POLICY_ACTOR && t.to == State::Dismissed)
}

/// The plan's inputs after the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Screened {
    /// What the planner sees.
    pub wanted: Vec<Vulnerable>,
    /// The remediations the planner sees.
    pub existing: Vec<Remediation>,
    /// Fixes to record as ignored by the policy: the vulnerability, the rule, the existing
    /// remediation's id when there is one.
    pub ignore: Vec<(Vulnerable, IgnoreRule, Option<u64>)>,
    /// Remediations the policy dismissed that are no longer ignored (planned again).
    pub lapsed: Vec<u64>,
}

/// Why a policy ignore holds, for the history: `ignored by the policy file: why (until D)`.
pub fn why(rule: &IgnoreRule) -> String {
    let mut s = format!("ignored by the policy file ({})", rule.describe());
    if let Some(r) = &rule.reason {
        s.push_str(&format!(": {r}"));
    }
    if let Some(u) = rule.until {
        s.push_str(&format!("; until {u}"));
    }
    s
}

/// Applies the policy to a plan's inputs on `today`.
pub fn screen(
    policy: &Effective,
    wanted: &[Vulnerable],
    existing: &[Remediation],
    today: Day,
) -> Screened {
    let mut sorted: Vec<&Vulnerable> = wanted
        .iter()
        .filter(|v| !policy.path_ignored(&v.manifest))
        .collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.package.cmp(&b.package)));
    let merged = merge_copies(sorted);
    let find = |v: &Vulnerable| {
        existing
            .iter()
            .find(|r| r.manifest == v.manifest && r.package == v.package)
    };
    let mut out = Screened {
        wanted: Vec::new(),
        existing: Vec::new(),
        ignore: Vec::new(),
        lapsed: Vec::new(),
    };
    let mut held_back: Vec<u64> = Vec::new();
    for v in merged {
        let r = find(&v);
        match policy.ignored(&v, today) {
            Some(rule) => {
                if let Some(r) = r {
                    held_back.push(r.id);
                }
                // Already recorded, or a person dismissed it: nothing more to say.
                let recorded = r.is_some_and(|r| r.state == State::Dismissed);
                if !recorded {
                    out.ignore.push((v.clone(), rule.clone(), r.map(|r| r.id)));
                }
            }
            None => {
                if let Some(r) = r.filter(|r| dismissed_by_policy(r)) {
                    out.lapsed.push(r.id);
                }
                out.wanted.push(v);
            }
        }
    }
    out.existing = existing
        .iter()
        .filter(|r| !policy.path_ignored(&r.manifest) && !held_back.contains(&r.id))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::cvss::Level;
    use crate::policy::effective::InstanceDefaults;
    use crate::policy::file::parse;

    fn v(manifest: &str, package: &str) -> Vulnerable {
        Vulnerable {
            manifest: manifest.into(),
            ecosystem: crate::ecosystem::Ecosystem::Npm,
            package: package.into(),
            version: "1.0.0".into(),
            direct: true,
            fix: Some("1.0.1".into()),
            advisories: Vec::new(),
            severity: Level::High,
            others: Vec::new(),
        }
    }

    fn remediation(id: u64, package: &str, state: State, by: &str) -> Remediation {
        let mut r: Remediation = serde_json::from_value(serde_json::json!({
            "id": id, "project": 1, "manifest": "package-lock.json", "ecosystem": "npm",
            "package": package, "direct": true, "from_version": "1.0.0",
            "target_version": "1.0.1", "advisories": [], "severity": "high",
            "state": "Planned", "approved_by": null, "reason": null, "branch": "b",
            "bot_wrote_branch": false, "mr_iid": null, "mr_url": null,
            "edited_by_person": false, "ignored_versions": [], "ignored_advisories": [],
            "detected_at_ms": 0, "updated_at_ms": 0, "history": [], "copies": []
        }))
        .unwrap();
        r.transition(State::Planned, "backline", "planned", 1);
        r.transition(state, by, "why", 2);
        r
    }

    fn policy(text: &str) -> Effective {
        Effective::merge(
            &InstanceDefaults::default(),
            Some(&parse(text.as_bytes()).unwrap()),
        )
    }

    fn day(s: &str) -> Day {
        Day::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn ignored_fixes_leave_the_plan_once_and_come_back_when_the_ignore_lapses() {
        let p = policy(
            "ignore:\n  - package: lodash\n    reason: unreachable\n    until: 2027-01-31\n",
        );
        let wanted = [
            v("package-lock.json", "lodash"),
            v("package-lock.json", "minimist"),
        ];
        let s = screen(&p, &wanted, &[], day("2027-01-01"));
        assert_eq!(s.wanted.len(), 1);
        assert_eq!(s.wanted[0].package, "minimist");
        assert_eq!(s.ignore.len(), 1);
        assert_eq!(
            why(&s.ignore[0].1),
            "ignored by the policy file (package lodash): unreachable; until 2027-01-31"
        );
        // Recorded: nothing more to do, and the planner does not see it (never "fixed").
        let dismissed = remediation(7, "lodash", State::Dismissed, POLICY_ACTOR);
        assert!(dismissed_by_policy(&dismissed));
        let s = screen(
            &p,
            &wanted,
            std::slice::from_ref(&dismissed),
            day("2027-01-01"),
        );
        assert!(s.ignore.is_empty());
        assert!(s.existing.is_empty());
        // After `until`: planned again.
        let s = screen(
            &p,
            &wanted,
            std::slice::from_ref(&dismissed),
            day("2027-02-01"),
        );
        assert_eq!(s.lapsed, [7]);
        assert_eq!(s.wanted.len(), 2);
        // A person's dismissal is not the policy's: it stays.
        let by_person = remediation(8, "lodash", State::Dismissed, "alice");
        let s = screen(&p, &wanted, &[by_person], day("2027-02-01"));
        assert!(s.lapsed.is_empty());
    }

    #[test]
    fn manifests_under_paths_ignore_leave_the_plan_with_their_remediations() {
        let p = policy("paths_ignore: [\"examples/**\"]\n");
        let wanted = [
            v("examples/a/package-lock.json", "lodash"),
            v("package-lock.json", "lodash"),
        ];
        let mut r = remediation(3, "lodash", State::MrOpen, "backline");
        r.manifest = "examples/a/package-lock.json".into();
        let s = screen(&p, &wanted, &[r], day("2027-01-01"));
        assert_eq!(s.wanted.len(), 1);
        assert_eq!(s.wanted[0].manifest, "package-lock.json");
        assert!(
            s.existing.is_empty(),
            "never closed as fixed by being ignored"
        );
    }
}
