//! The HTTP surface: webhook intake, the JSON API, the badge, the dashboard, health and
//! metrics. `http` never calls
//! GitLab and never plans: it verifies, records and answers.

pub mod api;
pub mod api_base;
pub mod badge;
pub mod budget;
pub mod catalog_api;
pub mod dashboard;
pub mod health;
pub mod log_rate;
pub mod mrcheck_api;
pub mod openapi;
pub mod policy_api;
pub mod remediation_api;
pub mod state;
pub mod throttle;
pub mod verify;
pub mod webhook;

use actix_web::web;

pub use state::AppState;

/// Mounts every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/gitlab", web::post().to(webhook::receive))
        .route(
            "/webhooks/gitlab/projects/{id}",
            web::post().to(webhook::receive_for_project),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/api/v1/openapi.json", web::get().to(openapi::serve))
        .route(
            "/api/v1/policy-schema.json",
            web::get().to(policy_api::schema),
        )
        .configure(badge::routes)
        .configure(api::routes)
        .configure(dashboard::routes);
}
