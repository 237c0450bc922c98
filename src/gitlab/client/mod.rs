//! The GitLab REST client: `PRIVATE-TOKEN` auth, a cap on concurrent requests, a timeout on every
//! request, bounded jittered retries (429 with `Retry-After`, 5xx, timeouts, connection errors),
//! pagination by `Link` / `X-Next-Page` that stays on GitLab's origin, and typed errors. The
//! typed operations live in [`ops`]; the wire types in [`crate::gitlab::rest`].
//!
//! The token is sent only in the `PRIVATE-TOKEN` header and never appears in an error or a log
//! line: errors name the call as `METHOD /api/v4/path`.

pub mod error;
pub mod link;
pub mod ops;
pub mod pace;
pub mod retry;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;

pub use error::GitLabError;
pub use retry::{RecordingSleeper, RetryPolicy, Sleeper, TokioSleeper};

use crate::gitlab::ProjectId;
use crate::secret::Secret;
use retry::Outcome;

/// Largest answer body read (raw files included): 32 MiB.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

// The readers accept no file larger than this client reads (their cap lives in the pure core).
const _: () = assert!(crate::deps::limits::MAX_FILE_BYTES == MAX_BODY_BYTES);

/// How to reach GitLab.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The instance root, e.g. `https://gitlab.example.com` (the client adds `/api/v4`).
    pub url: String,
    /// The bot user's personal access token.
    pub token: Secret,
    /// Timeout of each request (connect to last byte).
    pub timeout: Duration,
    /// Timeout of the connection set-up.
    pub connect_timeout: Duration,
    /// Requests in flight to this GitLab at most.
    pub max_concurrent: usize,
    /// Retries.
    pub retry: RetryPolicy,
    /// Trust store and proxies.
    pub network: crate::net::Network,
}

impl ClientConfig {
    /// Defaults for `url` and `token`: 30 s per request, 8 in flight, 5 attempts.
    pub fn new(url: impl Into<String>, token: Secret) -> Self {
        ClientConfig {
            url: url.into(),
            token,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_concurrent: 8,
            retry: RetryPolicy::default(),
            network: crate::net::Network::default(),
        }
    }
}

/// A project as a path segment: its id, or its full path URL-encoded (`group%2Fname`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// By numeric id.
    Id(ProjectId),
    /// By `path_with_namespace`.
    Path(String),
}

impl From<ProjectId> for ProjectRef {
    fn from(id: ProjectId) -> Self {
        ProjectRef::Id(id)
    }
}

impl From<&str> for ProjectRef {
    fn from(path: &str) -> Self {
        match path.parse::<u64>() {
            Ok(id) => ProjectRef::Id(ProjectId(id)),
            Err(_) => ProjectRef::Path(path.to_string()),
        }
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectRef::Id(id) => write!(f, "{id}"),
            ProjectRef::Path(p) => f.write_str(&encode(p)),
        }
    }
}

/// Characters kept as they are in a path segment; everything else (`/` included) is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes a value for use as one path segment (`lib/a.rb` → `lib%2Fa.rb`).
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A GitLab answer: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request about to be sent.
struct Call<'a> {
    method: Method,
    url: Url,
    body: Option<Bytes>,
    endpoint: &'a str,
    /// The most answer bytes read; past it, [`GitLabError::TooLarge`].
    max_body: usize,
}

/// The GitLab REST client. Cheap to clone; clones share the connection pool and the cap.
#[derive(Clone)]
pub struct GitLab {
    inner: Arc<Inner>,
    event_uuid: Option<HeaderValue>,
}

struct Inner {
    http: reqwest::Client,
    root: Url,
    api: Url,
    token: HeaderValue,
    limit: Semaphore,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    sent: AtomicU64,
    /// The last rate-limit budget GitLab announced, and when.
    budget: std::sync::Mutex<Option<(pace::Budget, std::time::Instant)>>,
}

