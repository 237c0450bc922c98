//! Remediation: the pure planner, model, patches and MR rendering live in
//! `backline_core::remediation` (re-exported here, so `crate::remediation::...` paths keep
//! working); this crate adds `ownership` (which MRs and branches are the bot's), the
//! remediation table, and the executor that carries plans out on GitLab.

pub use backline_core::remediation::*;

pub mod executor;
pub mod fixer;
mod group_steps;
pub mod ownership;
pub mod people_steps;
mod pipeline_steps;
mod policy_steps;
mod schedule_steps;
pub use schedule_steps::waits_for_schedule;
pub mod table;
#[cfg(test)]
mod transitive_tests;
