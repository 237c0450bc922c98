//! SLA clocks (DESIGN §5): each severity has a number of days from detection to fix. A
//! remediation is due at `detected + days`; it is breached when it was not fixed, merged,
//! dismissed or made obsolete by then. Pure.

use crate::advisories::cvss::Level;
use crate::remediation::model::{Remediation, State};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Days allowed per severity. Unknown severity uses the low clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Days for critical.
    pub critical: u32,
    /// Days for high.
    pub high: u32,
    /// Days for medium.
    pub medium: u32,
    /// Days for low (and unknown).
    pub low: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            critical: 3,
            high: 14,
            medium: 30,
            low: 90,
        }
    }
}

/// A malformed `BACKLINE_SLA_DAYS` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// An entry is not `level=days`.
    #[error("{0:?} is not level=days (e.g. critical=3)")]
    Entry(String),
    /// An unknown severity.
    #[error("{0:?} is not one of critical, high, medium, low")]
    Level(String),
    /// Days are not a positive whole number.
    #[error("{0:?} is not a whole number of days above 0")]
    Days(String),
}

impl SlaPolicy {
    /// Parses `critical=3,high=14,medium=30,low=90`; levels left out keep their default.
    pub fn parse(text: &str) -> Result<SlaPolicy, SlaError> {
        let mut p = SlaPolicy::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (level, days) = entry
                .split_once('=')
                .ok_or_else(|| SlaError::Entry(entry.to_string()))?;
            let days: u32 = days
                .trim()
                .parse()
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| SlaError::Days(days.trim().to_string()))?;
            match level.trim().to_ascii_lowercase().as_str() {
                "critical" => p.critical = days,
                "high" => p.high = days,
                "medium" => p.medium = days,
                "low" => p.low = days,
                other => return Err(SlaError::Level(other.to_string())),
            }
        }
        Ok(p)
    }

    /// Days allowed for a severity.
    pub fn days(&self, level: Level) -> u32 {
        match level {
            Level::Critical => self.critical,
            Level::High => self.high,
            Level::Medium => self.medium,
            Level::Low | Level::Unknown => self.low,
        }
    }

    /// When a remediation of `level` detected at `detected_ms` is due.
    pub fn due_at_ms(&self, level: Level, detected_ms: i64) -> i64 {
        detected_ms.saturating_add(i64::from(self.days(level)) * DAY_MS)
    }

    /// Where a remediation stands against its clock at `now_ms`.
    pub fn status(&self, r: &Remediation, now_ms: i64) -> SlaStatus {
        let due_at_ms = self.due_at_ms(r.severity, r.detected_at_ms);
        let closed_at_ms = if is_open(r.state) {
            None
        } else {
            closed_at_ms(r)
        };
        let breached = if is_open(r.state) {
            now_ms > due_at_ms
        } else {
            closed_at_ms.is_some_and(|c| c > due_at_ms)
        };
        SlaStatus {
            due_at_ms,
            breached,
            closed_at_ms,
        }
    }
}

/// A remediation against its SLA clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaStatus {
    /// When it is (or was) due.
    pub due_at_ms: i64,
    /// Open past the due date, or closed after it.
    pub breached: bool,
    /// When it was closed (fixed, merged, dismissed, obsolete), if it is.
    pub closed_at_ms: Option<i64>,
}

/// Whether the vulnerability is still there and not dismissed: planned, MR open, not fixable.
pub fn is_open(state: State) -> bool {
    matches!(state, State::Planned | State::MrOpen | State::NotFixable)
}

/// When the remediation last entered its current closed state (from the history; else its last
/// update).
pub fn closed_at_ms(r: &Remediation) -> Option<i64> {
    if is_open(r.state) {
        return None;
    }
    let entered = r
        .history
        .iter()
        .rev()
        .find(|t| t.to == r.state && t.from != Some(r.state))
        .map(|t| t.at_ms);
    Some(entered.unwrap_or(r.updated_at_ms))
}

