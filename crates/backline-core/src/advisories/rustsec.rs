//! RustSec advisory-db files (`crates/<name>/RUSTSEC-*.md`: a TOML front matter block fenced
//! with three backticks and the word `toml`, then a Markdown title and body) to [`Advisory`].
//!
//! `[versions] patched` and `unaffected` are lists of Cargo version requirements; the affected
//! versions are those that match none of them. They become one `SEMVER` range: every
//! requirement is turned into an interval, the intervals are merged, and each gap between them
//! becomes `introduced` (`"0"` for an open start) and `fixed` (exclusive end) or
//! `last_affected` (inclusive end). A gap that starts just above a version `v` (after
//! `<= v`) is introduced at the smallest version above `v` in semver precedence
//! (`1.2.4-0` above `1.2.3`).

use std::cmp::Ordering;

use semver::{Comparator, Op, Prerelease, Version, VersionReq};
use serde::Deserialize;

use super::model::{
    Advisory, AdvisoryKind, Affected, Event, Package, Range, RangeKind, Reference, Score, Severity,
};
use super::osv::Parsed;

/// Why a RustSec file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RustSecError {
    /// No front matter block.
    #[error("no ```toml front matter block")]
    NoFrontMatter,
    /// The front matter is not the advisory TOML.
    #[error("front matter: {0}")]
    Toml(String),
    /// A version requirement could not be parsed.
    #[error("version requirement {requirement:?}: {message}")]
    Requirement {
        /// The requirement text.
        requirement: String,
        /// The parser's message.
        message: String,
    },
}

#[derive(Deserialize)]
struct Front {
    advisory: FrontAdvisory,
    #[serde(default)]
    versions: Option<FrontVersions>,
}

#[derive(Deserialize)]
struct FrontAdvisory {
    id: String,
    package: String,
    #[serde(default)]
    date: Option<toml::Value>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
struct FrontVersions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Parses one RustSec Markdown advisory.
pub fn parse_markdown(text: &str) -> Result<Parsed, RustSecError> {
    let text = text.trim_start_matches('\u{feff}');
    let rest = text
        .trim_start()
        .strip_prefix("```toml")
        .ok_or(RustSecError::NoFrontMatter)?;
    let end = rest.find("\n```").ok_or(RustSecError::NoFrontMatter)?;
    let front: Front =
        toml::from_str(&rest[..end]).map_err(|e| RustSecError::Toml(e.to_string()))?;
    let body = rest[end + 4..].trim();
    let (title, details) = split_title(body);
    let a = front.advisory;
    if a.withdrawn.is_some() {
        return Ok(Parsed::Withdrawn(a.id));
    }
    let versions = front.versions.unwrap_or_default();
    let mut safe = Vec::new();
    for req in versions.patched.iter().chain(versions.unaffected.iter()) {
        safe.push(interval_of(req)?);
    }
    let events = affected_events(safe);
    let kind = a
        .informational
        .as_deref()
        .map(AdvisoryKind::from_informational)
        .unwrap_or(AdvisoryKind::Vulnerability);
    let mut references: Vec<Reference> = Vec::new();
    references.push(Reference {
        kind: "PACKAGE".to_string(),
        url: format!("https://crates.io/crates/{}", a.package),
    });
    for url in a.url.into_iter().chain(a.references) {
        references.push(Reference {
            kind: if references.len() == 1 {
                "REPORT"
            } else {
                "WEB"
            }
            .to_string(),
            url,
        });
    }
    let scores = a
        .cvss
        .into_iter()
        .map(|v| Score {
            kind: if v.starts_with("CVSS:4") {
                "CVSS_V4"
            } else {
                "CVSS_V3"
            }
            .to_string(),
            score: v,
        })
        .collect();
    Ok(Parsed::Advisory(Box::new(Advisory {
        id: a.id,
        aliases: a.aliases,
        related: a.related,
        summary: title.or(a.title),
        details: details.or(a.description),
        kind,
        severity: Severity {
            scores,
            label: a.informational.map(|w| w.trim().to_string()),
        },
        references,
        affected: vec![Affected {
            package: Package {
                ecosystem: "crates.io".to_string(),
                name: a.package,
            },
            ranges: if events.is_empty() {
                Vec::new()
            } else {
                vec![Range {
                    kind: RangeKind::Semver,
                    events,
                }]
            },
            versions: Vec::new(),
        }],
        published: a.date.map(|d| match d {
            toml::Value::String(s) => s,
            other => other.to_string(),
        }),
        modified: None,
    })))
}

fn split_title(body: &str) -> (Option<String>, Option<String>) {
    let mut lines = body.lines();
    let first = lines.next().unwrap_or("");
    match first.strip_prefix("# ") {
        Some(title) => {
            let rest = lines.collect::<Vec<_>>().join("\n").trim().to_string();
            (
                Some(title.trim().to_string()),
                (!rest.is_empty()).then_some(rest),
            )
        }
        None => (None, (!body.is_empty()).then(|| body.to_string())),
    }
}

/// A point between versions: just below or just above a version, or an end of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cut {
    Bottom,
    Below(Version),
    Above(Version),
    Top,
}

