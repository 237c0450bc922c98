//! Where an advisory's severity comes from, in order: (1) its own CVSS v3.x vector, else its
//! CVSS v4.0 vector; (2) its database's word (`database_specific.severity`: GHSA's LOW,
//! MODERATE, HIGH, CRITICAL); (3) the same vulnerability's other records, joined through ids
//! and `aliases` across every imported database (a PyPA record and its GHSA twin; the highest
//! level wins); (4) the configured default for what is still unknown
//! (`BACKLINE_UNKNOWN_SEVERITY`, medium unless set). Pure.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cvss::{base_score_v3, Level};
use super::model::{Advisory, AdvisoryKind};

/// Where a severity came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeveritySource {
    /// The record's CVSS v3.x vector.
    CvssV3,
    /// The record's CVSS v4.0 vector.
    CvssV4,
    /// The database's own word (`database_specific.severity`).
    Database,
    /// Another record of the same vulnerability (its id).
    Alias(String),
    /// The configured default for unknown severities.
    Default,
    /// Informational advisories have no severity.
    None,
}

impl SeveritySource {
    /// The source as JSON, the API and MR texts show it: `cvss_v3`, `cvss_v4`, `database`,
    /// `alias GHSA-...`, `default`, `none`.
    pub fn label(&self) -> String {
        match self {
            SeveritySource::CvssV3 => "cvss_v3".into(),
            SeveritySource::CvssV4 => "cvss_v4".into(),
            SeveritySource::Database => "database".into(),
            SeveritySource::Alias(id) => format!("alias {id}"),
            SeveritySource::Default => "default".into(),
            SeveritySource::None => "none".into(),
        }
    }
}

/// The base score of a CVSS v4.0 vector, or `None` when it is not one.
pub fn base_score_v4(vector: &str) -> Option<f64> {
    if !vector.starts_with("CVSS:4.0/") {
        return None;
    }
    let v: cvss::v4::Vector = vector.parse().ok()?;
    Some(v.score().value())
}

/// A vector's base score, v3.x or v4.0, with which it was.
pub fn score_of(vector: &str) -> Option<(f64, SeveritySource)> {
    base_score_v3(vector)
        .map(|s| (s, SeveritySource::CvssV3))
        .or_else(|| base_score_v4(vector).map(|s| (s, SeveritySource::CvssV4)))
}

/// Steps 1 and 2: the record's own level, when it gives one (a zero score gives none).
pub fn own_level(advisory: &Advisory) -> Option<(Level, SeveritySource)> {
    let scores = &advisory.severity.scores;
    let from_vectors = |f: fn(&str) -> Option<f64>, source: SeveritySource| {
        scores
            .iter()
            .find_map(|s| f(&s.score))
            .map(Level::from_score)
            .filter(|l| *l != Level::Unknown)
            .map(|l| (l, source))
    };
    from_vectors(base_score_v3, SeveritySource::CvssV3)
        .or_else(|| from_vectors(base_score_v4, SeveritySource::CvssV4))
        .or_else(|| {
            advisory
                .severity
                .label
                .as_deref()
                .and_then(Level::from_word)
                .map(|l| (l, SeveritySource::Database))
        })
}

/// Steps 3 and 4 over a set of advisories: every id and alias of a record with its own level,
/// and the default for the rest.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Id or alias → (the highest own level among its records, the record that gave it).
    by_id: HashMap<String, (Level, String)>,
    /// Step 4.
    unknown: Level,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver {
            by_id: HashMap::new(),
            unknown: Level::Medium,
        }
    }
}

