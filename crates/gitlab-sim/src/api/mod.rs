//! The REST API under `/api/v4`: one actix default service that authenticates, routes on the
//! raw (still percent-encoded) path, applies faults and records every request.

mod hook_test;
mod merge_requests;
mod misc;
pub(crate) mod pagination;
mod pipelines;
mod projects;
mod repository;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::faults::Faults;
use crate::recorder::{RecordedRequest, Recorder};
use crate::util;
use crate::world::{access, Project, ProjectId, UserId, World, WorldError};

/// State shared by the server's workers.
#[derive(Clone)]
pub(crate) struct Shared {
    pub world: Arc<Mutex<World>>,
    pub faults: Faults,
    pub recorder: Recorder,
    pub registry: crate::registry::SimRegistry,
    /// Where `Link` headers point, when GitLab's external URL is not the address served.
    pub link_origin: Option<pagination::LinkOrigin>,
    /// Posts hook test deliveries.
    pub sender: crate::webhook::Sender,
}

/// A finished answer (success or GitLab-shaped error).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Body,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug)]
pub(crate) enum Body {
    Json(Value),
    Raw(Bytes, &'static str),
    Empty,
    /// A hook test to send before answering (see [`hook_test`]).
    HookTest(Box<hook_test::HookTest>),
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Reply {
            status,
            body: Body::Json(v),
            headers: Vec::new(),
        }
    }

    pub fn ok(v: Value) -> Self {
        Self::json(200, v)
    }

    pub fn created(v: Value) -> Self {
        Self::json(201, v)
    }

    pub fn no_content() -> Self {
        Reply {
            status: 204,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }
}

pub(crate) type R = Result<Reply, Reply>;

/// `{"message": msg}` with a status.
pub(crate) fn err(status: u16, msg: impl Into<String>) -> Reply {
    Reply::json(status, json!({ "message": msg.into() }))
}

/// Grape's validation error: 400 `{"error": "x is missing"}`.
pub(crate) fn missing(name: &str) -> Reply {
    Reply::json(400, json!({ "error": format!("{name} is missing") }))
}

/// Grape's invalid-value error.
pub(crate) fn invalid(name: &str) -> Reply {
    Reply::json(400, json!({ "error": format!("{name} is invalid") }))
}

/// Maps a world error to GitLab's answer.
pub(crate) fn world_err(e: WorldError) -> Reply {
    match &e {
        WorldError::ProjectNotFound => err(404, "404 Project Not Found"),
        WorldError::UserNotFound => err(404, "404 User Not Found"),
        WorldError::BranchNotFound => err(404, "404 Branch Not Found"),
        WorldError::MergeRequestNotFound | WorldError::NoteNotFound => err(404, "404 Not found"),
        WorldError::NamespaceNotFound => err(404, "404 Namespace Not Found"),
        WorldError::MrExists(iid) => Reply::json(
            409,
            json!({ "message": [format!(
                "Another open merge request already exists for this source branch: !{iid}"
            )] }),
        ),
        WorldError::SameBranch | WorldError::ReopenBranchGone(_) => {
            Reply::json(422, json!({ "message": [e.to_string()] }))
        }
        // render_validation_error!: `{"message": {"source_branch": ["does not exist"]}}`.
        WorldError::SourceBranchMissing(_) => Reply::json(
            400,
            json!({ "message": { "source_branch": ["does not exist"] } }),
        ),
        WorldError::TargetBranchMissing(_) => Reply::json(
            400,
            json!({ "message": { "target_branch": ["does not exist"] } }),
        ),
        other => err(400, other.to_string()),
    }
}

/// Request parameters: the query string merged with a JSON or form body (body wins).
#[derive(Debug, Default)]
pub(crate) struct Params(pub Map<String, Value>);

impl Params {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    pub fn str(&self, k: &str) -> Option<String> {
        match self.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn req_str(&self, k: &str) -> Result<String, Reply> {
        self.str(k).ok_or_else(|| missing(k))
    }

