//! `/api/v1/remediations`: every remediation with its state and history, and approval.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use std::time::Duration;

use crate::clock::{now_ms, rfc3339};
use crate::engine::advisory_sync::AdvisoryStatus;
use crate::engine::queue::Queued;
use crate::engine::{Action, ActionRequest, AdvisorySyncSummary, Requester};
use crate::http::api_base::{authorize, paging, ApiError, ApiResult, ListQuery, Paging};
use crate::http::state::AppState;
use crate::inbox::DeliveryState;
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
        // How the fix gets through (issue 18): direct, parent_bump (with the bumps), override
        // (with the mechanism and why), blocked (with the chain); null before a branch.
        "route": r.route.as_ref().map(|x| x.to_json()),
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
        .pipelines
        .as_ref()
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
    let advisories = advisories(&state)?;
    Ok(HttpResponse::Ok().json(json!({
        "index": advisories.index_stats(),
        "last_sync": advisories.last_sync(),
    })))
}

fn advisories(state: &AppState) -> Result<&AdvisoryStatus, ApiError> {
    state
        .advisories
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no GitLab configured"))
}

/// Query of the action endpoints: `wait=true` answers once the action is over.
#[derive(Debug, Default, serde::Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

/// How long `?wait=true` waits for a queued action before answering 202 anyway.
const ACTION_WAIT: Duration = Duration::from_secs(crate::http::api_base::MAX_WAIT_IDLE_SECS);

/// 202 with the queued entry (`/api/v1/deliveries/{id}` tells how it went).
fn queued_json(queued: Queued) -> Value {
    json!({"status": "queued", "delivery": queued.seq})
}

/// Waits for a queued action; `Ok(None)` when it is not over in time. An action given up on
/// (a dead letter) answers 502 with its last error.
async fn wait_for(state: &AppState, queued: Queued) -> Result<Option<String>, ApiError> {
    let Some(record) = state.actions.wait(queued, ACTION_WAIT).await? else {
        return Ok(None);
    };
    match record.state {
        DeliveryState::Done => Ok(Some(record.outcome.unwrap_or_default())),
        _ => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            record
                .last_error
                .unwrap_or_else(|| "the action was given up on".into()),
        )),
    }
}

/// Queues an advisory sync from OSV inside the server (the store is the server's), then a
/// recheck of every project: 202 with the queued entry, or with `?wait=true` 200 with the
/// summary once done.
async fn sync_advisories(
    req: HttpRequest,
    query: web::Query<WaitQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    advisories(&state)?;
    let queued = state
        .actions
        .enqueue(ActionRequest {
            action: Action::SyncAdvisories,
            by: Requester::Api,
        })
        .await?;
    if query.wait {
        if let Some(outcome) = wait_for(&state, queued).await? {
            let summary: AdvisorySyncSummary = serde_json::from_str(&outcome)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            return Ok(HttpResponse::Ok().json(summary));
        }
    }
    Ok(HttpResponse::Accepted().json(queued_json(queued)))
}

/// Body of `POST /api/v1/remediations/{id}/ignore`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct IgnoreBody {
    /// An advisory id or alias, or a version; none: this fix.
    what: Option<String>,
}

/// Queues ignoring a remediation (the fix, an advisory or a version; its MR is closed when
/// nothing remains to fix): 202 with the queued entry, or with `?wait=true` 200 with the
/// outcome and the remediation once done.
async fn ignore(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<WaitQuery>,
    body: Option<web::Json<IgnoreBody>>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let id = parse_id(&path)?;
    let table = table(&state)?;
    let Some(r) = table.get(id)? else {
        return Err(ApiError::not_found("no such remediation"));
    };
    let what = body.and_then(|b| b.into_inner().what);
    let queued = state
        .actions
        .enqueue(ActionRequest {
            action: Action::Ignore {
                remediation: id,
                project: r.project,
                what,
            },
            by: Requester::Api,
        })
        .await?;
    if query.wait {
        if let Some(outcome) = wait_for(&state, queued).await? {
            let r = table
                .get(id)?
                .ok_or_else(|| ApiError::not_found("no such remediation"))?;
            return Ok(HttpResponse::Ok().json(json!({
                "result": outcome,
                "remediation": remediation_json(&r, &state.settings.sla, now_ms()),
            })));
        }
    }
    Ok(HttpResponse::Accepted().json(queued_json(queued)))
}

/// Queues the approval of a planned remediation (recorded, then its MR opened when the
/// open-MR cap allows, in the project's lane). 202 with the queued entry and the remediation
/// as stored now.
async fn approve(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let (r, queued) = approve_remediation(&state, parse_id(&path)?, Requester::Api).await?;
    let mut body = queued_json(queued);
    body["remediation"] = remediation_json(&r, &state.settings.sla, now_ms());
    Ok(HttpResponse::Accepted().json(body))
}

/// Queues the approval of remediation `id` as asked by `by`; the queued entry tells when it is
/// over (the API does not wait, the dashboard waits a little). Shared by the API and the
/// dashboard.
pub(crate) async fn approve_remediation(
    state: &AppState,
    id: u64,
    by: Requester,
) -> Result<(Remediation, Queued), ApiError> {
    let table = table(state)?;
    let Some(r) = table.get(id)? else {
        return Err(ApiError::not_found("no such remediation"));
    };
    let queued = state
        .actions
        .enqueue(ActionRequest {
            action: Action::Approve {
                remediation: id,
                project: r.project,
            },
            by,
        })
        .await?;
    Ok((r, queued))
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
    crate::store::run_blocking(move || {
        Ok::<_, ApiError>(crate::tracking::load(
            &catalog,
            &findings,
            remediations.as_ref(),
            &policy,
            now_ms(),
        )?)
    })
    .await
}
