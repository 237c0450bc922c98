//! `/api/v1`: deliveries, dead letters and the inbox, behind the admin bearer token. Without a
//! configured token every route answers 404, so an unconfigured API does not exist. Every list
//! answers `{"total", "page", "per_page", "items"}`; every error `{"error": "..."}`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::rfc3339;
use crate::http::state::AppState;
use crate::inbox::{DeliveryRecord, DeliveryState};

/// Largest page.
pub const MAX_PER_PAGE: usize = 100;
/// Default page size.
pub const DEFAULT_PER_PAGE: usize = 20;
/// Longest wait accepted by `GET /api/v1/inbox?wait_idle_secs=`.
pub const MAX_WAIT_IDLE_SECS: u64 = 300;

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

/// An API error: a status and a message, answered as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            answer.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            answer.insert_header(("Retry-After", secs.to_string()));
        }
        answer.json(json!({ "error": self.message }))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error in the API");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

pub(crate) type ApiResult = Result<HttpResponse, ApiError>;

async fn not_found() -> ApiResult {
    Err(ApiError::not_found("not found"))
}

/// Checks the bearer token. A client that gave too many wrong ones lately gets 429 with
/// `Retry-After`, whatever it sends (see [`crate::http::throttle`]).
pub(crate) fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(expected) = &state.settings.admin_token else {
        return Err(ApiError::not_found("not found"));
    };
    if let Err(t) = state.auth_guard.check(req) {
        return Err(ApiError {
            retry_after_secs: Some(t.retry_after_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong tokens from this address; retry later",
            )
        });
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(expected.expose().as_bytes());
    if given.is_empty() || !bool::from(a.ct_eq(&b)) {
        // A missing token is not a guess; a wrong one counts.
        if !given.trim().is_empty() {
            state.auth_guard.failed(req, "bearer");
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or invalid bearer token",
        ));
    }
    Ok(())
}

/// Query of list routes.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    pub(crate) page: Option<usize>,
    pub(crate) per_page: Option<usize>,
}

pub(crate) struct Paging {
    pub(crate) page: usize,
    pub(crate) per_page: usize,
}

pub(crate) fn paging(q: &ListQuery) -> Result<Paging, ApiError> {
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 {
        return Err(ApiError::bad_request("page starts at 1"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::bad_request(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    Ok(Paging { page, per_page })
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
        "verified_by": r.verified_by,
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
    match state.inbox.record(seq)? {
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
    state.lanes.push(lane, seq, None);
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
            tokio::time::timeout(wait, state.lanes.wait_idle())
                .await
                .is_ok()
        }
        None => state.lanes.depth() == 0,
    };
    Ok(HttpResponse::Ok().json(json!({
        "idle": idle,
        "depth": state.lanes.depth(),
        "running": state.lanes.running(),
        "dead_letters": state.inbox.dead_count(),
        "workers": state.workers_configured(),
    })))
}
