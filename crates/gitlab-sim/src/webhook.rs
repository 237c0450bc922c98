//! Webhook deliveries as GitLab sends them.
//!
//! Headers (GitLab 19.x, `WebHookService#build_headers`): `Content-Type: application/json`,
//! `User-Agent: GitLab/<version>`, `X-Gitlab-Event`, `X-Gitlab-Webhook-UUID`,
//! `X-Gitlab-Instance`, `X-Gitlab-Event-UUID`, `Idempotency-Key`, `X-Gitlab-Token` when the hook
//! has a secret token, and `webhook-id`, `webhook-timestamp`, `webhook-signature` when it has a
//! signing token. The signature is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))
//! with the key being the base64-decoded part of the `whsec_` token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The GitLab version the simulator claims to be.
pub const GITLAB_VERSION: &str = "19.6.0";

/// A webhook request ready to post.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Header name/value pairs, in the order GitLab sends them.
    pub headers: Vec<(String, String)>,
    /// The raw JSON body.
    pub body: Vec<u8>,
    /// The delivery's idempotency key (also its `webhook-id` when signed).
    pub idempotency_key: String,
}

impl Delivery {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a signing token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token does not start with `whsec_` or is not base64 after it.
    #[error("a signing token is whsec_ followed by base64")]
    Malformed,
}

