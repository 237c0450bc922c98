//! `backline scan --allow FILE`: a reviewed list of advisories a scan accepts, each with the
//! reason it was accepted. With a list, every finding (informational advisories included) must
//! be on it or the scan fails, so a new advisory on a dependency is always looked at.
//!
//! ```toml
//! [[allow]]
//! id = "RUSTSEC-2024-0384"        # an advisory id or one of its aliases
//! package = "instant"             # optional: only on this package
//! reason = "unmaintained; pulled in by sled 0.34, no replacement yet"
//! ```

use std::path::Path;

use serde::Deserialize;

use super::Finding;

/// One accepted advisory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    /// The advisory id or one of its aliases.
    pub id: String,
    /// Only on this package, when given.
    #[serde(default)]
    pub package: Option<String>,
    /// Why it is accepted (required, not blank).
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    #[serde(default)]
    allow: Vec<Allowed>,
}

/// A reviewed allow list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Allowed>,
}

/// An allow file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AllowError {
    /// The file cannot be read.
    #[error("cannot read the allow file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid allow list.
    #[error("the allow file {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl AllowList {
    /// Reads and checks an allow file.
    pub fn load(path: &Path) -> Result<Self, AllowError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AllowError::Read {
            path: name.clone(),
            source,
        })?;
        Self::parse(&name, &text)
    }

    /// Parses an allow file's text; `name` names it in errors. Every entry needs a reason.
    pub fn parse(name: &str, text: &str) -> Result<Self, AllowError> {
        let invalid = |message: String| AllowError::Invalid {
            path: name.to_string(),
            message,
        };
        let file: AllowFile = toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        if let Some(e) = file.allow.iter().find(|e| e.reason.trim().is_empty()) {
            return Err(invalid(format!("{} has no reason", e.id)));
        }
        Ok(AllowList {
            entries: file.allow,
        })
    }

    /// The entry that accepts `finding`, if any.
    pub fn entry_for(&self, finding: &Finding) -> Option<&Allowed> {
        self.entries.iter().find(|e| {
            (finding.advisory.id == e.id || finding.advisory.aliases.contains(&e.id))
                && e.package.as_ref().is_none_or(|p| *p == finding.package)
        })
    }

    /// Entries that accept none of `findings` (stale: worth removing).
    pub fn unused(&self, findings: &[Finding]) -> Vec<&Allowed> {
        self.entries
            .iter()
            .filter(|e| {
                !findings
                    .iter()
                    .any(|f| self.entry_for(f).is_some_and(|used| std::ptr::eq(used, *e)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::cvss::Level;
    use crate::advisories::AdvisoryKind;
    use crate::ecosystem::Ecosystem;
    use crate::findings::AdvisoryRef;

    fn finding(package: &str, id: &str, alias: &str) -> Finding {
        Finding {
            path: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: package.into(),
            version: "0.1.0".into(),
            direct: false,
            fix_version: None,
            fixes_all: None,
            advisory: AdvisoryRef {
                id: id.into(),
                aliases: vec![alias.into()],
                summary: None,
                severity: Level::Unknown,
                cvss: None,
                cvss_score: None,
                kind: AdvisoryKind::Unmaintained,
                severity_source: crate::advisories::severity::SeveritySource::None,
                fixed_in: None,
            },
        }
    }

    #[test]
    fn entries_match_by_id_or_alias_and_optional_package() {
        let list = AllowList::parse(
            "allow.toml",
            "[[allow]]\nid = \"RUSTSEC-1\"\nreason = \"reviewed\"\n\n[[allow]]\nid = \"CVE-2\"\npackage = \"b\"\nreason = \"not reachable\"\n\n[[allow]]\nid = \"RUSTSEC-9\"\nreason = \"stale\"\n",
        )
        .unwrap();
        let a = finding("a", "RUSTSEC-1", "CVE-1");
        let b = finding("b", "RUSTSEC-2", "CVE-2");
        let c = finding("c", "RUSTSEC-3", "CVE-2");
        assert_eq!(list.entry_for(&a).unwrap().reason, "reviewed");
        assert_eq!(list.entry_for(&b).unwrap().reason, "not reachable");
        assert!(list.entry_for(&c).is_none(), "the package does not match");
        let unused: Vec<&str> = list
            .unused(&[a, b, c])
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(unused, ["RUSTSEC-9"]);
    }

    #[test]
    fn every_entry_needs_a_reason() {
        let e = AllowList::parse(
            "allow.toml",
            "[[allow]]\nid = \"RUSTSEC-1\"\nreason = \" \"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the allow file allow.toml is not valid: RUSTSEC-1 has no reason"
        );
        let e = AllowList::parse("allow.toml", "[[allow]]\nid = \"RUSTSEC-1\"\n").unwrap_err();
        assert!(e.to_string().contains("reason"), "{e}");
    }
}
