//! The dashboard's pages, rendered from data (pure: no store, no request), so that they are
//! tested and measured on their own.

use std::fmt::Write as _;

use super::html::{
    button_form, days, page, safe_url, severity, severity_chart, weeks_chart, when, Esc, BAD, GOOD,
    Q,
};
use super::packages::{self, PackageRow};
use super::words;
use crate::advisories::links::advisory_url;
use crate::catalog::CatalogProject;
use crate::findings::table::StoredFinding;
use crate::inbox::{DeliveryRecord, DeliveryState, Page};
use crate::remediation::model::Remediation;
use crate::tracking::summary::{waits_for_approval, LEVELS};
use crate::tracking::{ProjectFigures, SlaPolicy, Snapshot};

/// The login form; `error` says why the last attempt failed.
pub fn login(error: Option<&str>) -> String {
    let mut body = String::from("<h1>Log in</h1>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"err\">{}</p>", Esc(e));
    }
    body.push_str(
        "<form method=\"post\" action=\"/login\"><p><label>Admin token<br>\
         <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label></p>\
         <p><button type=\"submit\">Log in</button></p></form>\
         <p class=\"muted\">The token is <code>BACKLINE_ADMIN_TOKEN</code>.</p>",
    );
    page("Log in", "", None, &body)
}

/// A page saying what went wrong.
pub fn error(title: &str, message: &str, csrf: Option<&str>) -> String {
    page(
        title,
        "",
        csrf,
        &format!(
            "<h1>{}</h1><p class=\"err\">{}</p>",
            Esc(title),
            Esc(message)
        ),
    )
}

fn card(out: &mut String, label: &str, value: impl std::fmt::Display, class: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><b class=\"{class}\">{value}</b>{label}</div>"
    );
}

/// Whether the server talks to a GitLab: without one the overview says so rather than showing
/// an empty catalog as good news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitLabLink {
    /// `BACKLINE_GITLAB_URL` and `BACKLINE_GITLAB_TOKEN` are set.
    Configured,
    /// They are not: deliveries are recorded, nothing is catalogued.
    NotConfigured,
}

