//! `/healthz` (the process answers), `/readyz` (store open, workers running) and `/metrics`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the store answers a read and every configured worker is alive.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store_ok = state.inbox.store().meta().get("schema_version").is_ok();
    let configured = state.workers_configured();
    let alive = state.workers_alive();
    let workers_ok = alive >= configured;
    let body = json!({
        "status": if store_ok && workers_ok { "ready" } else { "not ready" },
        "store": if store_ok { "ok" } else { "error" },
        "workers": { "configured": configured, "running": alive },
        "inbox_depth": state.lanes.depth(),
    });
    if store_ok && workers_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.set_inbox_depth(state.lanes.depth());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
