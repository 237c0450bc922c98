//! GitLab: typed ids, webhook payloads, REST wire types and the REST client.

pub mod check;
pub mod client;
pub mod hooks;
pub use backline_core::ids;
pub mod mergeability;
pub mod rest;

pub use client::{ClientConfig, GitLab, GitLabError, ProjectRef};
pub use ids::{MrIid, ProjectId, UserId};