/// The overview: the summary figures, three charts and the projects at most risk.
pub fn overview(snapshot: &Snapshot, gitlab: GitLabLink, csrf: &str) -> String {
    let s = &snapshot.summary;
    let mut b = String::with_capacity(16 * 1024);
    b.push_str("<h1>Overview</h1><div class=\"cards\">");
    let n = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            many.to_string()
        }
    };
    card(
        &mut b,
        &n(s.projects, "project", "projects"),
        s.projects,
        "",
    );
    card(
        &mut b,
        "with open vulnerabilities",
        s.projects_with_open_vulnerabilities,
        "",
    );
    let open = s.open_remediations.total();
    card(
        &mut b,
        &n(open, "open remediation", "open remediations"),
        open,
        "",
    );
    card(
        &mut b,
        &n(s.sla_breaches, "SLA breach", "SLA breaches"),
        s.sla_breaches,
        if s.sla_breaches > 0 { "late" } else { "" },
    );
    card(
        &mut b,
        &n(s.fixes_open, "fix open (MR)", "fixes open (MRs)"),
        s.fixes_open,
        "",
    );
    card(&mut b, "waiting for approval", s.waiting_for_approval, "");
    card(
        &mut b,
        "median time to fix (30 d)",
        s.median_time_to_fix_ms
            .map(days)
            .unwrap_or_else(|| "–".into()),
        "",
    );
    card(&mut b, "fixed in 30 days", s.fixed_last_30_days, "");
    // Each chart counts what a page counts: vulnerable packages as on the project pages (one
    // per manifest, package and version, at its worst severity), remediations as in the cards.
    b.push_str("</div>");
    disabled_hooks(&mut b, snapshot);
    b.push_str("<h2>Charts</h2><div class=\"charts\"><div class=\"card\">Vulnerable packages now, by worst severity");
    b.push_str(&severity_chart(
        "Vulnerable packages now, by worst severity",
        &s.open_findings,
    ));
    b.push_str("</div><div class=\"card\">Open remediations at the end of each week");
    b.push_str(&weeks_chart(
        "Open remediations at the end of each week",
        &s.open_per_week,
        BAD,
    ));
    b.push_str("</div><div class=\"card\">Remediations fixed or merged per week");
    b.push_str(&weeks_chart(
        "Remediations fixed or merged per week",
        &s.fixes_per_week,
        GOOD,
    ));
    b.push_str("</div></div><h2>Projects at most risk</h2>");
    let mut risky: Vec<&(CatalogProject, ProjectFigures)> = snapshot
        .projects
        .iter()
        .filter(|(_, f)| f.vulnerable.total() > 0)
        .collect();
    risky.sort_by_key(|(p, f)| (risk_key(f), p.id.get()));
    if gitlab == GitLabLink::NotConfigured && snapshot.projects.is_empty() {
        b.push_str(
            "<p class=\"err\">GitLab is not configured: set <code>BACKLINE_GITLAB_URL</code> and \
             <code>BACKLINE_GITLAB_TOKEN</code> and backline catalogs and scans the projects its \
             token reaches. Until then it only records webhook deliveries.</p>",
        );
    } else if snapshot.projects.is_empty() {
        b.push_str(
            "<p class=\"muted\">No project catalogued yet: the first sync runs at start \
             (<code>POST /api/v1/sync</code> runs one now).</p>",
        );
    } else if risky.is_empty() {
        let _ = write!(
            b,
            "<p class=\"muted\">No known vulnerabilities in {}.</p>",
            words::count(snapshot.projects.len(), "project", "projects")
        );
    } else {
        project_table(&mut b, risky.iter().take(10).map(|(p, f)| (p, f)));
        if risky.len() > 10 {
            b.push_str("<p><a href=\"/projects?sort=risk\">All projects by risk</a></p>");
        }
    }
    page("Overview", "/", Some(csrf), &b)
}

/// Managed hooks GitLab has disabled after failed deliveries: those projects send the bot
/// nothing until a sync enables them again.
fn disabled_hooks(b: &mut String, snapshot: &Snapshot) {
    let off: Vec<&CatalogProject> = snapshot
        .projects
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.hook.is_disabled())
        .collect();
    if off.is_empty() {
        return;
    }
    let _ = write!(
        b,
        "<p class=\"err\">GitLab has disabled {} after failed deliveries, so those projects \
         send no events; each sync tries to enable them again:",
        words::count(off.len(), "managed hook", "managed hooks")
    );
    for p in off.iter().take(20) {
        let _ = write!(
            b,
            " <a href=\"/projects/{}\">{}</a>",
            p.id.get(),
            Esc(&p.path_with_namespace)
        );
    }
    if off.len() > 20 {
        let _ = write!(b, " and {} more", off.len() - 20);
    }
    b.push_str("</p>");
}

/// Sort key: worst severity first, then more vulnerable packages, more breaches.
fn risk_key(f: &ProjectFigures) -> [std::cmp::Reverse<usize>; 6] {
    use std::cmp::Reverse as R;
    let c = |i: usize| R(f.vulnerable.0[i]);
    [R(f.sla_breaches), c(0), c(1), c(2), c(3), c(4)]
}

fn project_table<'a>(
    b: &mut String,
    rows: impl Iterator<Item = (&'a CatalogProject, &'a ProjectFigures)>,
) {
    b.push_str(
        "<div class=\"scroll\"><table><tr><th>Project</th><th>Vulnerable packages</th>\
         <th>Fixes open</th><th>Waiting</th><th>SLA breaches</th><th>Visibility</th></tr>",
    );
    for (p, f) in rows {
        let _ = write!(
            b,
            "<tr><td><a href=\"/projects/{}\">{}</a></td><td>",
            p.id.get(),
            Esc(&p.path_with_namespace)
        );
        if f.vulnerable.total() == 0 {
            b.push_str("<span class=\"muted\">none</span>");
        }
        for l in LEVELS {
            let n = f.vulnerable.get(l);
            if n > 0 {
                let _ = write!(b, "{} {} ", n, severity(l));
            }
        }
        let late = if f.sla_breaches > 0 {
            " class=\"late\""
        } else {
            ""
        };
        let vis = p
            .visibility
            .map(|v| format!("{v:?}").to_ascii_lowercase())
            .unwrap_or_else(|| "unknown".into());
        let _ = write!(
            b,
            "</td><td>{}</td><td>{}</td><td{late}>{}</td><td>{}</td></tr>",
            f.fixes_open,
            f.waiting,
            f.sla_breaches,
            Esc(&vis)
        );
    }
    b.push_str("</table></div>");
}

