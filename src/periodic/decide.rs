//! When a periodic job runs: a pure decision over its cadence, its last run (shared by the
//! replicas), whether this replica holds it, and the time.

use std::time::Duration;

pub use crate::store::pg::LastRun;

/// How often a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Again once this long has passed since the last run finished (on any replica).
    Every(Duration),
    /// Once after the holder started (a catalog sync interval of zero: "at start and on
    /// request only"): due when no run finished since this process started. Across replicas
    /// that is once per takeover by a newly started replica, e.g. once per rolling deploy.
    AtStart,
}

/// Why a job runs now (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It never ran.
    NeverRan,
    /// Its last run started and never finished: the replica running it died (or lost the
    /// lease); this one resumes the work.
    Unfinished,
    /// Its period has passed since the last run finished.
    Due,
    /// No run finished since this process started.
    SinceStart,
}

impl Why {
    /// The log text.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::NeverRan => "never ran",
            Why::Unfinished => "the last run did not finish",
            Why::Due => "due",
            Why::SinceStart => "first since this process started",
        }
    }
}

/// What to do about a job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run it now.
    RunNow(Why),
    /// Nothing before this time (Unix ms); keep holding it meanwhile.
    WaitUntil(i64),
    /// Nothing more to do while this replica holds it (an [`Cadence::AtStart`] job that ran).
    Done,
    /// Another replica holds it: ask the election again later.
    NotOurs,
}

/// Decides what to do about a job whose last run is `last`, when this replica (`held`) has or
/// has not got it, at `now_ms`; `since_ms` is when this process started.
pub fn decide(cadence: Cadence, last: LastRun, held: bool, since_ms: i64, now_ms: i64) -> Decision {
    if !held {
        return Decision::NotOurs;
    }
    if let Some(started) = last.started_ms {
        if last.finished_ms.is_none_or(|finished| started > finished) {
            return Decision::RunNow(Why::Unfinished);
        }
    }
    let Some(finished) = last.finished_ms else {
        return Decision::RunNow(Why::NeverRan);
    };
    match cadence {
        Cadence::Every(period) => {
            let next = finished.saturating_add(period.as_millis().min(i64::MAX as u128) as i64);
            if next <= now_ms {
                Decision::RunNow(Why::Due)
            } else {
                Decision::WaitUntil(next)
            }
        }
        Cadence::AtStart if finished < since_ms => Decision::RunNow(Why::SinceStart),
        Cadence::AtStart => Decision::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const START: i64 = 1_000_000;

    fn ran(started: i64, finished: i64) -> LastRun {
        LastRun {
            started_ms: Some(started),
            finished_ms: Some(finished),
        }
    }

    #[test]
    fn a_job_another_replica_holds_is_not_ours_whatever_its_record() {
        for last in [LastRun::default(), ran(1, 2)] {
            assert_eq!(
                decide(Cadence::Every(HOUR), last, false, START, START + 10),
                Decision::NotOurs
            );
            assert_eq!(
                decide(Cadence::AtStart, last, false, START, START + 10),
                Decision::NotOurs
            );
        }
    }

    #[test]
    fn a_job_that_never_ran_runs_at_once() {
        for cadence in [Cadence::Every(HOUR), Cadence::AtStart] {
            assert_eq!(
                decide(cadence, LastRun::default(), true, START, START),
                Decision::RunNow(Why::NeverRan)
            );
        }
    }

    #[test]
    fn a_job_runs_once_per_period_counted_from_the_last_finish_on_any_replica() {
        let last = ran(START - 5_000, START - 1_000);
        // A takeover right after the dead holder's run: not again before the period is over.
        assert_eq!(
            decide(Cadence::Every(HOUR), last, true, START, START),
            Decision::WaitUntil(START - 1_000 + 3_600_000)
        );
        assert_eq!(
            decide(Cadence::Every(HOUR), last, true, START, START + 3_598_999),
            Decision::WaitUntil(START + 3_599_000)
        );
        assert_eq!(
            decide(Cadence::Every(HOUR), last, true, START, START + 3_599_000),
            Decision::RunNow(Why::Due)
        );
    }

    #[test]
    fn a_run_that_never_finished_is_resumed_by_the_next_holder() {
        // Started after the last finish: the holder died mid-run.
        let dead = LastRun {
            started_ms: Some(START + 10),
            finished_ms: Some(START),
        };
        assert_eq!(
            decide(Cadence::Every(HOUR), dead, true, START, START + 20),
            Decision::RunNow(Why::Unfinished)
        );
        let first_died = LastRun {
            started_ms: Some(START),
            finished_ms: None,
        };
        assert_eq!(
            decide(Cadence::AtStart, first_died, true, START + 5, START + 20),
            Decision::RunNow(Why::Unfinished)
        );
        // Started and finished in the same millisecond: finished.
        assert_eq!(
            decide(
                Cadence::Every(HOUR),
                ran(START, START),
                true,
                START,
                START + 1
            ),
            Decision::WaitUntil(START + 3_600_000)
        );
    }

    #[test]
    fn an_at_start_job_runs_once_after_the_holder_started() {
        // The last run finished before this process started: run (once).
        assert_eq!(
            decide(
                Cadence::AtStart,
                ran(START - 9, START - 1),
                true,
                START,
                START + 5
            ),
            Decision::RunNow(Why::SinceStart)
        );
        // It finished since: done, however long this replica goes on holding it.
        assert_eq!(
            decide(
                Cadence::AtStart,
                ran(START + 1, START + 2),
                true,
                START,
                i64::MAX
            ),
            Decision::Done
        );
    }

    #[test]
    fn a_period_too_long_for_the_clock_waits_forever_rather_than_wrapping() {
        assert_eq!(
            decide(Cadence::Every(Duration::MAX), ran(1, 2), true, START, START),
            Decision::WaitUntil(i64::MAX)
        );
    }
}
