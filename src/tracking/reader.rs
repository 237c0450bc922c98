//! Reads what the figures need from the tables: every catalogued project with its findings
//! and remediations. Blocking (the store); call it through `store::run_blocking` from async code.

use std::collections::HashMap;

use super::sla::SlaPolicy;
use super::summary::{ProjectFigures, Summary};
use crate::catalog::{Catalog, CatalogProject};
use crate::findings::table::FindingsTable;
use crate::gitlab::ProjectId;
use crate::remediation::model::Remediation;
use crate::remediation::table::Remediations;
use crate::store::StoreError;

/// Everything at one moment: projects with their figures, remediations, the summary.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Catalogued projects by id, with their figures.
    pub projects: Vec<(CatalogProject, ProjectFigures)>,
    /// Every remediation, by id.
    pub remediations: Vec<Remediation>,
    /// The summary.
    pub summary: Summary,
}

/// Reads every project's findings and every remediation, and computes the figures at `now_ms`.
pub fn load(
    catalog: &Catalog,
    findings: &FindingsTable,
    remediations: Option<&Remediations>,
    policy: &SlaPolicy,
    now_ms: i64,
) -> Result<Snapshot, StoreError> {
    let all = match remediations {
        Some(t) => t.page(0, usize::MAX)?.1,
        None => Vec::new(),
    };
    let mut by_project: HashMap<ProjectId, Vec<Remediation>> = HashMap::new();
    for r in &all {
        by_project.entry(r.project).or_default().push(r.clone());
    }
    let (_, catalogued) = catalog.page(0, usize::MAX)?;
    let mut projects = Vec::with_capacity(catalogued.len());
    for p in catalogued {
        let stored = findings.of_project(p.id)?;
        let rems = by_project.remove(&p.id).unwrap_or_default();
        let figures = ProjectFigures::of(stored.iter().map(|s| &s.finding), &rems, policy, now_ms);
        projects.push((p, figures));
    }
    let summary = Summary::compute(
        &all,
        projects.iter().map(|(p, f)| (p.id, f)),
        policy,
        now_ms,
    );
    Ok(Snapshot {
        projects,
        remediations: all,
        summary,
    })
}

/// One project's figures.
pub fn project_figures(
    findings: &FindingsTable,
    remediations: Option<&Remediations>,
    project: ProjectId,
    policy: &SlaPolicy,
    now_ms: i64,
) -> Result<ProjectFigures, StoreError> {
    let stored = findings.of_project(project)?;
    let rems = match remediations {
        Some(t) => t.of_project(project)?,
        None => Vec::new(),
    };
    Ok(ProjectFigures::of(
        stored.iter().map(|s| &s.finding),
        &rems,
        policy,
        now_ms,
    ))
}
