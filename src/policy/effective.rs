//! The effective policy of a project: the policy file's values over the instance settings,
//! with where each value came from. Pure.

use serde::Serialize;

use super::file::{
    ApproveLevel, Bump, Day, Group, IgnoreRule, PathGlob, PolicyFile, Reviewer, ScheduleText,
};
use crate::advisories::cvss::Level;
use crate::remediation::planner::{Policy as PlannerPolicy, Vulnerable};

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The instance settings (flags, environment, `backline.toml`, defaults).
    Instance,
    /// The project's policy file.
    File,
}

/// A value and its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

fn pick<T>(file: Option<T>, instance: T) -> Sourced<T> {
    match file {
        Some(value) => Sourced {
            value,
            source: Source::File,
        },
        None => Sourced {
            value: instance,
            source: Source::Instance,
        },
    }
}

/// The instance's defaults for what a policy file may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceDefaults {
    /// Approval threshold.
    pub auto_approve: Option<Level>,
    /// Open bot MRs at most.
    pub max_open_mrs: usize,
    /// MR labels.
    pub labels: Vec<String>,
    /// Plan upgrades of outdated direct dependencies.
    pub update_outdated: bool,
}

impl Default for InstanceDefaults {
    fn default() -> Self {
        let p = PlannerPolicy::default();
        InstanceDefaults {
            auto_approve: p.auto_approve,
            max_open_mrs: p.max_open_mrs,
            labels: vec!["security".into(), "backline".into()],
            update_outdated: false,
        }
    }
}

/// `auto_merge`, effective.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoMerge {
    /// Merge when the pipeline succeeds.
    pub enabled: Sourced<bool>,
    /// The largest bump that merges itself.
    pub max_bump: Sourced<Bump>,
}

/// The effective policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// Scanned and acted on.
    pub enabled: Sourced<bool>,
    /// Approval threshold.
    pub auto_approve: Sourced<ApproveLevel>,
    /// Open bot MRs at most.
    pub max_open_mrs: Sourced<usize>,
    /// MR labels.
    pub labels: Sourced<Vec<String>>,
    /// MR assignees (usernames).
    pub assignees: Sourced<Vec<String>>,
    /// MR reviewers.
    pub reviewers: Sourced<Vec<Reviewer>>,
    /// Manifests not read.
    pub paths_ignore: Sourced<Vec<PathGlob>>,
    /// Ignored packages and advisories.
    pub ignore: Sourced<Vec<IgnoreRule>>,
    /// Plan upgrades of outdated direct dependencies.
    pub update_outdated: Sourced<bool>,
    /// When non-security upgrades may open (none: any time).
    pub schedule: Sourced<Option<ScheduleText>>,
    /// MR grouping.
    pub group: Sourced<Group>,
    /// Merging by itself.
    pub auto_merge: AutoMerge,
}

impl Effective {
    /// The file's values over the instance's.
    pub fn merge(instance: &InstanceDefaults, file: Option<&PolicyFile>) -> Effective {
        let f = file.cloned().unwrap_or_default();
        let am = f.auto_merge.unwrap_or_default();
        Effective {
            enabled: pick(f.enabled, true),
            auto_approve: pick(
                f.auto_approve,
                ApproveLevel::from_level(instance.auto_approve),
            ),
            max_open_mrs: pick(f.max_open_mrs.map(|n| n as usize), instance.max_open_mrs),
            labels: pick(
                f.labels.map(|l| l.into_iter().map(String::from).collect()),
                instance.labels.clone(),
            ),
            assignees: pick(
                f.assignees
                    .map(|a| a.into_iter().map(String::from).collect()),
                Vec::new(),
            ),
            reviewers: pick(f.reviewers, Vec::new()),
            paths_ignore: pick(f.paths_ignore, Vec::new()),
            ignore: pick(f.ignore, Vec::new()),
            update_outdated: pick(f.update_outdated, instance.update_outdated),
            schedule: pick(f.schedule.map(Some), None),
            group: pick(f.group, Group::None),
            auto_merge: AutoMerge {
                enabled: pick(am.enabled, false),
                max_bump: pick(am.max_bump, Bump::Patch),
            },
        }
    }

    /// The planner's approval and pacing rules.
    pub fn planner(&self) -> PlannerPolicy {
        PlannerPolicy {
            auto_approve: self.auto_approve.value.level(),
            max_open_mrs: self.max_open_mrs.value,
            upgrades_wait: None,
        }
    }

    /// The planner's rules at `now_ms`: [`Effective::planner`] with non-security upgrades held
    /// while the `schedule` window is closed.
    pub fn planner_at(&self, now_ms: i64) -> PlannerPolicy {
        PlannerPolicy {
            upgrades_wait: self.schedule_wait(now_ms).map(|w| w.reason),
            ..self.planner()
        }
    }

    /// When the `schedule` window is closed at `now_ms`: when it opens and why upgrades wait.
    pub fn schedule_wait(&self, now_ms: i64) -> Option<crate::policy::schedule::ScheduleWait> {
        self.schedule.value.as_ref()?.0.waits(now_ms)
    }