    pub fn bool(&self, k: &str) -> Result<Option<bool>, Reply> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" | "" => Ok(Some(false)),
                _ => Err(invalid(k)),
            },
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            _ => Err(invalid(k)),
        }
    }

    pub fn u64(&self, k: &str) -> Result<Option<u64>, Reply> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| invalid(k)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| invalid(k)),
            _ => Err(invalid(k)),
        }
    }

    /// Ids: an array of numbers (or numeric strings), or a comma-separated string (Grape's
    /// `Array[Integer]` with `coerce_with: ::API::Validations::Types::CommaSeparatedToIntegerArray`).
    pub fn ids(&self, k: &str) -> Result<Option<Vec<u64>>, Reply> {
        let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid(k));
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => s
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .map(parse)
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::Number(n) => n.as_u64().ok_or_else(|| invalid(k)),
                    Value::String(s) => parse(s),
                    _ => Err(invalid(k)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Number(n)) => n.as_u64().map(|n| Some(vec![n])).ok_or_else(|| invalid(k)),
            _ => Err(invalid(k)),
        }
    }

    /// A comma-separated string or an array of strings.
    pub fn list(&self, k: &str) -> Option<Vec<String>> {
        match self.get(k)? {
            Value::String(s) => Some(
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
            ),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// Everything a handler needs.
pub(crate) struct Ctx<'a> {
    pub w: &'a mut World,
    pub user: UserId,
    /// The id of the token that authenticated the request.
    pub token_id: u64,
    pub segs: Vec<String>,
    pub params: Params,
    /// The raw query pairs, in order (for pagination links).
    pub query_pairs: Vec<(String, String)>,
    /// `http://host/api/v4/<raw path>` without query (for pagination links).
    pub link_base: String,
}

impl Ctx<'_> {
    pub fn seg(&self, i: usize) -> &str {
        self.segs.get(i).map(String::as_str).unwrap_or("")
    }

    /// Resolves `:id` (segment 1) to a project the user can see, needing `level` or more.
    pub fn project(&self, level: u8) -> Result<ProjectId, Reply> {
        let id = self
            .w
            .find_project(self.seg(1))
            .ok_or_else(|| err(404, "404 Project Not Found"))?;
        let p = &self.w.projects[&id];
        if !self.w.can_see(p, self.user) {
            return Err(err(404, "404 Project Not Found"));
        }
        if level > access::NONE && !self.is_admin() && self.w.access_level(p, self.user) < level {
            return Err(err(403, "403 Forbidden"));
        }
        Ok(id)
    }

    /// A project whose repository the user may read.
    pub fn code_project(&self) -> Result<ProjectId, Reply> {
        let id = self.project(access::NONE)?;
        if !self.w.can_read_code(&self.w.projects[&id], self.user) {
            return Err(err(403, "403 Forbidden"));
        }
        Ok(id)
    }

    pub fn proj(&self, id: ProjectId) -> &Project {
        &self.w.projects[&id]
    }

    pub fn is_admin(&self) -> bool {
        self.w.users.get(&self.user).is_some_and(|u| u.admin)
    }
}

type Handler = fn(&mut Ctx) -> R;