impl Ord for Cut {
    fn cmp(&self, other: &Cut) -> Ordering {
        use Cut::*;
        let side = |c: &Cut| match c {
            Below(_) => 0,
            _ => 1,
        };
        match (self, other) {
            (Bottom, Bottom) | (Top, Top) => Ordering::Equal,
            (Bottom, _) | (_, Top) => Ordering::Less,
            (_, Bottom) | (Top, _) => Ordering::Greater,
            (Below(a) | Above(a), Below(b) | Above(b)) => {
                a.cmp_precedence(b).then(side(self).cmp(&side(other)))
            }
        }
    }
}

impl PartialOrd for Cut {
    fn partial_cmp(&self, other: &Cut) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The versions between two cuts.
type Interval = (Cut, Cut);

fn interval_of(requirement: &str) -> Result<Interval, RustSecError> {
    let req = VersionReq::parse(requirement.trim()).map_err(|e| RustSecError::Requirement {
        requirement: requirement.to_string(),
        message: e.to_string(),
    })?;
    let mut low = Cut::Bottom;
    let mut high = Cut::Top;
    for c in &req.comparators {
        let (l, h) = comparator_interval(c);
        low = low.max(l);
        high = high.min(h);
    }
    // Nothing is below 0.0.0 but its own pre-releases: treat `>= 0` as open.
    if low == Cut::Below(Version::new(0, 0, 0)) {
        low = Cut::Bottom;
    }
    Ok((low, high))
}

fn comparator_interval(c: &Comparator) -> Interval {
    let pre = c.pre.clone();
    let at = |major: u64, minor: u64, patch: u64| {
        let mut v = Version::new(major, minor, patch);
        v.pre = pre.clone();
        v
    };
    let plain = Version::new;
    let lowest = at(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
    // The first version above everything the partial version names (`1.2` → `1.3.0`).
    let past = match (c.minor, c.patch) {
        (Some(minor), Some(patch)) => plain(c.major, minor, patch.saturating_add(1)),
        (Some(minor), None) => plain(c.major, minor.saturating_add(1), 0),
        _ => plain(c.major.saturating_add(1), 0, 0),
    };
    let exact = c.minor.is_some() && c.patch.is_some();
    match c.op {
        Op::Exact if exact => (Cut::Below(lowest.clone()), Cut::Above(lowest)),
        Op::Exact | Op::Wildcard => (Cut::Below(lowest), Cut::Below(past)),
        Op::Greater if exact => (Cut::Above(lowest), Cut::Top),
        Op::Greater => (Cut::Below(past), Cut::Top),
        Op::GreaterEq => (Cut::Below(lowest), Cut::Top),
        Op::Less => (Cut::Bottom, Cut::Below(lowest)),
        Op::LessEq if exact => (Cut::Bottom, Cut::Above(lowest)),
        Op::LessEq => (Cut::Bottom, Cut::Below(past)),
        Op::Tilde => {
            let end = match c.minor {
                Some(minor) => plain(c.major, minor.saturating_add(1), 0),
                None => plain(c.major.saturating_add(1), 0, 0),
            };
            (Cut::Below(lowest), Cut::Below(end))
        }
        Op::Caret => {
            let minor = c.minor.unwrap_or(0);
            let end = if c.major > 0 || c.minor.is_none() {
                plain(c.major.saturating_add(1), 0, 0)
            } else if minor > 0 || c.patch.is_none() {
                plain(0, minor.saturating_add(1), 0)
            } else {
                plain(0, 0, c.patch.unwrap_or(0).saturating_add(1))
            };
            (Cut::Below(lowest), Cut::Below(end))
        }
        // semver's Op is non-exhaustive: an unknown operator is taken as matching nothing.
        _ => (Cut::Top, Cut::Bottom),
    }
}

/// The smallest version above `v` in semver precedence.
fn successor(v: &Version) -> Version {
    if v.pre.is_empty() {
        let mut next = Version::new(v.major, v.minor, v.patch.saturating_add(1));
        next.pre = Prerelease::new("0").unwrap_or(Prerelease::EMPTY);
        next
    } else {
        let mut next = Version::new(v.major, v.minor, v.patch);
        next.pre =
            Prerelease::new(&format!("{}.0", v.pre.as_str())).unwrap_or_else(|_| v.pre.clone());
        next
    }
}

/// The OSV events for the versions outside every safe interval.
fn affected_events(mut safe: Vec<Interval>) -> Vec<Event> {
    safe.retain(|(l, h)| l < h);
    safe.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<Interval> = Vec::new();
    for (l, h) in safe {
        match merged.last_mut() {
            Some(last) if l <= last.1 => {
                if h > last.1 {
                    last.1 = h;
                }
            }
            _ => merged.push((l, h)),
        }
    }
    let mut events = Vec::new();
    let mut start = Cut::Bottom;
    for (l, h) in merged
        .into_iter()
        .chain(std::iter::once((Cut::Top, Cut::Top)))
    {
        if start < l {
            events.push(Event::Introduced(match &start {
                // (A gap never starts at the top: the loop stops there.)
                Cut::Bottom | Cut::Top => "0".to_string(),
                Cut::Below(v) if *v == Version::new(0, 0, 0) => "0".to_string(),
                Cut::Below(v) => v.to_string(),
                Cut::Above(v) => successor(v).to_string(),
            }));
            match &l {
                Cut::Below(v) => events.push(Event::Fixed(v.to_string())),
                Cut::Above(v) => events.push(Event::LastAffected(v.to_string())),
                Cut::Bottom | Cut::Top => {}
            }
        }
        start = h;
        if start == Cut::Top {
            break;
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(reqs: &[&str]) -> Vec<Event> {
        affected_events(reqs.iter().map(|r| interval_of(r).unwrap()).collect())
    }

    fn i(v: &str) -> Event {
        Event::Introduced(v.to_string())
    }

    fn f(v: &str) -> Event {
        Event::Fixed(v.to_string())
    }

    #[test]
    fn patched_and_unaffected_to_events() {
        assert_eq!(events(&[">= 0.9.1"]), [i("0"), f("0.9.1")]);
        assert_eq!(events(&[]), [i("0")]);
        assert_eq!(
            events(&[">= 1.2.3, < 2.0.0", ">= 2.1.0", "< 1.0.0"]),
            [i("1.0.0"), f("1.2.3"), i("2.0.0"), f("2.1.0")]
        );
        assert_eq!(
            events(&["^0.2.5", ">= 0.3.1"]),
            [i("0"), f("0.2.5"), i("0.3.0"), f("0.3.1")]
        );
        assert_eq!(
            events(&["> 1.0.0"]),
            [i("0"), Event::LastAffected("1.0.0".to_string())]
        );
        assert_eq!(
            events(&["<= 0.5.0", ">= 0.7.0"]),
            [i("0.5.1-0"), f("0.7.0")]
        );
        assert_eq!(events(&[">= 0"]), []);
        assert_eq!(
            events(&["~1.2.3", ">= 1.4"]),
            [i("0"), f("1.2.3"), i("1.3.0"), f("1.4.0")]
        );
    }

    #[test]
    fn a_bad_requirement_is_an_error() {
        assert!(interval_of("banana").is_err());
    }

    #[test]
    fn parses_a_file() {
        let md = "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"x\"\ndate = \"2099-01-01\"\ninformational = \"unsound\"\n\n[versions]\npatched = [\">= 1.0.0\"]\n```\n\n# Title here\n\nBody.\n";
        let Parsed::Advisory(a) = parse_markdown(md).unwrap() else {
            panic!()
        };
        assert_eq!(a.kind, AdvisoryKind::Unsound);
        assert_eq!(a.summary.as_deref(), Some("Title here"));
        assert_eq!(a.details.as_deref(), Some("Body."));
        assert!(matches!(
            parse_markdown("# no front"),
            Err(RustSecError::NoFrontMatter)
        ));
        assert!(matches!(
            parse_markdown("```toml\n[advisory]\n```\n"),
            Err(RustSecError::Toml(_))
        ));
    }
}