    /// The ignore rule that holds for this vulnerability on `today`, if any: a rule covering
    /// the package (every installed copy of it), or rules covering each of its advisories.
    pub fn ignored(&self, v: &Vulnerable, today: Day) -> Option<&IgnoreRule> {
        let holding = || self.ignore.value.iter().filter(|r| r.holds_on(today));
        let versions = v.versions();
        let covers = |rule: &IgnoreRule, names: &[&str]| {
            versions
                .iter()
                .all(|version| rule.covers(&v.package, version, names.iter().copied()))
        };
        if v.advisories.is_empty() {
            return holding().find(|r| r.advisory.is_none() && covers(r, &[]));
        }
        let mut first = None;
        for a in &v.advisories {
            let names: Vec<&str> = std::iter::once(a.id.as_str())
                .chain(a.aliases.iter().map(String::as_str))
                .collect();
            let rule = holding().find(|r| covers(r, &names))?;
            first.get_or_insert(rule);
        }
        first
    }

    /// Whether a manifest lies under a `paths_ignore` glob.
    pub fn path_ignored(&self, manifest: &str) -> bool {
        self.paths_ignore
            .value
            .iter()
            .any(|g| g.0.matches(manifest))
    }

    /// Whether a fix from `from` to `to` merges itself.
    pub fn merges_itself(&self, from: &str, to: &str) -> bool {
        self.auto_merge.enabled.value && Bump::between(from, to) <= self.auto_merge.max_bump.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::AdvisoryRef;
    use crate::policy::file::parse;

    fn vulnerable(package: &str, version: &str, ids: &[&str]) -> Vulnerable {
        Vulnerable {
            manifest: "package-lock.json".into(),
            ecosystem: crate::ecosystem::Ecosystem::Npm,
            package: package.into(),
            version: version.into(),
            direct: true,
            fix: Some("9.9.9".into()),
            advisories: ids
                .iter()
                .map(|id| AdvisoryRef {
                    id: id.to_string(),
                    aliases: vec![],
                    summary: None,
                    severity: Level::High,
                    cvss: None,
                    cvss_score: None,
                    kind: crate::advisories::AdvisoryKind::Vulnerability,
                    severity_source: crate::advisories::severity::SeveritySource::CvssV3,
                    fixed_in: None,
                })
                .collect(),
            severity: Level::High,
            others: Vec::new(),
        }
    }

    #[test]
    fn file_values_win_and_say_so() {
        let file =
            parse(b"labels: [deps]\nmax_open_mrs: 2\nauto_merge:\n  enabled: true\n").unwrap();
        let e = Effective::merge(&InstanceDefaults::default(), Some(&file));
        assert_eq!(e.labels.value, ["deps"]);
        assert_eq!(e.labels.source, Source::File);
        assert_eq!(e.max_open_mrs.value, 2);
        assert_eq!(e.auto_approve.value, ApproveLevel::High);
        assert_eq!(e.auto_approve.source, Source::Instance);
        assert!(e.auto_merge.enabled.value);
        assert_eq!(e.auto_merge.max_bump.source, Source::Instance);
        assert_eq!(e.planner().max_open_mrs, 2);
        let none = Effective::merge(&InstanceDefaults::default(), None);
        assert_eq!(none.labels.value, ["security", "backline"]);
        assert!(!none.merges_itself("1.0.0", "1.0.1"));
        assert!(e.merges_itself("1.0.0", "1.0.1"));
        assert!(!e.merges_itself("1.0.0", "1.1.0"));
    }

    #[test]
    fn a_schedule_holds_upgrades_outside_its_window() {
        let none = Effective::merge(&InstanceDefaults::default(), None);
        assert_eq!(
            none.planner_at(0).upgrades_wait,
            None,
            "no schedule: never waits"
        );
        let file = parse(b"schedule: \"Sat 10:00-11:00 UTC\"\n").unwrap();
        let e = Effective::merge(&InstanceDefaults::default(), Some(&file));
        // 1970-01-01 was a Thursday.
        assert_eq!(
            e.planner_at(0).upgrades_wait.as_deref(),
            Some("waiting for schedule (opens 1970-01-03 10:00 UTC)")
        );
        let saturday_ten = (2 * 24 + 10) * 3_600_000;
        assert_eq!(e.planner_at(saturday_ten).upgrades_wait, None);
        assert_eq!(e.schedule_wait(saturday_ten), None);
    }

    #[test]
    fn ignores_cover_every_installed_copy_and_lapse_after_until() {
        let file = parse(
            b"ignore:\n  - package: lodash\n    until: 2027-01-31\n  - advisory: GHSA-aaaa\n",
        )
        .unwrap();
        let e = Effective::merge(&InstanceDefaults::default(), Some(&file));
        let before = Day::try_from("2027-01-31".to_string()).unwrap();
        let after = Day::try_from("2027-02-01".to_string()).unwrap();
        let lodash = vulnerable("lodash", "4.17.20", &["GHSA-x"]);
        assert!(e.ignored(&lodash, before).is_some());
        assert!(e.ignored(&lodash, after).is_none());
        let other = vulnerable("minimist", "1.2.0", &["GHSA-aaaa"]);
        assert!(e.ignored(&other, after).is_some());
        let both = vulnerable("minimist", "1.2.0", &["GHSA-aaaa", "GHSA-bbbb"]);
        assert!(
            e.ignored(&both, after).is_none(),
            "one advisory of two is not the fix"
        );
    }

    #[test]
    fn paths_ignore_globs_apply_to_manifest_paths() {
        let file = parse(b"paths_ignore: [\"examples/**\"]\n").unwrap();
        let e = Effective::merge(&InstanceDefaults::default(), Some(&file));
        assert!(e.path_ignored("examples/demo/package-lock.json"));
        assert!(!e.path_ignored("package-lock.json"));
    }
}
