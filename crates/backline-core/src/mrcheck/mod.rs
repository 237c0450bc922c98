//! MR checks: a merge request that brings in a vulnerable dependency is told so before it
//! merges, with a commit status `backline/dependencies` on its head and one note, updated in
//! place on later pushes. [`decide`] is pure (which files matter, what the MR adds, the
//! status); [`render`] writes the status line and the note; backline's `mrcheck::table` keeps
//! the last result.

pub mod decide;
pub mod render;

use serde::{Deserialize, Serialize};

use crate::advisories::cvss::Level;
use crate::ecosystem::Ecosystem;

/// The commit status's name.
pub const STATUS_NAME: &str = "backline/dependencies";

/// One vulnerability a merge request adds (in its head, not in its merge base).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedVulnerability {
    /// The manifest it is read from, in the MR's head.
    pub manifest: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// The version the MR brings in.
    pub version: String,
    /// Advisory id.
    pub advisory: String,
    /// Its severity.
    pub severity: Level,
    /// The smallest version this advisory does not affect, when known.
    pub fix: Option<String>,
}

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Nothing at or above the threshold is added.
    Success,
    /// Something at or above the threshold is added.
    Failed,
    /// The MR's source could not be read (a fork the token cannot see).
    Unreadable,
}

impl Verdict {
    /// The commit status state GitLab takes (`lib/api/commit_statuses.rb`).
    pub fn state(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::Failed | Verdict::Unreadable => "failed",
        }
    }

    /// A word for APIs and pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::Failed => "failed",
            Verdict::Unreadable => "unreadable",
        }
    }
}
