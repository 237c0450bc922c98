//! The validator reads GitLab's schemas the way GitLab's `json-schema` gem does, and rejects
//! what they forbid.

use serde_json::json;

use super::validator::{Relax, Schemas};
use super::{relax, schemas};

fn hook() -> serde_json::Value {
    json!({
        "id": 1, "url": "http://h.example/x", "created_at": "2026-01-01T00:00:00.000Z",
        "push_events": true, "push_events_branch_filter": null, "tag_push_events": false,
        "merge_requests_events": true, "repository_update_events": false,
        "enable_ssl_verification": true, "project_id": 2, "issues_events": false,
        "confidential_issues_events": false, "note_events": true,
        "confidential_note_events": true, "pipeline_events": false, "wiki_page_events": false,
        "job_events": false, "deployment_events": false, "releases_events": false,
        "alert_status": "executable", "disabled_until": null, "emoji_events": false,
        "custom_webhook_template": null,
    })
}

#[test]
fn a_complete_hook_passes_and_each_fault_is_named() {
    let s = schemas();
    let schema = "public_api/v4/project_hook.json";
    assert_eq!(
        s.validate(schema, &hook(), &Relax::default()),
        Vec::<String>::new()
    );

    let mut missing = hook();
    missing.as_object_mut().unwrap().remove("alert_status");
    let e = s.validate(schema, &missing, &Relax::default());
    assert!(
        e.len() == 1 && e[0].contains("\"alert_status\" is missing"),
        "{e:?}"
    );

    let mut wrong = hook();
    wrong["alert_status"] = json!("sleeping");
    wrong["note_events"] = json!("yes");
    wrong["created_at"] = json!("yesterday");
    let e = s.validate(schema, &wrong, &Relax::default());
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e.iter().any(|l| l.starts_with("/alert_status")), "{e:?}");
    assert!(e.iter().any(|l| l.starts_with("/note_events")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("RFC 3339")), "{e:?}");

    let mut extra = hook();
    extra["token"] = json!("t0p");
    let e = s.validate(schema, &extra, &relax::project_hooks());
    assert!(e.len() == 1 && e[0].starts_with("/token"), "{e:?}");
}

#[test]
fn relative_refs_and_fragments_resolve() {
    let s = schemas();
    // project_hooks.json → ./project_hook.json; a bad item is reported at its index.
    let mut bad = hook();
    bad["id"] = json!("one");
    let e = s.validate(
        "public_api/v4/project_hooks.json",
        &json!([hook(), bad]),
        &Relax::default(),
    );
    assert!(e.len() == 1 && e[0].starts_with("/1/id"), "{e:?}");
    // commit/detail.json → basic.json and ../pipeline/basic.json (through oneOf).
    let commit = json!({
        "id": "a", "short_id": "a", "title": "t", "created_at": "2026-01-01T00:00:00Z",
        "parent_ids": [], "message": "t", "author_name": "n", "author_email": "e",
        "authored_date": "2026-01-01T00:00:00Z", "committer_name": "n", "committer_email": "e",
        "committed_date": "2026-01-01T00:00:00Z", "web_url": "http://x/c",
        "status": null, "project_id": 1, "last_pipeline": {"id": 1, "sha": "a", "ref": "main"},
    });
    let e = s.validate(
        "public_api/v4/commit/detail.json",
        &commit,
        &Relax::default(),
    );
    assert!(e.iter().any(|l| l.contains("oneOf")), "{e:?}");
    // A fragment picks one item of a list schema.
    let e = s.validate(
        "public_api/v4/members.json#/items",
        &json!({"id": 1}),
        &Relax::default(),
    );
    assert!(
        e.iter().any(|l| l.contains("\"access_level\" is missing")),
        "{e:?}"
    );
}

#[test]
fn type_names_the_gem_does_not_know_match_anything() {
    // `projects.json` types `created_at` as "date" and merge_requests.json the author's
    // `web_url` as "uri": GitLab's gem accepts any value there, so must we.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.json"),
        r#"{"type": "object", "properties": {"a": {"type": "date"}, "b": {"type": ["date", "null"]},
            "c": {"type": "string "}}}"#,
    )
    .unwrap();
    let s = Schemas::new(dir.path());
    let v = json!({"a": 1, "b": [], "c": {}});
    assert_eq!(
        s.validate("s.json", &v, &Relax::default()),
        Vec::<String>::new()
    );
}
