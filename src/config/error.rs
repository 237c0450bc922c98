//! What a configuration problem is, said without any secret value.

use std::path::PathBuf;

/// A configuration problem, described without any secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("could not read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("could not parse config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
    /// A value is invalid.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The option, as its environment variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// No verification is configured and insecure mode was not asked for.
    #[error(
        "no webhook verification configured: set BACKLINE_WEBHOOK_SECRET (the hook's secret token) \
         or BACKLINE_WEBHOOK_SIGNING_TOKEN (its whsec_ signing token), in the environment, in \
         backline.toml or as --webhook-secret / --webhook-signing-token; or pass \
         --insecure-accept-unverified to accept unverified deliveries (never on a reachable host)"
    )]
    NoVerification,
}
