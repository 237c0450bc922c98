//! What can go wrong talking to GitLab, sorted so that a caller can act on it: re-authenticate,
//! ask for a role, adopt an existing object, retry later, or give up.

use std::time::Duration;

use serde_json::Value;

/// Why a GitLab call failed. `endpoint` is `METHOD /path` (never the token, never a query
/// carrying one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitLabError {
    /// 401: the token is missing, unknown, expired or revoked.
    #[error("GitLab refused the token on {endpoint}: {message}")]
    Unauthorized {
        /// The call.
        endpoint: String,
        /// GitLab's reason (e.g. "Token is expired...").
        message: String,
    },
    /// 403 `insufficient_scope`: the token lacks a scope (give it `api`).
    #[error("the token lacks a scope for {endpoint} (needs {needed})")]
    InsufficientScope {
        /// The call.
        endpoint: String,
        /// The scopes GitLab says would do.
        needed: String,
    },
    /// 403 for the role: the bot user's access level is too low for this action.
    #[error("GitLab forbids {endpoint} for the bot user's role: {message}")]
    Forbidden {
        /// The call.
        endpoint: String,
        /// GitLab's message.
        message: String,
    },
    /// 404.
    #[error("not found on GitLab: {endpoint}: {message}")]
    NotFound {
        /// The call.
        endpoint: String,
        /// GitLab's message ("404 File Not Found", ...).
        message: String,
    },
    /// 409 (e.g. "Another open merge request already exists for this source branch: !7").
    #[error("conflict on {endpoint}: {message}")]
    Conflict {
        /// The call.
        endpoint: String,
        /// GitLab's message (an array message joined with "; ").
        message: String,
    },
    /// 400 or 422 with GitLab's validation message ("Branch already exists", ...).
    #[error("GitLab rejected {endpoint} ({status}): {message}")]
    Validation {
        /// The call.
        endpoint: String,
        /// 400 or 422.
        status: u16,
        /// GitLab's message (string, array or object, flattened).
        message: String,
    },
    /// 429 after the retries ran out.
    #[error("rate limited by GitLab on {endpoint}{}", .retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The call.
        endpoint: String,
        /// What GitLab asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// 5xx after the retries ran out (or at once, for a request that must not be repeated).
    #[error("GitLab failed on {endpoint} ({status}): {message}")]
    Server {
        /// The call.
        endpoint: String,
        /// The status.
        status: u16,
        /// GitLab's message, if any.
        message: String,
    },
    /// Any other status.
    #[error("unexpected answer from GitLab on {endpoint} ({status}): {message}")]
    Unexpected {
        /// The call.
        endpoint: String,
        /// The status.
        status: u16,
        /// The message, if any.
        message: String,
    },
    /// The answer was longer than the caller reads (never retried).
    #[error("the answer from GitLab on {endpoint} is larger than {limit} bytes")]
    TooLarge {
        /// The call.
        endpoint: String,
        /// The most bytes the caller reads.
        limit: usize,
    },
    /// The request did not get an answer: timeout, refused or dropped connection.
    #[error("could not reach GitLab for {endpoint}: {message}")]
    Transport {
        /// The call.
        endpoint: String,
        /// What happened.
        message: String,
        /// Whether it was our timeout.
        timeout: bool,
    },
    /// The answer did not have the documented shape.
    #[error("unexpected answer shape from {endpoint} at {path}: {message}")]
    Decode {
        /// The call.
        endpoint: String,
        /// The JSON path of the problem (`.[3].namespace.id`).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A pagination link pointed to another origin than the configured GitLab.
    #[error("refused to follow a pagination link to another origin ({origin}) from {endpoint}")]
    ForeignLink {
        /// The call.
        endpoint: String,
        /// The other origin (scheme, host, port only).
        origin: String,
    },
    /// The client was configured wrongly (bad URL, bad header value).
    #[error("GitLab client configuration: {0}")]
    Config(String),
}

