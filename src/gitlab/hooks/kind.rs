//! Classification of a delivery: which kind of event it is, which project it concerns, and whether
//! the bot acts on it. Pure: header value and raw body in, decision out.
//!
//! Classification reads only a handful of fields (a "peek"), so that it stays cheap on the intake
//! path; the full typed parse ([`super::parse`]) happens in the worker.

use std::fmt;

use serde::{de::IgnoredAny, Deserialize, Deserializer, Serialize};

use crate::gitlab::ProjectId;

/// Every GitLab event kind backline models. Project hooks and system hooks are kept apart, since
/// their payloads differ even where the name is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `Push Hook`: a push to a branch.
    Push,
    /// `Tag Push Hook`.
    TagPush,
    /// `Merge Request Hook`, every action.
    MergeRequest,
    /// `Note Hook` (and `Confidential Note Hook`): a comment.
    Note,
    /// `Pipeline Hook`.
    Pipeline,
    /// System hook `push`.
    SystemPush,
    /// System hook `tag_push`.
    SystemTagPush,
    /// System hook `merge_request`.
    SystemMergeRequest,
    /// System hook `repository_update`.
    RepositoryUpdate,
    /// System hook `project_create`.
    ProjectCreate,
    /// System hook `project_destroy`.
    ProjectDestroy,
    /// System hook `project_rename`.
    ProjectRename,
    /// System hook `project_transfer`.
    ProjectTransfer,
    /// System hook `project_update`.
    ProjectUpdate,
    /// System hook `user_add_to_team`.
    UserAddToTeam,
    /// System hook `user_remove_from_team`.
    UserRemoveFromTeam,
    /// System hook `user_update_for_team`.
    UserUpdateForTeam,
    /// Not a GitLab event: an action asked for through the API or the dashboard, queued in the
    /// inbox beside the deliveries (`crate::engine::action`). Never classified from a webhook.
    Action,
}

impl EventKind {
    /// Every GitLab event kind (not [`EventKind::Action`]), for metrics and tests.
    pub const ALL: [EventKind; 17] = [
        EventKind::Push,
        EventKind::TagPush,
        EventKind::MergeRequest,
        EventKind::Note,
        EventKind::Pipeline,
        EventKind::SystemPush,
        EventKind::SystemTagPush,
        EventKind::SystemMergeRequest,
        EventKind::RepositoryUpdate,
        EventKind::ProjectCreate,
        EventKind::ProjectDestroy,
        EventKind::ProjectRename,
        EventKind::ProjectTransfer,
        EventKind::ProjectUpdate,
        EventKind::UserAddToTeam,
        EventKind::UserRemoveFromTeam,
        EventKind::UserUpdateForTeam,
    ];

    /// The stable snake_case name used in the store, the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::TagPush => "tag_push",
            EventKind::MergeRequest => "merge_request",
            EventKind::Note => "note",
            EventKind::Pipeline => "pipeline",
            EventKind::SystemPush => "system_push",
            EventKind::SystemTagPush => "system_tag_push",
            EventKind::SystemMergeRequest => "system_merge_request",
            EventKind::RepositoryUpdate => "repository_update",
            EventKind::ProjectCreate => "project_create",
            EventKind::ProjectDestroy => "project_destroy",
            EventKind::ProjectRename => "project_rename",
            EventKind::ProjectTransfer => "project_transfer",
            EventKind::ProjectUpdate => "project_update",
            EventKind::UserAddToTeam => "user_add_to_team",
            EventKind::UserRemoveFromTeam => "user_remove_from_team",
            EventKind::UserUpdateForTeam => "user_update_for_team",
            EventKind::Action => "action",
        }
    }

    /// Whether this kind arrives through a system hook.
    pub fn is_system(self) -> bool {
        !matches!(
            self,
            EventKind::Push
                | EventKind::TagPush
                | EventKind::MergeRequest
                | EventKind::Note
                | EventKind::Pipeline
                | EventKind::Action
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What classification learned about a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The event kind.
    pub kind: EventKind,
    /// The project the event concerns, when the payload names one.
    pub project: Option<ProjectId>,
    /// For notes: `object_attributes.noteable_type` (`MergeRequest`, `Issue`, `Commit`, `Snippet`).
    pub noteable_type: Option<String>,
    /// For pushes: the ref pushed (`refs/heads/main`); for pipelines, the branch.
    pub git_ref: Option<String>,
}

/// Whether the bot acts on a classified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Persist it in the inbox for the workers.
    Accept,
    /// Answer 200 "ignored" with this reason; nothing is stored.
    Ignore(String),
}

