//! `/healthz` (the process answers), `/readyz` (store open, workers running) and `/metrics`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the store answers a read and every configured worker is alive. It also says how
/// many managed hooks GitLab has disabled (`hooks_disabled`): GitLab sends those projects
/// nothing, but the bot itself is ready, so it does not make the answer 503.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let catalog = state.catalog.clone();
    let store = state.inbox.store().clone();
    // Not ready (503) when the store fails; the failure is logged, not hidden.
    let read = crate::store::run_blocking(move || {
        store.schema_version()?;
        catalog.disabled_hooks().map(|v| v.len())
    })
    .await;
    let hooks_disabled = match read {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store failed");
            None
        }
    };
    let store_ok = hooks_disabled.is_some();
    let configured = state.workers_configured();
    let alive = state.workers_alive();
    let workers_ok = alive >= configured;
    let body = json!({
        "status": if store_ok && workers_ok { "ready" } else { "not ready" },
        "store": if store_ok { "ok" } else { "error" },
        "workers": { "configured": configured, "running": alive },
        "inbox_depth": state.lanes.depth(),
        "hooks_disabled": hooks_disabled,
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
