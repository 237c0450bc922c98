//! `backline.toml`: reading it, and the keys other commands than `serve` read from it. Its
//! struct, [`FileConfig`], is generated from the settings table.

use std::path::Path;

use super::value::Raw;
use super::{ConfigError, FileConfig};

impl FileConfig {
    /// The `data_dir` key, for commands other than `serve`.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// The `osv_base_url` key: where `advisories sync` downloads `<Ecosystem>/all.zip`.
    pub fn osv_base_url(&self) -> Option<&str> {
        self.osv_base_url.as_deref()
    }

    /// The `osv_ecosystems` key: the OSV names `advisories sync` downloads.
    pub fn osv_ecosystems(&self) -> Option<Vec<String>> {
        let names = self.osv_ecosystems.clone().map(Vec::<String>::from_file)?;
        Some(names.iter().map(|e| e.trim().to_string()).collect())
    }

    /// The `database_url` key: PostgreSQL instead of sled.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The `ca_file` key: extra CAs for outgoing HTTPS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }
}
