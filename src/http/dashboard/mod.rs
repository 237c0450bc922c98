//! The web dashboard at `/`: server-rendered HTML, no JavaScript, no front-end build. Behind
//! the admin token (a login form sets a session cookie, see [`session`]); without a configured
//! admin token every page answers 404, like the API. Pages: overview, projects (search, sort,
//! pages), one project, approvals (Approve buttons), deliveries and dead letters (Retry
//! buttons). Forms carry a CSRF token derived from the session.

pub mod html;
pub mod mr_checks;
pub mod packages;
pub mod pages;
pub mod session;
pub mod words;

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::clock::{now_ms, now_secs};
use crate::gitlab::ProjectId;
use crate::http::api::ApiError;
use crate::http::state::AppState;
use crate::secret::Secret;
use crate::tracking::summary::waits_for_approval;

/// Rows per page of the project list.
pub const PROJECTS_PER_PAGE: usize = 50;
/// Rows per page of the delivery list.
pub const DELIVERIES_PER_PAGE: usize = 50;
/// How long an Approve waits for the MR before showing the page (the work goes on after).
pub const APPROVE_WAIT: Duration = Duration::from_secs(10);

/// Mounts the dashboard's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(overview))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/projects", web::get().to(projects))
        .route("/projects/{id:.+}", web::get().to(project))
        .route("/approvals", web::get().to(approvals))
        .route("/approvals/{id}/approve", web::post().to(approve))
        .route("/deliveries", web::get().to(deliveries))
        .route("/deliveries/{id}/retry", web::post().to(retry));
}

/// Why a dashboard request failed; answered as an HTML page with the status.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No admin token configured, or no such thing.
    #[error("{0}")]
    NotFound(&'static str),
    /// Not logged in: to the login page.
    #[error("log in first")]
    LoginFirst,
    /// A form without the session's CSRF token.
    #[error("this form has expired: reload the page and try again")]
    Csrf,
    /// Too many wrong tokens from this address.
    #[error("too many wrong tokens from this address; try again in {0} s")]
    Throttled(u64),
    /// A bad parameter.
    #[error("{0}")]
    BadRequest(String),
    /// What the shared API logic answered.
    #[error("{message}")]
    Api {
        /// Its status.
        status: StatusCode,
        /// Its message (never a secret).
        message: String,
    },
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl From<ApiError> for DashboardError {
    fn from(e: ApiError) -> Self {
        DashboardError::Api {
            status: e.status_code(),
            message: e.to_string(),
        }
    }
}

impl ResponseError for DashboardError {
    fn status_code(&self) -> StatusCode {
        match self {
            DashboardError::NotFound(_) => StatusCode::NOT_FOUND,
            DashboardError::LoginFirst => StatusCode::SEE_OTHER,
            DashboardError::Csrf => StatusCode::FORBIDDEN,
            DashboardError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            DashboardError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DashboardError::Api { status, .. } => *status,
            DashboardError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let DashboardError::LoginFirst = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .finish();
        }
        if let DashboardError::Throttled(secs) = self {
            let mut answer = html(self.status_code(), pages::login(Some(&self.to_string())));
            if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
                answer.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return answer;
        }
        if let DashboardError::Store(e) = self {
            tracing::error!(error = %e, "store error in the dashboard");
        }
        let title = match self.status_code() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::BAD_REQUEST => "Bad request",
            _ => "Error",
        };
        html(
            self.status_code(),
            pages::error(title, &self.to_string(), None),
        )
    }
}

type Result<T, E = DashboardError> = std::result::Result<T, E>;

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body)
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The admin token, or 404 when none is configured.
fn token(state: &AppState) -> Result<&Secret> {
    state
        .settings
        .admin_token
        .as_ref()
        .ok_or(DashboardError::NotFound("not found"))
}

/// A logged-in request: its CSRF token.
struct Session {
    csrf: String,
}

async fn session(req: &HttpRequest, state: &AppState) -> Result<Session> {
    let token = token(state)?;
    let value = session::cookie(req).ok_or(DashboardError::LoginFirst)?;
    let (sessions, t, v) = (state.sessions.clone(), token.clone(), value.clone());
    let valid = crate::store::run_blocking(move || sessions.valid(&t, &v, now_secs())).await?;
    if !valid {
        return Err(DashboardError::LoginFirst);
    }
    Ok(Session {
        csrf: session::csrf(token, &value),
    })
}