/// The modelled routes: method, pattern (segments; `:x` matches one segment), handler.
const ROUTES: &[(&str, &str, Handler)] = &[
    ("GET", "/user", misc::current_user),
    ("GET", "/users", misc::list_users),
    ("GET", "/groups/:id/members/all", misc::group_members_all),
    ("GET", "/version", misc::version),
    ("GET", "/personal_access_tokens/self", misc::token_self),
    ("GET", "/projects", projects::list),
    ("GET", "/projects/:id", projects::get),
    ("GET", "/projects/:id/repository/tree", repository::tree),
    (
        "GET",
        "/projects/:id/repository/files/:file_path/raw",
        repository::file_raw,
    ),
    (
        "GET",
        "/projects/:id/repository/files/:file_path",
        repository::file_json,
    ),
    (
        "HEAD",
        "/projects/:id/repository/files/:file_path",
        repository::file_head,
    ),
    (
        "GET",
        "/projects/:id/repository/compare",
        repository::compare,
    ),
    (
        "GET",
        "/projects/:id/repository/branches/:branch",
        repository::get_branch,
    ),
    (
        "POST",
        "/projects/:id/repository/branches",
        repository::create_branch,
    ),
    (
        "DELETE",
        "/projects/:id/repository/branches/:branch",
        repository::delete_branch,
    ),
    (
        "POST",
        "/projects/:id/repository/commits",
        repository::create_commit,
    ),
    (
        "GET",
        "/projects/:id/repository/commits/:sha",
        repository::get_commit,
    ),
    (
        "GET",
        "/projects/:id/repository/commits/:sha/statuses",
        misc::list_statuses,
    ),
    ("POST", "/projects/:id/statuses/:sha", misc::create_status),
    ("GET", "/projects/:id/merge_requests", merge_requests::list),
    (
        "POST",
        "/projects/:id/merge_requests",
        merge_requests::create,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid",
        merge_requests::get,
    ),
    (
        "PUT",
        "/projects/:id/merge_requests/:iid",
        merge_requests::update,
    ),
    (
        "PUT",
        "/projects/:id/merge_requests/:iid/rebase",
        merge_requests::rebase,
    ),
    (
        "PUT",
        "/projects/:id/merge_requests/:iid/merge",
        merge_requests::merge,
    ),
    (
        "GET",
        "/projects/:id/pipelines/:pipeline_id/jobs",
        pipelines::list_jobs,
    ),
    (
        "GET",
        "/projects/:id/protected_branches/:name",
        pipelines::get_protected_branch,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid/diffs",
        merge_requests::list_diffs,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid/notes",
        merge_requests::list_notes,
    ),
    (
        "POST",
        "/projects/:id/merge_requests/:iid/notes",
        merge_requests::create_note,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid/notes/:note_id",
        merge_requests::get_note,
    ),
    (
        "PUT",
        "/projects/:id/merge_requests/:iid/notes/:note_id",
        merge_requests::update_note,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid/award_emoji",
        merge_requests::list_awards,
    ),
    (
        "POST",
        "/projects/:id/merge_requests/:iid/award_emoji",
        merge_requests::create_award,
    ),
    (
        "GET",
        "/projects/:id/merge_requests/:iid/notes/:note_id/award_emoji",
        merge_requests::list_awards,
    ),
    (
        "POST",
        "/projects/:id/merge_requests/:iid/notes/:note_id/award_emoji",
        merge_requests::create_award,
    ),
    ("GET", "/projects/:id/members/all/:user_id", misc::member),
    ("GET", "/projects/:id/hooks", misc::list_hooks),
    ("POST", "/projects/:id/hooks", misc::create_hook),
    ("GET", "/projects/:id/hooks/:hook_id", misc::get_hook),
    ("PUT", "/projects/:id/hooks/:hook_id", misc::update_hook),
    ("DELETE", "/projects/:id/hooks/:hook_id", misc::delete_hook),
    (
        "POST",
        "/projects/:id/hooks/:hook_id/test/:trigger",
        hook_test::test_hook,
    ),
    ("GET", "/projects/:id/badges", misc::list_badges),
    ("POST", "/projects/:id/badges", misc::create_badge),
    ("PUT", "/projects/:id/badges/:badge_id", misc::update_badge),
];

fn match_route(method: &str, segs: &[String]) -> Option<(&'static str, Handler)> {
    'routes: for (m, pattern, h) in ROUTES {
        if *m != method {
            continue;
        }
        let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
        if parts.len() != segs.len() {
            continue;
        }
        for (p, s) in parts.iter().zip(segs) {
            if p.starts_with(':') {
                if s.is_empty() {
                    continue 'routes;
                }
            } else if p != s {
                continue 'routes;
            }
        }
        return Some((pattern, *h));
    }
    None
}

/// A body that fails before its first byte: actix-http closes the connection without writing
/// the response head.
struct Dropped;

impl MessageBody for Dropped {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "gitlab-sim: connection dropped by fault injection",
        ))))
    }
}

pub(crate) fn fault_reply(status: u16, retry_after: u64, json: bool) -> Reply {
    match status {
        // GitLab's application rate limiter (`lib/api/helpers/rate_limiter.rb`,
        // `check_rate_limit!`): an API error with a JSON `message`.
        429 if json => Reply {
            status,
            body: Body::Json(serde_json::json!({
                "message": {
                    "error": "This endpoint has been requested too many times. Try again later."
                }
            })),
            headers: throttled_headers(retry_after),
        },
        // Rack::Attack's throttles (`lib/gitlab/rack_attack.rb`, `throttled_response_headers`):
        // plain text "Retry later" and the RateLimit-* headers.
        429 => Reply {
            status,
            body: Body::Raw(Bytes::from_static(b"Retry later\n"), "text/plain"),
            headers: throttled_headers(retry_after),
        },
        502 => Reply {
            status,
            body: Body::Raw(
                Bytes::from_static(
                    b"<!DOCTYPE html>\n<html><head><title>GitLab is not responding (502)</title></head><body><h1>502</h1><p>Whoops, GitLab is taking too much time to respond.</p></body></html>\n",
                ),
                "text/html; charset=utf-8",
            ),
            headers: Vec::new(),
        },
        500 => err(500, "500 Internal Server Error"),
        503 => err(503, "503 Service Unavailable"),
        s => err(s, format!("{s} {}", reason(s))),
    }
}