/// When the fix landed: the first transition to `merged` or `fixed` after the last time the
/// remediation was open again (a vulnerability that came back starts a new clock of fix).
pub fn fixed_at_ms(r: &Remediation) -> Option<i64> {
    if !matches!(r.state, State::Merged | State::Fixed) {
        return None;
    }
    let mut fixed = None;
    for t in &r.history {
        match t.to {
            State::Merged | State::Fixed if fixed.is_none() => fixed = Some(t.at_ms),
            s if is_open(s) && t.from.is_some_and(|f| !is_open(f)) => fixed = None,
            _ => {}
        }
    }
    fixed
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ecosystem::Ecosystem;
    use crate::gitlab::ProjectId;
    use crate::remediation::model::Transition;

    pub(crate) fn rem(id: u64, project: u64, severity: Level, detected: i64) -> Remediation {
        Remediation {
            id,
            project: ProjectId(project),
            manifest: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: format!("pkg{id}"),
            direct: true,
            from_version: "1.0.0".into(),
            target_version: Some("1.0.1".into()),
            advisories: Vec::new(),
            severity,
            state: State::Planned,
            approved_by: None,
            reason: None,
            branch: "b".into(),
            bot_wrote_branch: false,
            mr_iid: None,
            mr_url: None,
            edited_by_person: false,
            ignored_versions: Vec::new(),
            ignored_advisories: Vec::new(),
            detected_at_ms: detected,
            updated_at_ms: detected,
            history: vec![Transition {
                at_ms: detected,
                from: None,
                to: State::Planned,
                by: "backline".into(),
                why: "detected".into(),
            }],
            copies: Vec::new(),
            route: None,
        }
    }

    #[test]
    fn parse_keeps_defaults_and_rejects_bad_entries() {
        let p = SlaPolicy::parse("critical=1, HIGH=7").unwrap();
        assert_eq!((p.critical, p.high, p.medium, p.low), (1, 7, 30, 90));
        assert_eq!(SlaPolicy::parse("").unwrap(), SlaPolicy::default());
        assert!(matches!(
            SlaPolicy::parse("urgent=1"),
            Err(SlaError::Level(_))
        ));
        assert!(matches!(SlaPolicy::parse("high=0"), Err(SlaError::Days(_))));
        assert!(matches!(SlaPolicy::parse("high"), Err(SlaError::Entry(_))));
    }

    #[test]
    fn due_dates_and_breaches_with_a_fixed_clock() {
        let p = SlaPolicy::default();
        let t0 = 1_700_000_000_000;
        let mut r = rem(1, 1, Level::Critical, t0);
        let s = p.status(&r, t0 + 3 * DAY_MS);
        assert_eq!(s.due_at_ms, t0 + 3 * DAY_MS);
        assert!(!s.breached, "due exactly now is not late");
        assert!(p.status(&r, t0 + 3 * DAY_MS + 1).breached);
        // Fixed in time: never breached, however late we look.
        r.transition(State::MrOpen, "backline", "opened", t0 + DAY_MS);
        r.transition(State::Fixed, "backline", "fixed", t0 + 2 * DAY_MS);
        let s = p.status(&r, t0 + 100 * DAY_MS);
        assert!(!s.breached);
        assert_eq!(s.closed_at_ms, Some(t0 + 2 * DAY_MS));
        assert_eq!(fixed_at_ms(&r), Some(t0 + 2 * DAY_MS));
        // Unknown severity runs on the low clock; dismissal late is a breach.
        let mut u = rem(2, 1, Level::Unknown, t0);
        assert_eq!(p.status(&u, t0).due_at_ms, t0 + 90 * DAY_MS);
        u.transition(State::Dismissed, "alice", "closed", t0 + 91 * DAY_MS);
        assert!(p.status(&u, t0 + 200 * DAY_MS).breached);
        assert_eq!(fixed_at_ms(&u), None);
    }

    #[test]
    fn a_vulnerability_that_comes_back_restarts_the_fix_time() {
        let t0 = 1_000 * DAY_MS;
        let mut r = rem(1, 1, Level::High, t0);
        r.transition(State::MrOpen, "backline", "opened", t0 + DAY_MS);
        r.transition(State::Merged, "alice", "merged", t0 + 2 * DAY_MS);
        r.transition(State::Fixed, "backline", "fixed", t0 + 3 * DAY_MS);
        assert_eq!(fixed_at_ms(&r), Some(t0 + 2 * DAY_MS));
        r.transition(State::MrOpen, "backline", "came back", t0 + 5 * DAY_MS);
        assert_eq!(fixed_at_ms(&r), None);
        r.transition(State::Fixed, "backline", "fixed again", t0 + 6 * DAY_MS);
        assert_eq!(fixed_at_ms(&r), Some(t0 + 6 * DAY_MS));
    }
}
