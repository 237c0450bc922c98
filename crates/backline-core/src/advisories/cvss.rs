//! Severity levels: the CVSS v3.x base score computed from its vector (FIRST's specification,
//! section 7), else the database's own word. Pure.

use serde::{Deserialize, Serialize};

use super::model::{Advisory, AdvisoryKind};

/// A severity level, as SLA clocks and approval policies use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not known (no score, no word).
    Unknown,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 9.0–10.
    Critical,
}

impl Level {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// From a score.
    pub fn from_score(score: f64) -> Level {
        match score {
            s if s >= 9.0 => Level::Critical,
            s if s >= 7.0 => Level::High,
            s if s >= 4.0 => Level::Medium,
            s if s > 0.0 => Level::Low,
            _ => Level::Unknown,
        }
    }

    /// From a database's word (`HIGH`, `moderate`, ...).
    pub fn from_word(word: &str) -> Option<Level> {
        match word.to_ascii_lowercase().as_str() {
            "critical" => Some(Level::Critical),
            "high" => Some(Level::High),
            "moderate" | "medium" => Some(Level::Medium),
            "low" => Some(Level::Low),
            _ => None,
        }
    }

    /// Parses the lower-case word (for configuration).
    pub fn parse(word: &str) -> Option<Level> {
        Level::from_word(word).or((word == "unknown").then_some(Level::Unknown))
    }
}

/// The base score of a CVSS v3.0/v3.1 vector, or `None` when it is not one or lacks a metric.
pub fn base_score_v3(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    let version = parts.next()?;
    if version != "CVSS:3.1" && version != "CVSS:3.0" {
        return None;
    }
    let mut m = std::collections::HashMap::new();
    for part in parts {
        let (k, v) = part.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        match *m.get(k)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(round_up(raw))
}

/// CVSS v3.1's Roundup: the smallest number with one decimal that is ≥ the input, computed in
/// integers to avoid floating-point surprises.
fn round_up(x: f64) -> f64 {
    let int = (x * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

/// An advisory's level: from its first CVSS v3 vector, else its database's word; informational
/// advisories are `Unknown`.
pub fn level_of(advisory: &Advisory) -> Level {
    if advisory.kind != AdvisoryKind::Vulnerability {
        return Level::Unknown;
    }
    advisory
        .severity
        .scores
        .iter()
        .find_map(|s| base_score_v3(&s.score))
        .map(Level::from_score)
        .or_else(|| {
            advisory
                .severity
                .label
                .as_deref()
                .and_then(Level::from_word)
        })
        .unwrap_or(Level::Unknown)
}

/// The CVSS vector an advisory's level comes from (its first v3.x vector, else its first
/// v4.0 one, else its first vector of any kind), with its base score when computable.
pub fn cvss_of(advisory: &Advisory) -> Option<(String, Option<f64>)> {
    let scores = &advisory.severity.scores;
    let with = |f: fn(&str) -> Option<f64>| {
        scores
            .iter()
            .find_map(|s| f(&s.score).map(|n| (s.score.clone(), Some(n))))
    };
    with(base_score_v3)
        .or_else(|| with(super::severity::base_score_v4))
        .or_else(|| scores.first().map(|s| (s.score.clone(), None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_nvd() {
        // Vectors and scores as NVD publishes them.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:L/A:N", 4.8),
        ];
        for (v, want) in cases {
            assert_eq!(base_score_v3(v), Some(want), "{v}");
        }
        assert_eq!(
            base_score_v3("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            None
        );
        assert_eq!(base_score_v3("CVSS:3.1/AV:N"), None);
        assert_eq!(base_score_v3("garbage"), None);
    }

    #[test]
    fn levels() {
        assert_eq!(Level::from_score(9.8), Level::Critical);
        assert_eq!(Level::from_score(7.0), Level::High);
        assert_eq!(Level::from_score(6.9), Level::Medium);
        assert_eq!(Level::from_score(0.1), Level::Low);
        assert_eq!(Level::from_word("MODERATE"), Some(Level::Medium));
        assert!(Level::Critical > Level::High && Level::Low > Level::Unknown);
    }
}
