//! Dependencies: manifest discovery and one pure parser per lockfile format.
//!
//! Every parser is a pure function from file bytes to [`Dependency`] values or a
//! [`ParseError`] naming the file and line. Nothing here touches GitLab or the store.

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;

/// One resolved (or declared) dependency found in a manifest or lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The package's ecosystem.
    pub ecosystem: Ecosystem,
    /// The package name as the ecosystem spells it (Maven: `group:artifact`).
    pub name: String,
    /// The installed version; `None` when the manifest does not pin one (an unpinned requirement).
    pub version: Option<String>,
    /// Whether the project requires it itself (rather than through another package).
    pub direct: bool,
    /// For a transitive dependency, a package that requires it (when the format says).
    pub parent: Option<String>,
}

/// A manifest that could not be read, with the place of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("could not parse {file}{}: {message}", .line.map(|l| format!(" at line {l}")).unwrap_or_default())]
pub struct ParseError {
    /// The file's path, as given to the parser.
    pub file: String,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}
