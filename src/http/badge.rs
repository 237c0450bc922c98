//! `GET /badge/{project}.svg` and `.json` (shields.io endpoint format): the project's
//! vulnerability status as a flat two-part badge. `{project}` is the numeric id or the
//! URL-encoded path. Reads the store only, never GitLab.
//!
//! Public projects' badges are open. Private and internal projects (and projects whose
//! visibility is not known) need `?key=`, the hex HMAC-SHA256 of the project id (decimal) under
//! the badge secret. Without a valid key, and for a project not in the catalog, the answer is
//! one neutral `backline | unknown` badge, byte for byte the same, so that nobody can tell
//! whether a private project exists.
//!
//! The badge secret is `BACKLINE_BADGE_SECRET`; without it, HMAC-SHA256 keyed by the admin token
//! (else the current webhook secret) of the context string [`DERIVE_CONTEXT`]. Changing the
//! source secret changes every private badge URL.

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use hmac::Mac;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::advisories::cvss::Level;
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::gitlab::hooks::common::Visibility;
use crate::http::state::AppState;
use crate::pipeline::summary::PipelineSummary;
use crate::tracking::reader::project_figures;
use crate::tracking::ProjectFigures;

/// Context of the badge secret derived from another secret.
pub const DERIVE_CONTEXT: &str = "backline badge key v1";
/// The label of every badge.
pub const LABEL: &str = "backline";
/// Seconds a badge may be cached.
pub const MAX_AGE_SECS: u32 = 300;

/// Mounts `/badge/...`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/badge/{tail:.+}", web::get().to(badge));
}

/// The badge secret these settings give (see the module documentation); `None` when nothing is
/// configured to derive it from (then only public projects have badges).
pub fn badge_secret(settings: &Settings) -> Option<Vec<u8>> {
    if let Some(s) = &settings.badge_secret {
        return Some(s.expose().as_bytes().to_vec());
    }
    let source = settings
        .admin_token
        .as_ref()
        .or(settings.webhook_secrets.last())?;
    let mut mac = crate::secret::hmac_sha256(source.expose().as_bytes());
    mac.update(DERIVE_CONTEXT.as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

/// The badge key of a project: hex HMAC-SHA256(secret, project id in decimal).
pub fn badge_key(secret: &[u8], project: u64) -> String {
    let mut mac = crate::secret::hmac_sha256(secret);
    mac.update(project.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a project's badge needs a key.
pub fn needs_key(p: &CatalogProject) -> bool {
    p.visibility != Some(Visibility::Public)
}

/// The badge URL of a project (`.svg`), with its key when it needs one, under `base`
/// (`BACKLINE_PUBLIC_URL`, or a relative URL when empty).
pub fn badge_url(settings: &Settings, base: &str, p: &CatalogProject) -> String {
    let mut url = format!("{base}/badge/{}.svg", p.id.get());
    if needs_key(p) {
        if let Some(secret) = badge_secret(settings) {
            let _ = write!(url, "?key={}", badge_key(&secret, p.id.get()));
        }
    }
    url
}

/// Markdown that shows the badge (for a README).
pub fn badge_markdown(url: &str, link: Option<&str>) -> String {
    match link {
        Some(l) => format!("[![backline]({url})]({l})"),
        None => format!("![backline]({url})"),
    }
}

/// Message and colour of a badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The right-hand text.
    pub message: String,
    /// The right-hand colour (`#rrggbb`).
    pub color: &'static str,
}

/// Grey, for the neutral badge.
pub const GREY: &str = "#9f9f9f";

impl Status {
    /// The neutral badge (unknown project, or no valid key).
    pub fn unknown() -> Status {
        Status {
            message: "unknown".into(),
            color: GREY,
        }
    }

    /// From a project's figures: `no known vulnerabilities`; `N fixes open` when every
    /// vulnerable package has its MR open; otherwise the worst severity's count (`1 critical`).
    /// The colour is the worst severity's.
    pub fn of(f: &ProjectFigures) -> Status {
        let Some((worst, count)) = f.vulnerable.worst() else {
            return Status {
                message: "no known vulnerabilities".into(),
                color: "#4c1",
            };
        };
        let message = if f.fixes_open > 0 && f.fixes_open >= f.vulnerable.total() {
            format!(
                "{} fix{} open",
                f.fixes_open,
                if f.fixes_open == 1 { "" } else { "es" }
            )
        } else {
            format!("{count} {}", worst.as_str())
        };
        Status {
            message,
            color: color_of(worst),
        }
    }
}

/// The colour of a severity.
pub fn color_of(level: Level) -> &'static str {
    match level {
        Level::Critical => "#e05d44",
        Level::High => "#fe7d37",
        Level::Medium => "#dfb317",
        Level::Low => "#a4a61d",
        Level::Unknown => GREY,
    }
}

/// Width of a text in Verdana 11px, estimated per character (shields.io's metrics, rounded).
pub fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 3.1,
            ' ' => 3.9,
            'f' | 'r' | 't' | 'I' | '(' | ')' | '[' | ']' | '-' => 4.6,
            'm' | 'M' | 'W' => 10.7,
            'w' => 8.9,
            '0'..='9' => 7.0,
            'a'..='z' => 6.6,
            'A'..='Z' => 7.6,
            _ => 7.5,
        })
        .sum()
}