/// Sort orders of the project list.
pub const SORTS: [(&str, &str); 4] = [
    ("path", "path"),
    ("risk", "risk"),
    ("fixes", "fixes open"),
    ("waiting", "waiting"),
];

/// Filters (`q`, case-insensitive, in the path) and sorts the projects.
pub fn select_projects<'a>(
    projects: &'a [(CatalogProject, ProjectFigures)],
    q: &str,
    sort: &str,
) -> Vec<&'a (CatalogProject, ProjectFigures)> {
    let q = q.trim().to_lowercase();
    let mut rows: Vec<_> = projects
        .iter()
        .filter(|(p, _)| q.is_empty() || p.path_with_namespace.to_lowercase().contains(&q))
        .collect();
    match sort {
        "risk" => rows.sort_by_key(|(p, f)| (risk_key(f), p.id.get())),
        "fixes" => rows.sort_by_key(|(p, f)| (std::cmp::Reverse(f.fixes_open), p.id.get())),
        "waiting" => rows.sort_by_key(|(p, f)| (std::cmp::Reverse(f.waiting), p.id.get())),
        _ => rows.sort_by(|a, b| {
            a.0.path_with_namespace
                .to_lowercase()
                .cmp(&b.0.path_with_namespace.to_lowercase())
        }),
    }
    rows
}

/// The project list: search box, sort links, one page of rows, page links.
pub fn projects(
    rows: &[&(CatalogProject, ProjectFigures)],
    q: &str,
    sort: &str,
    page_no: usize,
    per_page: usize,
    csrf: &str,
) -> String {
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Projects</h1><form method=\"get\" action=\"/projects\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"search by path\"> \
         <select name=\"sort\">",
        Esc(q)
    );
    for (key, label) in SORTS {
        let sel = if key == sort { " selected" } else { "" };
        let _ = write!(b, "<option value=\"{key}\"{sel}>sort by {label}</option>");
    }
    b.push_str("</select> <button type=\"submit\">Show</button></form>");
    let total = rows.len();
    let _ = write!(
        b,
        "<p class=\"muted\">{}</p>",
        words::count(total, "project", "projects")
    );
    let start = (page_no - 1).saturating_mul(per_page);
    project_table(
        &mut b,
        rows.iter().skip(start).take(per_page).map(|(p, f)| (p, f)),
    );
    b.push_str("<div class=\"pager\">");
    if page_no > 1 {
        let _ = write!(
            b,
            "<a href=\"/projects?q={}&amp;sort={}&amp;page={}\">← previous</a>",
            Q(q),
            Q(sort),
            page_no - 1
        );
    }
    if start + per_page < total {
        let _ = write!(
            b,
            "<a href=\"/projects?q={}&amp;sort={}&amp;page={}\">next →</a>",
            Q(q),
            Q(sort),
            page_no + 1
        );
    }
    b.push_str("</div>");
    page("Projects", "/projects", Some(csrf), &b)
}

