//! Summary figures for the API, the dashboard and the badge. Pure: remediations and findings in,
//! figures out, at a given time.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::sla::{closed_at_ms, fixed_at_ms, is_open, SlaPolicy, DAY_MS};
use crate::advisories::cvss::Level;
use crate::findings::Finding;
use crate::gitlab::ProjectId;
use crate::remediation::model::{Remediation, State};

/// Severities from worst to least, as figures list them.
pub const LEVELS: [Level; 5] = [
    Level::Critical,
    Level::High,
    Level::Medium,
    Level::Low,
    Level::Unknown,
];

/// Weeks shown by the fixes-per-week chart.
pub const WEEKS: usize = 8;

/// Counts per severity (critical, high, medium, low, unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BySeverity(pub [usize; 5]);

impl BySeverity {
    fn slot(level: Level) -> usize {
        match level {
            Level::Critical => 0,
            Level::High => 1,
            Level::Medium => 2,
            Level::Low => 3,
            Level::Unknown => 4,
        }
    }

    /// Adds one at `level`.
    pub fn add(&mut self, level: Level) {
        self.0[Self::slot(level)] += 1;
    }

    /// The count at `level`.
    pub fn get(&self, level: Level) -> usize {
        self.0[Self::slot(level)]
    }

    /// The sum.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    /// The worst level with a count, with that count.
    pub fn worst(&self) -> Option<(Level, usize)> {
        LEVELS
            .iter()
            .map(|l| (*l, self.get(*l)))
            .find(|(_, n)| *n > 0)
    }

    /// As a JSON object `{"critical": n, ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        let map: BTreeMap<&str, usize> =
            LEVELS.iter().map(|l| (l.as_str(), self.get(*l))).collect();
        serde_json::json!(map)
    }
}

/// One project's figures (badge, project list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFigures {
    /// Vulnerable packages (per manifest, package and version) by their worst severity.
    pub vulnerable: BySeverity,
    /// Remediations whose MR is open.
    pub fixes_open: usize,
    /// Remediations waiting for approval.
    pub waiting: usize,
    /// Open remediations past their SLA.
    pub sla_breaches: usize,
}

impl ProjectFigures {
    /// Figures from a project's findings and remediations.
    pub fn of<'a>(
        findings: impl IntoIterator<Item = &'a Finding>,
        remediations: &[Remediation],
        policy: &SlaPolicy,
        now_ms: i64,
    ) -> ProjectFigures {
        // One per distinct (package, version), however many manifests reach it (`-r`
        // includes, several lockfiles).
        let mut worst: HashMap<(crate::ecosystem::Ecosystem, &str, &str), Level> = HashMap::new();
        for f in findings.into_iter().filter(|f| f.is_vulnerability()) {
            let slot = worst
                .entry((f.ecosystem, &f.package, &f.version))
                .or_insert(f.advisory.severity);
            *slot = (*slot).max(f.advisory.severity);
        }
        let mut vulnerable = BySeverity::default();
        for level in worst.values() {
            vulnerable.add(*level);
        }
        ProjectFigures {
            vulnerable,
            fixes_open: remediations
                .iter()
                .filter(|r| r.state == State::MrOpen)
                .count(),
            waiting: remediations
                .iter()
                .filter(|r| waits_for_approval(r))
                .count(),
            sla_breaches: remediations
                .iter()
                .filter(|r| is_open(r.state) && policy.status(r, now_ms).breached)
                .count(),
        }
    }
}

/// Whether a remediation is a plan waiting for a person's approval.
pub fn waits_for_approval(r: &Remediation) -> bool {
    r.state == State::Planned && r.approved_by.is_none() && r.target_version.is_some()
}

/// The whole picture.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Projects in the catalog.
    pub projects: usize,
    /// Projects with at least one vulnerable package.
    pub projects_with_open_vulnerabilities: usize,
    /// Open remediations (planned, MR open, not fixable) by severity.
    #[serde(serialize_with = "by_severity_json")]
    pub open_remediations: BySeverity,
    /// Vulnerable packages by severity, across projects.
    #[serde(serialize_with = "by_severity_json")]
    pub open_findings: BySeverity,
    /// Open remediations past their due date.
    pub sla_breaches: usize,
    /// Plans waiting for approval.
    pub waiting_for_approval: usize,
    /// MRs open.
    pub fixes_open: usize,
    /// Median time from detection to the merged/fixed transition, over fixes of the last 30
    /// days, in milliseconds.
    pub median_time_to_fix_ms: Option<i64>,
    /// Fixes in the last 30 days.
    pub fixed_last_30_days: usize,
    /// Fixes per week, oldest first, the last entry being the current week (7 days back from
    /// now).
    pub fixes_per_week: [usize; WEEKS],
    /// Open remediations at the end of each of the last weeks, oldest first, the last entry
    /// being now: open findings over time, from the remediations' histories.
    pub open_per_week: [usize; WEEKS],
}

fn by_severity_json<S: serde::Serializer>(v: &BySeverity, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&v.to_json(), s)
}

