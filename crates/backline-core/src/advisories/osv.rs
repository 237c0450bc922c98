//! OSV records (JSON or YAML) to [`Advisory`]. Unknown fields are ignored; `null` is accepted
//! wherever a list or text is optional; withdrawn records are skipped.

use serde::Deserialize;
use serde_json::Value;

use super::model::{
    Advisory, AdvisoryKind, Affected, Event, Package, Range, RangeKind, Reference, Score, Severity,
};

/// Why one OSV record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsvError {
    /// The text is not JSON / YAML of the OSV shape.
    #[error("not an OSV record: {0}")]
    Syntax(String),
    /// The record is OSV-shaped but unusable.
    #[error("invalid OSV record: {0}")]
    Invalid(String),
}

/// A parsed record: an advisory, or a note that it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A live advisory.
    Advisory(Box<Advisory>),
    /// A withdrawn advisory (its id), to be skipped.
    Withdrawn(String),
}

#[derive(Deserialize)]
struct RawRecord {
    id: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    #[serde(default)]
    withdrawn: Option<Value>,
    #[serde(default)]
    published: Option<Value>,
    #[serde(default)]
    modified: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    score: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    database_specific: Option<Value>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    events: Option<Vec<RawEvent>>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// Parses one OSV record in JSON.
pub fn parse_json(bytes: &[u8]) -> Result<Parsed, OsvError> {
    let raw: RawRecord =
        serde_json::from_slice(bytes).map_err(|e| OsvError::Syntax(e.to_string()))?;
    convert(raw)
}

/// Parses one OSV record in YAML (the PyPA advisory-database format).
pub fn parse_yaml(bytes: &[u8]) -> Result<Parsed, OsvError> {
    let raw: RawRecord =
        serde_norway::from_slice(bytes).map_err(|e| OsvError::Syntax(e.to_string()))?;
    convert(raw)
}

fn text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn word_at(v: &Option<Value>, key: &str) -> Option<String> {
    v.as_ref()?
        .get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn scores(raw: Option<Vec<RawSeverity>>) -> Vec<Score> {
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|s| {
            Some(Score {
                kind: s.kind.unwrap_or_default(),
                score: s.score?,
            })
        })
        .collect()
}

fn convert(raw: RawRecord) -> Result<Parsed, OsvError> {
    let id = raw
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| OsvError::Invalid("no id".to_string()))?;
    if text(raw.withdrawn).is_some() {
        return Ok(Parsed::Withdrawn(id));
    }
    let mut score_list = scores(raw.severity);
    let mut label = word_at(&raw.database_specific, "severity");
    let mut informational = word_at(&raw.database_specific, "informational");
    let mut affected = Vec::new();
    for (i, a) in raw.affected.unwrap_or_default().into_iter().enumerate() {
        let package = a
            .package
            .ok_or_else(|| OsvError::Invalid(format!("affected[{i}] has no package")))?;
        let (Some(ecosystem), Some(name)) = (package.ecosystem, package.name) else {
            return Err(OsvError::Invalid(format!(
                "affected[{i}].package needs an ecosystem and a name"
            )));
        };
        informational = informational.or_else(|| word_at(&a.database_specific, "informational"));
        label = label
            .or_else(|| word_at(&a.database_specific, "severity"))
            .or_else(|| word_at(&a.ecosystem_specific, "severity"));
        for s in scores(a.severity) {
            if !score_list.contains(&s) {
                score_list.push(s);
            }
        }
        let mut ranges = Vec::new();
        for (j, r) in a.ranges.unwrap_or_default().into_iter().enumerate() {
            let kind = r.kind.ok_or_else(|| {
                OsvError::Invalid(format!("affected[{i}].ranges[{j}] has no type"))
            })?;
            let mut events = Vec::new();
            for e in r.events.unwrap_or_default() {
                events.extend(e.introduced.map(Event::Introduced));
                events.extend(e.fixed.map(Event::Fixed));
                events.extend(e.last_affected.map(Event::LastAffected));
                events.extend(e.limit.map(Event::Limit));
            }
            ranges.push(Range {
                kind: RangeKind::from_osv(&kind),
                events,
            });
        }
        affected.push(Affected {
            package: Package { ecosystem, name },
            ranges,
            versions: a.versions.unwrap_or_default(),
        });
    }
    let kind = informational
        .as_deref()
        .map(AdvisoryKind::from_informational)
        .unwrap_or(AdvisoryKind::Vulnerability);
    if label.is_none() && kind != AdvisoryKind::Vulnerability {
        label = Some(kind.as_str().to_string());
    }
    Ok(Parsed::Advisory(Box::new(Advisory {
        id,
        aliases: raw.aliases.unwrap_or_default(),
        related: raw.related.unwrap_or_default(),
        summary: raw.summary.filter(|s| !s.trim().is_empty()),
        details: raw.details.filter(|s| !s.trim().is_empty()),
        kind,
        severity: Severity {
            scores: score_list,
            label,
        },
        references: raw
            .references
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(Reference {
                    kind: r.kind.unwrap_or_default(),
                    url: r.url?,
                })
            })
            .collect(),
        affected,
        published: text(raw.published),
        modified: text(raw.modified),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_ghsa_record_and_ignores_unknown_fields() {
        let json = br#"{
          "schema_version": "1.6.0", "id": "GHSA-xxxx", "aliases": null,
          "summary": "s", "unknown_field": {"a": 1},
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "database_specific": {"severity": "HIGH"},
          "affected": [{"package": {"ecosystem": "npm", "name": "x", "purl": "pkg:npm/x"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]
        }"#;
        let Parsed::Advisory(a) = parse_json(json).unwrap() else {
            panic!("withdrawn?")
        };
        assert_eq!(a.id, "GHSA-xxxx");
        assert_eq!(a.kind, AdvisoryKind::Vulnerability);
        assert_eq!(a.severity.label.as_deref(), Some("HIGH"));
        assert_eq!(a.severity.scores.len(), 1);
        assert_eq!(a.affected[0].ranges[0].events.len(), 2);
    }

    #[test]
    fn rustsec_informational_in_osv_form_and_withdrawn() {
        let json = br#"{"id": "RUSTSEC-2020-0001", "affected": [{"package": {"ecosystem": "crates.io", "name": "x"},
            "database_specific": {"informational": "unmaintained"}}]}"#;
        let Parsed::Advisory(a) = parse_json(json).unwrap() else {
            panic!()
        };
        assert_eq!(a.kind, AdvisoryKind::Unmaintained);
        let json = br#"{"id": "GHSA-1", "withdrawn": "2022-01-01T00:00:00Z"}"#;
        assert_eq!(
            parse_json(json).unwrap(),
            Parsed::Withdrawn("GHSA-1".to_string())
        );
    }

    #[test]
    fn broken_records_are_errors() {
        assert!(matches!(parse_json(b"{"), Err(OsvError::Syntax(_))));
        assert!(matches!(parse_json(b"{}"), Err(OsvError::Invalid(_))));
        assert!(parse_json(br#"{"id": "X", "affected": [{"ranges": []}]}"#).is_err());
        assert!(parse_yaml(b"id: [unclosed").is_err());
        assert!(parse_yaml(b"- just\n- a list\n").is_err());
    }

    #[test]
    fn yaml_keeps_unquoted_versions_as_text() {
        let yaml = b"id: PYSEC-1\naffected:\n- package:\n    ecosystem: PyPI\n    name: x\n  versions:\n  - 1.0\n  - 2.10\n";
        let Parsed::Advisory(a) = parse_yaml(yaml).unwrap() else {
            panic!()
        };
        assert_eq!(a.affected[0].versions, ["1.0", "2.10"]);
    }
}