/// What the project page shows.
pub struct ProjectView<'a> {
    /// The project.
    pub project: &'a CatalogProject,
    /// Its figures.
    pub figures: &'a ProjectFigures,
    /// Its findings.
    pub findings: &'a [StoredFinding],
    /// Its dependencies not checked against advisories.
    pub unchecked: &'a [crate::findings::Unchecked],
    /// Its remediations.
    pub remediations: &'a [Remediation],
    /// The last check of each of its merge requests.
    pub mr_checks: &'a [crate::mrcheck::table::MrCheck],
    /// Its badge URL (with key when needed).
    pub badge_url: String,
    /// SLA clocks.
    pub policy: &'a SlaPolicy,
    /// Now (ms).
    pub now_ms: i64,
    /// A message after an action.
    pub flash: Option<String>,
    /// The last pipeline of each remediation's MR, by remediation id.
    pub pipelines: std::collections::BTreeMap<u64, crate::pipeline::PipelineState>,
    /// The repository policy: the record read and the effective policy (none without GitLab).
    pub repo_policy: Option<(
        Option<crate::policy::PolicyRecord>,
        crate::policy::Effective,
    )>,
}

/// The MR's last pipeline: its status, and the failed jobs while it is marked failed.
fn pipeline_cell(b: &mut String, p: &crate::pipeline::PipelineState) {
    let status = if p.failed() {
        "failed"
    } else {
        p.status.as_str()
    };
    let _ = write!(
        b,
        "<br><span class=\"pipeline-{status}\">pipeline {status}</span>"
    );
    if p.failed() && !p.failed_jobs.is_empty() {
        let _ = write!(
            b,
            " <span class=\"muted\">({})</span>",
            Esc(&p.failed_jobs.join(", "))
        );
    }
}

fn remediation_row(
    b: &mut String,
    r: &Remediation,
    pipeline: Option<&crate::pipeline::PipelineState>,
    policy: &SlaPolicy,
    now_ms: i64,
    csrf: &str,
) {
    let sla = policy.status(r, now_ms);
    let _ = write!(
        b,
        "<tr id=\"r{id}\"><td>{pkg} <span class=\"muted\">{from} → {to}</span><br><span class=\"muted\">{manifest}</span></td>\
         <td>{sev}</td><td class=\"state-{class}\">{state}",
        id = r.id,
        pkg = Esc(&r.package),
        // The versions the MR moves, never a copy it leaves.
        from = Esc(&r.moved_versions().join(", ")),
        to = Esc(r.target_version.as_deref().unwrap_or("?")),
        manifest = Esc(&r.manifest),
        sev = severity(r.severity),
        class = r.state.as_str(),
        state = words::state(r.state),
    );
    if let Some(reason) = &r.reason {
        let _ = write!(
            b,
            "<br><span class=\"muted\">{}</span>",
            words::prose(reason)
        );
    }
    for (c, why) in r.left_copies() {
        let _ = write!(
            b,
            "<br><span class=\"muted\">{} stays {}: {}</span>",
            Esc(&c.version),
            words::state(crate::remediation::model::State::NotFixable),
            words::prose(why)
        );
    }
    let late = if sla.breached { " class=\"late\"" } else { "" };
    let _ = write!(
        b,
        "</td><td{late}>{}{}</td><td>",
        when(sla.due_at_ms),
        if sla.breached { " (late)" } else { "" }
    );
    match (r.mr_url.as_deref().and_then(safe_url), r.mr_iid) {
        (Some(url), iid) => {
            let _ = write!(
                b,
                "<a class=\"mr\" href=\"{}\">!{}</a>",
                Esc(url),
                iid.map(|i| i.get()).unwrap_or(0)
            );
        }
        (None, Some(iid)) => {
            let _ = write!(b, "!{}", iid.get());
        }
        _ => {}
    }
    if let Some(p) = pipeline.filter(|_| r.state == crate::remediation::model::State::MrOpen) {
        pipeline_cell(b, p);
    }
    if waits_for_approval(r) {
        b.push_str(&button_form(
            &format!("/approvals/{}/approve", r.id),
            csrf,
            "Approve",
        ));
    } else if let Some(by) = &r.approved_by {
        let _ = write!(
            b,
            "<br><span class=\"muted\">approved by {}</span>",
            Esc(by)
        );
    }
    let _ = write!(
        b,
        "</td></tr><tr><td colspan=\"5\"><details><summary>History ({})</summary><ul>",
        words::count(r.history.len(), "step", "steps")
    );
    for t in &r.history {
        let _ = write!(
            b,
            "<li>{} · {} → {} · {} · {}</li>",
            when(t.at_ms),
            t.from.map(words::state).unwrap_or("–"),
            words::state(t.to),
            Esc(&t.by),
            words::prose(&t.why)
        );
    }
    b.push_str("</ul></details></td></tr>");
}