/// A logged-in form post with the session's CSRF token.
async fn checked_post(req: &HttpRequest, state: &AppState, form: &CsrfForm) -> Result<Session> {
    let s = session(req, state).await?;
    let token = token(state)?;
    let value = session::cookie(req).unwrap_or_default();
    if !session::csrf_ok(token, &value, &form.csrf) {
        return Err(DashboardError::Csrf);
    }
    Ok(s)
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login_form(state: web::Data<AppState>) -> Result<HttpResponse> {
    token(&state)?;
    Ok(html(StatusCode::OK, pages::login(None)))
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse> {
    let token = token(&state)?;
    state
        .auth_guard
        .check(&req)
        .map_err(|t| DashboardError::Throttled(t.retry_after_secs))?;
    if !session::token_matches(token, form.token.trim()) {
        state.auth_guard.failed(&req, "dashboard login");
        return Ok(html(
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That is not the admin token.")),
        ));
    }
    let (sessions, t) = (state.sessions.clone(), token.clone());
    let value = crate::store::run_blocking(move || sessions.issue(&t, now_secs())).await?;
    let cookie = session::set_cookie(
        &value,
        session::SESSION_SECS,
        session::secure(&req, &state.settings),
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::SET_COOKIE, cookie))
        .insert_header((header::LOCATION, "/"))
        .finish())
}

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    checked_post(&req, &state, &form).await?;
    if let Some(value) = session::cookie(&req) {
        let (sessions, t) = (state.sessions.clone(), token(&state)?.clone());
        crate::store::run_blocking(move || sessions.revoke(&t, &value)).await?;
    }
    let cookie = session::set_cookie("", 0, session::secure(&req, &state.settings));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::SET_COOKIE, cookie))
        .insert_header((header::LOCATION, "/login"))
        .finish())
}

async fn snapshot(state: &AppState) -> Result<crate::tracking::Snapshot> {
    Ok(crate::http::remediation_api::snapshot(state).await?)
}

async fn overview(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let s = session(&req, &state).await?;
    let snap = snapshot(&state).await?;
    let gitlab = if state.catalog_service.is_some() {
        pages::GitLabLink::Configured
    } else {
        pages::GitLabLink::NotConfigured
    };
    Ok(html(
        StatusCode::OK,
        pages::overview(&snap, gitlab, &s.csrf),
    ))
}

/// Query of the project list.
#[derive(Debug, Deserialize)]
pub struct ProjectsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    page: Option<usize>,
}

async fn projects(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ProjectsQuery>,
) -> Result<HttpResponse> {
    let s = session(&req, &state).await?;
    let page_no = query.page.unwrap_or(1).max(1);
    let sort = pages::SORTS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| *k == query.sort)
        .unwrap_or("path");
    let snap = snapshot(&state).await?;
    let rows = pages::select_projects(&snap.projects, &query.q, sort);
    Ok(html(
        StatusCode::OK,
        pages::projects(&rows, &query.q, sort, page_no, PROJECTS_PER_PAGE, &s.csrf),
    ))
}

/// Query of a project page.
#[derive(Debug, Deserialize)]
pub struct ProjectQuery {
    approved: Option<u64>,
}

