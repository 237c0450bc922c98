//! The loop each periodic job runs in, on every replica: ask the election (every third of the
//! lease on PostgreSQL), run the job when [`decide`] says so, renew the lease while the run
//! lasts, record the run, and on a clean shutdown stop and let go of every job so that another
//! replica takes them over at its next poll instead of waiting for the lease to run out.
//!
//! A replica that loses a job's lease mid-run (it stalled past the lease, or the database was
//! unreachable while it ran) logs it and finishes the run: the project lanes, shared by the
//! replicas on PostgreSQL, keep the two runs from interleaving on any project.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::decide::{decide, Cadence, Decision};
use super::election::Election;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::pg::{PeriodicJob, Term};

/// Starts one run of a job: called when the run begins (so work that must be seen as started
/// at once, like a catalog sync an API call waits for, starts in the call); the future is the
/// rest of the run. Each job logs its own outcome; a failed run waits a period like any other.
pub type Work = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A periodic job and how to run it.
pub struct Job {
    /// Which job.
    pub kind: PeriodicJob,
    /// How often.
    pub cadence: Cadence,
    /// One run.
    pub work: Work,
}

/// The longest a stop waits for a job's loop, then for the release of each job (a database
/// that stopped answering must not hold the shutdown up).
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The longest a sled replica sleeps before deciding again (a far-off time is decided again).
const SOLO_LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Runs the periodic jobs of one replica.
pub struct Coordinator {
    election: Election,
    poll: Duration,
    since_ms: i64,
    clock: Clock,
    metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<(PeriodicJob, JoinHandle<()>)>>,
}

/// What a job's loop does next.
enum Step {
    Run {
        term: Term,
        work: BoxFuture<'static, ()>,
    },
    Sleep(Duration),
    Exit,
}

/// What a job's loop remembers between polls.
#[derive(Default)]
struct Held {
    /// The term this replica held at the last poll.
    term: Option<i64>,
    /// Whether the last poll could not ask the election (logged once).
    failing: bool,
}

impl Coordinator {
    /// Jobs under `election`; on PostgreSQL each asks it every third of `lease`.
    pub fn new(election: Election, lease: Duration, metrics: Arc<Metrics>) -> Arc<Self> {
        Self::clocked(election, lease, metrics, Clock::system())
    }

