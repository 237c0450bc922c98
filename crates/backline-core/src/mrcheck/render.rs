//! The status description and the note of an MR check. Every field from a repository or an
//! advisory database goes through [`markdown_inline`] (the note) or [`one_line`] (the status
//! description, which GitLab shows as plain text).

use crate::advisories::cvss::Level;
use crate::untrusted::markdown::markdown_inline;

use super::{AddedVulnerability, Verdict};

/// The hidden marker the bot finds its note by.
pub const MARKER: &str = "<!-- backline: mr-check -->";

/// GitLab keeps a status description to 255 characters (`CommitStatus` validation).
const MAX_DESCRIPTION: usize = 255;

/// Controls and line breaks out; at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !crate::untrusted::terminal::is_hazard(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The one-line status description: "adds 2 high: lodash 4.17.20 (GHSA-...), ...".
pub fn description(verdict: Verdict, added: &[AddedVulnerability], fail_on: Level) -> String {
    let text = match verdict {
        Verdict::Unreadable => {
            "could not read the fork this MR comes from (the bot cannot see it)".to_string()
        }
        _ if added.is_empty() => "adds no known vulnerability".to_string(),
        _ => {
            let top = added
                .iter()
                .map(|a| a.severity)
                .max()
                .unwrap_or(Level::Unknown);
            let at_top: Vec<&AddedVulnerability> =
                added.iter().filter(|a| a.severity == top).collect();
            let list: Vec<String> = at_top
                .iter()
                .map(|a| format!("{} {} ({})", a.package, a.version, a.advisory))
                .collect();
            let mut s = format!(
                "adds {} {}: {}",
                at_top.len(),
                top.as_str(),
                list.join(", ")
            );
            let rest = added.len() - at_top.len();
            if rest > 0 {
                s.push_str(&format!("; {rest} more below"));
            }
            if verdict == Verdict::Success {
                s.push_str(&format!(" (below the {} threshold)", fail_on.as_str()));
            }
            s
        }
    };
    one_line(&text, MAX_DESCRIPTION)
}

fn rows(list: &[AddedVulnerability]) -> String {
    let mut out = String::from(
        "| Package | Version | Advisory | Severity | Fixed in | Manifest |\n|---|---|---|---|---|---|\n",
    );
    for a in list {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | `{}` |\n",
            markdown_inline(&a.package),
            markdown_inline(&a.version),
            markdown_inline(&a.advisory),
            a.severity.as_str(),
            a.fix
                .as_deref()
                .map(|f| format!("`{}`", markdown_inline(f)))
                .unwrap_or_else(|| "no fix known".into()),
            markdown_inline(&a.manifest),
        ));
    }
    out
}

/// The note's body: what the MR adds now, or, when a later push removed what it added before,
/// that it adds nothing any more (`removed`: what it added before).
pub fn note(
    verdict: Verdict,
    added: &[AddedVulnerability],
    removed: &[AddedVulnerability],
    head_sha: &str,
) -> String {
    let short: String = markdown_inline(head_sha).chars().take(8).collect();
    let mut out = format!("{MARKER}\n### backline: dependencies\n\n");
    match verdict {
        Verdict::Unreadable => {
            out.push_str("backline could not read the fork this merge request comes from, so its dependencies are not checked.\n");
        }
        _ if added.is_empty() => {
            out.push_str(&format!(
                "As of `{short}` this merge request adds no known vulnerability."
            ));
            if !removed.is_empty() {
                out.push_str(" A later push removed what it added before:\n\n");
                out.push_str(&rows(removed));
            } else {
                out.push('\n');
            }
        }
        _ => {
            out.push_str(&format!(
                "As of `{short}` this merge request adds {} known {}:\n\n",
                added.len(),
                if added.len() == 1 {
                    "vulnerability"
                } else {
                    "vulnerabilities"
                }
            ));
            out.push_str(&rows(added));
            if !removed.is_empty() {
                out.push_str("\nA later push removed:\n\n");
                out.push_str(&rows(removed));
            }
        }
    }
    out.push_str("\n<sub>This note is updated on every push.</sub>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::Ecosystem;

    fn a(package: &str, severity: Level) -> AddedVulnerability {
        AddedVulnerability {
            manifest: "package-lock.json".into(),
            ecosystem: Ecosystem::Npm,
            package: package.into(),
            version: "4.17.20".into(),
            advisory: "GHSA-35jh-r3h4-6jhm".into(),
            severity,
            fix: Some("4.17.21".into()),
        }
    }

    #[test]
    fn the_description_names_the_most_severe_in_one_line() {
        let list = vec![
            a("lodash", Level::High),
            a("lodash-es", Level::High),
            a("x", Level::Low),
        ];
        assert_eq!(
            description(Verdict::Failed, &list, Level::High),
            "adds 2 high: lodash 4.17.20 (GHSA-35jh-r3h4-6jhm), lodash-es 4.17.20 (GHSA-35jh-r3h4-6jhm); 1 more below"
        );
        assert_eq!(
            description(Verdict::Success, &[], Level::High),
            "adds no known vulnerability"
        );
        let hostile = vec![a("evil\npkg\u{202e}", Level::Critical)];
        let d = description(Verdict::Failed, &hostile, Level::High);
        assert!(!d.contains('\n') && !d.contains('\u{202e}'), "{d:?}");
        let long = vec![a(&"p".repeat(400), Level::High)];
        assert!(
            description(Verdict::Failed, &long, Level::High)
                .chars()
                .count()
                <= 255
        );
    }

    #[test]
    fn the_note_carries_the_marker_and_neutralised_fields() {
        let mut evil = a("@all", Level::High);
        evil.version = "1`\n/merge".into();
        let body = note(Verdict::Failed, &[evil], &[], "abcdef0123456789");
        assert!(body.starts_with(MARKER));
        assert!(body.contains("abcdef01"));
        assert!(!body.contains("@all"), "{body}");
        assert!(!body.lines().any(|l| l.starts_with("/merge")), "{body}");
        let later = note(Verdict::Success, &[], &[a("lodash", Level::High)], "f00");
        assert!(later.contains("adds no known vulnerability"));
        assert!(
            later.contains("removed") && later.contains("lodash"),
            "{later}"
        );
    }
}
