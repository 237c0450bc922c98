//! Findings as a terminal table and as JSON. Pure.

use std::fmt::Write;

use serde_json::{json, Value};

use super::{Finding, Unchecked};
use crate::deps::ParseError;
use crate::untrusted::printable;

/// How many unchecked dependencies the table lists before it says "and N more".
const UNCHECKED_ROWS: usize = 10;

/// `{"findings": [...], "unchecked": [...], "errors": [...]}`.
pub fn json(findings: &[Finding], errors: &[ParseError], unchecked: &[Unchecked]) -> Value {
    json!({
        "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        "unchecked": unchecked.iter().map(unchecked_json).collect::<Vec<_>>(),
        "errors": errors.iter().map(|e| json!({
            "path": e.file,
            "line": e.line,
            "message": e.message,
            "error": e.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// One unchecked dependency as JSON: `{"path","ecosystem","package","version","reason"}`.
pub fn unchecked_json(u: &Unchecked) -> Value {
    json!({
        "path": u.path,
        "ecosystem": u.ecosystem,
        "package": u.package,
        "version": u.version,
        "reason": u.reason.as_str(),
    })
}

/// One finding as JSON.
pub fn finding_json(f: &Finding) -> Value {
    json!({
        "path": f.path,
        "ecosystem": f.ecosystem,
        "package": f.package,
        "version": f.version,
        "direct": f.direct,
        "fix_version": f.fix_version,
        "fixes_all": f.fixes_all,
        "advisory": {
            "id": f.advisory.id,
            "aliases": f.advisory.aliases,
            "summary": f.advisory.summary,
            "severity": f.advisory.severity,
            "severity_source": f.advisory.severity_source.label(),
            "cvss": f.advisory.cvss,
            "cvss_score": f.advisory.cvss_score,
            "kind": f.advisory.kind.as_str(),
        },
    })
}

/// A plain-text table per manifest: vulnerabilities first, informational advisories apart,
/// then what was not checked, errors and a summary line. Text from manifests and advisories is
/// [`printable`]: no control character or escape sequence reaches the terminal.
pub fn table(
    findings: &[Finding],
    errors: &[ParseError],
    unchecked: &[Unchecked],
    manifests: usize,
) -> String {
    let mut out = String::new();
    let (vulns, info): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.is_vulnerability());
    section(&mut out, "Vulnerabilities", &vulns);
    section(
        &mut out,
        "Informational advisories (do not fail the scan)",
        &info,
    );
    not_checked(&mut out, unchecked);
    if !errors.is_empty() {
        let _ = writeln!(out, "Errors");
        for e in errors {
            let _ = writeln!(out, "  {}", printable(&e.to_string()));
        }
        out.push('\n');
    }
    // Counted once however many manifests reach them (a requirements file and the one that
    // includes it with `-r`): distinct (package, version, advisory).
    let distinct = |rows: &[&Finding]| {
        rows.iter()
            .map(|f| (f.ecosystem, &f.package, &f.version, &f.advisory.id))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let packages: std::collections::BTreeSet<_> = vulns
        .iter()
        .map(|f| (f.ecosystem, &f.package, &f.version))
        .collect();
    let (vuln_count, info_count) = (distinct(&vulns), distinct(&info));
    let _ = writeln!(
        out,
        "{} manifest{} scanned: {} vulnerabilit{} in {} package{}, {} informational, {} not checked, {} error{}",
        manifests,
        plural(manifests),
        vuln_count,
        if vuln_count == 1 { "y" } else { "ies" },
        packages.len(),
        plural(packages.len()),
        info_count,
        unchecked.len(),
        errors.len(),
        plural(errors.len()),
    );
    out
}

/// The level, with where it came from when that is not the record's own CVSS vector or word
/// (`medium (default)`, `high (alias GHSA-...)`).
fn severity_cell(f: &Finding) -> String {
    use crate::advisories::severity::SeveritySource;
    match &f.advisory.severity_source {
        SeveritySource::Alias(_) | SeveritySource::Default => format!(
            "{} ({})",
            f.advisory.severity.as_str(),
            f.advisory.severity_source.label()
        ),
        _ => f.advisory.severity.as_str().to_string(),
    }
}

/// The short "not checked" section: the first rows, then how many more.
fn not_checked(out: &mut String, unchecked: &[Unchecked]) {
    if unchecked.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Not checked ({}: not from the public registry, or not pinned)",
        unchecked.len()
    );
    for u in unchecked.iter().take(UNCHECKED_ROWS) {
        let version = u
            .version
            .as_deref()
            .map(|v| format!(" {}", printable(v)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: {}{} ({})",
            printable(&u.path),
            printable(&u.package),
            version,
            u.reason
        );
    }
    if unchecked.len() > UNCHECKED_ROWS {
        let _ = writeln!(
            out,
            "  ... and {} more (--format json lists them all)",
            unchecked.len() - UNCHECKED_ROWS
        );
    }
    out.push('\n');
}

/// The findings an allow list accepted, each with its reason, and the list's entries that
/// matched nothing; empty when there are neither.
pub fn allowed(allowed: &[(Finding, String)], unused: &[&str]) -> String {
    let mut out = String::new();
    if !allowed.is_empty() {
        let _ = writeln!(out, "Allowed (on the allow list)");
        for (f, reason) in allowed {
            let _ = writeln!(
                out,
                "  {} {} in {}: {} ({})",
                printable(&f.package),
                printable(&f.version),
                printable(&f.path),
                printable(&f.advisory.id),
                printable(reason)
            );
        }
        out.push('\n');
    }
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "Allow list entries that match nothing (remove them): {}\n",
            printable(&unused.join(", "))
        );
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn section(out: &mut String, title: &str, rows: &[&Finding]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}");
    let header = [
        "PACKAGE",
        "INSTALLED",
        "ADVISORY",
        "SEVERITY",
        "FIX",
        "SUMMARY",
    ];
    let mut current_path: Option<&str> = None;
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|f| {
            let package = if f.direct {
                f.package.clone()
            } else {
                format!("{} (transitive)", f.package)
            };
            let level = if f.is_vulnerability() {
                severity_cell(f)
            } else {
                f.advisory.kind.as_str().to_string()
            };
            [
                package.as_str(),
                f.version.as_str(),
                f.advisory.id.as_str(),
                level.as_str(),
                f.fix_version.as_deref().unwrap_or("none"),
                f.advisory.summary.as_deref().unwrap_or_default(),
            ]
            .map(|cell| printable(cell).into_owned())
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    widths[5] = 0;
    for (f, row) in rows.iter().zip(&cells) {
        if current_path != Some(f.path.as_str()) {
            current_path = Some(&f.path);
            let _ = writeln!(out, "  {} ({})", printable(&f.path), f.ecosystem);
            let _ = writeln!(out, "    {}", line(&header.map(String::from), &widths));
        }
        let _ = writeln!(out, "    {}", line(row, &widths));
    }
    out.push('\n');
}

fn line(cells: &[String; 6], widths: &[usize; 6]) -> String {
    let mut s = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            s.push_str("  ");
        }
        s.push_str(c);
        for _ in c.chars().count()..*w {
            s.push(' ');
        }
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deps::UncheckedReason;

    fn unchecked(package: &str, version: Option<&str>, reason: UncheckedReason) -> Unchecked {
        Unchecked {
            path: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: package.into(),
            version: version.map(str::to_string),
            reason,
        }
    }

    #[test]
    fn unchecked_in_json_and_a_short_escaped_table_section() {
        let list: Vec<Unchecked> = (0..12)
            .map(|i| unchecked(&format!("c{i}"), Some("1.0.0"), UncheckedReason::GitSource))
            .chain([unchecked("evil\u{1b}[31m", None, UncheckedReason::Unpinned)])
            .collect();
        let v = json(&[], &[], &list[..1]);
        assert_eq!(
            v["unchecked"][0],
            serde_json::json!({"path": "Cargo.lock", "ecosystem": "crates.io", "package": "c0",
                "version": "1.0.0", "reason": "git source"})
        );
        let mut shown = list.clone();
        shown.rotate_right(1);
        let t = table(&[], &[], &shown, 1);
        assert!(t.contains("Not checked (13:"), "{t}");
        assert!(t.contains("  Cargo.lock: evil[31m (unpinned)"), "{t}");
        assert!(t.contains("  Cargo.lock: c0 1.0.0 (git source)"), "{t}");
        assert!(t.contains("... and 3 more"), "{t}");
        assert!(!t.contains('\u{1b}'));
    }

    use crate::advisories::cvss::Level;
    use crate::advisories::AdvisoryKind;
    use crate::ecosystem::Ecosystem;
    use crate::findings::AdvisoryRef;

    /// Issue 12 item 12: an advisory summary, a package name or a path with escape sequences
    /// (retitle the window, clear the screen, recolour, overwrite with CR) prints as plain text.
    #[test]
    fn the_table_carries_no_terminal_control_characters() {
        let finding = Finding {
            path: "app/\u{1b}[2JCargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: "evil\u{1b}]0;owned\u{7}".into(),
            version: "1.0.0\r".into(),
            direct: true,
            fix_version: Some("1.0.1\u{9b}2J".into()),
            fixes_all: None,
            advisory: AdvisoryRef {
                id: "RUSTSEC-0000-0001".into(),
                aliases: vec![],
                summary: Some(
                    "fine\u{1b}[8mhidden\u{1b}[0m\r\nNo vulnerabilities found\u{202E}".into(),
                ),
                severity: Level::High,
                cvss: None,
                cvss_score: None,
                kind: AdvisoryKind::Vulnerability,
                severity_source: crate::advisories::severity::SeveritySource::CvssV3,
                fixed_in: None,
            },
        };
        let error = ParseError::new("x/\u{1b}[31mpnpm-lock.yaml", Some(3), "bad \u{1b}[1m");
        let out = table(&[finding], &[error], &[], 1);
        let bad: Vec<char> = out
            .chars()
            .filter(|&c| c != '\n' && crate::untrusted::terminal::is_hazard(c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {out:?}");
        assert!(
            out.contains("fine[8mhidden[0m  No vulnerabilities found"),
            "{out}"
        );
        assert!(out.contains("app/[2JCargo.lock (crates.io)"), "{out}");
    }
}
