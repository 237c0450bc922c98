//! The verdicts on what GitLab, registries and the store answered.

use time::macros::datetime;

use super::*;

#[test]
fn certificate_errors_name_the_ca_file_as_the_fix() {
    let refused = reachability_verdict(
        "npm registry",
        "https://npm.internal/",
        Err("error sending request: client error (Connect): invalid peer certificate: UnknownIssuer".into()),
    );
    assert_eq!(refused.status, Status::Fail);
    assert!(
        refused
            .detail
            .contains("certificate of https://npm.internal/"),
        "{refused:?}"
    );
    assert!(refused.fix.as_deref().unwrap().contains("BACKLINE_CA_FILE"));
    let down = reachability_verdict(
        "PyPI",
        "https://pypi.internal/",
        Err("connection refused".into()),
    );
    assert_eq!(down.status, Status::Fail);
    assert!(!down.fix.as_deref().unwrap().contains("BACKLINE_CA_FILE"));
    assert_eq!(
        reachability_verdict("PyPI", "https://p/", Ok(404)).status,
        Status::Pass
    );
    assert_eq!(
        reachability_verdict("PyPI", "https://p/", Ok(503)).status,
        Status::Warn
    );
}

#[test]
fn a_gitlab_behind_another_name_is_a_warning_not_a_failure() {
    let root = reqwest::Url::parse("http://gitlab-svc:8080/api/v4/").unwrap();
    let header = "<https://gitlab.example.com/api/v4/projects?page=2&per_page=1>; rel=\"next\", <https://gitlab.example.com/api/v4/projects?page=1&per_page=1>; rel=\"first\"";
    let check = external_url_verdict(&root, Some(header));
    assert_eq!(check.status, Status::Warn, "{check:?}");
    assert!(
        check.detail.contains("https://gitlab.example.com"),
        "{check:?}"
    );
    let same = "<http://gitlab-svc:8080/api/v4/projects?page=2>; rel=\"next\"";
    assert_eq!(external_url_verdict(&root, Some(same)).status, Status::Pass);
    assert_eq!(external_url_verdict(&root, None).status, Status::Skip);
}

#[test]
fn signing_needs_gitlab_19() {
    assert_eq!(version_verdict("19.6.0-ee", true).status, Status::Pass);
    let old = version_verdict("17.11.2", true);
    assert_eq!(old.status, Status::Warn);
    assert!(old.detail.contains("not available"), "{old:?}");
    assert_eq!(version_verdict("17.11.2", false).status, Status::Pass);
}

#[test]
fn an_empty_index_fails_and_an_old_one_warns() {
    let now = datetime!(2026-12-01 12:00 UTC);
    assert_eq!(index_verdict(0, None, now).status, Status::Fail);
    let old = index_verdict(1200, Some("2026-08-21T00:00:00Z"), now);
    assert_eq!(old.status, Status::Warn, "{old:?}");
    assert!(old.detail.contains("102 days ago"), "{old:?}");
    assert_eq!(
        index_verdict(1200, Some("2026-11-30T00:00:00Z"), now).status,
        Status::Pass
    );
}

#[test]
fn hooks_gitlab_disabled_are_named_with_their_state() {
    let ok =
        serde_json::json!({"url": "https://bot/webhooks/gitlab", "alert_status": "executable"});
    assert_eq!(hook_alert(&ok), None);
    let old_gitlab = serde_json::json!({"url": "https://bot/webhooks/gitlab"});
    assert_eq!(hook_alert(&old_gitlab), None);
    let off = serde_json::json!({"alert_status": "temporarily_disabled", "disabled_until": "2026-12-02T10:00:00Z"});
    assert_eq!(
        hook_alert(&off).as_deref(),
        Some("temporarily_disabled until 2026-12-02T10:00:00Z")
    );
}

#[test]
fn role_is_the_higher_of_project_and_group_access() {
    let p = serde_json::json!({"permissions": {"project_access": {"access_level": 20}, "group_access": {"access_level": 40}}});
    assert_eq!(role_level(&p), 40);
    let none = serde_json::json!({"permissions": {"project_access": null, "group_access": null}});
    assert_eq!(role_level(&none), 0);
}