impl Summary {
    /// Computes the summary: every remediation, and the figures of every catalogued project.
    pub fn compute<'a>(
        remediations: &[Remediation],
        projects: impl IntoIterator<Item = (ProjectId, &'a ProjectFigures)>,
        policy: &SlaPolicy,
        now_ms: i64,
    ) -> Summary {
        let mut s = Summary::default();
        for (_, figures) in projects {
            s.projects += 1;
            if figures.vulnerable.total() > 0 {
                s.projects_with_open_vulnerabilities += 1;
            }
            for l in LEVELS {
                s.open_findings.0[BySeverity::slot(l)] += figures.vulnerable.get(l);
            }
        }
        let mut times = Vec::new();
        for r in remediations {
            if is_open(r.state) {
                s.open_remediations.add(r.severity);
                if policy.status(r, now_ms).breached {
                    s.sla_breaches += 1;
                }
            }
            if r.state == State::MrOpen {
                s.fixes_open += 1;
            }
            if waits_for_approval(r) {
                s.waiting_for_approval += 1;
            }
            if let Some(at) = fixed_at_ms(r).filter(|at| *at <= now_ms) {
                let age = now_ms - at;
                if age < 30 * DAY_MS {
                    times.push((at - r.detected_at_ms).max(0));
                }
                let week = (age / (7 * DAY_MS)) as usize;
                if week < WEEKS {
                    s.fixes_per_week[WEEKS - 1 - week] += 1;
                }
            }
        }
        for (slot, open) in s.open_per_week.iter_mut().enumerate() {
            let at = now_ms - (WEEKS - 1 - slot) as i64 * 7 * DAY_MS;
            *open = remediations
                .iter()
                .filter(|r| r.detected_at_ms <= at)
                .filter(|r| closed_at_ms(r).is_none_or(|closed| closed > at))
                .count();
        }
        s.fixed_last_30_days = times.len();
        s.median_time_to_fix_ms = median(&mut times);
        s
    }

    /// The JSON of `GET /api/v1/summary`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["median_time_to_fix_days"] = self
            .median_time_to_fix_ms
            .map(|ms| (ms as f64 / DAY_MS as f64 * 10.0).round() / 10.0)
            .into();
        v
    }
}

/// The median (the mean of the two middle values for an even count).
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::sla::tests::rem;

    #[test]
    fn figures_with_a_fixed_clock() {
        let now = 2_000 * DAY_MS;
        let p = SlaPolicy::default();
        // Open critical, past due (3 days).
        let a = rem(1, 1, Level::Critical, now - 5 * DAY_MS);
        // Open high with an MR, in time.
        let mut b = rem(2, 1, Level::High, now - DAY_MS);
        b.transition(State::MrOpen, "backline", "opened", now - DAY_MS);
        // Fixed after 2 days, a week and a half ago.
        let mut c = rem(3, 2, Level::Medium, now - 12 * DAY_MS);
        c.transition(State::Fixed, "backline", "fixed", now - 10 * DAY_MS);
        // Merged after 4 days, today.
        let mut d = rem(4, 2, Level::Low, now - 4 * DAY_MS);
        d.transition(State::Merged, "alice", "merged", now - 1000);
        // Fixed 40 days ago: outside the median window and the 8 weeks... (40 d < 56 d: inside).
        let mut e = rem(5, 3, Level::Low, now - 50 * DAY_MS);
        e.transition(State::Fixed, "backline", "fixed", now - 40 * DAY_MS);
        let all = vec![a, b, c, d, e];
        let figs = [
            (ProjectId(1), ProjectFigures::of([], &all[..2], &p, now)),
            (ProjectId(2), ProjectFigures::default()),
        ];
        let s = Summary::compute(&all, figs.iter().map(|(id, f)| (*id, f)), &p, now);
        assert_eq!(s.open_remediations.get(Level::Critical), 1);
        assert_eq!(s.open_remediations.get(Level::High), 1);
        assert_eq!(s.open_remediations.total(), 2);
        assert_eq!(s.sla_breaches, 1);
        assert_eq!(s.waiting_for_approval, 1);
        assert_eq!(s.fixes_open, 1);
        assert_eq!(s.fixed_last_30_days, 2);
        assert_eq!(s.median_time_to_fix_ms, Some(3 * DAY_MS - 500));
        assert_eq!(s.fixes_per_week, [0, 0, 1, 0, 0, 0, 1, 1]);
        // Open over time: each remediation counts from its detection to its closing.
        // e was open from 50 to 40 days ago; a and b are open now; c and d closed in between.
        assert_eq!(s.open_per_week, [1, 1, 0, 0, 0, 0, 0, 2]);
        assert_eq!(s.projects, 2);
        assert_eq!(figs[0].1.sla_breaches, 1);
        let json = s.to_json();
        assert_eq!(json["open_remediations"]["critical"], 1);
        assert_eq!(json["median_time_to_fix_days"], 3.0);
    }

    #[test]
    fn a_package_reached_through_two_manifests_counts_once() {
        use crate::advisories::severity::SeveritySource;
        use crate::advisories::AdvisoryKind;
        use crate::ecosystem::Ecosystem;
        use crate::findings::AdvisoryRef;
        let finding = |path: &str, package: &str| Finding {
            path: path.into(),
            ecosystem: Ecosystem::PyPI,
            package: package.into(),
            version: "2.10".into(),
            direct: true,
            fix_version: Some("2.10.1".into()),
            fixes_all: Some("2.10.1".into()),
            advisory: AdvisoryRef {
                id: "PYSEC-2019-217".into(),
                aliases: vec![],
                summary: None,
                severity: Level::High,
                cvss: None,
                cvss_score: None,
                kind: AdvisoryKind::Vulnerability,
                severity_source: SeveritySource::Default,
                fixed_in: Some("2.10.1".into()),
            },
        };
        // requirements.txt includes requirements-base.txt with `-r`: both report jinja2.
        let findings = [
            finding("requirements.txt", "jinja2"),
            finding("requirements-base.txt", "jinja2"),
            finding("requirements-base.txt", "flask"),
        ];
        let figs = ProjectFigures::of(&findings, &[], &SlaPolicy::default(), 0);
        assert_eq!(figs.vulnerable.total(), 2);
    }

    #[test]
    fn median_of_even_and_empty() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [5]), Some(5));
    }
}
