//! Remediation: the pure planner, the remediation model and table, format-preserving patches,
//! MR rendering, and the executor that carries plans out on GitLab.

pub mod executor;
pub mod fixer;
pub mod model;
pub mod ownership;
pub mod patch;
mod pipeline_steps;
pub mod planner;
mod policy_steps;
pub mod render;
pub mod table;
