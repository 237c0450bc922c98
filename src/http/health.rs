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
    // On PostgreSQL, the database first: a server that does not answer within the wait is
    // not ready (and the store read below would only wait longer).
    let database = match store.pg() {
        None => None,
        Some(db) => Some(database_check(db).await),
    };
    if let Some(check) = database.as_ref().filter(|c| !c.ok) {
        return HttpResponse::ServiceUnavailable().json(json!({
            "status": "not ready",
            "store": "error",
            "database": check.body,
        }));
    }
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
        "database": database.map(|c| c.body),
    });
    if store_ok && workers_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// How long `/readyz` waits for the database.
pub const DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The database's part of `/readyz`.
struct DatabaseCheck {
    ok: bool,
    body: serde_json::Value,
}

/// Whether the database answers (within [`DATABASE_WAIT`]), its schema version, and the pool.
async fn database_check(db: &crate::store::pg_backend::PgDb) -> DatabaseCheck {
    let status = db.pg().pool_status();
    let pool =
        json!({ "size": status.size, "available": status.available, "max_size": status.max_size });
    let ping =
        tokio::time::timeout(DATABASE_WAIT, db.run(|pg| async move { pg.ping().await })).await;
    let known = crate::store::pg::migrate::MIGRATIONS
        .last()
        .map_or(0, |m| m.version);
    match ping {
        Ok(Ok(version)) => DatabaseCheck {
            ok: version == known,
            body: json!({ "status": if version == known { "ok" } else { "schema mismatch" }, "schema_version": version, "pool": pool }),
        },
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database failed");
            DatabaseCheck {
                ok: false,
                body: json!({ "status": "error", "pool": pool }),
            }
        }
        Err(_) => {
            tracing::warn!(
                wait_s = DATABASE_WAIT.as_secs(),
                "readiness: the database did not answer"
            );
            DatabaseCheck {
                ok: false,
                body: json!({ "status": "no answer", "pool": pool }),
            }
        }
    }
}

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.set_inbox_depth(state.lanes.depth());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