    /// [`Coordinator::new`] reading the time from `clock` (tests run it on tokio's paused
    /// time). On PostgreSQL the replicas' clocks must agree to well within a lease.
    pub fn clocked(
        election: Election,
        lease: Duration,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Arc<Self> {
        let names: Vec<&str> = PeriodicJob::ALL.iter().map(|j| j.as_str()).collect();
        metrics.start_periodic_jobs(&names);
        Arc::new(Coordinator {
            election,
            poll: (lease / 3).max(Duration::from_millis(100)),
            since_ms: clock.now_ms(),
            clock,
            metrics,
            stop: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// How often the election is asked (PostgreSQL).
    pub fn poll(&self) -> Duration {
        self.poll
    }

    /// Starts `job`'s loop. The first decision is made (and a due run begun) before this
    /// returns, so that a catalog sync due at start is already running when the server says it
    /// is listening.
    pub async fn start(self: &Arc<Self>, job: Job) {
        let mut held = Held::default();
        let first = self.next(&job, &mut held).await;
        let kind = job.kind;
        let me = self.clone();
        let stop = self.stop.subscribe();
        let handle = tokio::spawn(async move { me.drive(job, held, first, stop).await });
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push((kind, handle));
        }
    }

    /// Stops every job's loop (a run going on is dropped, as a stop always did; an election
    /// call going on is finished first) and lets go of the jobs this replica holds.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        let mut jobs = Vec::with_capacity(tasks.len());
        for (job, mut handle) in tasks {
            match tokio::time::timeout(STOP_WAIT, &mut handle).await {
                Ok(Err(e)) if e.is_panic() => {
                    tracing::error!(job = %job, "a periodic job's loop panicked")
                }
                Ok(_) => {}
                Err(_) => {
                    handle.abort();
                    tracing::warn!(job = %job, "a periodic job's loop did not stop in time (the database?): stopped");
                }
            }
            jobs.push(job);
        }
        if !self.election.is_shared() {
            return;
        }
        for job in &jobs {
            match tokio::time::timeout(STOP_WAIT, self.election.release(*job)).await {
                Ok(Ok(())) => self.metrics.set_periodic_held(job.as_str(), false),
                Ok(Err(e)) => {
                    tracing::warn!(job = %job, error = %e, "could not let go of a periodic job; another replica takes it when the lease runs out")
                }
                Err(_) => {
                    tracing::warn!(job = %job, "letting go of a periodic job took too long; another replica takes it when the lease runs out")
                }
            }
        }
        if !jobs.is_empty() {
            tracing::info!(
                replica = self.election.replica().unwrap_or_default(),
                jobs = ?jobs.iter().map(|j| j.as_str()).collect::<Vec<_>>(),
                "let go of the periodic jobs: another replica takes them at its next poll"
            );
        }
    }

    async fn drive(
        self: Arc<Self>,
        job: Job,
        mut held: Held,
        mut step: Step,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            match step {
                Step::Run { term, work } => {
                    if self.run(&job, term, work, &mut stop).await {
                        return;
                    }
                }
                Step::Sleep(wait) => {
                    tokio::select! {
                        biased;
                        _ = stopped(&mut stop) => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Step::Exit => return,
            }
            if *stop.borrow() {
                return;
            }
            step = self.next(&job, &mut held).await;
        }
    }

    /// Asks the election, decides, and begins a due run.
    async fn next(&self, job: &Job, held: &mut Held) -> Step {
        let kind = job.kind;
        let now = self.clock.now_ms();
        let term = match self.election.acquire(kind, now).await {
            Ok(term) => {
                if held.failing {
                    tracing::info!(job = %kind, "the periodic jobs' election answers again");
                }
                held.failing = false;
                term
            }
            Err(e) => {
                if !held.failing {
                    tracing::warn!(job = %kind, error = %e, "could not ask who runs a periodic job; asking again at the next poll");
                }
                held.failing = true;
                return Step::Sleep(self.poll);
            }
        };
        self.note_holder(kind, held, term);
        let Some(term) = term else {
            return Step::Sleep(self.poll);
        };
        match decide(job.cadence, term.last, true, self.since_ms, now) {
            Decision::RunNow(why) => {
                match self.election.record_start(term, now).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // Taken over between the two calls: the next poll says by whom.
                        return Step::Sleep(self.poll);
                    }
                    Err(e) => {
                        tracing::warn!(job = %kind, error = %e, "could not record the start of a periodic run; trying again at the next poll");
                        return Step::Sleep(self.poll);
                    }
                }
                self.metrics.periodic_run(kind.as_str());
                tracing::debug!(
                    replica = self.election.replica().unwrap_or_default(),
                    job = %kind,
                    term = term.number,
                    why = why.as_str(),
                    "running a periodic job"
                );
                Step::Run {
                    term,
                    work: (job.work)(),
                }
            }
            Decision::WaitUntil(at) => Step::Sleep(self.wait(at.saturating_sub(now))),
            Decision::Done if self.election.is_shared() => Step::Sleep(self.poll),
            Decision::Done => Step::Exit,
            Decision::NotOurs => Step::Sleep(self.poll),
        }
    }

    /// Logs a change of holder as this replica sees it.
    fn note_holder(&self, kind: PeriodicJob, held: &mut Held, term: Option<Term>) {
        let shared = self.election.is_shared();
        match (term, held.term) {
            (Some(t), before) if before != Some(t.number) => {
                self.metrics.set_periodic_held(kind.as_str(), true);
                if shared {
                    tracing::info!(
                        replica = self.election.replica().unwrap_or_default(),
                        job = %kind,
                        term = t.number,
                        "took a periodic job: this replica runs it until it stops or loses the lease"
                    );
                }
            }
            (None, Some(before)) => {
                self.metrics.set_periodic_held(kind.as_str(), false);
                tracing::info!(
                    replica = self.election.replica().unwrap_or_default(),
                    job = %kind,
                    term = before,
                    "another replica holds a periodic job now"
                );
            }
            _ => {}
        }
        held.term = term.map(|t| t.number);
    }

    /// Runs one run to its end, renewing the lease every poll; records its finish. `true`:
    /// stopped meanwhile (nothing recorded: the run did not finish).
    async fn run(
        &self,
        job: &Job,
        term: Term,
        mut work: BoxFuture<'static, ()>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let kind = job.kind;
        if self.election.is_shared() {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + self.poll, self.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut lost, mut failing) = (false, false);
            loop {
                tokio::select! {
                    biased;
                    _ = stopped(stop) => return true,
                    _ = &mut work => break,
                    _ = tick.tick() => {
                        // Not raced with the stop: a renewal sent is a renewal answered.
                        match self.election.acquire(kind, self.clock.now_ms()).await {
                            Ok(Some(t)) if t.number == term.number => failing = false,
                            Ok(_) => {
                                if !lost {
                                    lost = true;
                                    self.metrics.set_periodic_held(kind.as_str(), false);
                                    tracing::warn!(
                                        replica = self.election.replica().unwrap_or_default(),
                                        job = %kind,
                                        term = term.number,
                                        "lost the lease of a periodic job mid-run: the run goes on here, the project lanes keep it from interleaving with the new holder's"
                                    );
                                }
                            }
                            Err(e) => {
                                if !failing {
                                    tracing::warn!(job = %kind, error = %e, "could not renew the lease of a running periodic job");
                                }
                                failing = true;
                            }
                        }
                    }
                }
            }
        } else {
            tokio::select! {
                biased;
                _ = stopped(stop) => return true,
                _ = &mut work => {}
            }
        }
        match self.election.record_finish(term, self.clock.now_ms()).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                job = %kind,
                term = term.number,
                "a periodic run finished after another replica took the job over; the new holder's record stands"
            ),
            Err(e) => {
                tracing::warn!(job = %kind, error = %e, "could not record the finish of a periodic run")
            }
        }
        false
    }

    /// How long to sleep before a run due in `ms`: on PostgreSQL never past the next poll (the
    /// lease is renewed at each).
    fn wait(&self, ms: i64) -> Duration {
        let wait = Duration::from_millis(ms.max(0) as u64);
        if self.election.is_shared() {
            wait.min(self.poll)
        } else {
            wait.min(SOLO_LONGEST_WAIT)
        }
    }
}

