//! Remediation: the pure planner, model, patches and MR rendering live in
//! `backline_core::remediation` (re-exported here, so `crate::remediation::...` paths keep
//! working); this crate adds `ownership` (which MRs and branches are the bot's), the
//! remediation table, and the executor that carries plans out on GitLab.

pub use backline_core::remediation::*;

pub mod executor;
pub mod fixer;
pub mod ownership;
pub mod people_steps;
mod pipeline_steps;
mod policy_steps;
pub mod table;
#[cfg(test)]
mod transitive_tests;
