//! System-hook payloads for projects, team members and repository updates. (System `push`,
//! `tag_push` and `merge_request` use the project-hook models.)

use serde::{Deserialize, Serialize};

use super::common::{HookProject, Visibility};
use super::string_enum::string_enum;
use super::time::GitlabTime;
use crate::gitlab::{ProjectId, UserId};

/// A project owner as system hooks list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// `project_create`, `project_destroy`, `project_rename`, `project_transfer`, `project_update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectLifecycleEvent {
    /// Which of the five.
    pub event_name: String,
    /// Created.
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    /// Name.
    pub name: String,
    /// Path (last segment).
    pub path: String,
    /// Full path now.
    pub path_with_namespace: String,
    /// The project.
    pub project_id: ProjectId,
    /// Its namespace.
    #[serde(default)]
    pub project_namespace_id: Option<u64>,
    /// Owner name.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// Owner email.
    #[serde(default)]
    pub owner_email: Option<String>,
    /// Owners.
    #[serde(default)]
    pub owners: Vec<Owner>,
    /// Visibility.
    pub project_visibility: Visibility,
    /// Full path before a rename or transfer.
    #[serde(default)]
    pub old_path_with_namespace: Option<String>,
}

string_enum!(
    /// A member's role, as system hooks spell it.
    AccessLevel {
        /// Guest.
        Guest = "Guest",
        /// Planner.
        Planner = "Planner",
        /// Reporter.
        Reporter = "Reporter",
        /// Developer.
        Developer = "Developer",
        /// Maintainer.
        Maintainer = "Maintainer",
        /// Owner.
        Owner = "Owner",
    }
);

impl AccessLevel {
    /// Whether the role may push and open merge requests (what the bot needs).
    pub fn at_least_developer(&self) -> bool {
        matches!(
            self,
            AccessLevel::Developer | AccessLevel::Maintainer | AccessLevel::Owner
        )
    }
}

/// `user_add_to_team`, `user_remove_from_team`, `user_update_for_team`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMemberEvent {
    /// Which of the three.
    pub event_name: String,
    /// Created.
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    /// The member's role.
    pub access_level: AccessLevel,
    /// The project.
    pub project_id: ProjectId,
    /// Project name.
    #[serde(default)]
    pub project_name: Option<String>,
    /// Project path.
    #[serde(default)]
    pub project_path: Option<String>,
    /// Project full path.
    pub project_path_with_namespace: String,
    /// The member.
    pub user_id: UserId,
    /// Their login.
    pub user_username: String,
    /// Their name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Their email.
    #[serde(default)]
    pub user_email: Option<String>,
    /// Project visibility.
    #[serde(default)]
    pub project_visibility: Option<Visibility>,
}

/// One ref moved by a repository update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefChange {
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
    /// The ref.
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// `repository_update`: refs moved (one event per push, listing every ref).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryUpdateEvent {
    /// `repository_update`.
    pub event_name: String,
    /// Who pushed.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// Their name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Their email.
    #[serde(default)]
    pub user_email: Option<String>,
    /// The project.
    pub project_id: ProjectId,
    /// The project's details.
    pub project: HookProject,
    /// The moved refs.
    #[serde(default)]
    pub changes: Vec<RefChange>,
    /// Ref names.
    #[serde(default)]
    pub refs: Vec<String>,
}
