//! `POST /webhooks/gitlab`: size cap → verification → deduplication → classification → durable
//! persist → 202. Answers within milliseconds; the work happens in the workers.

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::{now_ms, now_secs};
use crate::gitlab::hooks::{classify, decide, ClassifyError, Decision};
use crate::http::state::AppState;
use crate::http::verify::{Verified, VerifyHeaders};
use crate::inbox::{Enqueued, NewDelivery};

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

/// Reads the body up to `limit` bytes; `None` when it is larger.
async fn read_capped(
    mut payload: web::Payload,
    limit: usize,
    declared: Option<u64>,
) -> Result<Option<web::Bytes>, actix_web::error::PayloadError> {
    // Sized once from Content-Length (already checked against the cap), instead of growing.
    let expected = declared.map_or(0, |n| (n as usize).min(limit));
    let mut body = BytesMut::with_capacity(expected);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// The webhook endpoint.
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let limit = state.settings.max_body_bytes;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body larger than {limit} bytes"),
        )
    };
    let declared = header(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        state.metrics.rejected("too_large");
        return too_large();
    }
    let body = match read_capped(payload, limit, declared).await {
        Ok(Some(body)) => body,
        Ok(None) => {
            state.metrics.rejected("too_large");
            return too_large();
        }
        Err(e) => {
            state.metrics.rejected("read_error");
            return error(
                StatusCode::BAD_REQUEST,
                &format!("could not read body: {e}"),
            );
        }
    };

    let headers = req.headers();
    let verify_headers = VerifyHeaders {
        gitlab_token: header(headers, "x-gitlab-token"),
        webhook_id: header(headers, "webhook-id"),
        webhook_timestamp: header(headers, "webhook-timestamp"),
        webhook_signature: header(headers, "webhook-signature"),
    };
    let verified = match state.verifier.verify(&verify_headers, &body, now_secs()) {
        Ok(v) => v,
        Err(e) => {
            state.metrics.verification_failure(e.label());
            tracing::warn!(reason = e.label(), peer = ?req.peer_addr(), "webhook refused");
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "X-Gitlab-Token, webhook-signature"))
                .json(json!({ "error": e.to_string() }));
        }
    };

    let event_uuid = header(headers, "x-gitlab-event-uuid")
        .filter(|u| !u.is_empty() && u.len() <= MAX_KEY_LEN)
        .map(str::to_string);
    let key = delivery_key(
        verify_headers.webhook_id,
        header(headers, "idempotency-key"),
        event_uuid.as_deref(),
        &body,
    );
    match state.inbox.known(&key) {
        Ok(Some(seq)) => {
            // Counted under its kind like any other delivery (classifying is pure and cheap
            // next to the verification already done; repeats are rare).
            let kind = classify(header(headers, "x-gitlab-event").unwrap_or(""), &body)
                .ok()
                .map(|c| c.kind);
            state.metrics.delivery(kind, "duplicate");
            let mut answer_body = json!({ "status": "duplicate", "delivery": seq });
            if let Some(kind) = kind {
                answer_body["kind"] = json!(kind.as_str());
            }
            return answer(StatusCode::OK, answer_body);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not read the dedupe index");
            state.metrics.rejected("store_error");
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
            state.metrics.rejected("not_json");
            return error(
                StatusCode::BAD_REQUEST,
                &format!("body is not a JSON object: {message}"),
            );
        }
        Err(ClassifyError::Unrecognized(reason)) => {
            state.metrics.delivery(None, "ignored");
            return answer(
                StatusCode::OK,
                json!({ "status": "ignored", "reason": reason }),
            );
        }
    };
    if let Decision::Ignore(reason) = decide(&classification) {
        state.metrics.delivery(Some(classification.kind), "ignored");
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
            Verified::Signature => "signature",
            Verified::Token => "token",
            Verified::Unverified => "unverified",
        },
        received_at_ms: now_ms(),
    };
    // Inline rather than on the blocking pool: an enqueue is a few in-memory sled inserts (the
    // disk work happens in the flusher thread), and the thread hop costs more than it saves.
    let stored = state.inbox.enqueue(&delivery, &body);
    let stored = match stored {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "could not store a delivery");
            state.metrics.rejected("store_error");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the delivery; retry later",
            );
        }
    };
    if let Err(e) = state.inbox.store().durable().await {
        tracing::error!(error = %e, "could not make a delivery durable");
        state.metrics.rejected("store_error");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "could not store the delivery; retry later",
        );
    }
    let kind = classification.kind.as_str();
    match stored {
        Enqueued::Accepted { seq, lane } => {
            state.lanes.push(lane, seq, None);
            state.metrics.set_inbox_depth(state.lanes.depth());
            state
                .metrics
                .delivery(Some(classification.kind), "accepted");
            answer(
                StatusCode::ACCEPTED,
                json!({ "status": "accepted", "delivery": seq, "kind": kind }),
            )
        }
        Enqueued::Duplicate { seq } => {
            state
                .metrics
                .delivery(Some(classification.kind), "duplicate");
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
