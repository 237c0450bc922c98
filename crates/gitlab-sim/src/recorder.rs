//! Every request the simulator answered, for assertions in tests.

use std::sync::{Arc, Mutex};

/// One answered (or dropped) request. The token value itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method (`GET`).
    pub method: String,
    /// Raw path, as sent (still percent-encoded).
    pub path: String,
    /// Raw query string (may be empty).
    pub query: String,
    /// The route pattern, e.g. `GET /projects/:id/repository/tree`; for unmodelled requests the
    /// method and the path below `/api/v4`.
    pub route: String,
    /// Whether the route is modelled (false: answered 501 or outside `/api/v4`).
    pub modeled: bool,
    /// HTTP status answered; 0 when the connection was dropped by fault injection.
    pub status: u16,
    /// Whether a `PRIVATE-TOKEN` or `Authorization: Bearer` header was present.
    pub had_token: bool,
    /// The `X-Gitlab-Event-UUID` the caller sent (a bot acting on a webhook passes it on).
    pub event_uuid: Option<String>,
}

/// The shared request log.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<RecordedRequest>>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    max_in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a request as in flight while it lives.
pub struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Recorder {
    /// Appends a record.
    pub fn push(&self, r: RecordedRequest) {
        self.lock().push(r);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of everything recorded, oldest first.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// How many requests matched `METHOD pattern` (pattern as in [`RecordedRequest::route`],
    /// with or without the `/api/v4` prefix).
    pub fn count(&self, method: &str, pattern: &str) -> usize {
        let want = route_key(method, pattern);
        self.lock().iter().filter(|r| r.route == want).count()
    }

    /// Requests to routes the simulator does not model.
    pub fn unmodeled(&self) -> Vec<RecordedRequest> {
        self.lock().iter().filter(|r| !r.modeled).cloned().collect()
    }

    /// Forgets everything (the in-flight high-water mark too).
    pub fn clear(&self) {
        self.lock().clear();
        self.max_in_flight
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// Marks a request in flight until the guard drops, keeping the high-water mark.
    pub fn enter(&self) -> InFlight {
        use std::sync::atomic::Ordering;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self.in_flight.clone())
    }

    /// The most requests ever answered at once (since the last clear).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// `METHOD /pattern` with the `/api/v4` prefix removed.
pub fn route_key(method: &str, pattern: &str) -> String {
    let p = pattern.strip_prefix("/api/v4").unwrap_or(pattern);
    format!("{} {}", method.to_ascii_uppercase(), p)
}
