//! backline's pure core: everything that decides, with nothing that waits.
//!
//! No runtime, store, network or GitLab client here (like the `rustsec` crate beside
//! cargo-audit): bytes and data in, data out. The `backline` service re-exports these modules
//! under their old paths (`backline::deps`, `backline::remediation::patch`, ...).
//!
//! - [`ecosystem`], [`ids`]: the ecosystem enum and typed GitLab ids.
//! - [`ecosystems`]: one folder per lockfile format, reader and patcher side by side;
//!   [`deps`] (discovery, the reader dispatch, the dependency model) and
//!   [`remediation::patch`] (the patcher dispatch) are the facades over them.
//! - [`advisories`]: the advisory model, OSV/RustSec record parsing, version ordering, range
//!   matching, CVSS and severity, the in-memory index.
//! - [`findings`]: dependencies + advisories → findings; `allow`, `unchecked`, rendering.
//! - [`remediation`]: the planner, the remediation model, MR text.
//! - [`schedule`]: `schedule` windows (grammar, `allows`, `next_open`, DST through jiff).
//! - [`mrcheck`]: the MR-check decision and its status/note text.
//! - [`commands`]: the `/backline` comment parser.
//! - [`codeowners`]: GitLab's `CODEOWNERS` (locations, sections, who owns a path).
//! - [`untrusted`]: escaping of text from repositories, advisories and users.
//! - [`registry`], [`inventory`]: data types the planner and MR checks read (fetched and stored
//!   by the service).

pub mod advisories;
pub mod codeowners;
pub mod commands;
pub mod deps;
pub mod ecosystem;
pub mod ecosystems;
pub mod findings;
pub mod ids;
pub mod inventory;
pub mod mrcheck;
pub mod registry;
pub mod remediation;
pub mod schedule;
pub mod untrusted;