impl GitLabError {
    /// Whether trying again later may succeed (rate limits, server errors, transport errors).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GitLabError::RateLimited { .. }
                | GitLabError::Server { .. }
                | GitLabError::Transport { .. }
        )
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, GitLabError::NotFound { .. })
    }

    /// Whether GitLab refused keyset pagination for this list (405 with an `error`,
    /// `lib/api/helpers/pagination_strategies.rb`): ask again with offset pagination.
    pub fn is_keyset_unavailable(&self) -> bool {
        matches!(
            self,
            GitLabError::Unexpected { status: 405, message, .. }
                if message.contains("Keyset pagination is not yet available")
        )
    }

    /// The error for an unsuccessful status and its body.
    pub(crate) fn from_status(
        endpoint: String,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> GitLabError {
        let message = message_of(body);
        match status {
            401 => GitLabError::Unauthorized { endpoint, message },
            403 => match insufficient_scope(body) {
                Some(needed) => GitLabError::InsufficientScope { endpoint, needed },
                None => GitLabError::Forbidden { endpoint, message },
            },
            404 => GitLabError::NotFound { endpoint, message },
            409 => GitLabError::Conflict { endpoint, message },
            400 | 422 => GitLabError::Validation {
                endpoint,
                status,
                message,
            },
            429 => GitLabError::RateLimited {
                endpoint,
                retry_after,
            },
            500..=599 => GitLabError::Server {
                endpoint,
                status,
                message,
            },
            _ => GitLabError::Unexpected {
                endpoint,
                status,
                message,
            },
        }
    }
}

/// The longest message kept from an answer body.
const MAX_MESSAGE: usize = 500;

/// GitLab's message from an error body: `{"message": "..."}`, `{"message": ["...", ...]}`,
/// `{"message": {"field": ["..."]}}`, `{"error": "...", "error_description": "..."}`, or the
/// plain text itself ("Retry later"). Cut to a bounded length.
pub fn message_of(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            if let Some(m) = map.get("message") {
                flatten(m)
            } else if let Some(Value::String(m)) = map.get("merge_error") {
                // The rebase endpoint's refusals (lib/api/merge_requests.rb).
                m.clone()
            } else if let Some(Value::String(desc)) = map.get("error_description") {
                desc.clone()
            } else if let Some(e) = map.get("error") {
                flatten(e)
            } else {
                Value::Object(map).to_string()
            }
        }
        Ok(other) => flatten(&other),
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    let mut text = text;
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join("; "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k} {}", flatten(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The needed scopes when a 403 body is GitLab's `insufficient_scope` answer.
fn insufficient_scope(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("error")?.as_str()? != "insufficient_scope" {
        return None;
    }
    Some(
        v.get("scope")
            .and_then(Value::as_str)
            .unwrap_or("api")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> GitLabError {
        GitLabError::from_status("POST /x".into(), status, body.as_bytes(), None)
    }

    #[test]
    fn messages_in_every_shape_gitlab_uses() {
        assert_eq!(
            message_of(br#"{"message":"404 File Not Found"}"#),
            "404 File Not Found"
        );
        assert_eq!(
            message_of(br#"{"message":["Another open merge request already exists for this source branch: !7"]}"#),
            "Another open merge request already exists for this source branch: !7"
        );
        assert_eq!(
            message_of(br#"{"message":{"title":["can't be blank"],"name":["is too long"]}}"#),
            "name is too long; title can't be blank"
        );
        assert_eq!(
            message_of(br#"{"error":"invalid_token","error_description":"Token is expired."}"#),
            "Token is expired."
        );
        assert_eq!(message_of(b"Retry later\n"), "Retry later");
        assert!(message_of(&vec![b'x'; 5000]).len() < 600);
    }

    #[test]
    fn statuses_map_to_actionable_kinds() {
        assert!(matches!(
            err(401, r#"{"message":"401 Unauthorized"}"#),
            GitLabError::Unauthorized { .. }
        ));
        match err(
            403,
            r#"{"error":"insufficient_scope","error_description":"x","scope":"api read_api"}"#,
        ) {
            GitLabError::InsufficientScope { needed, .. } => assert_eq!(needed, "api read_api"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            err(403, r#"{"message":"403 Forbidden"}"#),
            GitLabError::Forbidden { .. }
        ));
        assert!(matches!(
            err(409, r#"{"message":["dup"]}"#),
            GitLabError::Conflict { .. }
        ));
        assert!(matches!(
            err(400, r#"{"message":"Branch already exists"}"#),
            GitLabError::Validation { status: 400, .. }
        ));
        assert!(matches!(
            err(422, r#"{"message":"x"}"#),
            GitLabError::Validation { status: 422, .. }
        ));
        assert!(err(503, "").is_transient());
        assert!(err(429, "Retry later").is_transient());
        assert!(!err(404, "").is_transient());
        assert!(err(404, "").is_not_found());
        assert!(matches!(err(418, ""), GitLabError::Unexpected { .. }));
    }
}
