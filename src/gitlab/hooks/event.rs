//! The typed event: one variant per [`EventKind`], parsed from the raw body by kind, with errors
//! that name the JSON path of the problem.

use serde::de::DeserializeOwned;

use super::kind::EventKind;
use super::merge_request::MergeRequestEvent;
use super::note::NoteEvent;
use super::pipeline::PipelineEvent;
use super::push::PushEvent;
use super::system::{ProjectLifecycleEvent, RepositoryUpdateEvent, TeamMemberEvent};
use crate::gitlab::ProjectId;

/// A parsed webhook payload.
#[derive(Debug, Clone, PartialEq)]
pub enum HookEvent {
    /// `Push Hook`.
    Push(PushEvent),
    /// `Tag Push Hook`.
    TagPush(PushEvent),
    /// `Merge Request Hook`.
    MergeRequest(MergeRequestEvent),
    /// `Note Hook`.
    Note(NoteEvent),
    /// `Pipeline Hook`.
    Pipeline(PipelineEvent),
    /// System `push`.
    SystemPush(PushEvent),
    /// System `tag_push`.
    SystemTagPush(PushEvent),
    /// System `merge_request`.
    SystemMergeRequest(MergeRequestEvent),
    /// System `repository_update`.
    RepositoryUpdate(RepositoryUpdateEvent),
    /// System `project_create`.
    ProjectCreate(ProjectLifecycleEvent),
    /// System `project_destroy`.
    ProjectDestroy(ProjectLifecycleEvent),
    /// System `project_rename`.
    ProjectRename(ProjectLifecycleEvent),
    /// System `project_transfer`.
    ProjectTransfer(ProjectLifecycleEvent),
    /// System `project_update`.
    ProjectUpdate(ProjectLifecycleEvent),
    /// System `user_add_to_team`.
    UserAddToTeam(TeamMemberEvent),
    /// System `user_remove_from_team`.
    UserRemoveFromTeam(TeamMemberEvent),
    /// System `user_update_for_team`.
    UserUpdateForTeam(TeamMemberEvent),
}

/// A payload that does not fit its model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse {kind} payload at {path}: {message}")]
pub struct HookParseError {
    /// The kind it was classified as.
    pub kind: EventKind,
    /// JSON path of the problem (`.` for the whole body).
    pub path: String,
    /// What was wrong.
    pub message: String,
}

fn typed<T: DeserializeOwned>(kind: EventKind, body: &[u8]) -> Result<T, HookParseError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| HookParseError {
        kind,
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| HookParseError {
        kind,
        path: ".".to_string(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Parses a body as the given kind.
pub fn parse(kind: EventKind, body: &[u8]) -> Result<HookEvent, HookParseError> {
    use EventKind as K;
    use HookEvent as E;
    Ok(match kind {
        K::Push => E::Push(typed(kind, body)?),
        K::TagPush => E::TagPush(typed(kind, body)?),
        K::MergeRequest => E::MergeRequest(typed(kind, body)?),
        K::Note => E::Note(typed(kind, body)?),
        K::Pipeline => E::Pipeline(typed(kind, body)?),
        K::SystemPush => E::SystemPush(typed(kind, body)?),
        K::SystemTagPush => E::SystemTagPush(typed(kind, body)?),
        K::SystemMergeRequest => E::SystemMergeRequest(typed(kind, body)?),
        K::RepositoryUpdate => E::RepositoryUpdate(typed(kind, body)?),
        K::ProjectCreate => E::ProjectCreate(typed(kind, body)?),
        K::ProjectDestroy => E::ProjectDestroy(typed(kind, body)?),
        K::ProjectRename => E::ProjectRename(typed(kind, body)?),
        K::ProjectTransfer => E::ProjectTransfer(typed(kind, body)?),
        K::ProjectUpdate => E::ProjectUpdate(typed(kind, body)?),
        K::UserAddToTeam => E::UserAddToTeam(typed(kind, body)?),
        K::UserRemoveFromTeam => E::UserRemoveFromTeam(typed(kind, body)?),
        K::UserUpdateForTeam => E::UserUpdateForTeam(typed(kind, body)?),
        K::Action => {
            return Err(HookParseError {
                kind,
                path: ".".to_string(),
                message: "an action is not a GitLab event".to_string(),
            })
        }
    })
}

impl HookEvent {
    /// The event kind.
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        use HookEvent as E;
        match self {
            E::Push(_) => K::Push,
            E::TagPush(_) => K::TagPush,
            E::MergeRequest(_) => K::MergeRequest,
            E::Note(_) => K::Note,
            E::Pipeline(_) => K::Pipeline,
            E::SystemPush(_) => K::SystemPush,
            E::SystemTagPush(_) => K::SystemTagPush,
            E::SystemMergeRequest(_) => K::SystemMergeRequest,
            E::RepositoryUpdate(_) => K::RepositoryUpdate,
            E::ProjectCreate(_) => K::ProjectCreate,
            E::ProjectDestroy(_) => K::ProjectDestroy,
            E::ProjectRename(_) => K::ProjectRename,
            E::ProjectTransfer(_) => K::ProjectTransfer,
            E::ProjectUpdate(_) => K::ProjectUpdate,
            E::UserAddToTeam(_) => K::UserAddToTeam,
            E::UserRemoveFromTeam(_) => K::UserRemoveFromTeam,
            E::UserUpdateForTeam(_) => K::UserUpdateForTeam,
        }
    }

    /// The project the event concerns.
    pub fn project_id(&self) -> Option<ProjectId> {
        use HookEvent as E;
        match self {
            E::Push(p) | E::TagPush(p) | E::SystemPush(p) | E::SystemTagPush(p) => {
                Some(p.project_id)
            }
            E::MergeRequest(m) | E::SystemMergeRequest(m) => m.project_id(),
            E::Note(n) => n.project_id(),
            E::Pipeline(p) => p.project.id,
            E::RepositoryUpdate(r) => Some(r.project_id),
            E::ProjectCreate(p)
            | E::ProjectDestroy(p)
            | E::ProjectRename(p)
            | E::ProjectTransfer(p)
            | E::ProjectUpdate(p) => Some(p.project_id),
            E::UserAddToTeam(t) | E::UserRemoveFromTeam(t) | E::UserUpdateForTeam(t) => {
                Some(t.project_id)
            }
        }
    }
}
