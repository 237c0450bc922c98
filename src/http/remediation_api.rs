//! `/api/v1/remediations`: every remediation with its state and history, and approval.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::clock::{now_ms, rfc3339};
use crate::http::api::{authorize, paging, ApiError, ApiResult, ListQuery, Paging};
use crate::http::state::AppState;
use crate::remediation::model::{Claim, Remediation, State};
use crate::tracking::SlaPolicy;

/// Mounts the routes (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/remediations", web::get().to(list))
        .route("/remediations/{id}", web::get().to(get))
        .route("/remediations/{id}/approve", web::post().to(approve))
        .route("/remediations/{id}/ignore", web::post().to(ignore))
        .route("/summary", web::get().to(summary))
        .route("/advisories", web::get().to(advisories_status))
        .route("/advisories/sync", web::post().to(sync_advisories));
}

/// The API view of a remediation, with its SLA clock (`policy`) read at `now_ms`.
pub fn remediation_json(r: &Remediation, policy: &SlaPolicy, now_ms: i64) -> Value {
    let sla = policy.status(r, now_ms);
    json!({
        "id": r.id,
        "project_id": r.project.get(),
        "manifest": r.manifest,
        "ecosystem": r.ecosystem,
        "package": r.package,
        "direct": r.direct,
        "from_version": r.from_version,
        "target_version": r.target_version,
        "severity": r.severity,
        "advisories": r.advisories.iter().map(|a| json!({
            "id": a.id, "aliases": a.aliases, "summary": a.summary, "severity": a.severity,
        })).collect::<Vec<_>>(),
        "state": r.state.as_str(),
        // Each vulnerable installed version: `mr_open` only for those the MR moves.
        "copies": r.copies.iter().map(|c| json!({
            "version": c.version,
            "paths": c.paths,
            "moved_by_mr": c.claim == Claim::Moved,
            "state": c.state(r.state).as_str(),
            "reason": match &c.claim { Claim::Left { reason } => Some(reason.as_str()), _ => None },
        })).collect::<Vec<_>>(),
        "approved_by": r.approved_by,
        "reason": r.reason,
        "branch": r.branch,
        "mr_iid": r.mr_iid.map(|i| i.get()),
        "mr_url": r.mr_url,
        "edited_by_person": r.edited_by_person,
        "ignored_versions": r.ignored_versions,
        "ignored_advisories": r.ignored_advisories,
        "detected_at": rfc3339(r.detected_at_ms),
        "updated_at": rfc3339(r.updated_at_ms),
        "sla_due_at": rfc3339(sla.due_at_ms),
        "sla_breached": sla.breached,
        "history": r.history.iter().map(|t| json!({
            "at": rfc3339(t.at_ms),
            "from": t.from.map(State::as_str),
            "to": t.to.as_str(),
            "by": t.by,
            "why": t.why,
        })).collect::<Vec<_>>(),
    })
}

fn table(state: &AppState) -> Result<&crate::remediation::table::Remediations, ApiError> {
    state.remediations.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no GitLab configured: set BACKLINE_GITLAB_URL and BACKLINE_GITLAB_TOKEN",
        )
    })
}

/// Filters of `GET /api/v1/remediations`.
#[derive(Debug, serde::Deserialize)]
pub struct RemediationFilter {
    project: Option<u64>,
    state: Option<String>,
    severity: Option<String>,
}

async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    filter: web::Query<RemediationFilter>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let Paging { page, per_page } = paging(&query)?;
    let table = table(&state)?;
    let severity = match filter.severity.as_deref() {
        None | Some("") => None,
        Some(s) => Some(crate::advisories::cvss::Level::parse(s).ok_or_else(|| {
            ApiError::bad_request("severity must be one of critical, high, medium, low, unknown")
        })?),
    };
    let wanted_state = filter.state.as_deref().filter(|s| !s.is_empty());
    let (total, items) = if filter.project.is_none() && wanted_state.is_none() && severity.is_none()
    {
        table.page((page - 1) * per_page, per_page)?
    } else {
        let all = match filter.project {
            Some(p) => table.of_project(crate::gitlab::ProjectId(p))?,
            None => table.page(0, usize::MAX)?.1,
        };
        let matching: Vec<Remediation> = all
            .into_iter()
            .filter(|r| wanted_state.is_none_or(|s| r.state.as_str() == s))
            .filter(|r| severity.is_none_or(|l| r.severity == l))
            .collect();
        let total = matching.len();
        let page_items = matching
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        (total, page_items)
    };
    let now = now_ms();
    Ok(HttpResponse::Ok().json(json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items
            .iter()
            .map(|r| with_pipeline(&state, remediation_json(r, &state.settings.sla, now), r.id))
            .collect::<Vec<_>>(),
    })))
}

/// Adds the MR's last pipeline (`pipeline`: status, id, failed jobs, `pipeline_failed`).
fn with_pipeline(state: &AppState, mut v: Value, id: u64) -> Value {
    let known = state
        .scanner
        .as_ref()
        .and_then(|s| s.executor())
        .and_then(|e| e.pipelines())
        .and_then(|t| t.get(id).ok().flatten());
    v["pipeline"] = match known {
        Some(p) => json!({
            "id": p.pipeline,
            "sha": p.sha,
            "status": p.status.as_str(),
            "failed_jobs": p.failed_jobs,
            "web_url": p.web_url,
            "pipeline_failed": p.failed(),
        }),
        None => Value::Null,
    };
    v["pipeline_failed"] = json!(v["pipeline"]["pipeline_failed"] == true);
    v
}

fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request("a remediation id is a number"))
}

async fn get(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state)?;
    match table(&state)?.get(parse_id(&path)?)? {
        Some(r) => Ok(HttpResponse::Ok().json(with_pipeline(
            &state,
            remediation_json(&r, &state.settings.sla, now_ms()),
            r.id,
        ))),
        None => Err(ApiError::not_found("no such remediation")),
    }
}

/// The advisory index in use and the last sync from OSV.
async fn advisories_status(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state)?;
    let scanner = state
        .scanner
        .clone()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no GitLab configured"))?;
    Ok(HttpResponse::Ok().json(json!({
        "index": scanner.index_stats(),
        "last_sync": scanner.last_advisory_sync(),
    })))
}

/// Query of `POST /api/v1/advisories/sync`.
#[derive(Debug, serde::Deserialize)]
pub struct SyncAdvisoriesQuery {
    #[serde(default)]
    wait: bool,
}

/// Syncs the advisories from OSV inside the server (the store is the server's), then rechecks
/// every project. 202 at once, or with `?wait=true` 200 with the outcome once done.
async fn sync_advisories(
    req: HttpRequest,
    query: web::Query<SyncAdvisoriesQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let scanner = state
        .scanner
        .clone()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no GitLab configured"))?;
    let store = state.inbox.store().clone();
    let options = state.settings.sync_options();
    if query.wait {
        let summary = scanner
            .sync_advisories(&store, &options)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e))?;
        return Ok(HttpResponse::Ok().json(summary));
    }
    tokio::spawn(async move {
        if let Err(e) = scanner.sync_advisories(&store, &options).await {
            tracing::warn!(error = %e, "advisory sync failed");
        }
    });
    Ok(HttpResponse::Accepted().json(json!({"status": "advisory sync started"})))
}

/// Body of `POST /api/v1/remediations/{id}/ignore`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct IgnoreBody {
    /// An advisory id or alias, or a version; none: this fix.
    what: Option<String>,
}

/// Ignores a remediation (the fix, an advisory or a version), closing its MR when nothing remains
/// to fix; answers with the outcome and the remediation.
async fn ignore(
    req: HttpRequest,
    path: web::Path<String>,
    body: Option<web::Json<IgnoreBody>>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let id = parse_id(&path)?;
    let table = table(&state)?;
    if table.get(id)?.is_none() {
        return Err(ApiError::not_found("no such remediation"));
    }
    let scanner = state
        .scanner
        .clone()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no GitLab configured"))?;
    let what = body.and_then(|b| b.into_inner().what);
    let outcome = scanner
        .ignore_now(id, "api", what.as_deref())
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    let r = table
        .get(id)?
        .ok_or_else(|| ApiError::not_found("no such remediation"))?;
    Ok(HttpResponse::Ok().json(json!({
        "result": outcome,
        "remediation": remediation_json(&r, &state.settings.sla, now_ms()),
    })))
}

/// Approves a planned remediation; its MR opens in the background (when the open-MR cap
/// allows). The answer is 202 with the remediation as stored.
async fn approve(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let (r, _) = approve_remediation(&state, parse_id(&path)?, "api", "approved through the API")?;
    Ok(HttpResponse::Accepted().json(remediation_json(&r, &state.settings.sla, now_ms())))
}

/// Approves remediation `id` as `by` (recorded in its history with `why`) and starts acting on
/// its project in the background; the handle tells when that is over (the API does not wait,
/// the dashboard waits a little). Shared by the API and the dashboard.
pub(crate) fn approve_remediation(
    state: &AppState,
    id: u64,
    by: &str,
    why: &str,
) -> Result<(Remediation, Option<tokio::task::JoinHandle<()>>), ApiError> {
    let table = table(state)?;
    let Some(mut r) = table.get(id)? else {
        return Err(ApiError::not_found("no such remediation"));
    };
    if r.approved_by.is_none() {
        r.approved_by = Some(by.to_string());
        r.history.push(crate::remediation::model::Transition {
            at_ms: now_ms(),
            from: Some(r.state),
            to: r.state,
            by: by.into(),
            why: why.into(),
        });
        table.put(&r)?;
    }
    let acting = state.scanner.clone().map(|scanner| {
        let project = r.project;
        tokio::spawn(async move {
            if let Err(e) = scanner.act_now(project).await {
                tracing::warn!(project = %project, error = %e, "acting on an approval failed; the next scan retries");
            }
        })
    });
    Ok((r, acting))
}

/// `GET /api/v1/summary`: open remediations by severity, SLA breaches, median time to fix over
/// the last 30 days, fixes per week, projects with open vulnerabilities.
async fn summary(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state)?;
    let snapshot = snapshot(&state).await?;
    Ok(HttpResponse::Ok().json(snapshot.summary.to_json()))
}

/// Reads every figure (off the async threads).
pub(crate) async fn snapshot(state: &AppState) -> Result<crate::tracking::Snapshot, ApiError> {
    let catalog = state.catalog.clone();
    let findings = state.findings.clone();
    let remediations = state.remediations.clone();
    let policy = state.settings.sla;
    web::block(move || {
        crate::tracking::load(
            &catalog,
            &findings,
            remediations.as_ref(),
            &policy,
            now_ms(),
        )
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)
}
