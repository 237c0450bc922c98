//! Per-project lanes: an in-memory schedule over the durable inbox. One project's deliveries run
//! in order, one at a time; different projects run in parallel. A failed delivery keeps its place
//! at the head of its lane until its retry time, so later events of that project wait for it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A lane held by [`Lanes::hold`]; dropping it lets the workers back in.
pub struct LaneHold {
    lanes: Arc<Lanes>,
    lane: u64,
    /// The same lane held for every replica (PostgreSQL), released after this process's.
    _shared: Option<crate::store::PgLaneLock>,
}

impl Drop for LaneHold {
    fn drop(&mut self) {
        self.lanes.release(self.lane);
    }
}

/// A delivery handed to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// The lane (project id, or 0).
    pub lane: u64,
    /// The delivery's sequence number.
    pub seq: u64,
}

#[derive(Default)]
struct Lane {
    queue: VecDeque<u64>,
    /// A worker runs its head, or work outside the workers holds it ([`Lanes::hold`]).
    busy: bool,
    /// In `ready` or `delayed`.
    scheduled: bool,
}

#[derive(Default)]
struct State {
    lanes: HashMap<u64, Lane>,
    ready: VecDeque<u64>,
    delayed: BTreeSet<(Instant, u64)>,
    not_before: HashMap<u64, Instant>,
    queued: usize,
    running: usize,
    closed: bool,
}

impl State {
    fn schedule(&mut self, lane_id: u64, now: Instant) {
        let Some(lane) = self.lanes.get_mut(&lane_id) else {
            return;
        };
        if lane.busy || lane.scheduled {
            return;
        }
        let Some(head) = lane.queue.front() else {
            self.lanes.remove(&lane_id);
            return;
        };
        lane.scheduled = true;
        match self.not_before.get(head) {
            Some(&at) if at > now => {
                self.delayed.insert((at, lane_id));
            }
            _ => self.ready.push_back(lane_id),
        }
    }

    fn promote_due(&mut self, now: Instant) {
        while let Some(&(at, lane)) = self.delayed.first() {
            if at > now {
                break;
            }
            self.delayed.pop_first();
            self.ready.push_back(lane);
        }
    }
}

/// The schedule shared by the intake (which pushes) and the workers (which take and finish).
#[derive(Default)]
pub struct Lanes {
    state: Mutex<State>,
    work: Notify,
    changed: Notify,
    /// On PostgreSQL: the database whose advisory locks make a hold exclude other replicas too
    /// (`crate::store::pg_lanes`).
    shared: std::sync::OnceLock<crate::store::PgDb>,
}

impl Lanes {
    /// An empty schedule.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a delivery at the end of its lane; `delay` holds it back (a pending retry).
    pub fn push(&self, lane: u64, seq: u64, delay: Option<Duration>) {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(d) = delay.filter(|d| !d.is_zero()) {
            state.not_before.insert(seq, now + d);
        }
        state.lanes.entry(lane).or_default().queue.push_back(seq);
        state.queued += 1;
        state.schedule(lane, now);
        drop(state);
        self.work.notify_one();
    }

