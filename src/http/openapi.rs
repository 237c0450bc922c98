//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 description of the JSON API, for clients and
//! API testers. Public: it describes, it reveals nothing.

use actix_web::HttpResponse;
use serde_json::{json, Value};

fn list_params(extra: &[(&str, &str)]) -> Value {
    let mut params = vec![
        json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
        json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}),
    ];
    for (name, what) in extra {
        params.push(
            json!({"name": name, "in": "query", "description": what, "schema": {"type": "string"}}),
        );
    }
    Value::Array(params)
}

fn id_param(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": what, "schema": {"type": "string"}})
}

fn list_answer(item: &str) -> Value {
    json!({"200": {"description": format!("a page of {item}"), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/List"}}}},
           "401": {"$ref": "#/components/responses/Unauthorized"}})
}

fn one(description: &str) -> Value {
    json!({"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}},
           "401": {"$ref": "#/components/responses/Unauthorized"},
           "404": {"$ref": "#/components/responses/Error"}})
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "backline", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Self-hosted GitLab security-remediation bot. Every list answers {total, page, per_page, items}; every error {error}."},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/projects": {"get": {"summary": "The catalog", "parameters": list_params(&[]), "responses": list_answer("projects")}},
            "/api/v1/projects/{id}": {"get": {"summary": "One project (id or URL-encoded path)", "parameters": [id_param("project id or path")], "responses": one("the project")}},
            "/api/v1/projects/{id}/findings": {"get": {"summary": "A project's findings", "parameters": [id_param("project id or path"), {"name": "page", "in": "query", "schema": {"type": "integer"}}, {"name": "per_page", "in": "query", "schema": {"type": "integer"}}], "responses": list_answer("findings")}},
            "/api/v1/projects/{id}/manifests": {"get": {"summary": "A project's manifests and parse errors", "parameters": [id_param("project id or path")], "responses": list_answer("manifests")}},
            "/api/v1/projects/{id}/policy": {"get": {"summary": "The project's effective policy (.gitlab/backline.yml over the instance settings) with the source of each value, the file read and the newest file's problem (with its line)", "parameters": [id_param("project id")], "responses": one("the policy")}},
            "/api/v1/policy-schema.json": {"get": {"summary": "The JSON Schema of the policy file .gitlab/backline.yml (no token needed)", "security": [], "responses": {"200": {"description": "the schema"}}}},
            "/api/v1/projects/{id}/outdated": {"get": {"summary": "Direct dependencies behind their latest release", "parameters": [id_param("project id or path")], "responses": list_answer("outdated dependencies")}},
            "/api/v1/projects/{id}/unchecked": {"get": {"summary": "Dependencies not checked against advisories (git, path, URL or other-registry sources; unpinned requirements), with the reason", "parameters": [id_param("project id or path")], "responses": list_answer("unchecked dependencies")}},
            "/api/v1/remediations": {"get": {"summary": "Remediations", "parameters": list_params(&[("project", "project id"), ("state", "planned, mr_open, merged, fixed, dismissed, obsolete, not_fixable"), ("severity", "critical, high, medium, low, unknown")]), "responses": list_answer("remediations")}},
            "/api/v1/remediations/{id}": {"get": {"summary": "One remediation with its history", "parameters": [id_param("remediation id")], "responses": one("the remediation")}},
            "/api/v1/remediations/{id}/approve": {"post": {"summary": "Queue an approval (a durable action run in the project's lane; the MR opens there)", "parameters": [id_param("remediation id")], "responses": {"202": {"description": "queued: status, delivery (the entry id), remediation"}, "404": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/remediations/{id}/ignore": {"post": {"summary": "Queue ignoring the fix, an advisory or a version (closes the MR when nothing remains)", "parameters": [id_param("remediation id"), {"name": "wait", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"what": {"type": "string"}}}}}},
                "responses": {"202": {"description": "queued: status, delivery (the entry id)"}, "200": {"description": "the outcome and the remediation (wait=true)"}, "404": {"$ref": "#/components/responses/Error"}, "502": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/advisories": {"get": {"summary": "The advisory index in use and the last sync", "responses": one("index counts and the last sync")}},
            "/api/v1/advisories/sync": {"post": {"summary": "Queue an advisory sync from OSV, then a recheck of every project", "parameters": [{"name": "wait", "in": "query", "schema": {"type": "boolean"}}], "responses": {"202": {"description": "queued: status, delivery (the entry id)"}, "200": {"description": "done (wait=true)"}, "502": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/summary": {"get": {"summary": "Figures: open by severity, SLA breaches, time to fix, fixes and open vulnerabilities per week", "responses": one("the summary")}},
            "/api/v1/deliveries": {"get": {"summary": "Webhook deliveries, newest first", "parameters": list_params(&[("state", "queued, processing, failed, done, dead")]), "responses": list_answer("deliveries")}},
            "/api/v1/deliveries/{id}": {"get": {"summary": "One delivery", "parameters": [id_param("delivery id")], "responses": one("the delivery")}},
            "/api/v1/dead-letters": {"get": {"summary": "Deliveries given up on", "parameters": list_params(&[]), "responses": list_answer("dead letters")}},
            "/api/v1/dead-letters/{id}/retry": {"post": {"summary": "Queue a dead letter again", "parameters": [id_param("delivery id")], "responses": {"202": {"description": "queued"}, "404": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/inbox": {"get": {"summary": "The inbox at a glance", "parameters": [{"name": "wait_idle_secs", "in": "query", "schema": {"type": "integer", "maximum": 300}}], "responses": one("depth, running, dead letters")}},
            "/api/v1/sync": {
                "get": {"summary": "Where catalog syncs stand", "parameters": [{"name": "wait_secs", "in": "query", "schema": {"type": "integer", "maximum": 300}}], "responses": one("running, last, last_error")},
                "post": {"summary": "Queue a catalog sync", "responses": {"202": {"description": "queued: started, status, delivery (the entry id)"}, "409": {"$ref": "#/components/responses/Error"}}}
            },
            "/webhooks/gitlab": {"post": {"summary": "GitLab webhook intake (X-Gitlab-Token or Standard Webhooks signature)", "security": [],
                "responses": {"202": {"description": "accepted"}, "200": {"description": "duplicate or ignored"}, "400": {"description": "not JSON"}, "401": {"description": "verification failed (the token is checked on the headers, before the body)"}, "408": {"description": "the body did not arrive in time"}, "413": {"description": "too large"}, "503": {"description": "too many unverified bodies at once, or the inbox is full; retry later"}}}},
            "/webhooks/gitlab/projects/{id}": {"post": {"summary": "A managed project hook's intake: X-Gitlab-Token must be this project's derived secret, and the event about this project", "security": [],
                "parameters": [id_param("project id")],
                "responses": {"202": {"description": "accepted"}, "200": {"description": "duplicate or ignored"}, "400": {"description": "not JSON"}, "401": {"description": "verification failed, or the event is about another project"}, "408": {"description": "the body did not arrive in time"}, "413": {"description": "too large"}, "503": {"description": "too many unverified bodies at once, or the inbox is full; retry later"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "BACKLINE_ADMIN_TOKEN"}},
            "schemas": {
                "List": {"type": "object", "required": ["total", "page", "per_page", "items"],
                         "properties": {"total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
            },
            "responses": {
                "Unauthorized": {"description": "missing or invalid bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Error": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}

/// Serves the document.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_an_operation_with_responses() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15);
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                assert!(op["responses"].is_object(), "{method} {path}");
                assert!(op["summary"].is_string(), "{method} {path}");
            }
        }
    }
}