/// Why a body could not be classified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClassifyError {
    /// The body is not a JSON object (answer 400).
    #[error("body is not a JSON object: {0}")]
    NotJson(String),
    /// A well-formed delivery of a kind backline does not model (answer 200 "ignored").
    #[error("{0}")]
    Unrecognized(String),
}

/// The few fields classification needs; everything else is skipped without being stored.
///
/// Every field is lenient (a value of the wrong type counts as absent): classification must not
/// refuse a delivery that the typed parse would, so that such a delivery reaches the dead letters
/// with the path of its problem instead of being lost to a 400.
#[derive(Deserialize)]
struct Peek {
    #[serde(default, deserialize_with = "lenient_string")]
    object_kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    project_id: Option<u64>,
    #[serde(default)]
    project: Option<PeekProject>,
    #[serde(default)]
    object_attributes: Option<PeekAttributes>,
    #[serde(default, rename = "ref", deserialize_with = "lenient_string")]
    git_ref: Option<String>,
}

#[derive(Deserialize)]
struct PeekProject {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<u64>,
}

#[derive(Deserialize)]
struct PeekAttributes {
    #[serde(default, deserialize_with = "lenient_string")]
    noteable_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    target_project_id: Option<u64>,
    /// A pipeline's ref.
    #[serde(default, rename = "ref", deserialize_with = "lenient_string")]
    git_ref: Option<String>,
}

/// An id given as a number or a numeric string; anything else (null, objects) counts as absent.
fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
        Other(IgnoredAny),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Number(n) => Some(n),
        Raw::Text(s) => s.trim().parse().ok(),
        Raw::Other(_) => None,
    })
}

/// A string; anything else counts as absent.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Other(IgnoredAny),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(s) => Some(s),
        Raw::Other(_) => None,
    })
}

/// Classifies a delivery from its `X-Gitlab-Event` header and raw body.
///
/// Project hooks are told apart by the header; system hooks (`System Hook`) by the body's
/// `object_kind`, then `event_name`.
pub fn classify(event_header: &str, body: &[u8]) -> Result<Classification, ClassifyError> {
    // serde would also read a struct from an array; a payload is always an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ClassifyError::NotJson("expected an object".to_string()));
    }
    let peek: Peek =
        serde_json::from_slice(body).map_err(|e| ClassifyError::NotJson(e.to_string()))?;
    let header = event_header.trim();
    let kind = match header {
        "Push Hook" => EventKind::Push,
        "Tag Push Hook" => EventKind::TagPush,
        "Merge Request Hook" => EventKind::MergeRequest,
        "Note Hook" | "Confidential Note Hook" => EventKind::Note,
        "Pipeline Hook" => EventKind::Pipeline,
        "System Hook" => system_kind(&peek)?,
        "" => {
            return Err(ClassifyError::Unrecognized(
                "no X-Gitlab-Event header".to_string(),
            ))
        }
        other => {
            return Err(ClassifyError::Unrecognized(format!(
                "{} is not handled",
                truncate(other, 64)
            )))
        }
    };
    let project = peek
        .project_id
        .or_else(|| peek.project.as_ref().and_then(|p| p.id))
        .or_else(|| {
            peek.object_attributes
                .as_ref()
                .and_then(|a| a.target_project_id)
        })
        .map(ProjectId);
    Ok(Classification {
        kind,
        project,
        git_ref: peek.git_ref.or_else(|| {
            peek.object_attributes
                .as_ref()
                .and_then(|a| a.git_ref.clone())
        }),
        noteable_type: peek.object_attributes.and_then(|a| a.noteable_type),
    })
}

fn system_kind(peek: &Peek) -> Result<EventKind, ClassifyError> {
    let by_object_kind = match peek.object_kind.as_deref() {
        Some("merge_request") => Some(EventKind::SystemMergeRequest),
        Some("push") => Some(EventKind::SystemPush),
        Some("tag_push") => Some(EventKind::SystemTagPush),
        Some("repository_update") => Some(EventKind::RepositoryUpdate),
        _ => None,
    };
    if let Some(kind) = by_object_kind {
        return Ok(kind);
    }
    let name = peek.event_name.as_deref().unwrap_or("");
    Ok(match name {
        "push" => EventKind::SystemPush,
        "tag_push" => EventKind::SystemTagPush,
        "repository_update" => EventKind::RepositoryUpdate,
        "project_create" => EventKind::ProjectCreate,
        "project_destroy" => EventKind::ProjectDestroy,
        "project_rename" => EventKind::ProjectRename,
        "project_transfer" => EventKind::ProjectTransfer,
        "project_update" => EventKind::ProjectUpdate,
        "user_add_to_team" => EventKind::UserAddToTeam,
        "user_remove_from_team" => EventKind::UserRemoveFromTeam,
        "user_update_for_team" => EventKind::UserUpdateForTeam,
        "" => {
            let what = peek.object_kind.as_deref().unwrap_or("");
            return Err(ClassifyError::Unrecognized(if what.is_empty() {
                "system hook without object_kind or event_name".to_string()
            } else {
                format!("system hook {} is not handled", truncate(what, 64))
            }));
        }
        other => {
            return Err(ClassifyError::Unrecognized(format!(
                "system hook {} is not handled",
                truncate(other, 64)
            )))
        }
    })
}