/// Escapes text for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The flat two-part SVG.
pub fn svg(label: &str, status: &Status) -> String {
    let lw = (text_width(label) + 10.0).round() as u32;
    let rw = (text_width(&status.message) + 10.0).round() as u32;
    let w = lw + rw;
    let (l, m) = (escape(label), escape(&status.message));
    let lx = lw * 5;
    let rx = lw * 10 + rw * 5;
    let (ltl, rtl) = ((lw - 10) * 10, (rw - 10) * 10);
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{l}: {m}">"##,
            r##"<title>{l}: {m}</title>"##,
            r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            r##"<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" fill="{c}"/><rect width="{w}" height="20" fill="url(#s)"/></g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">"##,
            r##"<text aria-hidden="true" x="{lx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{ltl}">{l}</text>"##,
            r##"<text x="{lx}" y="140" transform="scale(.1)" fill="#fff" textLength="{ltl}">{l}</text>"##,
            r##"<text aria-hidden="true" x="{rx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{rtl}">{m}</text>"##,
            r##"<text x="{rx}" y="140" transform="scale(.1)" fill="#fff" textLength="{rtl}">{m}</text>"##,
            r##"</g></svg>"##
        ),
        w = w,
        lw = lw,
        rw = rw,
        l = l,
        m = m,
        c = status.color,
        lx = lx,
        rx = rx,
        ltl = ltl,
        rtl = rtl,
    )
}

/// The shields.io endpoint JSON.
pub fn endpoint_json(label: &str, status: &Status) -> String {
    serde_json::json!({
        "schemaVersion": 1,
        "label": label,
        "message": status.message,
        "color": status.color,
    })
    .to_string()
}

/// The shields.io endpoint JSON with `pipeline`: the pipeline status of the project's open
/// bot MRs ([`PipelineSummary`]). shields.io takes keys it does not know since
/// badges/shields#11942; the neutral badge never carries it.
pub fn endpoint_json_with(label: &str, status: &Status, pipeline: &PipelineSummary) -> String {
    serde_json::json!({
        "schemaVersion": 1,
        "label": label,
        "message": status.message,
        "color": status.color,
        "pipeline": pipeline,
    })
    .to_string()
}

/// Query of a badge.
#[derive(Debug, Deserialize)]
pub struct BadgeQuery {
    key: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Json,
}

