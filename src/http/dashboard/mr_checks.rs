//! The project page's section on open merge requests that add vulnerabilities (MR checks).
//! Pure: the stored checks in, HTML out.

use std::fmt::Write as _;

use super::html::{safe_url, severity, Esc};
use crate::mrcheck::table::MrCheck;

/// The open MRs whose last check found something added, most recent first.
pub fn adding(checks: &[MrCheck]) -> Vec<&MrCheck> {
    let mut list: Vec<&MrCheck> = checks
        .iter()
        .filter(|c| c.open && !c.added.is_empty())
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.iid));
    list
}

/// The section: a heading and one row per MR.
pub fn section(b: &mut String, checks: &[MrCheck]) {
    let list = adding(checks);
    let _ = write!(
        b,
        "<h2>Open merge requests adding vulnerabilities ({})</h2>",
        list.len()
    );
    if list.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
        return;
    }
    b.push_str("<div class=\"scroll\"><table><tr><th>MR</th><th>Adds</th><th>Status</th></tr>");
    for c in list {
        let mr = match c.web_url.as_deref().and_then(safe_url) {
            Some(url) => format!("<a href=\"{}\">!{}</a>", Esc(url), c.iid),
            None => format!("!{}", c.iid),
        };
        let adds: Vec<String> = c
            .added
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} ({})",
                    severity(a.severity),
                    Esc(&a.package),
                    Esc(&a.version),
                    Esc(&a.advisory)
                )
            })
            .collect();
        let _ = write!(
            b,
            "<tr><td>{mr} {title}</td><td>{adds}</td><td>{status}</td></tr>",
            title = Esc(&c.title),
            adds = adds.join("<br>"),
            status = Esc(c.verdict.as_str()),
        );
    }
    b.push_str("</table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::cvss::Level;
    use crate::ecosystem::Ecosystem;
    use crate::mrcheck::{AddedVulnerability, Verdict};

    fn check(iid: u64, open: bool, added: bool) -> MrCheck {
        MrCheck {
            project: 1,
            iid,
            head_sha: "abc".into(),
            verdict: if added {
                Verdict::Failed
            } else {
                Verdict::Success
            },
            description: String::new(),
            added: if added {
                vec![AddedVulnerability {
                    manifest: "Cargo.lock".into(),
                    ecosystem: Ecosystem::CratesIo,
                    package: "<script>".into(),
                    version: "1.5.4".into(),
                    advisory: "RUSTSEC-2022-0013".into(),
                    severity: Level::High,
                    fix: None,
                }]
            } else {
                vec![]
            },
            note_id: None,
            title: "Bump <b>".into(),
            web_url: Some("javascript:alert(1)".into()),
            open,
            checked_at_ms: 0,
        }
    }

    #[test]
    fn lists_only_open_mrs_that_add_something_escaped() {
        let checks = vec![
            check(1, true, true),
            check(2, false, true),
            check(3, true, false),
        ];
        let mut b = String::new();
        section(&mut b, &checks);
        assert!(b.contains("adding vulnerabilities (1)"), "{b}");
        assert!(
            b.contains("!1") && !b.contains("!2") && !b.contains("!3"),
            "{b}"
        );
        assert!(!b.contains("<script>") && !b.contains("<b>"), "{b}");
        assert!(!b.contains("javascript:"), "{b}");
        assert!(b.contains("RUSTSEC-2022-0013"));
    }
}
