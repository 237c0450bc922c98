//! GitLab wire types: typed ids and webhook payloads (the REST client arrives with the catalog).

pub mod hooks;
pub mod ids;

pub use ids::{MrIid, ProjectId, UserId};