async fn badge(
    req: HttpRequest,
    query: web::Query<BadgeQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    // The raw path, so that an encoded `/` in a project path is ours to decode.
    let raw = req.uri().path().strip_prefix("/badge/").unwrap_or("");
    let (name, format) = if let Some(n) = raw.strip_suffix(".svg") {
        (n, Format::Svg)
    } else if let Some(n) = raw.strip_suffix(".json") {
        (n, Format::Json)
    } else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("badges end in .svg or .json\n");
    };
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned();
    let st = state.clone().into_inner();
    let key = query.key.clone();
    let looked_up = crate::store::run_blocking(move || lookup(&st, &name, key.as_deref())).await;
    let (status, pipeline) = match looked_up {
        Ok(Some(s)) => s,
        Ok(None) => (Status::unknown(), None),
        Err(e) => {
            tracing::warn!(error = %e, "badge: store error");
            (Status::unknown(), None)
        }
    };
    let (body, content_type) = match (format, pipeline) {
        (Format::Svg, _) => (svg(LABEL, &status), "image/svg+xml;charset=utf-8"),
        (Format::Json, Some(p)) => (endpoint_json_with(LABEL, &status, &p), "application/json"),
        (Format::Json, None) => (endpoint_json(LABEL, &status), "application/json"),
    };
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let cache = format!("max-age={MAX_AGE_SECS}");
    if matches_etag(&req, &etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(body)
}

