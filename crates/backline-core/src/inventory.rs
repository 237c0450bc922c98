//! What the inventory keeps per manifest, as data: the parse result and every file it read.
//! Storing it is the `backline` crate's `inventory::table`.

use serde::{Deserialize, Serialize};

use crate::deps::{Dependency, ParseError};

/// One file a parse read: its path and blob id (`None`: it was absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Path from the repository root.
    pub path: String,
    /// Blob id, when known (absent file: `None`).
    pub blob_id: Option<String>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredManifest {
    /// Path from the repository root.
    pub path: String,
    /// Every file the parse read, the manifest first.
    pub inputs: Vec<Input>,
    /// The dependencies (empty when the parse failed).
    pub dependencies: Vec<Dependency>,
    /// Why it could not be parsed.
    pub error: Option<ParseError>,
    /// When it was parsed (ms since the epoch).
    pub parsed_at_ms: i64,
}

impl StoredManifest {
    /// Whether the parse read `path`.
    pub fn reads(&self, path: &str) -> bool {
        self.inputs.iter().any(|i| i.path == path)
    }
}