impl fmt::Debug for GitLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLab")
            .field("url", &self.inner.root.as_str())
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// A client for `config`, waiting on the tokio timer.
    pub fn new(config: ClientConfig) -> Result<GitLab, GitLabError> {
        Self::with_sleeper(config, Arc::new(TokioSleeper))
    }

    /// A client that waits through `sleeper` (tests pass a [`RecordingSleeper`]).
    pub fn with_sleeper(
        config: ClientConfig,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<GitLab, GitLabError> {
        let mut root = Url::parse(config.url.trim())
            .map_err(|e| GitLabError::Config(format!("GitLab URL {:?}: {e}", config.url)))?;
        if !matches!(root.scheme(), "http" | "https") || root.host_str().is_none() {
            return Err(GitLabError::Config(format!(
                "GitLab URL {:?} must be http(s)://host",
                config.url
            )));
        }
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        let api = root
            .join("api/v4/")
            .map_err(|e| GitLabError::Config(e.to_string()))?;
        let mut token = HeaderValue::from_str(config.token.expose())
            .map_err(|_| GitLabError::Config("the GitLab token has invalid characters".into()))?;
        token.set_sensitive(true);
        let http = config
            .network
            .client_builder()
            .map_err(|e| GitLabError::Config(e.to_string()))?
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GitLabError::Config(e.to_string()))?;
        Ok(GitLab {
            inner: Arc::new(Inner {
                http,
                root,
                api,
                token,
                limit: Semaphore::new(config.max_concurrent.max(1)),
                retry: config.retry,
                sleeper,
                sent: AtomicU64::new(0),
                budget: std::sync::Mutex::new(None),
            }),
            event_uuid: None,
        })
    }

    /// Waits `d` through the client's sleeper (tests inject one that does not wait): for
    /// polling GitLab's background work (rebases, mergeability checks).
    pub async fn pause(&self, d: std::time::Duration) {
        self.inner.sleeper.sleep(d).await;
    }

    /// The same client, sending `X-Gitlab-Event-UUID: uuid` on every call: calls made while
    /// handling a webhook carry the event that caused them (GitLab uses it to break hook loops).
    pub fn on_behalf_of(&self, event_uuid: &str) -> GitLab {
        GitLab {
            inner: self.inner.clone(),
            event_uuid: HeaderValue::from_str(event_uuid).ok(),
        }
    }

    /// The instance root URL.
    pub fn root(&self) -> &Url {
        &self.inner.root
    }

    /// Requests sent so far (each attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// `/api/v4/` + `path` (already encoded) with `query`.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, GitLabError> {
        let mut url = self
            .inner
            .api
            .join(path)
            .map_err(|e| GitLabError::Config(format!("bad API path {path:?}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// Sends a call, retrying what may be retried. Any status comes back as an [`Answer`] when
    /// it is a success; an error status becomes a [`GitLabError`].
    async fn send(&self, call: Call<'_>) -> Result<Answer, GitLabError> {
        let idempotent = call.method != Method::POST && call.method != Method::PATCH;
        let policy = &self.inner.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if let Some(wait) = self.pacing() {
                tracing::debug!(
                    endpoint = call.endpoint,
                    wait_ms = wait.as_millis() as u64,
                    "GitLab's rate-limit budget is nearly spent; slowing down"
                );
                self.inner.sleeper.sleep(wait).await;
            }
            let (outcome, error) = match self.attempt(&call).await {
                Ok(answer) if answer.status.is_success() => return Ok(answer),
                Ok(answer) => {
                    let status = answer.status.as_u16();
                    let retry_after = answer
                        .header("retry-after")
                        .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
                    let error = GitLabError::from_status(
                        call.endpoint.to_string(),
                        status,
                        &answer.body,
                        retry_after,
                    );
                    let outcome = match status {
                        429 => Some(Outcome::RateLimited),
                        502..=504 => Some(Outcome::Unavailable),
                        500..=599 => Some(Outcome::ServerError),
                        _ => None,
                    };
                    (outcome.map(|o| (o, retry_after)), error)
                }
                // Asking again would read the same oversized answer again.
                Err((_, error @ GitLabError::TooLarge { .. })) => return Err(error),
                Err((outcome, error)) => (Some((outcome, None)), error),
            };
            let Some((outcome, retry_after)) = outcome else {
                return Err(error);
            };
            if !outcome.retryable(idempotent) {
                return Err(error);
            }
            let crate::retry::Decision::RetryIn(wait) = policy.next(attempt, retry_after) else {
                return Err(error);
            };
            tracing::warn!(
                endpoint = call.endpoint,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "GitLab call failed; trying again"
            );
            if retry_after.is_some() {
                // Waiting out GitLab's Retry-After is waiting for the window to reset.
                if let Ok(mut b) = self.inner.budget.lock() {
                    *b = None;
                }
            }
            self.inner.sleeper.sleep(wait).await;
        }
    }

    /// The wait before the next request that GitLab's last `RateLimit-*` headers call for.
    fn pacing(&self) -> Option<std::time::Duration> {
        let guard = self.inner.budget.lock().ok()?;
        let (budget, at) = (*guard)?;
        let left = pace::Budget {
            reset_in: budget.reset_in.saturating_sub(at.elapsed()),
            ..budget
        };
        pace::delay(&left, self.inner.retry.backoff.max)
    }

    /// Remembers the budget an answer announced; an answer without one forgets it (no word
    /// from GitLab, no slowing down).
    fn note_budget(&self, headers: &HeaderMap) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let budget = pace::budget(header, SystemTime::now());
        if let Ok(mut b) = self.inner.budget.lock() {
            *b = budget.map(|budget| (budget, std::time::Instant::now()));
        }
    }

    /// One attempt, under the concurrency cap.
    async fn attempt(&self, call: &Call<'_>) -> Result<Answer, (Outcome, GitLabError)> {
        let _permit = self.inner.limit.acquire().await.map_err(|_| {
            (
                Outcome::ConnectFailed,
                GitLabError::Config("client closed".into()),
            )
        })?;
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header("PRIVATE-TOKEN", self.inner.token.clone());
        if let Some(uuid) = &self.event_uuid {
            request = request.header("X-Gitlab-Event-UUID", uuid.clone());
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let transport = |e: reqwest::Error| {
            let failure = crate::net::describe(&e, &call.url);
            let outcome = if matches!(failure, crate::net::Failure::Certificate { .. }) {
                Outcome::CertificateRefused
            } else if e.is_connect() {
                Outcome::ConnectFailed
            } else {
                Outcome::Interrupted
            };
            let timeout = e.is_timeout();
            let message = if timeout {
                "timed out".to_string()
            } else {
                failure.to_string()
            };
            (
                outcome,
                GitLabError::Transport {
                    endpoint: call.endpoint.to_string(),
                    message,
                    timeout,
                },
            )
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        self.note_budget(&headers);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > call.max_body {
                return Err((
                    Outcome::ServerError,
                    GitLabError::TooLarge {
                        endpoint: call.endpoint.to_string(),
                        limit: call.max_body,
                    },
                ));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            endpoint = call.endpoint,
            status = status.as_u16(),
            "GitLab call"
        );
        Ok(Answer {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    /// A request on `path` (relative to `/api/v4/`, already encoded).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Answer, GitLabError> {
        self.request_within(method, path, query, body, MAX_BODY_BYTES)
            .await
    }

    /// [`GitLab::request`], reading at most `max_body` answer bytes (at most
    /// [`MAX_BODY_BYTES`]); a longer answer is [`GitLabError::TooLarge`].
    pub async fn request_within(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&(impl Serialize + ?Sized)>,
        max_body: usize,
    ) -> Result<Answer, GitLabError> {
        let url = self.url(path, query)?;
        let endpoint = format!("{method} {}", url.path());
        let body = body
            .map(|b| serde_json::to_vec(b).map(Bytes::from))
            .transpose()
            .map_err(|e| GitLabError::Config(format!("could not encode a request body: {e}")))?;
        self.send(Call {
            method,
            url,
            body,
            endpoint: &endpoint,
            max_body: max_body.min(MAX_BODY_BYTES),
        })
        .await
    }

    /// A request decoded as JSON.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, GitLabError> {
        let endpoint = format!("{method} /api/v4/{path}");
        let answer = self.request(method, path, query, body).await?;
        decode(&endpoint, &answer.body)
    }

    /// A GET decoded as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, GitLabError> {
        self.json(Method::GET, path, query, None::<&()>).await
    }

    /// The pages of a list, fetched one at a time.
    pub fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Pages<T>, GitLabError> {
        Ok(Pages {
            client: self.clone(),
            next: Some(self.url(path, query)?),
            _item: std::marker::PhantomData,
        })
    }

    /// Every item of a list, across all its pages.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, GitLabError> {
        let mut pages = self.pages(path, query)?;
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }
}

/// The pages of a GitLab list.
pub struct Pages<T> {
    client: GitLab,
    next: Option<Url>,
    _item: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pages<T> {
    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, GitLabError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let endpoint = format!("GET {}", url.path());
        let answer = self
            .client
            .send(Call {
                method: Method::GET,
                url: url.clone(),
                body: None,
                endpoint: &endpoint,
                max_body: MAX_BODY_BYTES,
            })
            .await?;
        self.next = link::next_page_url(
            &url,
            &self.client.inner.api,
            answer.header("link"),
            answer.header("x-next-page"),
        )
        .map_err(|origin| GitLabError::ForeignLink {
            endpoint: endpoint.clone(),
            origin,
        })?;
        decode(&endpoint, &answer.body).map(Some)
    }
}

/// Decodes a JSON answer, naming the JSON path of a mismatch.
pub fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, GitLabError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| GitLabError::Decode {
        endpoint: endpoint.to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_refs_encode_paths_as_one_segment() {
        assert_eq!(ProjectRef::from("42").to_string(), "42");
        assert_eq!(
            ProjectRef::from("group/sub/my.project").to_string(),
            "group%2Fsub%2Fmy.project"
        );
        assert_eq!(
            encode("backline/cargo/regex-1.5.5"),
            "backline%2Fcargo%2Fregex-1.5.5"
        );
        assert_eq!(encode("a b+c"), "a%20b%2Bc");
    }

    #[test]
    fn the_api_root_is_added_to_the_instance_url() {
        let c = GitLab::new(ClientConfig::new(
            "https://gl.example/gitlab",
            Secret::new("t"),
        ))
        .unwrap();
        assert_eq!(
            c.url("projects/1", &[("a", "b c".into())])
                .unwrap()
                .as_str(),
            "https://gl.example/gitlab/api/v4/projects/1?a=b+c"
        );
        assert!(GitLab::new(ClientConfig::new("ftp://x", Secret::new("t"))).is_err());
        assert!(GitLab::new(ClientConfig::new("not a url", Secret::new("t"))).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = GitLab::new(ClientConfig::new(
            "https://gl.example",
            Secret::new("glpat-SECRET"),
        ))
        .unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
        let cfg = ClientConfig::new("https://gl.example", Secret::new("glpat-SECRET"));
        assert!(!format!("{cfg:?}").contains("SECRET"));
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        struct P {
            #[allow(dead_code)]
            id: u64,
        }
        let e = decode::<Vec<P>>("GET /x", br#"[{"id":1},{"id":"two"}]"#).unwrap_err();
        match e {
            GitLabError::Decode { path, .. } => assert_eq!(path, "[1].id"),
            other => panic!("{other:?}"),
        }
    }
}
