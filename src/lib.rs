//! backline: a self-hosted GitLab security-remediation bot.
//!
//! The library holds everything; `src/main.rs` is a thin CLI over it. Tests build the same
//! [`app::App`] the binary runs.

pub mod advisories;
pub mod app;
pub mod catalog;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod deps;
pub mod doctor;
pub mod ecosystem;
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
pub mod pipeline;
pub mod policy;
pub mod priority;
pub mod registry;
pub mod remediation;
pub mod scan;
pub mod secret;
pub mod store;
pub mod tracking;
pub mod untrusted;
pub mod upgrade;
pub mod worker;
