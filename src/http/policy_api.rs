//! `GET /api/v1/projects/{id}/policy`: a project's effective policy with where each value came
//! from, the file it was read from and the newest file's problem; `GET
//! /api/v1/policy-schema.json`: the policy file's JSON Schema.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::gitlab::ProjectId;
use crate::http::api::ApiError;
use crate::http::api_base::{authorize, ApiResult};
use crate::http::state::AppState;
use crate::policy::{Effective, PolicyRecord};

/// Mounts the project route (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects/{id}/policy", web::get().to(get));
}

/// The policy file's JSON Schema (public, like the OpenAPI document).
pub async fn schema() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/schema+json")
        .body(crate::policy::schema::COMMITTED)
}

/// The API view of a project's policy.
pub fn policy_json(project: u64, record: Option<&PolicyRecord>, effective: &Effective) -> Value {
    json!({
        "project_id": project,
        "file": record.and_then(|r| r.path.clone()),
        "commit": record.and_then(|r| r.commit.clone()),
        "read_at": record.map(|r| rfc3339(r.read_at_ms)),
        "problem": record.and_then(|r| r.problem.as_ref()).map(|p| json!({
            "file": p.path,
            "commit": p.commit,
            "line": p.line,
            "message": p.message,
            "at": rfc3339(p.at_ms),
        })),
        "effective": effective,
    })
}

async fn get(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state)?;
    let id = path
        .into_inner()
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request("ids are numbers"))?;
    if state.catalog.get(ProjectId(id))?.is_none() {
        return Err(ApiError::not_found("no such project in the catalog"));
    }
    let table = state
        .policies
        .as_ref()
        .ok_or_else(|| ApiError::not_found("no GitLab configured"))?;
    let record = table.get(ProjectId(id))?;
    let effective = table.effective(ProjectId(id))?;
    Ok(HttpResponse::Ok().json(policy_json(id, record.as_ref(), &effective)))
}