    /// Takes a runnable delivery now, if any (`Err` once closed, with the earliest retry time).
    fn take(&self) -> Result<Option<Job>, Option<Instant>> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.closed {
            return Ok(None);
        }
        state.promote_due(now);
        let lane_id = loop {
            let Some(lane_id) = state.ready.pop_front() else {
                return Err(state.delayed.first().map(|(at, _)| *at));
            };
            let lane = state.lanes.get_mut(&lane_id).expect("ready lane exists");
            lane.scheduled = false;
            if !lane.busy {
                break lane_id;
            }
            // Held since it was scheduled: the release schedules it again.
        };
        let lane = state.lanes.get_mut(&lane_id).expect("ready lane exists");
        lane.busy = true;
        let seq = *lane.queue.front().expect("ready lane has work");
        state.running += 1;
        let more = !state.ready.is_empty();
        drop(state);
        if more {
            // Pass the baton: another worker may take the next ready lane.
            self.work.notify_one();
        }
        Ok(Some(Job { lane: lane_id, seq }))
    }

    /// A runnable delivery right now, without waiting.
    pub fn try_next(&self) -> Option<Job> {
        self.take().ok().flatten()
    }

    /// The next delivery whose lane is free, waiting for one; `None` once closed.
    pub async fn next(&self) -> Option<Job> {
        loop {
            let notified = self.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.take() {
                Ok(job) => return job,
                Err(Some(at)) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                Err(None) => notified.await,
            }
        }
    }

    /// Ends a job: done (the delivery leaves its lane) or to be retried after `retry_in` (it
    /// stays at the head of its lane).
    pub fn finish(&self, job: Job, retry_in: Option<Duration>) {
        let now = Instant::now();
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        if let Some(lane) = state.lanes.get_mut(&job.lane) {
            lane.busy = false;
            match retry_in {
                Some(delay) => {
                    state.not_before.insert(job.seq, now + delay);
                }
                None => {
                    if lane.queue.front() == Some(&job.seq) {
                        lane.queue.pop_front();
                    } else {
                        lane.queue.retain(|s| *s != job.seq);
                    }
                    state.not_before.remove(&job.seq);
                    state.queued = state.queued.saturating_sub(1);
                }
            }
        }
        state.schedule(job.lane, now);
        drop(state);
        self.work.notify_one();
        self.changed.notify_waiters();
    }

    /// Deliveries pushed and not finished (running ones included).
    pub fn depth(&self) -> usize {
        self.lock().queued
    }

    /// Deliveries running right now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// Resolves when no delivery is queued, waiting for a retry, or running.
    pub async fn wait_idle(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.lock().queued == 0 {
                return;
            }
            changed.await;
        }
    }

    /// Resolves once delivery `seq` has left lane `lane` (done or given up on; not while it
    /// waits for a retry).
    pub async fn wait_left(&self, lane: u64, seq: u64) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let present = self
                .lock()
                .lanes
                .get(&lane)
                .is_some_and(|l| l.queue.contains(&seq));
            if !present {
                return;
            }
            changed.await;
        }
    }

    /// Takes lane `lane` for work done outside the workers (a scan after a catalog sync, a
    /// recheck after an advisory sync): waits until no worker runs it, then keeps the workers
    /// off it until the returned hold is dropped. This is the one per-project ordering: a lane's
    /// deliveries, its actions and such work never interleave. Never call it from a handler
    /// running in the same lane (it would wait for itself).
    pub async fn hold(self: &Arc<Self>, lane: u64) -> LaneHold {
        let mut hold = self.hold_here(lane).await;
        if let Some(db) = self.shared.get() {
            hold._shared = Some(crate::store::pg_lanes::lock(db, lane).await);
        }
        hold
    }

    /// Makes every later [`Lanes::hold`] take its lane on `db` too, so that several replicas
    /// sharing one PostgreSQL database never work on one project at once. Set once, when the
    /// app opens its store.
    pub fn share_with(&self, db: crate::store::PgDb) {
        let _ = self.shared.set(db);
    }

    /// The lane in this process only.
    async fn hold_here(self: &Arc<Self>, lane: u64) -> LaneHold {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                let entry = state.lanes.entry(lane).or_default();
                if !entry.busy {
                    entry.busy = true;
                    return LaneHold {
                        lanes: self.clone(),
                        lane,
                        _shared: None,
                    };
                }
            }
            changed.await;
        }
    }

    fn release(&self, lane: u64) {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(l) = state.lanes.get_mut(&lane) {
            l.busy = false;
        }
        state.schedule(lane, now);
        drop(state);
        self.work.notify_one();
        self.changed.notify_waiters();
    }

    /// Whether [`Lanes::close`] was called (workers that do not wait on the lanes stop then).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Stops handing out work; waiting workers get `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.work.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_lane_runs_in_order_one_at_a_time() {
        let lanes = Lanes::new();
        lanes.push(1, 10, None);
        lanes.push(1, 11, None);
        lanes.push(2, 12, None);
        let a = lanes.next().await.unwrap();
        let b = lanes.next().await.unwrap();
        assert_eq!(a, Job { lane: 1, seq: 10 });
        assert_eq!(
            b,
            Job { lane: 2, seq: 12 },
            "lane 1 is busy, lane 2 runs in parallel"
        );
        // Nothing else is runnable until lane 1 finishes.
        assert_eq!(lanes.try_next(), None);
        lanes.finish(a, None);
        assert_eq!(lanes.next().await.unwrap(), Job { lane: 1, seq: 11 });
        assert_eq!(lanes.depth(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_holds_its_lane_until_due() {
        let lanes = Lanes::new();
        lanes.push(1, 10, None);
        lanes.push(1, 11, None);
        let a = lanes.next().await.unwrap();
        lanes.finish(a, Some(Duration::from_secs(30)));
        assert_eq!(lanes.try_next(), None, "not before its retry time");
        let start = Instant::now();
        let again = lanes.next().await.unwrap();
        assert_eq!(
            again,
            Job { lane: 1, seq: 10 },
            "the failed head comes back first"
        );
        assert!(start.elapsed() >= Duration::from_secs(30));
        lanes.finish(again, None);
        assert_eq!(lanes.next().await.unwrap().seq, 11);
    }

    #[tokio::test]
    async fn wait_idle_resolves_after_the_last_finish() {
        let lanes = std::sync::Arc::new(Lanes::new());
        lanes.push(0, 1, None);
        let idle = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.wait_idle().await })
        };
        let job = lanes.next().await.unwrap();
        assert!(!idle.is_finished());
        lanes.finish(job, None);
        idle.await.unwrap();
        assert_eq!(lanes.depth(), 0);
    }

    #[tokio::test]
    async fn a_held_lane_waits_for_its_worker_and_keeps_workers_off() {
        let lanes = Arc::new(Lanes::new());
        lanes.push(1, 10, None);
        lanes.push(1, 11, None);
        let running = lanes.next().await.unwrap();
        let hold = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.hold(1).await })
        };
        tokio::task::yield_now().await;
        assert!(!hold.is_finished(), "a worker runs lane 1");
        lanes.finish(running, None);
        let held = hold.await.unwrap();
        assert_eq!(lanes.try_next(), None, "lane 1 is held");
        lanes.push(2, 12, None);
        assert_eq!(lanes.try_next().unwrap().lane, 2, "other lanes run");
        drop(held);
        assert_eq!(lanes.try_next(), Some(Job { lane: 1, seq: 11 }));
    }

    #[tokio::test]
    async fn wait_left_resolves_when_the_delivery_is_done_not_when_retried() {
        let lanes = Arc::new(Lanes::new());
        lanes.push(4, 40, None);
        let left = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.wait_left(4, 40).await })
        };
        let job = lanes.next().await.unwrap();
        lanes.finish(job, Some(Duration::ZERO));
        tokio::task::yield_now().await;
        assert!(!left.is_finished(), "a retry keeps it in its lane");
        let job = lanes.next().await.unwrap();
        lanes.finish(job, None);
        left.await.unwrap();
    }

    #[tokio::test]
    async fn close_releases_waiting_workers() {
        let lanes = std::sync::Arc::new(Lanes::new());
        let waiter = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.next().await })
        };
        tokio::task::yield_now().await;
        lanes.close();
        assert_eq!(waiter.await.unwrap(), None);
    }
}
