//! Pieces shared by several payloads: users, projects, repositories, commits, visibility.

use serde::{Deserialize, Serialize};

use super::time::GitlabTime;
use crate::gitlab::{ProjectId, UserId};

/// The acting user (`user` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookUser {
    /// User id (absent in some older payloads).
    #[serde(default)]
    pub id: Option<UserId>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Login name.
    pub username: String,
    /// Avatar URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Email (often redacted by GitLab).
    #[serde(default)]
    pub email: Option<String>,
}

/// A project as webhook payloads describe it (`project`, `source`, `target`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookProject {
    /// Project id (system push payloads omit it; `project_id` beside it carries it).
    #[serde(default)]
    pub id: Option<ProjectId>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Namespace display name.
    #[serde(default)]
    pub namespace: Option<String>,
    /// 0 private, 10 internal, 20 public.
    #[serde(default)]
    pub visibility_level: Option<u8>,
    /// `group/project`.
    pub path_with_namespace: String,
    /// Default branch; null for an empty repository.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// Custom CI config path.
    #[serde(default)]
    pub ci_config_path: Option<String>,
    /// HTTP clone URL.
    #[serde(default)]
    pub git_http_url: Option<String>,
    /// SSH clone URL.
    #[serde(default)]
    pub git_ssh_url: Option<String>,
}

impl HookProject {
    /// The visibility, from `visibility_level`.
    pub fn visibility(&self) -> Option<Visibility> {
        self.visibility_level.and_then(Visibility::from_level)
    }
}

/// The `repository` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRepository {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Clone URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Homepage.
    #[serde(default)]
    pub homepage: Option<String>,
}

/// A commit's author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// A commit in a push or an MR's `last_commit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookCommit {
    /// SHA.
    pub id: String,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// First line.
    #[serde(default)]
    pub title: Option<String>,
    /// Commit time.
    #[serde(default)]
    pub timestamp: Option<GitlabTime>,
    /// Web URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<CommitAuthor>,
    /// Paths added (push payloads).
    #[serde(default)]
    pub added: Vec<String>,
    /// Paths modified.
    #[serde(default)]
    pub modified: Vec<String>,
    /// Paths removed.
    #[serde(default)]
    pub removed: Vec<String>,
}

/// Project visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Members only.
    Private,
    /// Any signed-in user.
    Internal,
    /// Everyone.
    Public,
}

impl Visibility {
    /// From GitLab's numeric level.
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            0 => Some(Visibility::Private),
            10 => Some(Visibility::Internal),
            20 => Some(Visibility::Public),
            _ => None,
        }
    }
}
