//! What every `/api/v1` route shares: the error answer, the bearer check, paging. The route
//! modules (`api`, `catalog_api`, `remediation_api`, `mrcheck_api`) build on this, and only
//! `api` mounts the others, so imports run one way.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::state::AppState;

/// Largest page.
pub const MAX_PER_PAGE: usize = 100;
/// Default page size.
pub const DEFAULT_PER_PAGE: usize = 20;
/// Longest wait accepted by `GET /api/v1/inbox?wait_idle_secs=`.
pub const MAX_WAIT_IDLE_SECS: u64 = 300;

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

impl From<crate::engine::queue::QueueError> for ApiError {
    fn from(e: crate::engine::queue::QueueError) -> Self {
        match e {
            crate::engine::queue::QueueError::Store(s) => s.into(),
            full @ crate::engine::queue::QueueError::Full { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, full.to_string())
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error in the API");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

pub(crate) type ApiResult = Result<HttpResponse, ApiError>;

pub(crate) async fn not_found() -> ApiResult {
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
    pub(crate) state: Option<String>,
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
