//! `POST /webhooks/gitlab` (and a managed project hook's `/webhooks/gitlab/projects/{id}`): size
//! cap → token or signature shape checked on the headers → body read under a timeout (and, while
//! unverified, under the shared byte budget) → signature → deduplication → classification →
//! durable persist → 202. Answers within milliseconds; the work happens in the workers.

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::{now_ms, now_secs};
use crate::gitlab::hooks::{classify, decide, ClassifyError, Decision};
use crate::gitlab::ProjectId;
use crate::http::budget::Reservation;
use crate::http::state::AppState;
use crate::http::verify::{HookScope, Precheck, Verified, VerifyError, VerifyHeaders};
use crate::inbox::{Enqueued, NewDelivery, VerifiedBy};
use crate::metrics::{Intake, Rejected};

/// Bodies up to this size are compressed and stored on the server thread.
const INLINE_ENQUEUE_BYTES: usize = 64 * 1024;

/// Longest idempotency key kept as it is; longer ones are hashed.
const MAX_KEY_LEN: usize = 128;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    // A header that is present but not visible ASCII counts as present-and-empty, so that it can
    // never match a secret yet is not mistaken for "missing".
    headers.get(name).map(|v| v.to_str().unwrap_or(""))
}

/// The dedupe key of a delivery: `webhook-id` or `Idempotency-Key` (stable across GitLab's
/// retries and manual resends), else `X-Gitlab-Event-UUID` plus a body hash, else the body hash.
pub fn delivery_key(
    webhook_id: Option<&str>,
    idempotency_key: Option<&str>,
    event_uuid: Option<&str>,
    body: &[u8],
) -> String {
    let stable = webhook_id
        .or(idempotency_key)
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if let Some(id) = stable {
        return if id.len() <= MAX_KEY_LEN && id.bytes().all(|b| b.is_ascii_graphic()) {
            format!("id:{id}")
        } else {
            format!("id-sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
        };
    }
    let body_hash = hex::encode(Sha256::digest(body));
    match event_uuid.map(str::trim).filter(|u| !u.is_empty()) {
        Some(uuid) if uuid.len() <= MAX_KEY_LEN && uuid.bytes().all(|b| b.is_ascii_graphic()) => {
            format!("uuid:{uuid}:{body_hash}")
        }
        _ => format!("sha256:{body_hash}"),
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    answer(status, json!({ "error": message }))
}

fn too_large(limit: usize) -> HttpResponse {
    HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE)
        .force_close()
        .json(json!({ "error": format!("body larger than {limit} bytes") }))
}

fn verification_failed(state: &AppState, req: &HttpRequest, e: VerifyError) -> HttpResponse {
    state.metrics.verification_failure(e.label());
    if let Some(suppressed) = state.refusal_log.admit() {
        tracing::warn!(reason = e.label(), peer = ?req.peer_addr(), suppressed, "webhook refused");
    }
    refused(e)
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("too many unverified bodies are being received at once; retry later")]
    Busy,
    #[error("the body did not arrive within {0} s")]
    TimedOut(u64),
    #[error("could not read body: {0}")]
    Payload(#[from] actix_web::error::PayloadError),
}

/// Reads the body up to `limit` bytes. An unverified body (`budget` given) is buffered only as
/// far as the shared budget allows: the budget counts the buffer's capacity (grown by doubling,
/// each growth reserved first), and its bytes stay counted until the request is answered.
async fn read_capped(
    mut payload: web::Payload,
    limit: usize,
    declared: Option<u64>,
    mut budget: Option<&mut Reservation>,
) -> Result<web::Bytes, ReadError> {
    // Never sized from Content-Length for an unverified sender (the bytes may never come); a
    // verified one gets at most 1 MiB up front.
    let expected = match budget {
        Some(_) => 0,
        None => declared.map_or(0, |n| (n as usize).min(limit).min(1 << 20)),
    };
    let mut body: Vec<u8> = Vec::with_capacity(expected);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        let needed = body.len() + chunk.len();
        if needed > limit {
            return Err(ReadError::TooLarge(limit));
        }
        if needed > body.capacity() {
            let new_capacity = needed.max(body.capacity().saturating_mul(2).min(limit));
            if let Some(reservation) = budget.as_deref_mut() {
                if !reservation.grow(new_capacity - body.capacity()) {
                    return Err(ReadError::Busy);
                }
            }
            body.reserve_exact(new_capacity - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(web::Bytes::from(body))
}

/// `POST /webhooks/gitlab`: system hooks and hand-made hooks, under the global secrets.
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    intake(req, payload, state, HookScope::Global).await
}

/// `POST /webhooks/gitlab/projects/{id}`: a managed project hook, under that project's secret.
pub async fn receive_for_project(
    req: HttpRequest,
    path: web::Path<u64>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let project = ProjectId(path.into_inner());
    intake(req, payload, state, HookScope::Project(project)).await
}

fn refused(e: VerifyError) -> HttpResponse {
    // The body may be unread: close the connection rather than drain it.
    HttpResponse::Unauthorized()
        .insert_header(("WWW-Authenticate", "X-Gitlab-Token, webhook-signature"))
        .force_close()
        .json(json!({ "error": e.to_string() }))
}

async fn intake(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    scope: HookScope,
) -> HttpResponse {
    let limit = state.settings.max_body_bytes;
    let declared = header(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        state.metrics.rejected(Rejected::TooLarge);
        return too_large(limit);
    }
    let headers = req.headers();
    let verify_headers = VerifyHeaders {
        gitlab_token: header(headers, "x-gitlab-token"),
        webhook_id: header(headers, "webhook-id"),
        webhook_timestamp: header(headers, "webhook-timestamp"),
        webhook_signature: header(headers, "webhook-signature"),
    };
    // The headers first: a wrong token is refused before a byte of the body is read.
    let precheck = match state.verifier.precheck(&verify_headers, scope, now_secs()) {
        Ok(p) => p,
        Err(e) => return verification_failed(&state, &req, e),
    };
    let mut reservation = match precheck {
        Precheck::NeedsBody => Some(state.unverified_budget.reservation()),
        Precheck::Verified(_) => None,
    };
    let timeout = state.settings.body_read_timeout;
    let read = read_capped(payload, limit, declared, reservation.as_mut());
    let body = match tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(ReadError::TimedOut(timeout.as_secs())))
    {
        Ok(body) => body,
        Err(e) => {
            let (status, label) = match &e {
                ReadError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Rejected::TooLarge),
                ReadError::Busy => (StatusCode::SERVICE_UNAVAILABLE, Rejected::UnverifiedBudget),
                ReadError::TimedOut(_) => (StatusCode::REQUEST_TIMEOUT, Rejected::ReadTimeout),
                ReadError::Payload(_) => (StatusCode::BAD_REQUEST, Rejected::ReadError),
            };
            state.metrics.rejected(label);
            let mut answer = HttpResponse::build(status);
            if matches!(e, ReadError::Busy) {
                answer.insert_header(("Retry-After", "5"));
            }
            // Whatever is left of the body is not read: close the connection.
            return answer.force_close().json(json!({ "error": e.to_string() }));
        }
    };
    let verified = match precheck {
        Precheck::Verified(v) => v,
        Precheck::NeedsBody => match state.verifier.verify_body(&verify_headers, &body) {
            Ok(v) => v,
            Err(e) => return verification_failed(&state, &req, e),
        },
    };
    // Verified: the bytes no longer count against the unverified budget.
    drop(reservation);

    let event_uuid = header(headers, "x-gitlab-event-uuid")
        .filter(|u| !u.is_empty() && u.len() <= MAX_KEY_LEN)
        .map(str::to_string);
    let key = delivery_key(
        verify_headers.webhook_id,
        header(headers, "idempotency-key"),
        event_uuid.as_deref(),
        &body,
    );
    // On PostgreSQL a look-up here would block the server's thread for a round trip per
    // delivery (it halved the intake rate); the group commit's unique key answers `duplicate`
    // in the same statement that stores the row.
    let known = match state.inbox.pg() {
        Some(_) => Ok(None),
        None => state.inbox.known(&key),
    };
    match known {
        Ok(Some(seq)) => {
            // Counted under its kind like any other delivery (classifying is pure and cheap
            // next to the verification already done; repeats are rare).
            let kind = classify(header(headers, "x-gitlab-event").unwrap_or(""), &body)
                .ok()
                .map(|c| c.kind);
            state.metrics.delivery(kind, Intake::Duplicate);
            let mut answer_body = json!({ "status": "duplicate", "delivery": seq });
            if let Some(kind) = kind {
                answer_body["kind"] = json!(kind.as_str());
            }
            return answer(StatusCode::OK, answer_body);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not read the dedupe index");
            state.metrics.rejected(Rejected::StoreError);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not check the delivery; retry later",
            );
        }
    }

    let event_header = header(headers, "x-gitlab-event").unwrap_or("");
    let classification = match classify(event_header, &body) {
        Ok(c) => c,
        Err(ClassifyError::NotJson(message)) => {
            state.metrics.rejected(Rejected::NotJson);
            return error(
                StatusCode::BAD_REQUEST,
                &format!("body is not a JSON object: {message}"),
            );
        }
        Err(ClassifyError::Unrecognized(reason)) => {
            state.metrics.delivery(None, Intake::Ignored);
            return answer(
                StatusCode::OK,
                json!({ "status": "ignored", "reason": reason }),
            );
        }
    };
    // A project's secret vouches for that project's events only.
    if let (HookScope::Project(project), Verified::Token) = (scope, verified) {
        if classification.project != Some(project) {
            return verification_failed(&state, &req, VerifyError::ProjectMismatch);
        }
    }
    if let Decision::Ignore(reason) = decide(&classification) {
        state
            .metrics
            .delivery(Some(classification.kind), Intake::Ignored);
        return answer(
            StatusCode::OK,
            json!({ "status": "ignored", "kind": classification.kind.as_str(), "reason": reason }),
        );
    }

    let delivery = NewDelivery {
        key,
        kind: classification.kind,
        project: classification.project,
        event_uuid,
        verified_by: match verified {
            Verified::Signature => VerifiedBy::Signature,
            Verified::Token => VerifiedBy::Token,
            Verified::Unverified => VerifiedBy::Unverified,
        },
        received_at_ms: now_ms(),
    };
    // The one measured exception to the store rule (`Store::run` from async code): a small
    // body is enqueued inline, since an enqueue is a few in-memory inserts (the disk work happens in
    // the flusher thread), and the thread hop costs more than it saves. A large one is
    // compressed on the blocking pool, off the server's threads.
    // On PostgreSQL the group commit answers once the row is committed (any replica's copy
    // of the same delivery answers `duplicate`), without blocking the server's thread.
    let stored = if let Some(queue) = state.inbox.pg() {
        queue.enqueue(delivery.clone(), body.to_vec()).await
    } else if body.len() <= INLINE_ENQUEUE_BYTES {
        state.inbox.enqueue(&delivery, &body)
    } else {
        let (to_store, body) = (delivery.clone(), body.clone());
        state
            .inbox
            .run(move |inbox| inbox.enqueue(&to_store, &body))
            .await
    };
    let stored = match stored {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "could not store a delivery");
            state.metrics.rejected(Rejected::StoreError);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the delivery; retry later",
            );
        }
    };
    if let Err(e) = state.inbox.store().durable().await {
        tracing::error!(error = %e, "could not make a delivery durable");
        state.metrics.rejected(Rejected::StoreError);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "could not store the delivery; retry later",
        );
    }
    let kind = classification.kind.as_str();
    match stored {
        Enqueued::Full { used, limit } => {
            if let Some(suppressed) = state.refusal_log.admit() {
                tracing::warn!(
                    used,
                    limit,
                    suppressed,
                    "inbox full: deliveries refused with 503 until it drains"
                );
            }
            state.metrics.rejected(Rejected::InboxFull);
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "60"))
                .json(json!({ "error": "the inbox is full; retry later" }))
        }
        Enqueued::Accepted { seq, lane } => {
            state.inbox.hand_over(&state.lanes, lane, seq);
            state.metrics.set_inbox_depth(state.lanes.depth());
            state
                .metrics
                .delivery(Some(classification.kind), Intake::Accepted);
            answer(
                StatusCode::ACCEPTED,
                json!({ "status": "accepted", "delivery": seq, "kind": kind }),
            )
        }
        Enqueued::Duplicate { seq } => {
            state
                .metrics
                .delivery(Some(classification.kind), Intake::Duplicate);
            answer(
                StatusCode::OK,
                json!({ "status": "duplicate", "delivery": seq, "kind": kind }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_prefer_stable_ids() {
        assert_eq!(
            delivery_key(Some("abc"), Some("zzz"), Some("u"), b"{}"),
            "id:abc"
        );
        assert_eq!(delivery_key(None, Some("zzz"), Some("u"), b"{}"), "id:zzz");
        let k = delivery_key(None, None, Some("u-1"), b"{}");
        assert!(k.starts_with("uuid:u-1:"), "{k}");
        assert_ne!(k, delivery_key(None, None, Some("u-1"), b"{ }"));
        assert!(delivery_key(None, None, None, b"{}").starts_with("sha256:"));
        let long = "x".repeat(500);
        assert!(delivery_key(Some(&long), None, None, b"").starts_with("id-sha256:"));
        assert!(delivery_key(Some("a b\n"), None, None, b"").starts_with("id-sha256:"));
    }
}
