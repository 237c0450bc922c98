//! `/api/v1/projects` (the catalog) and `/api/v1/sync` (start a catalog sync inside the server,
//! as `backline sync` would, and see how the last one went).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::catalog::CatalogProject;
use crate::clock::rfc3339;
use crate::http::api_base::{authorize, paging, ApiError, ApiResult, ListQuery, Paging};
use crate::http::state::AppState;

/// Mounts the routes (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects", web::get().to(list_projects))
        .route("/projects/{id}", web::get().to(get_project))
        .route("/projects/{id}/findings", web::get().to(project_findings))
        .route("/projects/{id}/manifests", web::get().to(project_manifests))
        .route("/projects/{id}/outdated", web::get().to(project_outdated))
        .route("/projects/{id}/unchecked", web::get().to(project_unchecked))
        .route("/sync", web::get().to(sync_status))
        .route("/sync", web::post().to(start_sync));
}

/// The API view of a catalogued project; `settings` give the badge URL (under
/// `BACKLINE_PUBLIC_URL` when set, else relative) and its key when the project needs one.
pub fn project_json(p: &CatalogProject, settings: &crate::config::Settings) -> Value {
    let badge_url =
        crate::http::badge::badge_url(settings, settings.public_url.as_deref().unwrap_or(""), p);
    json!({
        "id": p.id.get(),
        "path_with_namespace": p.path_with_namespace,
        "name": p.name,
        "default_branch": p.default_branch,
        "visibility": p.visibility,
        "web_url": p.web_url,
        "last_activity_at": p.last_activity_at,
        "catalogued_at": rfc3339(p.added_at_ms),
        "updated_at": rfc3339(p.updated_at_ms),
        "hook": p.hook.describe(),
        "hook_disabled": p.hook.is_disabled(),
        "badge": p.badge.describe(),
        "badge_markdown": crate::http::badge::badge_markdown(&badge_url, p.web_url.as_deref()),
        "badge_url": badge_url,
    })
}

async fn list_projects(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let Paging { page, per_page } = paging(&query)?;
    let catalog = state.catalog.clone();
    let (total, items, disabled) = crate::store::run_blocking(move || {
        let (total, items) = catalog.page((page - 1) * per_page, per_page)?;
        let disabled = catalog.disabled_hooks()?;
        Ok::<_, ApiError>((total, items, disabled))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "total": total,
        // Managed hooks GitLab has disabled (failed deliveries) that the bot could not enable.
        "hooks_disabled": disabled.len(),
        "hooks_disabled_projects": disabled
            .iter()
            .map(|p| p.path_with_namespace.as_str())
            .collect::<Vec<_>>(),
        "page": page,
        "per_page": per_page,
        "items": items.iter().map(|p| project_json(p, &state.settings)).collect::<Vec<_>>(),
    })))
}

async fn get_project(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let st = state.clone().into_inner();
    let (p, pipeline) = crate::store::run_blocking(move || {
        let p = find_project(&st, &path)?;
        let pipeline = crate::http::badge::project_pipelines(&st, p.id)?;
        Ok::<_, ApiError>((p, pipeline))
    })
    .await?;
    let mut v = project_json(&p, &state.settings);
    // The pipeline status of the project's open bot MRs (as the badge JSON's `pipeline`).
    if let Some(pipeline) = pipeline {
        v["pipeline"] = json!(pipeline);
    }
    Ok(HttpResponse::Ok().json(v))
}

/// Query of `GET /api/v1/sync`.
#[derive(Debug, serde::Deserialize)]
pub struct SyncQuery {
    wait_secs: Option<u64>,
}

/// Where syncs stand; with `wait_secs`, answers once the running sync is over (or the time is
/// up), for scripts and tests that must wait for it.
/// The stored manifests of the project `raw` names (id or path), read on the blocking pool.
async fn stored_manifests(
    state: &web::Data<AppState>,
    raw: String,
) -> Result<Vec<crate::inventory::StoredManifest>, ApiError> {
    let st = state.clone().into_inner();
    crate::store::run_blocking(move || {
        let project = find_project(&st, &raw)?;
        Ok::<_, ApiError>(st.inventory.manifests(project.id)?)
    })
    .await
}

fn find_project(state: &AppState, raw: &str) -> Result<CatalogProject, ApiError> {
    let found = match raw.parse::<u64>() {
        Ok(id) => state.catalog.get(id.into())?,
        Err(_) => state.catalog.get_by_path(raw)?,
    };
    found.ok_or_else(|| ApiError::not_found("no such project in the catalog"))
}