/// One project: badge snippet, remediations with history and MR links, findings.
/// The repository policy: where it came from, the newest file's refusal with its line, and
/// each effective value with its source.
fn policy_section(
    b: &mut String,
    record: Option<&crate::policy::PolicyRecord>,
    effective: &crate::policy::Effective,
) {
    let file = record.and_then(|r| r.path.as_deref());
    let _ = write!(
        b,
        "<h2>Policy</h2><p>{}</p>",
        match file {
            Some(f) => format!("<code>{}</code> over the instance settings.", Esc(f)),
            None => "No <code>.gitlab/backline.yml</code>: the instance settings apply.".into(),
        }
    );
    if let Some(p) = record.and_then(|r| r.problem.as_ref()) {
        let _ = write!(
            b,
            "<p class=\"flash\">The newest policy file is refused: {}. The policy below stays until it is fixed.</p>",
            Esc(&p.describe())
        );
    }
    b.push_str("<div class=\"scroll\"><table><tr><th>Key</th><th>Value</th><th>From</th></tr>");
    for (key, value, source) in crate::policy::render::rows(effective) {
        let from = match source {
            crate::policy::Source::File => "file",
            crate::policy::Source::Instance => "instance",
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td><code>{}</code></td><td>{from}</td></tr>",
            Esc(&key),
            Esc(&value)
        );
    }
    b.push_str("</table></div>");
}

pub fn project(v: &ProjectView<'_>, csrf: &str) -> String {
    let p = v.project;
    let mut b = String::with_capacity(16 * 1024);
    let _ = write!(b, "<h1>{}</h1>", Esc(&p.path_with_namespace));
    if let Some(flash) = &v.flash {
        let _ = write!(b, "<p class=\"flash\">{}</p>", Esc(flash));
    }
    if let Some(url) = p.web_url.as_deref().and_then(safe_url) {
        let _ = write!(b, "<p><a href=\"{}\">Open in GitLab</a></p>", Esc(url));
    }
    let markdown = crate::http::badge::badge_markdown(&v.badge_url, p.web_url.as_deref());
    let _ = write!(
        b,
        "<h2>Badge</h2><p><img src=\"{}\" alt=\"backline badge\" height=\"20\"></p>\
         <p>Markdown: <code>{}</code></p>",
        Esc(&v.badge_url),
        Esc(&markdown)
    );
    if let Some((record, effective)) = &v.repo_policy {
        policy_section(&mut b, record.as_ref(), effective);
    }
    let _ = write!(b, "<h2>Remediations ({})</h2>", v.remediations.len());
    if v.remediations.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
    } else {
        b.push_str(
            "<div class=\"scroll\"><table><tr><th>Package</th><th>Severity</th><th>State</th>\
             <th>SLA due</th><th>MR</th></tr>",
        );
        for r in v.remediations {
            remediation_row(&mut b, r, v.pipelines.get(&r.id), v.policy, v.now_ms, csrf);
        }
        b.push_str("</table></div>");
    }
    super::mr_checks::section(&mut b, v.mr_checks);
    let (vulnerable, informational) = packages::group(v.findings);
    let _ = write!(b, "<h2>Vulnerable packages ({})</h2>", vulnerable.len());
    if vulnerable.is_empty() {
        b.push_str("<p class=\"muted\">No known vulnerabilities.</p>");
    } else {
        package_table(&mut b, &vulnerable);
    }
    if !informational.is_empty() {
        let _ = write!(
            b,
            "<h2>Informational advisories ({})</h2><p class=\"muted\">Unmaintained, unsound or \
             notice: no fix is planned for these.</p>",
            informational.len()
        );
        package_table(&mut b, &informational);
    }
    let _ = write!(b, "<h2>Not checked ({})</h2>", v.unchecked.len());
    if v.unchecked.is_empty() {
        b.push_str("<p class=\"muted\">Every dependency comes from its public registry at a pinned version.</p>");
    } else {
        b.push_str(
            "<div class=\"scroll\"><table><tr><th>Package</th><th>Version or reference</th>\
             <th>Why not checked</th><th>Manifest</th></tr>",
        );
        for u in v.unchecked {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                Esc(&u.package),
                Esc(u.version.as_deref().unwrap_or("")),
                u.reason,
                Esc(&u.path),
            );
        }
        b.push_str("</table></div>");
    }
    page(&p.path_with_namespace, "/projects", Some(csrf), &b)
}

