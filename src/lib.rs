//! backline: a self-hosted GitLab security-remediation bot.
//!
//! The library holds everything; `src/main.rs` is a thin CLI over it. Tests build the same
//! [`app::App`] the binary runs.

pub mod advisories;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod deps;
pub mod doctor;
pub mod ecosystem;
pub mod engine;
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
pub mod priority;
pub mod registry;
pub mod remediation;
pub mod retry;
pub mod scan;
pub mod secret;
pub mod signing_key;
pub mod store;
pub mod tracking;
pub mod untrusted;
pub mod upgrade;
pub mod worker;
