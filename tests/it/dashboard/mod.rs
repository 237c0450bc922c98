//! The status badge, the summary API and the web dashboard (over real HTTP), and the dashboard
//! driven in headless Chromium.

mod badge;
mod browser;
mod guard;
pub mod pages;
mod sessions;

use backline::advisories::cvss::Level;
use backline::advisories::AdvisoryKind;
use backline::catalog::{CatalogProject, HookState};
use backline::ecosystem::Ecosystem;
use backline::findings::{AdvisoryRef, Finding};
use backline::gitlab::hooks::common::Visibility;
use backline::gitlab::ProjectId;

/// A catalogued project, as a sync would record it.
pub fn project(id: u64, path: &str, visibility: Visibility) -> CatalogProject {
    CatalogProject {
        id: ProjectId(id),
        path_with_namespace: path.to_string(),
        name: path.rsplit('/').next().unwrap_or(path).to_string(),
        default_branch: Some("main".into()),
        visibility: Some(visibility),
        web_url: Some(format!("https://gitlab.example/{path}")),
        last_activity_at: None,
        added_at_ms: 1,
        updated_at_ms: 1,
        hook: HookState::Unchecked,
        badge: HookState::Unchecked,
    }
}

/// A vulnerability finding.
pub fn finding(package: &str, severity: Level) -> Finding {
    Finding {
        path: "Cargo.lock".into(),
        ecosystem: Ecosystem::CratesIo,
        package: package.into(),
        version: "1.0.0".into(),
        direct: true,
        fix_version: Some("1.0.1".into()),
        fixes_all: Some("1.0.1".into()),
        advisory: AdvisoryRef {
            id: format!("RUSTSEC-0000-{package}"),
            aliases: Vec::new(),
            summary: Some(format!("<script>alert('{package}')</script>")),
            severity,
            cvss: None,
            cvss_score: None,
            kind: AdvisoryKind::Vulnerability,
            severity_source: backline::advisories::severity::SeveritySource::CvssV3,
            fixed_in: None,
        },
    }
}
