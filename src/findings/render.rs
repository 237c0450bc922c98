//! Findings as a terminal table and as JSON. Pure.

use std::fmt::Write;

use serde_json::{json, Value};

use super::Finding;
use crate::deps::ParseError;
use crate::untrusted::printable;

/// `{"findings": [...], "errors": [...]}`.
pub fn json(findings: &[Finding], errors: &[ParseError]) -> Value {
    json!({
        "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        "errors": errors.iter().map(|e| json!({
            "path": e.file,
            "line": e.line,
            "message": e.message,
            "error": e.to_string(),
        })).collect::<Vec<_>>(),
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
        "advisory": {
            "id": f.advisory.id,
            "aliases": f.advisory.aliases,
            "summary": f.advisory.summary,
            "severity": f.advisory.severity,
            "cvss": f.advisory.cvss,
            "cvss_score": f.advisory.cvss_score,
            "kind": f.advisory.kind.as_str(),
        },
    })
}

/// A plain-text table per manifest: vulnerabilities first, informational advisories apart,
/// then errors and a summary line. Text from manifests and advisories is [`printable`]: no
/// control character or escape sequence reaches the terminal.
pub fn table(findings: &[Finding], errors: &[ParseError], manifests: usize) -> String {
    let mut out = String::new();
    let (vulns, info): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.is_vulnerability());
    section(&mut out, "Vulnerabilities", &vulns);
    section(
        &mut out,
        "Informational advisories (do not fail the scan)",
        &info,
    );
    if !errors.is_empty() {
        let _ = writeln!(out, "Errors");
        for e in errors {
            let _ = writeln!(out, "  {}", printable(&e.to_string()));
        }
        out.push('\n');
    }
    let packages: std::collections::BTreeSet<_> = vulns
        .iter()
        .map(|f| (&f.path, &f.package, &f.version))
        .collect();
    let _ = writeln!(
        out,
        "{} manifest{} scanned: {} vulnerabilit{} in {} package{}, {} informational, {} error{}",
        manifests,
        plural(manifests),
        vulns.len(),
        if vulns.len() == 1 { "y" } else { "ies" },
        packages.len(),
        plural(packages.len()),
        info.len(),
        errors.len(),
        plural(errors.len()),
    );
    out
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
            [
                package,
                f.version.clone(),
                f.advisory.id.clone(),
                if f.is_vulnerability() {
                    f.advisory.severity.as_str().to_string()
                } else {
                    f.advisory.kind.as_str().to_string()
                },
                f.fix_version.clone().unwrap_or_else(|| "none".into()),
                f.advisory.summary.clone().unwrap_or_default(),
            ]
            .map(|cell| printable(&cell).into_owned())
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
            },
        };
        let error = ParseError::new("x/\u{1b}[31mpnpm-lock.yaml", Some(3), "bad \u{1b}[1m");
        let out = table(&[finding], &[error], 1);
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