/// Rows of packages, each with its advisories (linked to their source) inside.
fn package_table(b: &mut String, rows: &[PackageRow<'_>]) {
    b.push_str(
        "<div class=\"scroll\"><table><tr><th>Package</th><th>Severity</th><th>Advisories</th>\
         <th>Fix</th><th>First seen</th></tr>",
    );
    for row in rows {
        let _ = write!(
            b,
            "<tr><td>{} {}<br><span class=\"muted\">{}</span></td><td>{}</td><td>",
            Esc(row.package),
            Esc(row.version),
            Esc(row.path),
            severity(row.worst),
        );
        for a in &row.advisories {
            b.push_str("<div class=\"adv\">");
            match advisory_url(&a.id) {
                Some(url) => {
                    let _ = write!(b, "<a href=\"{}\">{}</a>", Esc(&url), Esc(&a.id));
                }
                None => {
                    let _ = write!(b, "{}", Esc(&a.id));
                }
            }
            if row.advisories.len() > 1 {
                let _ = write!(b, " {}", severity(a.severity));
            }
            if let Some(summary) = &a.summary {
                let _ = write!(
                    b,
                    "<br><span class=\"muted\">{}</span>",
                    words::prose(summary)
                );
            }
            b.push_str("</div>");
        }
        let _ = write!(
            b,
            "</td><td>{}</td><td>{}</td></tr>",
            Esc(row.fix_version.unwrap_or("none known")),
            when(row.first_seen_ms),
        );
    }
    b.push_str("</table></div>");
}

/// Plans waiting for approval, with their project path, each with an Approve button.
pub fn approvals(
    items: &[(&Remediation, Option<&CatalogProject>)],
    policy: &SlaPolicy,
    now_ms: i64,
    csrf: &str,
) -> String {
    let mut b = format!("<h1>Approvals ({})</h1>", items.len());
    if items.is_empty() {
        b.push_str("<p class=\"muted\">Nothing waits for approval.</p>");
    } else {
        b.push_str(
            "<div class=\"scroll\"><table><tr><th>Project</th><th>Package</th><th>Severity</th>\
             <th>SLA due</th><th></th></tr>",
        );
        for (r, p) in items {
            let sla = policy.status(r, now_ms);
            let project = match p {
                Some(p) => format!(
                    "<a href=\"/projects/{}\">{}</a>",
                    p.id.get(),
                    Esc(&p.path_with_namespace)
                ),
                None => format!("project {}", r.project.get()),
            };
            let late = if sla.breached { " class=\"late\"" } else { "" };
            let _ = write!(
                b,
                "<tr id=\"r{}\"><td>{project}</td><td>{} {} → {}<br><span class=\"muted\">{}</span></td><td>{}</td>\
                 <td{late}>{}</td><td>{}</td></tr>",
                r.id,
                Esc(&r.package),
                Esc(&r.from_version),
                Esc(r.target_version.as_deref().unwrap_or("?")),
                Esc(&r.manifest),
                severity(r.severity),
                when(sla.due_at_ms),
                button_form(&format!("/approvals/{}/approve", r.id), csrf, "Approve"),
            );
        }
        b.push_str("</table></div>");
    }
    page("Approvals", "/approvals", Some(csrf), &b)
}

fn delivery_rows(b: &mut String, items: &[DeliveryRecord], csrf: &str) {
    b.push_str(
        "<div class=\"scroll\"><table><tr><th>#</th><th>Kind</th><th>Project</th><th>State</th>\
         <th>Attempts</th><th>Received</th><th>Outcome</th><th></th></tr>",
    );
    for r in items {
        let _ =
            write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>",
            r.seq,
            words::kind(r.kind),
            r.project.map(|p| p.get().to_string()).unwrap_or_default(),
            words::delivery_state(r.state),
            r.attempts,
            when(r.received_at_ms),
            words::prose(r.last_error.as_deref().or(r.outcome.as_deref()).unwrap_or("")),
        );
        if r.state == DeliveryState::Dead {
            b.push_str(&button_form(
                &format!("/deliveries/{}/retry", r.seq),
                csrf,
                "Retry",
            ));
        }
        b.push_str("</td></tr>");
    }
    b.push_str("</table></div>");
}