/// Resolves once a stop is asked for (or nobody can ask any more).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pg::ReplicaId;
    use futures_util::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Unix ms moving with tokio's (paused) time.
    fn paused_clock() -> Clock {
        let t0 = tokio::time::Instant::now();
        Clock::from_fn(move || 1_000_000 + t0.elapsed().as_millis() as i64)
    }

    fn counting(runs: Arc<AtomicUsize>) -> Work {
        Arc::new(move || {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
            }
            .boxed()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn alone_a_job_runs_at_start_then_once_per_period_and_stops() {
        let metrics = Arc::new(Metrics::new());
        let c = Coordinator::clocked(
            Election::solo(),
            Duration::from_secs(30),
            metrics.clone(),
            paused_clock(),
        );
        let runs = Arc::new(AtomicUsize::new(0));
        c.start(Job {
            kind: PeriodicJob::Prune,
            cadence: Cadence::Every(Duration::from_secs(3600)),
            work: counting(runs.clone()),
        })
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "at start");
        tokio::time::sleep(Duration::from_secs(1800)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "not before the period");
        tokio::time::sleep(Duration::from_secs(1801)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "once the period passed");
        let text = metrics.render();
        assert!(
            text.contains("backline_periodic_runs_total{job=\"prune\"} 2"),
            "{text}"
        );
        assert!(text.contains("backline_periodic_runs_total{job=\"catalog_sync\"} 0"));
        c.stop().await;
        tokio::time::sleep(Duration::from_secs(7200)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "stopped");
    }

    #[tokio::test(start_paused = true)]
    async fn alone_an_at_start_job_runs_once_and_its_first_run_begins_before_start_returns() {
        let c = Coordinator::clocked(
            Election::solo(),
            Duration::from_secs(30),
            Arc::new(Metrics::new()),
            paused_clock(),
        );
        let begun = Arc::new(AtomicUsize::new(0));
        let work: Work = {
            let begun = begun.clone();
            Arc::new(move || {
                // Begun in the call, as `CatalogService::start_sync` marks a sync running.
                begun.fetch_add(1, Ordering::SeqCst);
                async {}.boxed()
            })
        };
        c.start(Job {
            kind: PeriodicJob::CatalogSync,
            cadence: Cadence::AtStart,
            work,
        })
        .await;
        assert_eq!(
            begun.load(Ordering::SeqCst),
            1,
            "begun before start returned"
        );
        tokio::time::sleep(Duration::from_secs(10 * 24 * 3600)).await;
        assert_eq!(begun.load(Ordering::SeqCst), 1, "never again");
        c.stop().await;
    }

    /// Polls `done` every 10 ms until it holds, failing after `within`.
    async fn until(what: &str, within: Duration, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + within;
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Two replicas' coordinators on one fresh schema.
    fn two_replicas(
        lease: Duration,
    ) -> (
        crate::store::pg::testing::TestDb,
        crate::store::Store,
        Arc<Coordinator>,
        Arc<Coordinator>,
    ) {
        let (testdb, store) = crate::store::pg_backend::testing::pg_store();
        let db = store.pg().unwrap().clone();
        let replica = |name: &str| {
            Coordinator::new(
                Election::shared(db.clone(), ReplicaId::new(name), lease),
                lease,
                Arc::new(Metrics::new()),
            )
        };
        let (a, b) = (replica("a"), replica("b"));
        (testdb, store, a, b)
    }

    fn holds_catalog_sync(c: &Coordinator) -> bool {
        c.metrics
            .render()
            .contains("backline_periodic_held{job=\"catalog_sync\"} 1")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_a_lease_lost_mid_run_is_noticed_and_the_run_goes_on() {
        let (testdb, _store, a, _b) = two_replicas(Duration::from_millis(600));
        let runs = Arc::new(AtomicUsize::new(0));
        let (gate, ended) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(AtomicUsize::new(0)),
        );
        let work: Work = {
            let (runs, gate, ended) = (runs.clone(), gate.clone(), ended.clone());
            Arc::new(move || {
                runs.fetch_add(1, Ordering::SeqCst);
                let (gate, ended) = (gate.clone(), ended.clone());
                async move {
                    gate.notified().await;
                    ended.fetch_add(1, Ordering::SeqCst);
                }
                .boxed()
            })
        };
        a.start(Job {
            kind: PeriodicJob::CatalogSync,
            cadence: Cadence::Every(Duration::from_secs(3600)),
            work,
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(holds_catalog_sync(&a));
        // Another replica takes the job over while A's run goes on (A stalled past its lease).
        testdb
            .client()
            .await
            .execute(
                "UPDATE leaders SET holder = 'thief', term = term + 1, lease_until_ms = $1
                 WHERE job = 'catalog_sync'",
                &[&(crate::clock::now_ms() + 60_000)],
            )
            .await
            .unwrap();
        until("A notices at a renewal", Duration::from_secs(20), || {
            !holds_catalog_sync(&a)
        })
        .await;
        assert_eq!(ended.load(Ordering::SeqCst), 0, "the run was not cut short");
        gate.notify_one();
        until("the run ends", Duration::from_secs(20), || {
            ended.load(Ordering::SeqCst) == 1
        })
        .await;
        a.stop().await;
        let row = testdb
            .client()
            .await
            .query_one(
                "SELECT holder, last_finished_ms FROM leaders WHERE job = 'catalog_sync'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, String>(0),
            "thief",
            "A's release left the thief's job alone"
        );
        assert_eq!(
            row.get::<_, Option<i64>>(1),
            None,
            "A's finish was not recorded over the new holder's"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    fn job(cadence: Cadence, runs: &Arc<AtomicUsize>) -> Job {
        Job {
            kind: PeriodicJob::CatalogSync,
            cadence,
            work: counting(runs.clone()),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_one_replica_runs_a_job_and_a_clean_stop_hands_it_over_at_once() {
        let lease = Duration::from_millis(1500);
        let (_testdb, _store, a, b) = two_replicas(lease);
        assert_eq!(a.poll(), Duration::from_millis(500));
        let (ra, rb) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let every = Cadence::Every(Duration::from_millis(100));
        a.start(job(every, &ra)).await;
        b.start(job(every, &rb)).await;
        until("three runs on A", Duration::from_secs(20), || {
            ra.load(Ordering::SeqCst) >= 3
        })
        .await;
        assert_eq!(rb.load(Ordering::SeqCst), 0, "B never ran A's job");
        a.stop().await;
        let stopped = std::time::Instant::now();
        let on_a = ra.load(Ordering::SeqCst);
        until("B takes the job over", Duration::from_secs(20), || {
            rb.load(Ordering::SeqCst) >= 1
        })
        .await;
        let took = stopped.elapsed();
        assert!(
            took < lease,
            "released, so taken at B's next poll, not when the lease ran out: {took:?}"
        );
        assert_eq!(ra.load(Ordering::SeqCst), on_a, "A stopped running it");
        b.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_a_takeover_right_after_a_run_does_not_run_it_again() {
        let lease = Duration::from_millis(600);
        let (testdb, _store, a, b) = two_replicas(lease);
        let (ra, rb) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let hourly = Cadence::Every(Duration::from_secs(3600));
        a.start(job(hourly, &ra)).await;
        b.start(job(hourly, &rb)).await;
        assert_eq!(ra.load(Ordering::SeqCst), 1, "begun in start");
        let client = testdb.client().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let finished: Option<i64> = client
                .query_one(
                    "SELECT last_finished_ms FROM leaders WHERE job = 'catalog_sync'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if finished.is_some() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "A records its run");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        a.stop().await;
        // B takes the job over, decides, and renews its lease at a later poll: it has made
        // its decision about A's run by then.
        let holder = || async {
            let row = client
                .query_one(
                    "SELECT holder, lease_until_ms FROM leaders WHERE job = 'catalog_sync'",
                    &[],
                )
                .await
                .unwrap();
            (row.get::<_, String>(0), row.get::<_, i64>(1))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut first_until = None;
        loop {
            let (who, until_ms) = holder().await;
            if who == "b" {
                match first_until {
                    None => first_until = Some(until_ms),
                    Some(first) if until_ms > first => break,
                    Some(_) => {}
                }
            }
            assert!(std::time::Instant::now() < deadline, "B renews the job");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(rb.load(Ordering::SeqCst), 0, "A had just run it");
        assert_eq!(ra.load(Ordering::SeqCst), 1);
        b.stop().await;
    }
}