/// Signs `"{id}.{timestamp}.{body}"` with a `whsec_` token; returns the `v1,<base64>` entry.
pub fn sign(
    token: &str,
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, TokenError> {
    let key = token
        .strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .filter(|k| !k.is_empty())
        .ok_or(TokenError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| TokenError::Malformed)?;
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The `X-Gitlab-Event` GitLab would send with a project-hook payload, guessed from the body's
/// `object_kind` (or, for system-hook-only payloads, `event_name`).
pub fn event_header_for(body: &[u8]) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct Peek {
        object_kind: Option<String>,
        event_name: Option<String>,
    }
    let peek: Peek = serde_json::from_slice(body).ok()?;
    match peek.object_kind.as_deref() {
        Some("push") => return Some("Push Hook"),
        Some("tag_push") => return Some("Tag Push Hook"),
        Some("merge_request") => return Some("Merge Request Hook"),
        Some("note") => return Some("Note Hook"),
        Some("pipeline") => return Some("Pipeline Hook"),
        Some("issue") => return Some("Issue Hook"),
        Some("build") => return Some("Job Hook"),
        Some("wiki_page") => return Some("Wiki Page Hook"),
        Some("deployment") => return Some("Deployment Hook"),
        Some("release") => return Some("Release Hook"),
        _ => {}
    }
    peek.event_name.map(|_| "System Hook")
}

/// Builds one delivery.
#[derive(Debug, Clone)]
pub struct DeliveryBuilder {
    event: String,
    body: Vec<u8>,
    secret_token: Option<String>,
    signing_token: Option<String>,
    idempotency_key: Option<String>,
    event_uuid: Option<String>,
    timestamp: Option<i64>,
    instance: String,
}

impl DeliveryBuilder {
    /// A delivery of `body` with `X-Gitlab-Event: event`.
    pub fn new(event: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        DeliveryBuilder {
            event: event.into(),
            body: body.into(),
            secret_token: None,
            signing_token: None,
            idempotency_key: None,
            event_uuid: None,
            timestamp: None,
            instance: "http://gitlab.example.com".to_string(),
        }
    }

    /// The hook's secret token (`X-Gitlab-Token`).
    pub fn secret_token(mut self, token: impl Into<String>) -> Self {
        self.secret_token = Some(token.into());
        self
    }

    /// The hook's signing token (`whsec_...`).
    pub fn signing_token(mut self, token: impl Into<String>) -> Self {
        self.signing_token = Some(token.into());
        self
    }

    /// A fixed idempotency key (GitLab keeps it across retries of one delivery).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// A fixed `X-Gitlab-Event-UUID`.
    pub fn event_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.event_uuid = Some(uuid.into());
        self
    }

    /// A fixed signing time (Unix seconds); default now.
    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = Some(ts);
        self
    }

    /// The instance URL sent as `X-Gitlab-Instance`.
    pub fn instance(mut self, url: impl Into<String>) -> Self {
        self.instance = url.into();
        self
    }

    /// The finished delivery.
    pub fn build(self) -> Result<Delivery, TokenError> {
        let key = self
            .idempotency_key
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let event_uuid = self
            .event_uuid
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), format!("GitLab/{GITLAB_VERSION}")),
            ("X-Gitlab-Event".to_string(), self.event),
            (
                "X-Gitlab-Webhook-UUID".to_string(),
                uuid::Uuid::new_v4().to_string(),
            ),
            ("X-Gitlab-Instance".to_string(), self.instance),
            ("X-Gitlab-Event-UUID".to_string(), event_uuid),
            ("Idempotency-Key".to_string(), key.clone()),
        ];
        if let Some(secret) = self.secret_token {
            headers.push(("X-Gitlab-Token".to_string(), secret));
        }
        if let Some(token) = self.signing_token {
            let ts = self.timestamp.unwrap_or_else(unix_now);
            let signature = sign(&token, &key, ts, &self.body)?;
            headers.push(("webhook-id".to_string(), key.clone()));
            headers.push(("webhook-timestamp".to_string(), ts.to_string()));
            headers.push(("webhook-signature".to_string(), signature));
        }
        Ok(Delivery {
            headers,
            body: self.body,
            idempotency_key: key,
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A failed post.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The request could not be made or answered.
    #[error("could not deliver to {url}: {message}")]
    Transport {
        /// Target.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// The answer to a delivery.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

/// Posts deliveries to a receiver, as GitLab's hook worker does (10 s timeout by default).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl Sender {
    /// A sender with a request timeout.
    pub fn new(timeout: Duration) -> Self {
        Sender {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("reqwest client"),
        }
    }

    /// Posts one delivery to `url`.
    pub async fn send(&self, url: &str, delivery: &Delivery) -> Result<Response, SendError> {
        let mut request = self.client.post(url);
        for (name, value) in &delivery.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| SendError::Transport {
                url: url.to_string(),
                message: e.without_url().to_string(),
            })?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_reference_vector() {
        // tests/data/gitlab-webhooks/signature-test-vectors.json, third vector.
        let body = br#"{"object_kind":"push","event_name":"push","ref":"refs/heads/main"}"#;
        let sig = sign(
            "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=",
            "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
            1744578123,
            body,
        )
        .unwrap();
        assert_eq!(sig, "v1,EJeEHC5zS3NK2Gm7ZcspNNf2liwMp99JNn/LT/H9Iqg=");
    }

    #[test]
    fn builds_every_gitlab_header() {
        let d = DeliveryBuilder::new("Push Hook", b"{}".to_vec())
            .secret_token("s")
            .signing_token("whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=")
            .build()
            .unwrap();
        for h in [
            "Content-Type",
            "User-Agent",
            "X-Gitlab-Event",
            "X-Gitlab-Webhook-UUID",
            "X-Gitlab-Instance",
            "X-Gitlab-Event-UUID",
            "Idempotency-Key",
            "X-Gitlab-Token",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        ] {
            assert!(d.header(h).is_some(), "{h} missing");
        }
        assert_eq!(d.header("webhook-id"), d.header("idempotency-key"));
        assert!(DeliveryBuilder::new("Push Hook", b"{}".to_vec())
            .signing_token("nope")
            .build()
            .is_err());
    }

    #[test]
    fn guesses_the_event_header() {
        assert_eq!(
            event_header_for(br#"{"object_kind":"push"}"#),
            Some("Push Hook")
        );
        assert_eq!(
            event_header_for(br#"{"event_name":"project_create"}"#),
            Some("System Hook")
        );
        assert_eq!(event_header_for(b"[]"), None);
    }
}
