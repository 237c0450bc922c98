//! Our own advisory model, close to OSV: what every importer produces and the index stores.
//!
//! These types serialise plainly (no untagged or skipped fields), so that the store codec
//! (postcard) and JSON both carry them.

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;

/// One advisory: a vulnerability or an informational notice about one or more packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// The database's id (`RUSTSEC-2020-0105`, `PYSEC-2020-342`, `GHSA-...`).
    pub id: String,
    /// Other ids of the same problem (CVE, GHSA, ...).
    pub aliases: Vec<String>,
    /// Ids of related but distinct advisories.
    pub related: Vec<String>,
    /// One-line summary (RustSec: the Markdown title).
    pub summary: Option<String>,
    /// Longer description (Markdown).
    pub details: Option<String>,
    /// Vulnerability, or which kind of informational advisory.
    pub kind: AdvisoryKind,
    /// CVSS vectors and the database's own severity word.
    pub severity: Severity,
    /// Links.
    pub references: Vec<Reference>,
    /// The packages and versions concerned.
    pub affected: Vec<Affected>,
    /// When first published (RFC 3339 or a date), when known.
    pub published: Option<String>,
    /// When last modified, when known.
    pub modified: Option<String>,
}

/// What an advisory is about. Informational kinds are kept apart from vulnerabilities, as
/// cargo-audit does (RustSec's `informational = "unmaintained"` etc.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    /// A security vulnerability.
    Vulnerability,
    /// The package is no longer maintained.
    Unmaintained,
    /// The package has unsound (undefined-behaviour) APIs.
    Unsound,
    /// Any other informational notice.
    Notice,
}

impl AdvisoryKind {
    /// Every kind.
    pub const ALL: [AdvisoryKind; 4] = [
        AdvisoryKind::Vulnerability,
        AdvisoryKind::Unmaintained,
        AdvisoryKind::Unsound,
        AdvisoryKind::Notice,
    ];

    /// The kind for a RustSec-style `informational` word; unknown words are [`AdvisoryKind::Notice`].
    pub fn from_informational(word: &str) -> AdvisoryKind {
        match word.trim().to_ascii_lowercase().as_str() {
            "unmaintained" => AdvisoryKind::Unmaintained,
            "unsound" => AdvisoryKind::Unsound,
            _ => AdvisoryKind::Notice,
        }
    }

    /// Lower-case name (`vulnerability`, `unmaintained`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisoryKind::Vulnerability => "vulnerability",
            AdvisoryKind::Unmaintained => "unmaintained",
            AdvisoryKind::Unsound => "unsound",
            AdvisoryKind::Notice => "notice",
        }
    }
}

impl std::fmt::Display for AdvisoryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity as the database gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// Scores such as CVSS vectors, with their OSV type (`CVSS_V3`, `CVSS_V4`).
    pub scores: Vec<Score>,
    /// The database's own word, when it has one (GHSA's `database_specific.severity` such as
    /// `HIGH` or `MODERATE`; RustSec's informational kind).
    pub label: Option<String>,
}

/// One severity score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// OSV severity type (`CVSS_V2`, `CVSS_V3`, `CVSS_V4`, ...).
    pub kind: String,
    /// The score text, e.g. `CVSS:3.1/AV:N/AC:L/...`.
    pub score: String,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// OSV reference type (`ADVISORY`, `WEB`, `FIX`, ...).
    pub kind: String,
    /// The URL.
    pub url: String,
}

/// The versions of one package that an advisory concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The package.
    pub package: Package,
    /// Version ranges.
    pub ranges: Vec<Range>,
    /// Versions listed one by one.
    pub versions: Vec<String>,
}

/// A package, as OSV names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// OSV ecosystem name, kept as given (`crates.io`, `PyPI`, `Debian:12`, ...).
    pub ecosystem: String,
    /// Package name as the database spells it.
    pub name: String,
}

impl Package {
    /// The ecosystem when backline knows it.
    pub fn known_ecosystem(&self) -> Option<Ecosystem> {
        Ecosystem::from_osv(&self.ecosystem)
    }
}

/// One OSV range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How its versions are ordered.
    pub kind: RangeKind,
    /// Events, as given (matching sorts them).
    pub events: Vec<Event>,
}

/// OSV range types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// Semantic versioning 2.0.
    Semver,
    /// The ecosystem's own ordering.
    Ecosystem,
    /// Git commits (skipped by matching).
    Git,
    /// A type this version of backline does not know (skipped by matching).
    Other(String),
}

impl RangeKind {
    /// From OSV's `type` field.
    pub fn from_osv(t: &str) -> RangeKind {
        match t {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "GIT" => RangeKind::Git,
            other => RangeKind::Other(other.to_string()),
        }
    }
}

/// One range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Affected from this version on (`"0"`: from the first version).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// The range ends below this version (`"*"`: no limit).
    Limit(String),
}

impl Event {
    /// The event's version text.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}
