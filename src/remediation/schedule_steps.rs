//! The executor's side of the policy's `schedule`: non-security upgrades (outdated direct
//! dependencies, no advisory) open their MR only inside the window; the window itself is the
//! core's pure [`crate::policy::schedule::Schedule`]. The executor remembers which projects
//! have an upgrade waiting and when their window opens; the background tick
//! ([`crate::engine::background::Background::open_scheduled`]) acts on them once it has.

use std::collections::BTreeMap;

use super::executor::Executor;
use super::model::{Remediation, State};
use crate::clock::Clock;
use crate::gitlab::ProjectId;
use crate::policy::schedule::{ScheduleWait, WAITING_PREFIX};
use crate::store::StoreError;

/// Projects with an upgrade waiting for its window, and when the window opens (Unix ms).
#[derive(Debug, Default)]
pub(super) struct ScheduleWaits {
    /// Filled from the table at the first tick after a start (the map lives in memory).
    loaded: bool,
    opens: BTreeMap<ProjectId, i64>,
}

/// Whether a remediation is an approved, planned upgrade held by the schedule.
pub fn waits_for_schedule(r: &Remediation) -> bool {
    r.state == State::Planned
        && r.approved_by.is_some()
        && r.advisories.is_empty()
        && r.reason
            .as_deref()
            .is_some_and(|why| why.starts_with(WAITING_PREFIX))
}

impl Executor {
    /// The executor reading "now" from `clock` for schedule windows (given at construction;
    /// the system clock otherwise).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock schedule windows are read against.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Why a non-security upgrade of `project` waits now, if its window is closed.
    pub(super) fn upgrade_wait(
        &self,
        project: ProjectId,
    ) -> Result<Option<ScheduleWait>, StoreError> {
        Ok(self.effective(project)?.schedule_wait(self.clock.now_ms()))
    }

    /// Records whether `project` has an upgrade waiting for a window opening at `opens_ms`.
    pub fn note_schedule(&self, project: ProjectId, opens_ms: Option<i64>) {
        let mut w = self
            .schedule_waits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match opens_ms {
            Some(at) => {
                w.opens.insert(project, at);
            }
            None => {
                w.opens.remove(&project);
            }
        }
    }

    /// After acting on `project`: whether one of its upgrades still waits for the window.
    pub(super) fn settle_schedule(
        &self,
        project: ProjectId,
        wait: Option<&ScheduleWait>,
    ) -> Result<(), StoreError> {
        let waiting = match wait {
            Some(_) => self
                .table
                .of_project(project)?
                .iter()
                .any(waits_for_schedule),
            None => false,
        };
        self.note_schedule(project, wait.filter(|_| waiting).map(|w| w.opens_ms));
        Ok(())
    }

    /// Projects whose upgrades waited for a window that is open now (acted on by the
    /// background tick). After a start, every project with a waiting upgrade is due once.
    pub fn due_on_schedule(&self) -> Result<Vec<ProjectId>, StoreError> {
        let loaded = self
            .schedule_waits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .loaded;
        if !loaded {
            let (_, all) = self.table.page(0, usize::MAX)?;
            let mut w = self
                .schedule_waits
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for r in all.iter().filter(|r| waits_for_schedule(r)) {
                w.opens.entry(r.project).or_insert(i64::MIN);
            }
            w.loaded = true;
        }
        let now = self.clock.now_ms();
        let w = self
            .schedule_waits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Ok(w.opens
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(p, _)| *p)
            .collect())
    }
}