/// Dead letters (with Retry) and the latest deliveries.
pub fn deliveries(
    dead: &Page<DeliveryRecord>,
    recent: &Page<DeliveryRecord>,
    page_no: usize,
    per_page: usize,
    flash: Option<&str>,
    csrf: &str,
) -> String {
    let mut b = String::from("<h1>Deliveries</h1>");
    if let Some(f) = flash {
        let _ = write!(b, "<p class=\"flash\">{}</p>", Esc(f));
    }
    let _ = write!(b, "<h2>Dead letters ({})</h2>", dead.total);
    if dead.items.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
    } else {
        delivery_rows(&mut b, &dead.items, csrf);
    }
    let _ = write!(b, "<h2>Latest deliveries ({})</h2>", recent.total);
    delivery_rows(&mut b, &recent.items, csrf);
    b.push_str("<div class=\"pager\">");
    if page_no > 1 {
        let _ = write!(
            b,
            "<a href=\"/deliveries?page={}\">← newer</a>",
            page_no - 1
        );
    }
    if page_no * per_page < recent.total {
        let _ = write!(
            b,
            "<a href=\"/deliveries?page={}\">older →</a>",
            page_no + 1
        );
    }
    b.push_str("</div>");
    page("Deliveries", "/deliveries", Some(csrf), &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::model::{Claim, Copy, State};

    #[test]
    fn a_row_shows_the_mr_pipeline_and_its_failed_jobs_escaped() {
        let mut r = crate::tracking::sla::tests::rem(1, 1, crate::advisories::cvss::Level::High, 0);
        r.state = State::MrOpen;
        let failed = crate::pipeline::PipelineState {
            pipeline: 9,
            sha: "s".into(),
            status: crate::pipeline::Status::Failed,
            failed_jobs: vec!["<script>".into()],
            web_url: None,
            noted: Some(9),
            marked_failed: true,
        };
        let mut b = String::new();
        remediation_row(&mut b, &r, Some(&failed), &SlaPolicy::default(), 0, "csrf");
        assert!(b.contains("pipeline failed"), "{b}");
        assert!(
            b.contains("&lt;script&gt;") && !b.contains("<script>"),
            "{b}"
        );
        let mut b = String::new();
        remediation_row(&mut b, &r, None, &SlaPolicy::default(), 0, "csrf");
        assert!(!b.contains("pipeline "), "{b}");
    }

    /// Issue 13: a row shows the versions the MR moves, and each copy it leaves as not
    /// fixable with why, never as part of the open MR.
    #[test]
    fn a_row_shows_moved_copies_and_the_ones_left() {
        let mut r = crate::tracking::sla::tests::rem(1, 1, crate::advisories::cvss::Level::High, 0);
        r.package = "lodash".into();
        r.from_version = "4.17.11".into();
        r.target_version = Some("4.17.21".into());
        r.state = State::MrOpen;
        r.copies = vec![
            Copy {
                version: "4.17.11".into(),
                paths: vec![],
                claim: Claim::Moved,
            },
            Copy {
                version: "2.4.2".into(),
                paths: vec![],
                claim: Claim::Left {
                    reason: "needs legacy to allow lodash >= 4.17.21".into(),
                },
            },
        ];
        let mut b = String::new();
        remediation_row(&mut b, &r, None, &SlaPolicy::default(), 0, "csrf");
        assert!(b.contains("4.17.11 → 4.17.21"), "{b}");
        assert!(!b.contains("2.4.2 → "), "{b}");
        assert!(
            b.contains("2.4.2 stays not fixable: needs legacy to allow lodash &gt;= 4.17.21"),
            "{b}"
        );
    }
}