/// Decides whether a classified delivery is worth persisting.
///
/// Tag pushes and pipelines carry nothing the bot reacts to (yet); notes matter only on merge
/// requests, where commands live.
pub fn decide(classification: &Classification) -> Decision {
    match classification.kind {
        EventKind::TagPush | EventKind::SystemTagPush => {
            Decision::Ignore("tag pushes are not handled".to_string())
        }
        // Pipelines matter on the bot's branches only (their MRs' CI results).
        EventKind::Pipeline => match classification.git_ref.as_deref() {
            Some(r) if r.starts_with("backline/") => Decision::Accept,
            _ => {
                Decision::Ignore("pipelines of branches not the bot's are not handled".to_string())
            }
        },
        EventKind::Note => match classification.noteable_type.as_deref() {
            Some("MergeRequest") => Decision::Accept,
            Some(other) => {
                Decision::Ignore(format!("notes on {} are not handled", truncate(other, 32)))
            }
            None => Decision::Ignore("note without noteable_type".to_string()),
        },
        EventKind::Push | EventKind::SystemPush => match classification.git_ref.as_deref() {
            Some(r) if r.starts_with("refs/tags/") => {
                Decision::Ignore("tag pushes are not handled".to_string())
            }
            _ => Decision::Accept,
        },
        _ => Decision::Accept,
    }
}

fn truncate(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_hooks_are_classified_by_header() {
        let c = classify(
            "Push Hook",
            br#"{"object_kind":"push","project_id":15,"ref":"refs/heads/main"}"#,
        )
        .unwrap();
        assert_eq!(c.kind, EventKind::Push);
        assert_eq!(c.project, Some(ProjectId(15)));
        assert_eq!(decide(&c), Decision::Accept);
    }

    #[test]
    fn system_hooks_use_object_kind_before_event_name() {
        let c = classify(
            "System Hook",
            br#"{"object_kind":"merge_request","event_name":"push","project":{"id":"7"}}"#,
        )
        .unwrap();
        assert_eq!(c.kind, EventKind::SystemMergeRequest);
        assert_eq!(c.project, Some(ProjectId(7)));
        let c = classify(
            "System Hook",
            br#"{"event_name":"project_create","project_id":74}"#,
        )
        .unwrap();
        assert_eq!(c.kind, EventKind::ProjectCreate);
    }

    #[test]
    fn unknown_kinds_are_unrecognized_not_errors() {
        assert!(matches!(
            classify("Issue Hook", b"{}"),
            Err(ClassifyError::Unrecognized(_))
        ));
        assert!(matches!(
            classify("System Hook", br#"{"event_name":"user_create"}"#),
            Err(ClassifyError::Unrecognized(_))
        ));
    }

    #[test]
    fn non_json_and_non_objects_are_rejected() {
        assert!(matches!(
            classify("Push Hook", b"not json"),
            Err(ClassifyError::NotJson(_))
        ));
        assert!(matches!(
            classify("Push Hook", b"[1,2]"),
            Err(ClassifyError::NotJson(_))
        ));
        assert!(matches!(
            classify("Push Hook", br#"{"object_kind":"push","object_kind":"x"}"#),
            Err(ClassifyError::NotJson(_))
        ));
    }

    #[test]
    fn notes_off_merge_requests_and_tag_refs_are_ignored() {
        let c = classify(
            "Note Hook",
            br#"{"object_attributes":{"noteable_type":"Issue"},"project_id":5}"#,
        )
        .unwrap();
        assert!(matches!(decide(&c), Decision::Ignore(_)));
        let c = classify(
            "System Hook",
            br#"{"event_name":"push","ref":"refs/tags/v1"}"#,
        )
        .unwrap();
        assert!(matches!(decide(&c), Decision::Ignore(_)));
    }
}
