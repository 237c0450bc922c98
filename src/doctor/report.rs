//! What `backline doctor` found: one line per check with a mark, what was seen and, when it is
//! not fine, what to do. Pure: checks in, text and exit code out.

use std::fmt::Write as _;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Works, but something deserves a look; does not fail the run.
    Warn,
    Fail,
    /// The settings do not use what this check looks at.
    Skip,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "-",
        }
    }
}

/// One check's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about it (shown for warnings and failures).
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn skip(name: &'static str, why: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skip,
            detail: why.into(),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The report as text: one line per check, its fix indented below.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        let _ = writeln!(
            out,
            "{} {:width$}  {}",
            check.status.mark(),
            check.name,
            clean(&check.detail)
        );
        if let (Some(fix), Status::Warn | Status::Fail) = (&check.fix, check.status) {
            let _ = writeln!(out, "  {:width$}  → {}", "", clean(fix));
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    let skipped = checks.iter().filter(|c| c.status == Status::Skip).count();
    let _ = writeln!(
        out,
        "{} passed, {failed} failed, {warned} {}, {skipped} skipped",
        checks.iter().filter(|c| c.status == Status::Pass).count(),
        if warned == 1 { "warning" } else { "warnings" },
    );
    out
}

/// 0 when nothing failed, 1 otherwise (2, bad configuration, is decided before any check runs).
pub fn exit_code(checks: &[Check]) -> u8 {
    u8::from(checks.iter().any(|c| c.status == Status::Fail))
}

/// Details quote GitLab's and registries' answers: no control characters reach the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_decide_the_exit_code_and_show_their_fix() {
        let checks = vec![
            Check::pass("data dir", "/var/lib/backline (writable)"),
            Check::warn("token", "expires in 3 days", "rotate it"),
            Check::skip("OSV", "advisory sync is off"),
        ];
        assert_eq!(exit_code(&checks), 0);
        let mut failing = checks.clone();
        failing.push(Check::fail(
            "GitLab",
            "certificate refused\u{1b}[31m",
            "set BACKLINE_CA_FILE",
        ));
        assert_eq!(exit_code(&failing), 1);
        let text = render(&failing);
        assert!(text.contains("✓ data dir"), "{text}");
        assert!(text.contains("→ rotate it"), "{text}");
        assert!(text.contains("→ set BACKLINE_CA_FILE"), "{text}");
        assert!(text.contains("- OSV"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "control characters pass through: {text:?}"
        );
        assert!(
            text.ends_with("1 passed, 1 failed, 1 warning, 1 skipped\n"),
            "{text}"
        );
    }
}
