//! Remediation, the pure half: the planner, the remediation model, format-preserving patches
//! (dispatch in [`patch`], one patcher per ecosystem folder) and MR text rendering. The table
//! and the executor that carries plans out on GitLab live in the `backline` crate.

pub mod group;
pub mod model;
pub mod notes;
pub mod patch;
pub mod planner;
pub mod render;
pub mod route;