/// `If-None-Match` (a list, weak or strong, or `*`) names `etag`.
fn matches_etag(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// Secret used when none is configured, so that the same HMAC runs either way.
const NO_SECRET: &[u8] = b"backline badge: no secret configured";

/// Whether a badge request may see `project`'s status (`project` is `None` when the catalog has
/// no project by that name). The same work on every path: the key is derived and compared for
/// unknown, public and private projects alike (for an unknown one under the requested id, or 0
/// for a path), so the answer time tells nothing about which private projects exist.
pub fn gate(
    project: Option<&CatalogProject>,
    requested: &str,
    secret: Option<&[u8]>,
    key: Option<&str>,
) -> bool {
    gate_with(project, requested, secret, key, &mut badge_key)
}

/// [`gate`] with the key derivation given (tests count its calls).
pub fn gate_with(
    project: Option<&CatalogProject>,
    requested: &str,
    secret: Option<&[u8]>,
    key: Option<&str>,
    derive: &mut dyn FnMut(&[u8], u64) -> String,
) -> bool {
    let id = project.map_or_else(|| requested.parse::<u64>().unwrap_or(0), |p| p.id.get());
    let expected = derive(secret.unwrap_or(NO_SECRET), id);
    let given = key.unwrap_or("").trim().to_ascii_lowercase();
    // Padded to the expected length, so the comparison runs over the same bytes whatever was
    // given.
    let mut padded = vec![0u8; expected.len()];
    let n = given.len().min(padded.len());
    padded[..n].copy_from_slice(&given.as_bytes()[..n]);
    let same = padded.as_slice().ct_eq(expected.as_bytes())
        & subtle::Choice::from(u8::from(given.len() == expected.len()));
    let key_ok = bool::from(same) && secret.is_some();
    match project {
        None => false,
        Some(p) => !needs_key(p) || key_ok,
    }
}

/// The status and the open bot MRs' pipelines (when pipelines are tracked), or `None` for the
/// neutral badge.
fn lookup(
    state: &AppState,
    name: &str,
    key: Option<&str>,
) -> Result<Option<(Status, Option<PipelineSummary>)>, crate::store::StoreError> {
    let project = match name.parse::<u64>() {
        Ok(id) => state.catalog.get(id.into())?,
        Err(_) => state.catalog.get_by_path(name)?,
    };
    let secret = badge_secret(&state.settings);
    let show = gate(project.as_ref(), name, secret.as_deref(), key);
    let Some(project) = project.filter(|_| show) else {
        return Ok(None);
    };
    let figures = project_figures(
        &state.findings,
        state.remediations.as_ref(),
        project.id,
        &state.settings.sla,
        now_ms(),
    )?;
    Ok(Some((
        Status::of(&figures),
        project_pipelines(state, project.id)?,
    )))
}

/// The pipeline summary of a project's open bot MRs (`None` when pipelines are not tracked).
pub fn project_pipelines(
    state: &AppState,
    project: crate::gitlab::ProjectId,
) -> Result<Option<PipelineSummary>, crate::store::StoreError> {
    let (Some(pipelines), Some(remediations)) = (&state.pipelines, &state.remediations) else {
        return Ok(None);
    };
    let rems = remediations.of_project(project)?;
    pipelines.summary_of(&rems).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::summary::BySeverity;

    #[test]
    fn messages_and_colours() {
        let mut f = ProjectFigures::default();
        assert_eq!(Status::of(&f).message, "no known vulnerabilities");
        assert_eq!(Status::of(&f).color, "#4c1");
        f.vulnerable = BySeverity([1, 3, 0, 0, 0]);
        assert_eq!(Status::of(&f).message, "1 critical");
        assert_eq!(Status::of(&f).color, "#e05d44");
        f.vulnerable = BySeverity([0, 3, 2, 0, 0]);
        assert_eq!(Status::of(&f).message, "3 high");
        f.fixes_open = 5;
        assert_eq!(Status::of(&f).message, "5 fixes open");
        assert_eq!(Status::of(&f).color, "#fe7d37");
        f.vulnerable = BySeverity([0, 0, 0, 1, 0]);
        f.fixes_open = 1;
        assert_eq!(Status::of(&f).message, "1 fix open");
    }

    #[test]
    fn svg_is_escaped_and_sized_by_text() {
        let s = svg(
            "a<b",
            &Status {
                message: "x&\"y".into(),
                color: GREY,
            },
        );
        assert!(s.contains("a&lt;b") && s.contains("x&amp;&quot;y"), "{s}");
        assert!(!s.contains("a<b"));
        assert!(text_width("no known vulnerabilities") > text_width("1 critical"));
    }

    #[test]
    fn keys_are_per_project_and_derived_secrets_differ_by_source() {
        let mut s = Settings::with_data_dir("/nonexistent");
        assert!(badge_secret(&s).is_none());
        s.admin_token = Some(crate::secret::Secret::new("a"));
        let derived = badge_secret(&s).unwrap();
        assert_ne!(derived, b"a");
        assert_ne!(badge_key(&derived, 1), badge_key(&derived, 2));
        assert_eq!(badge_key(&derived, 1).len(), 64);
        s.badge_secret = Some(crate::secret::Secret::new("explicit"));
        assert_eq!(badge_secret(&s).unwrap(), b"explicit");
    }

    fn catalogued(id: u64, visibility: Visibility) -> CatalogProject {
        CatalogProject {
            id: crate::gitlab::ProjectId(id),
            path_with_namespace: format!("acme/p{id}"),
            name: format!("p{id}"),
            default_branch: Some("main".into()),
            visibility: Some(visibility),
            web_url: None,
            last_activity_at: None,
            added_at_ms: 1,
            updated_at_ms: 1,
            hook: crate::catalog::HookState::Unchecked,
            badge: crate::catalog::HookState::Unchecked,
        }
    }

    #[test]
    fn unknown_and_keyless_private_projects_do_the_same_work() {
        let secret = b"s".to_vec();
        let private = catalogued(7, Visibility::Private);
        let public = catalogued(8, Visibility::Public);
        let good = badge_key(&secret, 7);
        // (project, requested name, key, expected answer)
        let cases: [(Option<&CatalogProject>, &str, Option<&str>, bool); 7] = [
            (None, "9", None, false),
            (None, "acme/ghost", Some("00"), false),
            (Some(&private), "7", None, false),
            (Some(&private), "7", Some("deadbeef"), false),
            (Some(&private), "7", Some(&good), true),
            (Some(&public), "8", None, true),
            (None, "7", Some(&good), false),
        ];
        for (project, name, key, shown) in cases {
            for secret in [Some(secret.as_slice()), None] {
                let mut derived = Vec::new();
                let answer = gate_with(project, name, secret, key, &mut |s, id| {
                    derived.push(id);
                    badge_key(s, id)
                });
                // One derivation per request, whatever exists.
                assert_eq!(derived.len(), 1, "{name}");
                let expect = shown && (secret.is_some() || project.is_some_and(|p| !needs_key(p)));
                assert_eq!(answer, expect, "{name} {key:?} {}", secret.is_some());
            }
        }
    }
}