#[cfg(test)]
mod disabled_hook_tests {
    use super::*;
    use crate::catalog::HookState;
    use crate::gitlab::rest::HookAlertStatus;
    use crate::tracking::reader::Snapshot;
    use crate::tracking::summary::ProjectFigures;

    fn project(id: u64, hook: HookState) -> CatalogProject {
        CatalogProject {
            id: crate::gitlab::ProjectId(id),
            path_with_namespace: format!("acme/<p{id}>"),
            name: format!("p{id}"),
            default_branch: Some("main".into()),
            visibility: None,
            web_url: None,
            last_activity_at: None,
            added_at_ms: 1,
            updated_at_ms: 1,
            hook,
            badge: HookState::Unchecked,
        }
    }

    #[test]
    fn the_overview_names_hooks_gitlab_disabled() {
        let disabled = HookState::Disabled {
            hook_id: 3,
            secret_fingerprint: String::new(),
            alert: HookAlertStatus::Disabled,
            disabled_until: None,
            reason: "r".into(),
        };
        let mut snapshot = Snapshot {
            projects: vec![
                (project(1, disabled), ProjectFigures::default()),
                (project(2, HookState::Unchecked), ProjectFigures::default()),
            ],
            remediations: Vec::new(),
            summary: Default::default(),
        };
        let html = overview(&snapshot, GitLabLink::Configured, "t");
        assert!(
            html.contains("GitLab has disabled 1 managed hook"),
            "{html}"
        );
        assert!(html.contains("<a href=\"/projects/1\">acme/&lt;p1&gt;</a>"));
        assert!(!html.contains("/projects/2\">"));
        snapshot.projects.remove(0);
        let html = overview(&snapshot, GitLabLink::Configured, "t");
        assert!(!html.contains("managed hook"));
    }
}

#[cfg(test)]
mod policy_section_tests {
    use super::policy_section;
    use crate::policy::table::Problem;
    use crate::policy::{parse, Effective, InstanceDefaults, PolicyRecord};

    #[test]
    fn the_project_page_shows_the_policy_its_sources_and_the_refusal_escaped() {
        let text = "labels: [\"<script>x</script>\"]\n";
        let e = Effective::merge(
            &InstanceDefaults::default(),
            Some(&parse(text.as_bytes()).unwrap()),
        );
        let record = PolicyRecord {
            path: Some(".gitlab/backline.yml".into()),
            text: Some(text.into()),
            commit: None,
            problem: Some(Problem {
                path: ".gitlab/backline.yml".into(),
                commit: None,
                line: Some(2),
                message: "unknown field `<b>`".into(),
                at_ms: 0,
            }),
            read_at_ms: 0,
        };
        let mut b = String::new();
        policy_section(&mut b, Some(&record), &e);
        assert!(
            b.contains("<code>.gitlab/backline.yml</code> over the instance settings"),
            "{b}"
        );
        assert!(
            b.contains("refused: .gitlab/backline.yml line 2: unknown field `&lt;b&gt;`"),
            "{b}"
        );
        assert!(
            b.contains("<tr><td>auto_approve</td><td><code>high</code></td><td>instance</td></tr>"),
            "{b}"
        );
        assert!(!b.contains("<script>"), "{b}");
        assert!(
            b.contains("<td>labels</td>") && b.contains("<td>file</td>"),
            "{b}"
        );
    }
}
