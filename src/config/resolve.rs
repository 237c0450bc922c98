//! The merge: flags (already falling back to the environment) over the file over the declared
//! defaults, then the checks that concern several settings at once.

use std::path::Path;

use super::table::apply_all;
use super::{ConfigError, FileConfig, ServeArgs, Settings};

/// Merges flags (already falling back to the environment) over the file over the defaults, and
/// validates the result. Does not check that verification is configured: see [`require_verification`].
pub fn resolve(args: ServeArgs, file: FileConfig) -> Result<Settings, ConfigError> {
    let mut s = Settings::blank();
    apply_all(&mut s, args, file)?;
    check_together(&s)?;
    s.network = network(s.ca_file.as_deref())?;
    Ok(s)
}

/// The declared defaults, without reading the environment (the network is the system trust
/// store without proxies).
pub(super) fn defaults() -> Settings {
    let mut s = Settings::blank();
    apply_all(&mut s, ServeArgs::default(), FileConfig::default())
        .expect("the declared defaults are valid");
    s
}

/// The rules that tie two settings together.
fn check_together(s: &Settings) -> Result<(), ConfigError> {
    if s.unverified_body_budget_bytes < s.max_body_bytes {
        return Err(ConfigError::Invalid {
            name: "BACKLINE_UNVERIFIED_BODY_BUDGET_BYTES",
            reason: format!(
                "must be at least BACKLINE_MAX_BODY_BYTES ({}), or the largest signed delivery \
                 could never be read",
                s.max_body_bytes
            ),
        });
    }
    if s.manage_hooks && s.public_url.is_none() {
        return Err(ConfigError::Invalid {
            name: "BACKLINE_MANAGE_HOOKS",
            reason: "needs BACKLINE_PUBLIC_URL, the address GitLab should send webhooks to"
                .to_string(),
        });
    }
    Ok(())
}

/// The shared network settings: the system trust store plus `ca_file`, and the environment's
/// proxies. A CA file that cannot be used is a configuration error.
pub fn network(ca_file: Option<&Path>) -> Result<crate::net::Network, ConfigError> {
    crate::net::Network::load(ca_file, crate::net::ProxySettings::from_env()).map_err(|e| {
        let name = match e {
            crate::net::NetError::Proxy { variable } => variable,
            _ => "BACKLINE_CA_FILE",
        };
        ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }
    })
}

/// Refuses settings that would accept unverified deliveries without being told to.
pub fn require_verification(settings: &Settings) -> Result<(), ConfigError> {
    if settings.verification_configured() || settings.insecure_accept_unverified {
        Ok(())
    } else {
        Err(ConfigError::NoVerification)
    }
}

/// The database URL: the flag (or `BACKLINE_DATABASE_URL`), then the file key `database_url`;
/// empty means none (sled). An unusable URL is a configuration error that does not repeat it.
pub fn database_url(
    flag: Option<String>,
    file: Option<String>,
) -> Result<Option<crate::store::pg::DatabaseUrl>, ConfigError> {
    flag.or(file)
        .filter(|u| !u.trim().is_empty())
        .map(|u| crate::store::pg::DatabaseUrl::parse(&u))
        .transpose()
        .map_err(|e| ConfigError::Invalid {
            name: "BACKLINE_DATABASE_URL",
            reason: e.to_string(),
        })
}