impl Resolver {
    /// Learns the own levels of `advisories` (every database imported together).
    pub fn new<'a>(advisories: impl IntoIterator<Item = &'a Advisory>) -> Resolver {
        let mut by_id: HashMap<String, (Level, String)> = HashMap::new();
        for a in advisories {
            if a.kind != AdvisoryKind::Vulnerability {
                continue;
            }
            let Some((level, _)) = own_level(a) else {
                continue;
            };
            for id in std::iter::once(&a.id).chain(&a.aliases) {
                let e = by_id
                    .entry(id.clone())
                    .or_insert_with(|| (level, a.id.clone()));
                if level > e.0 {
                    *e = (level, a.id.clone());
                }
            }
        }
        Resolver {
            by_id,
            unknown: Level::Medium,
        }
    }

    /// The level used when nothing else gives one.
    pub fn unknown(&self) -> Level {
        self.unknown
    }

    /// Sets the level used when nothing else gives one.
    pub fn set_unknown(&mut self, level: Level) {
        self.unknown = level;
    }

    /// An advisory's level and where it came from.
    pub fn resolve(&self, advisory: &Advisory) -> (Level, SeveritySource) {
        if advisory.kind != AdvisoryKind::Vulnerability {
            return (Level::Unknown, SeveritySource::None);
        }
        if let Some(own) = own_level(advisory) {
            return own;
        }
        std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .filter_map(|id| self.by_id.get(id))
            .filter(|(_, from)| *from != advisory.id)
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
            .map(|(level, from)| (*level, SeveritySource::Alias(from.clone())))
            .unwrap_or((self.unknown, SeveritySource::Default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::model::{Score, Severity};

    fn advisory(id: &str, aliases: &[&str], vectors: &[&str], word: Option<&str>) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            related: vec![],
            summary: None,
            details: None,
            kind: AdvisoryKind::Vulnerability,
            severity: Severity {
                scores: vectors
                    .iter()
                    .map(|v| Score {
                        kind: "CVSS_V3".into(),
                        score: v.to_string(),
                    })
                    .collect(),
                label: word.map(str::to_string),
            },
            references: vec![],
            affected: vec![],
            published: None,
            modified: None,
        }
    }

    #[test]
    fn cvss_v4_scores_match_first_calculator() {
        // Scores as FIRST's CVSS v4.0 calculator gives them.
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                8.7,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.1,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(base_score_v4(v), Some(want), "{v}");
        }
        assert_eq!(
            base_score_v4("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None
        );
        assert_eq!(base_score_v4("CVSS:4.0/AV:N"), None);
    }

    #[test]
    fn resolution_order() {
        let v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"; // 5.3 medium
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"; // 9.3
        let ghsa = advisory("GHSA-1", &["CVE-1"], &[], Some("HIGH"));
        let pysec = advisory("PYSEC-1", &["CVE-1"], &[], None);
        let lonely = advisory("PYSEC-2", &["CVE-2"], &[], None);
        let both = advisory("GHSA-2", &[], &[v3, v4], Some("CRITICAL"));
        let only_v4 = advisory("GHSA-3", &[], &[v4], Some("LOW"));
        let mut r = Resolver::new([&ghsa, &pysec, &lonely, &both, &only_v4]);
        assert_eq!(r.resolve(&both), (Level::Medium, SeveritySource::CvssV3));
        assert_eq!(
            r.resolve(&only_v4),
            (Level::Critical, SeveritySource::CvssV4)
        );
        assert_eq!(r.resolve(&ghsa), (Level::High, SeveritySource::Database));
        assert_eq!(
            r.resolve(&pysec),
            (Level::High, SeveritySource::Alias("GHSA-1".into()))
        );
        assert_eq!(r.resolve(&lonely), (Level::Medium, SeveritySource::Default));
        r.set_unknown(Level::Low);
        assert_eq!(r.resolve(&lonely), (Level::Low, SeveritySource::Default));
        // A twin known by the other's id (GHSA lists the PYSEC id as an alias) joins as well.
        let twin = advisory("GHSA-9", &["PYSEC-2"], &[], Some("CRITICAL"));
        let r = Resolver::new([&lonely, &twin]);
        assert_eq!(
            r.resolve(&lonely),
            (Level::Critical, SeveritySource::Alias("GHSA-9".into()))
        );
        assert_eq!(
            SeveritySource::Alias("GHSA-9".into()).label(),
            "alias GHSA-9"
        );
    }
}