/// Rack::Attack's headers on a throttled answer (`Gitlab::RackAttack.throttled_response_headers`):
/// the window's limit per minute, what was observed, none remaining, the reset as Unix seconds
/// and as an HTTP date, and `Retry-After`.
fn throttled_headers(retry_after: u64) -> Vec<(String, String)> {
    let now = std::time::SystemTime::now();
    let reset = now + std::time::Duration::from_secs(retry_after);
    let reset_secs = reset
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    vec![
        ("RateLimit-Name".into(), "throttle_authenticated_api".into()),
        ("RateLimit-Limit".into(), "600".into()),
        ("RateLimit-Observed".into(), "601".into()),
        ("RateLimit-Remaining".into(), "0".into()),
        ("RateLimit-Reset".into(), reset_secs.to_string()),
        ("RateLimit-ResetTime".into(), httpdate::fmt_http_date(reset)),
        ("Retry-After".into(), retry_after.to_string()),
    ]
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

fn to_response(r: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = HttpResponse::build(status);
    for (n, v) in &r.headers {
        b.insert_header((n.as_str(), v.as_str()));
    }
    match r.body {
        Body::Json(v) => b
            .content_type("application/json")
            .body(serde_json::to_vec(&v).unwrap_or_default()),
        Body::Raw(bytes, ct) => b.content_type(ct).body(bytes),
        Body::Empty | Body::HookTest(_) => b.finish(),
    }
}

fn token_of(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get("PRIVATE-TOKEN") {
        return v.to_str().ok().map(str::to_string);
    }
    let auth = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, tok) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| tok.trim().to_string())
}

fn authenticate(
    w: &mut World,
    token: Option<&str>,
    method: &str,
    pattern: &str,
) -> Result<(UserId, u64), Reply> {
    let unauthorized = || err(401, "401 Unauthorized");
    let token = token.ok_or_else(unauthorized)?;
    let t = w.tokens.get(token).ok_or_else(unauthorized)?;
    if t.revoked {
        return Err(Reply::json(
            401,
            json!({"error": "invalid_token",
                   "error_description": "Token was revoked. You have to re-authorize from the user."}),
        ));
    }
    if t.expired() {
        return Err(Reply::json(
            401,
            json!({"error": "invalid_token",
                   "error_description": "Token is expired. You can either do re-authorization or token refresh."}),
        ));
    }
    let has = |s: &str| t.scopes.iter().any(|x| x == s);
    let read = method == "GET" || method == "HEAD";
    // A few routes accept narrower scopes: `read_user` reads the current user, and
    // `personal_access_tokens/self` answers for any valid token.
    let ok = has("api")
        || (read && has("read_api"))
        || (read && pattern == "/user" && has("read_user"))
        || pattern == "/personal_access_tokens/self";
    if !ok {
        let scope = if read { "api read_api" } else { "api" };
        return Err(Reply::json(
            403,
            json!({"error": "insufficient_scope",
                   "error_description": "The request requires higher privileges than provided by the access token.",
                   "scope": scope}),
        ));
    }
    let user = t.user_id;
    let token_id = t.id;
    match w.users.get(&user) {
        Some(u) if u.state == "active" => {}
        _ => return Err(unauthorized()),
    }
    let now = util::now_ms();
    if let Some(t) = w.tokens.get_mut(token) {
        t.last_used_at = Some(now);
    }
    Ok((user, token_id))
}

fn parse_params(req: &HttpRequest, body: &[u8]) -> Result<Params, Reply> {
    let mut map = Map::new();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).map_err(|_| err(400, "400 Bad request"))?;
    for (k, v) in pairs {
        map.insert(k.trim_end_matches("[]").to_string(), Value::String(v));
    }
    if !body.is_empty() {
        let ct = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct.starts_with("application/json") {
            let v: Value = serde_json::from_slice(body).map_err(|_| {
                Reply::json(400, json!({"error": "400 Bad request - invalid JSON"}))
            })?;
            match v {
                Value::Object(o) => map.extend(o),
                _ => return Err(Reply::json(400, json!({"error": "400 Bad request"}))),
            }
        } else {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|_| err(400, "400 Bad request"))?;
            for (k, v) in pairs {
                map.insert(k.trim_end_matches("[]").to_string(), Value::String(v));
            }
        }
    }
    Ok(Params(map))
}

