//! `GET /api/v1/projects/{id}/merge-requests/{iid}/check`: the last MR check of a merge request.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::gitlab::{MrIid, ProjectId};
use crate::http::api_base::{authorize, ApiError, ApiResult};
use crate::http::state::AppState;
use crate::mrcheck::table::MrCheck;

/// Mounts the route (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/projects/{id}/merge-requests/{iid}/check",
        web::get().to(get),
    );
}

/// The API view of a check.
pub fn check_json(c: &MrCheck) -> Value {
    json!({
        "project_id": c.project,
        "iid": c.iid,
        "head_sha": c.head_sha,
        "verdict": c.verdict.as_str(),
        "status": c.verdict.state(),
        "description": c.description,
        "title": c.title,
        "web_url": c.web_url,
        "open": c.open,
        "note_id": c.note_id,
        "checked_at": rfc3339(c.checked_at_ms),
        "added": c.added.iter().map(|a| json!({
            "manifest": a.manifest,
            "ecosystem": a.ecosystem,
            "package": a.package,
            "version": a.version,
            "advisory": a.advisory,
            "severity": a.severity,
            "fix": a.fix,
        })).collect::<Vec<_>>(),
    })
}

async fn get(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let (id, iid) = path.into_inner();
    let parse = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| ApiError::bad_request("ids are numbers"))
    };
    let (id, iid) = (parse(&id)?, parse(&iid)?);
    let check = state
        .mr_checks
        .get(ProjectId(id), MrIid(iid))?
        .ok_or_else(|| ApiError::not_found("no check of this merge request"))?;
    Ok(HttpResponse::Ok().json(check_json(&check)))
}