/// A project's findings: one per (file, package, version, advisory), vulnerabilities first,
/// each with when it was first and last seen.
async fn project_findings(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let paging = paging(&query)?;
    let st = state.clone().into_inner();
    let mut all = crate::store::run_blocking(move || {
        let project = find_project(&st, &path)?;
        Ok::<_, ApiError>(st.findings.of_project(project.id)?)
    })
    .await?;
    all.sort_by_key(|s| {
        (
            !s.finding.is_vulnerability(),
            std::cmp::Reverse(s.finding.advisory.severity),
        )
    });
    Ok(page_of(&all, paging, |s| {
        let mut v = crate::findings::render::finding_json(&s.finding);
        v["first_seen_at"] = rfc3339(s.first_seen_ms).into();
        v["last_seen_at"] = rfc3339(s.last_seen_ms).into();
        v
    }))
}

/// One page of an in-memory list as `{"total","page","per_page","items"}`.
fn page_of<T>(all: &[T], paging: Paging, item: impl Fn(&T) -> Value) -> HttpResponse {
    let Paging { page, per_page } = paging;
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(item)
        .collect();
    HttpResponse::Ok().json(json!({
        "total": all.len(),
        "page": page,
        "per_page": per_page,
        "items": items,
    }))
}

/// A project's manifests: path, dependency counts, and the parse error when there is one.
async fn project_manifests(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let paging = paging(&query)?;
    let all = stored_manifests(&state, path.into_inner()).await?;
    Ok(page_of(&all, paging, |m| {
        json!({
            "path": m.path,
            "dependencies": m.dependencies.len(),
            "direct": m.dependencies.iter().filter(|d| d.direct).count(),
            "unpinned": m.dependencies.iter().filter(|d| d.version.is_none()).count(),
            "files_read": m.inputs.iter().map(|i| i.path.clone()).collect::<Vec<_>>(),
            "parsed_at": rfc3339(m.parsed_at_ms),
            "error": m.error.as_ref().map(|e| e.to_string()),
        })
    }))
}

/// A project's direct dependencies behind the registry's latest release.
async fn project_outdated(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let paging = paging(&query)?;
    let st = state.clone().into_inner();
    let all = crate::store::run_blocking(move || {
        let project = find_project(&st, &path)?;
        Ok::<_, ApiError>(st.outdated.of_project(project.id)?)
    })
    .await?;
    Ok(page_of(&all, paging, |o| {
        json!({
            "path": o.manifest,
            "ecosystem": o.ecosystem,
            "package": o.package,
            "installed": o.installed,
            "latest": o.latest,
        })
    }))
}

/// A project's dependencies that were not checked against advisories (git, path, URL or
/// other-registry sources, unpinned requirements), from its stored manifests.
async fn project_unchecked(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let paging = paging(&query)?;
    let manifests = stored_manifests(&state, path.into_inner()).await?;
    let all: Vec<crate::findings::Unchecked> = manifests
        .iter()
        .flat_map(|m| crate::findings::unchecked_for(&m.path, &m.dependencies))
        .collect();
    Ok(page_of(
        &all,
        paging,
        crate::findings::render::unchecked_json,
    ))
}

async fn sync_status(
    req: HttpRequest,
    query: web::Query<SyncQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let service = state.catalog_service.as_ref().ok_or_else(no_gitlab)?;
    if let Some(secs) = query.wait_secs {
        let wait =
            std::time::Duration::from_secs(secs.min(crate::http::api_base::MAX_WAIT_IDLE_SECS));
        let _ = tokio::time::timeout(wait, service.wait_idle()).await;
    }
    Ok(HttpResponse::Ok().json(service.status()))
}

/// Queues a catalog sync (an action: durable, run by the workers in the instance-wide lane);
/// 202 with the queued entry's id. A sync already running when it comes up is not repeated.
async fn start_sync(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state)?;
    state.catalog_service.as_ref().ok_or_else(no_gitlab)?;
    let queued = state
        .actions
        .enqueue(crate::engine::ActionRequest {
            action: crate::engine::Action::SyncCatalog,
            by: crate::engine::Requester::Api,
        })
        .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "started": true,
        "status": "sync queued",
        "delivery": queued.seq,
    })))
}

fn no_gitlab() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no GitLab configured: set BACKLINE_GITLAB_URL and BACKLINE_GITLAB_TOKEN",
    )
}
