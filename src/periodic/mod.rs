//! Periodic work (catalog sync with its MR reconcile, advisory sync, the schedule tick,
//! pruning) on one replica at a time.
//!
//! - [`decide`]: the pure decision: given a job's cadence, when it last ran (across replicas),
//!   whether this replica holds it and the time: run now, wait until a time, done, not ours;
//! - [`election`]: who may run a job and the shared record of its runs: on sled one process
//!   holds the data directory, so it always holds every job (the record in memory); on
//!   PostgreSQL the lease election of `crate::store::pg::leader`;
//! - [`coordinator`]: the loop each job runs in: polls the election every third of the lease,
//!   runs the job when it is due and held, renews the lease while a run lasts, records the run,
//!   counts it (`backline_periodic_runs_total`) and lets go of its jobs on a clean shutdown.

pub mod coordinator;
pub mod decide;
pub mod election;

pub use coordinator::{Coordinator, Job, Work};
pub use decide::{decide, Cadence, Decision, Why};
pub use election::{Election, ElectionError};