/// The single entry point of the server.
pub(crate) async fn entry(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let _in_flight = shared.recorder.enter();
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let query = req.query_string().to_string();
    let token = token_of(&req);
    let had_token = token.is_some();
    let event_uuid = req
        .headers()
        .get("X-Gitlab-Event-UUID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let below = raw_path
        .strip_prefix("/api/v4")
        .filter(|r| r.starts_with('/'));
    let segs: Option<Vec<String>> = below.map(|b| {
        b.trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .map(|s| util::decode(s).unwrap_or_default())
            .collect()
    });
    let matched = segs.as_ref().and_then(|s| match_route(&method, s));
    let registry_route = crate::registry::SimRegistry::route(&method, &raw_path);
    let (route, modeled) = match (&matched, below) {
        _ if registry_route.is_some() => {
            (format!("{method} {}", registry_route.unwrap_or("")), true)
        }
        (Some((p, _)), _) => (format!("{method} {p}"), true),
        (None, Some(b)) => (format!("{method} {b}"), false),
        (None, None) => (format!("{method} {raw_path}"), false),
    };
    let record = |status: u16| RecordedRequest {
        method: method.clone(),
        path: raw_path.clone(),
        query: query.clone(),
        route: route.clone(),
        modeled,
        status,
        had_token,
        event_uuid: event_uuid.clone(),
    };

    let decision = shared.faults.decide(&method, &route);
    if let Some(l) = decision.latency {
        tokio::time::sleep(l).await;
    }
    if decision.drop {
        shared.recorder.push(record(0));
        return HttpResponse::Ok()
            .insert_header(("Connection", "close"))
            .body(Dropped);
    }
    if let Some((status, retry_after)) = decision.fail {
        shared.recorder.push(record(status));
        return to_response(fault_reply(status, retry_after, decision.json));
    }

    let reply = match (matched, segs, below) {
        _ if registry_route.is_some() => shared
            .registry
            .answer(registry_route.unwrap_or(""), &raw_path),
        (Some((pattern, handler)), Some(segs), _) => run(
            &shared,
            &req,
            &body,
            &method,
            token.as_deref(),
            segs,
            pattern,
            handler,
        ),
        (None, _, Some(b)) => err(
            501,
            format!("gitlab-sim does not model {method} /api/v4{b}"),
        ),
        _ => {
            // Project and merge request pages for people (see `pages`).
            let html = (method == "GET")
                .then(|| {
                    let w = shared.world.lock().unwrap_or_else(|e| e.into_inner());
                    crate::pages::page(&w, &raw_path)
                })
                .flatten();
            match html {
                Some(page) => Reply {
                    status: 200,
                    body: Body::Raw(Bytes::from(page), "text/html; charset=utf-8"),
                    headers: Vec::new(),
                },
                None => err(404, "404 Not Found"),
            }
        }
    };
    let reply = match reply.body {
        Body::HookTest(t) => hook_test::finish(&shared, *t).await,
        _ => reply,
    };
    shared.recorder.push(record(reply.status));
    to_response(reply)
}

#[allow(clippy::too_many_arguments)]
fn run(
    shared: &Shared,
    req: &HttpRequest,
    body: &[u8],
    method: &str,
    token: Option<&str>,
    segs: Vec<String>,
    pattern: &str,
    handler: Handler,
) -> Reply {
    let params = match parse_params(req, body) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let query_pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut w = shared.world.lock().unwrap_or_else(|e| e.into_inner());
    // GitLab's background jobs (Sidekiq) progress while requests come in.
    w.run_background();
    let chain = req
        .headers()
        .get("X-Gitlab-Event-UUID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let first_queued = w.pending.len();
    let (user, token_id) = match authenticate(&mut w, token, method, pattern) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let link_base = match &shared.link_origin {
        Some(origin) => format!(
            "{}{}",
            origin.base(req.connection_info().scheme()),
            req.uri().path()
        ),
        None => format!("{}{}", w.base_url, req.uri().path()),
    };
    let mut ctx = Ctx {
        w: &mut w,
        user,
        token_id,
        segs,
        params,
        query_pairs,
        link_base,
    };
    let reply = match handler(&mut ctx) {
        Ok(r) | Err(r) => r,
    };
    if let Some(uuid) = chain {
        w.chain_deliveries(&uuid, first_queued);
    }
    reply
}

/// Builds the actix app factory for a shared state.
pub(crate) fn configure(
    shared: Shared,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(shared.clone()))
            .app_data(web::PayloadConfig::new(64 * 1024 * 1024));
    }
}