async fn project(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse> {
    let s = session(&req, &state).await?;
    let raw = path.into_inner();
    let st = state.clone().into_inner();
    let (p, mut findings, mut rems, manifests, mr_checks) =
        crate::store::run_blocking(move || -> Result<_> {
            let found = match raw.parse::<u64>() {
                Ok(id) => st.catalog.get(ProjectId(id))?,
                Err(_) => st.catalog.get_by_path(&raw)?,
            };
            let p = found.ok_or(DashboardError::NotFound("no such project in the catalog"))?;
            let findings = st.findings.of_project(p.id)?;
            let rems = match &st.remediations {
                Some(t) => t.of_project(p.id)?,
                None => Vec::new(),
            };
            let manifests = st.inventory.manifests(p.id)?;
            let mr_checks = st.mr_checks.of_project(p.id)?;
            Ok((p, findings, rems, manifests, mr_checks))
        })
        .await?;
    findings.sort_by_key(|s| {
        (
            !s.finding.is_vulnerability(),
            std::cmp::Reverse(s.finding.advisory.severity),
        )
    });
    rems.sort_by_key(|r| (std::cmp::Reverse(r.severity), r.id));
    let now = now_ms();
    let figures = crate::tracking::ProjectFigures::of(
        findings.iter().map(|s| &s.finding),
        &rems,
        &state.settings.sla,
        now,
    );
    let flash = query.approved.and_then(|id| {
        rems.iter().find(|r| r.id == id).map(|r| match &r.mr_url {
            Some(url) => format!("Approved {}: its merge request is {url}", r.package),
            None => format!(
                "Approved {}: its merge request opens in the background",
                r.package
            ),
        })
    });
    let base = state.settings.public_url.as_deref().unwrap_or("");
    let unchecked: Vec<crate::findings::Unchecked> = manifests
        .iter()
        .flat_map(|m| crate::findings::unchecked_for(&m.path, &m.dependencies))
        .collect();
    let view = pages::ProjectView {
        project: &p,
        figures: &figures,
        findings: &findings,
        unchecked: &unchecked,
        remediations: &rems,
        mr_checks: &mr_checks,
        badge_url: crate::http::badge::badge_url(&state.settings, base, &p),
        policy: &state.settings.sla,
        now_ms: now,
        flash,
        pipelines: match state.pipelines.as_ref() {
            Some(t) => rems
                .iter()
                .filter_map(|r| t.get(r.id).transpose().map(|p| p.map(|p| (r.id, p))))
                .collect::<Result<_, _>>()?,
            None => Default::default(),
        },
        repo_policy: match state.policies.as_ref() {
            Some(t) => Some((t.get(p.id)?, t.effective(p.id)?)),
            None => None,
        },
    };
    Ok(html(StatusCode::OK, pages::project(&view, &s.csrf)))
}

async fn approvals(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let s = session(&req, &state).await?;
    let st = state.clone().into_inner();
    let (all, projects) = crate::store::run_blocking(move || -> Result<_> {
        let all = match &st.remediations {
            Some(t) => t.page(0, usize::MAX)?.1,
            None => Vec::new(),
        };
        let mut projects = std::collections::HashMap::new();
        for r in all.iter().filter(|r| waits_for_approval(r)) {
            if let std::collections::hash_map::Entry::Vacant(e) = projects.entry(r.project) {
                e.insert(st.catalog.get(r.project)?);
            }
        }
        Ok((all, projects))
    })
    .await?;
    let waiting: Vec<_> = all.iter().filter(|r| waits_for_approval(r)).collect();
    let mut items: Vec<_> = waiting
        .iter()
        .map(|r| (*r, projects.get(&r.project).and_then(|p| p.as_ref())))
        .collect();
    items.sort_by_key(|(r, _)| (std::cmp::Reverse(r.severity), r.detected_at_ms, r.id));
    Ok(html(
        StatusCode::OK,
        pages::approvals(&items, &state.settings.sla, now_ms(), &s.csrf),
    ))
}

fn parse_id(raw: &str) -> Result<u64> {
    raw.parse()
        .map_err(|_| DashboardError::BadRequest("an id is a number".into()))
}

/// Approves like the API (recorded as `dashboard`), waits a little for the MR, then shows the
/// project.
async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    checked_post(&req, &state, &form).await?;
    let id = parse_id(&path)?;
    let (r, queued) = crate::http::remediation_api::approve_remediation(
        &state,
        id,
        crate::engine::Requester::Dashboard,
    )
    .await?;
    // The action goes on after the timeout: the page then says the MR is on its way.
    state.actions.wait(queued, APPROVE_WAIT).await?;
    Ok(see_other(&format!(
        "/projects/{}?approved={}#r{}",
        r.project.get(),
        r.id,
        r.id
    )))
}

/// Query of the delivery list.
#[derive(Debug, Deserialize)]
pub struct DeliveriesQuery {
    page: Option<usize>,
    retried: Option<u64>,
}

async fn deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse> {
    let s = session(&req, &state).await?;
    let page_no = query.page.unwrap_or(1).max(1);
    let (dead, recent) = state
        .inbox
        .run(move |inbox| {
            Ok((
                inbox.list(Some(crate::inbox::DeliveryState::Dead), 1, 100)?,
                inbox.list(None, page_no, DELIVERIES_PER_PAGE)?,
            ))
        })
        .await?;
    let flash = query
        .retried
        .map(|seq| format!("Delivery {seq} is queued again."));
    Ok(html(
        StatusCode::OK,
        pages::deliveries(
            &dead,
            &recent,
            page_no,
            DELIVERIES_PER_PAGE,
            flash.as_deref(),
            &s.csrf,
        ),
    ))
}

async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    checked_post(&req, &state, &form).await?;
    let seq = parse_id(&path)?;
    crate::http::api::retry_dead(&state, seq).await?;
    Ok(see_other(&format!("/deliveries?retried={seq}")))
}
