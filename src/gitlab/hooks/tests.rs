//! Every example payload and every GitLab reference payload parses and classifies.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::*;
use crate::gitlab::{MrIid, ProjectId};

#[derive(Deserialize)]
struct Example {
    file: String,
    event: String,
    kind: EventKind,
    accepted: bool,
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webhooks")
}

fn manifest() -> Vec<Example> {
    let text = std::fs::read_to_string(examples_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn example(file: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(file)).unwrap()
}

#[test]
fn every_example_classifies_decides_and_parses() {
    for ex in manifest() {
        let body = example(&ex.file);
        let c = classify(&ex.event, &body).unwrap_or_else(|e| panic!("{}: {e}", ex.file));
        assert_eq!(c.kind, ex.kind, "{}", ex.file);
        assert_eq!(decide(&c) == Decision::Accept, ex.accepted, "{}", ex.file);
        let event = parse(ex.kind, &body).unwrap_or_else(|e| panic!("{}: {e}", ex.file));
        assert_eq!(event.kind(), ex.kind);
        assert!(event.project_id().is_some(), "{} names no project", ex.file);
        assert_eq!(event.project_id(), c.project, "{}", ex.file);
    }
}

#[test]
fn the_manifest_covers_every_kind_and_every_file() {
    let m = manifest();
    for kind in EventKind::ALL {
        assert!(m.iter().any(|e| e.kind == kind), "no example for {kind}");
    }
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "README.md" || name == "manifest.json" {
            continue;
        }
        assert!(
            m.iter().any(|e| e.file == name),
            "{name} is not in manifest.json"
        );
    }
}

#[test]
fn reference_payloads_parse() {
    // tests/data/gitlab-webhooks: GitLab's documented payloads, by header (headers.md).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gitlab-webhooks");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".json") || name == "signature-test-vectors.json" {
            continue;
        }
        let header = match name.as_str() {
            n if n.starts_with("system-") => "System Hook",
            n if n.starts_with("project-push") => "Push Hook",
            n if n.starts_with("project-tag-push") => "Tag Push Hook",
            n if n.starts_with("project-note") => "Note Hook",
            n if n.starts_with("project-merge-request") => "Merge Request Hook",
            n if n.starts_with("project-pipeline") => "Pipeline Hook",
            other => panic!("unexpected reference file {other}"),
        };
        let body = std::fs::read(&path).unwrap();
        let c = classify(header, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
        parse(c.kind, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
        parsed += 1;
    }
    assert_eq!(parsed, 24);
}

#[test]
fn push_details() {
    let HookEvent::Push(p) = parse(EventKind::Push, &example("push.json")).unwrap() else {
        panic!()
    };
    assert_eq!(p.branch(), Some("master"));
    assert!(p.is_truncated(), "4 commits, 2 listed");
    assert!(!p.is_tag() && !p.is_deletion() && !p.is_creation());
    let paths: Vec<&str> = p.touched_paths().into_iter().collect();
    assert_eq!(paths, vec!["CHANGELOG", "app/controller/application.rb"]);
    let HookEvent::SystemPush(s) =
        parse(EventKind::SystemPush, &example("system-push.json")).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.project_id, ProjectId(15));
    assert_eq!(
        s.project.id, None,
        "the docs' system push has no project.id"
    );
}

#[test]
fn merge_request_details_including_partial_updates() {
    let HookEvent::MergeRequest(m) = parse(
        EventKind::MergeRequest,
        &example("merge-request-update.json"),
    )
    .unwrap() else {
        panic!()
    };
    let a = &m.object_attributes;
    assert_eq!(a.action, merge_request::MergeRequestAction::Update);
    assert_eq!(a.iid, Some(MrIid(16)));
    assert_eq!(
        a.oldrev.as_deref(),
        Some("e59094b8de0f2f91abbe4760a52d9137260252d8")
    );
    assert_eq!(m.project_id(), Some(ProjectId(2)));

    let HookEvent::SystemMergeRequest(s) = parse(
        EventKind::SystemMergeRequest,
        &example("system-merge-request.json"),
    )
    .unwrap() else {
        panic!()
    };
    let labels = s.changes.labels.unwrap().current.unwrap();
    assert_eq!(labels[0].title, "Platform");

    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gitlab-webhooks");
    for (file, action) in [
        ("project-merge-request-update-oldrev-partial.json", "update"),
        ("project-merge-request-update-system-partial.json", "update"),
        (
            "project-merge-request-update-rerequest-review-partial.json",
            "update",
        ),
    ] {
        let body = std::fs::read(reference.join(file)).unwrap();
        let HookEvent::MergeRequest(m) = parse(EventKind::MergeRequest, &body).unwrap() else {
            panic!()
        };
        assert_eq!(m.object_attributes.action.as_str(), action);
        assert_eq!(m.project_id(), None);
    }
}

#[test]
fn unknown_enum_values_are_kept_not_refused() {
    let body = br#"{"object_kind":"merge_request","object_attributes":{"action":"teleport","state":"sleeping"}}"#;
    let HookEvent::MergeRequest(m) = parse(EventKind::MergeRequest, body).unwrap() else {
        panic!()
    };
    assert_eq!(
        m.object_attributes.action,
        merge_request::MergeRequestAction::Other("teleport".into())
    );
}

#[test]
fn notes_and_team_members() {
    let HookEvent::Note(n) = parse(EventKind::Note, &example("note-merge-request.json")).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        n.object_attributes.noteable_type,
        note::NoteableType::MergeRequest
    );
    assert_eq!(n.merge_request.unwrap().iid, MrIid(1));
    assert_eq!(n.user.username, "root");
    let HookEvent::UserAddToTeam(t) = parse(
        EventKind::UserAddToTeam,
        &example("system-user-add-to-team.json"),
    )
    .unwrap() else {
        panic!()
    };
    assert!(t.access_level.at_least_developer());
    assert_eq!(t.user_username, "johnsmith");
    let HookEvent::ProjectRename(r) = parse(
        EventKind::ProjectRename,
        &example("system-project-rename.json"),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        r.old_path_with_namespace.as_deref(),
        Some("jsmith/overscore")
    );
    assert_eq!(r.project_visibility, common::Visibility::Internal);
}

#[test]
fn wrong_values_are_errors_naming_their_path() {
    let mut v: serde_json::Value = serde_json::from_slice(&example("push.json")).unwrap();
    v["project_id"] = "abc".into();
    let err = parse(EventKind::Push, &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(err.path, "project_id", "{err}");
    assert!(err
        .to_string()
        .starts_with("could not parse push payload at project_id"));

    let mut v: serde_json::Value = serde_json::from_slice(&example("push.json")).unwrap();
    v["commits"][1]["timestamp"] = "last tuesday".into();
    let err = parse(EventKind::Push, &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(err.path, "commits[1].timestamp", "{err}");

    let mut v: serde_json::Value =
        serde_json::from_slice(&example("note-merge-request.json")).unwrap();
    v["merge_request"]["iid"] = "1".into();
    let err = parse(EventKind::Note, &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(err.path, "merge_request.iid", "{err}");

    let err = parse(
        EventKind::ProjectCreate,
        br#"{"event_name":"project_create"}"#,
    )
    .unwrap_err();
    assert!(err.message.contains("missing field"), "{err}");
}
