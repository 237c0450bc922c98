//! `/api/v1`: deliveries, dead letters and the inbox, behind the admin bearer token. Without a
//! configured token every route answers 404, so an unconfigured API does not exist. Every list
//! answers `{"total", "page", "per_page", "items"}`; every error `{"error": "..."}`.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::http::api_base::{authorize, not_found, paging, ApiResult, ListQuery, Paging};
pub use crate::http::api_base::{ApiError, DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_WAIT_IDLE_SECS};
use crate::http::state::AppState;
use crate::inbox::{DeliveryRecord, DeliveryState};

/// Mounts the API routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/deliveries", web::get().to(list_deliveries))
            .route("/deliveries/{id}", web::get().to(get_delivery))
            .route("/dead-letters", web::get().to(list_dead_letters))
            .route(
                "/dead-letters/{id}/retry",
                web::post().to(retry_dead_letter),
            )
            .route("/inbox", web::get().to(inbox_status))
            .configure(crate::http::catalog_api::routes)
            .configure(crate::http::remediation_api::routes)
            .configure(crate::http::mrcheck_api::routes)
            .configure(crate::http::policy_api::routes)
            .default_service(web::to(not_found)),
    );
}

/// The API view of a delivery record.
pub fn delivery_json(r: &DeliveryRecord) -> Value {
    json!({
        "id": r.seq,
        "key": r.key,
        "kind": r.kind.as_str(),
        "project_id": r.project.map(|p| p.get()),
        "state": r.state.as_str(),
        "attempts": r.attempts,
        "received_at": rfc3339(r.received_at_ms),
        "finished_at": r.finished_at_ms.map(rfc3339),
        "next_attempt_at": r.next_attempt_at_ms.map(rfc3339),
        "outcome": r.outcome,
        "error": r.last_error,
        "event_uuid": r.event_uuid,
        "verified_by": r.verified_by.as_str(),
        "body_bytes": r.body_len,
    })
}

async fn list_deliveries(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let filter = match query.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::bad_request("state must be one of queued, processing, failed, done, dead")
        })?),
    };
    list(&state, filter, &query).await
}

async fn list_dead_letters(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    list(&state, Some(DeliveryState::Dead), &query).await
}

async fn list(state: &AppState, filter: Option<DeliveryState>, query: &ListQuery) -> ApiResult {
    let Paging { page, per_page } = paging(query)?;
    let found = state
        .inbox
        .run(move |inbox| inbox.list(filter, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "total": found.total,
        "page": page,
        "per_page": per_page,
        "items": found.items.iter().map(delivery_json).collect::<Vec<_>>(),
    })))
}

fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request("a delivery id is a number"))
}

async fn get_delivery(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let seq = parse_id(&path)?;
    match state.inbox.run(move |inbox| inbox.record(seq)).await? {
        Some(r) => Ok(HttpResponse::Ok().json(delivery_json(&r))),
        None => Err(ApiError::not_found("no such delivery")),
    }
}

async fn retry_dead_letter(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let seq = parse_id(&path)?;
    retry_dead(&state, seq).await?;
    Ok(HttpResponse::Accepted().json(json!({ "status": "queued", "delivery": seq })))
}

/// Queues dead letter `seq` again with a fresh attempt count (shared by the API and the
/// dashboard).
pub(crate) async fn retry_dead(state: &AppState, seq: u64) -> Result<(), ApiError> {
    let (lane, dead) = state
        .inbox
        .run(move |inbox| {
            let lane = inbox.revive(seq)?;
            Ok((lane, inbox.dead_count()))
        })
        .await?;
    let lane = lane.ok_or_else(|| ApiError::not_found("no such dead letter"))?;
    state.inbox.store().durable().await?;
    state.inbox.hand_over(&state.lanes, lane, seq);
    state.metrics.set_dead_letters(dead);
    state.metrics.set_inbox_depth(state.lanes.depth());
    Ok(())
}

/// Query of `GET /api/v1/inbox`.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    wait_idle_secs: Option<u64>,
}

/// The inbox at a glance; with `wait_idle_secs`, answers once it is empty (or the time is up),
/// for scripts that must wait for the bot to finish (upgrades, tests).
async fn inbox_status(
    req: HttpRequest,
    query: web::Query<InboxQuery>,
    state: web::Data<AppState>,
) -> ApiResult {
    authorize(&req, &state)?;
    let idle = match query.wait_idle_secs {
        Some(secs) => {
            let wait = Duration::from_secs(secs.min(MAX_WAIT_IDLE_SECS));
            tokio::time::timeout(wait, state.inbox.wait_idle(&state.lanes))
                .await
                .is_ok()
        }
        None => state.inbox.depth(&state.lanes).await == 0,
    };
    Ok(HttpResponse::Ok().json(json!({
        "idle": idle,
        "depth": state.inbox.depth(&state.lanes).await,
        "running": state.lanes.running(),
        "dead_letters": state.inbox.dead_count(),
        "workers": state.workers_configured(),
    })))
}
