//! backline: a self-hosted GitLab security-remediation bot.
//!
//! The library holds everything; `src/main.rs` is a thin CLI over it. Tests build the same
//! [`app::App`] the binary runs.
//!
//! The pure decisions (readers, patchers, advisories, findings, the planner, renderers, the
//! command parser) live in the `backline-core` crate; the modules below re-export them under
//! their old paths (`crate::deps`, `crate::remediation::patch`, `crate::advisories::version`, ...).

pub mod advisories;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod clock;
pub use backline_core::codeowners;
pub use backline_core::commands;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub use backline_core::deps;
pub mod doctor;
pub mod engine;
pub use backline_core::ecosystem;
pub mod findings;
pub mod gitlab;
pub mod handlers;
pub mod hook_secret;
pub mod http;
pub mod inbox;
pub mod inventory;
pub mod lanes;
pub mod metrics;
pub mod mrcheck;
pub mod net;
pub mod payload_codec;
pub mod periodic;
pub mod pipeline;
pub mod policy;
pub mod priority;
pub mod registry;
pub mod remediation;
pub mod retry;
pub mod scan;
pub mod secret;
pub mod signing_key;
pub mod store;
pub mod tracking;
pub use backline_core::untrusted;
pub mod upgrade;
pub mod worker;
