//! Projects, their visibility and commit statuses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::events;
use crate::repo::{Commit, FileEntry, Repository};
use crate::util;

/// Project visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Members only.
    #[default]
    Private,
    /// Any signed-in user.
    Internal,
    /// Everyone.
    Public,
}

impl Visibility {
    /// `private`, `internal` or `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    /// GitLab's numeric `visibility_level` (0, 10, 20).
    pub fn level(self) -> u8 {
        match self {
            Visibility::Private => 0,
            Visibility::Internal => 10,
            Visibility::Public => 20,
        }
    }

    /// Parses `private|internal|public`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "private" => Some(Visibility::Private),
            "internal" => Some(Visibility::Internal),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// A commit status.
#[derive(Debug, Clone)]
pub struct CommitStatus {
    /// Id.
    pub id: u64,
    /// Commit.
    pub sha: String,
    /// Ref, if given.
    pub ref_name: Option<String>,
    /// `pending|running|success|failed|canceled`.
    pub status: String,
    /// Name (context).
    pub name: String,
    /// Target URL.
    pub target_url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Author.
    pub author_id: UserId,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// Description.
    pub description: String,
    /// Owning namespace.
    pub namespace_id: NamespaceId,
    /// Visibility.
    pub visibility: Visibility,
    /// Default branch.
    pub default_branch: String,
    /// Archived.
    pub archived: bool,
    /// Created (ms).
    pub created_at: i64,
    /// Last activity (ms).
    pub last_activity_at: i64,
    /// Creator.
    pub creator_id: UserId,
    /// Direct members.
    pub members: BTreeMap<UserId, u8>,
    /// Webhooks.
    pub hooks: Vec<ProjectHook>,
    /// Branches protected with `allow_force_push: false` (app/models/protected_branch.rb): a
    /// rebase of an MR from one is refused (app/services/merge_requests/rebase_service.rb).
    pub protected_no_force_push: BTreeSet<String>,
    /// Protected branches with their merge and push access levels
    /// (lib/api/protected_branches.rb).
    pub protected_branches: super::pipelines::ProtectedBranches,
    /// CI job names (`.gitlab-ci.yml`, modelled): none, no pipelines.
    pub ci_jobs: Vec<String>,
    /// Jobs that fail (fault injection).
    pub failing_jobs: BTreeSet<String>,
    /// Pipelines, oldest first.
    pub pipelines: Vec<super::pipelines::Pipeline>,
    /// Badges.
    pub badges: Vec<Badge>,
    /// The repository.
    pub repo: Repository,
    /// Merge requests, by iid order.
    pub merge_requests: Vec<MergeRequest>,
    /// Commit statuses.
    pub statuses: Vec<CommitStatus>,
    /// The project this one is a fork of.
    pub forked_from: Option<ProjectId>,
}

/// What to create with [`World::create_project`].
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    /// Namespace full path; created as groups when missing.
    pub namespace: String,
    /// Name (also the path unless `path` is set).
    pub name: String,
    /// Path, default derived from the name.
    pub path: Option<String>,
    /// Visibility.
    pub visibility: Visibility,
    /// Default branch.
    pub default_branch: String,
    /// Archived.
    pub archived: bool,
    /// Initial files on the default branch (none: an empty repository).
    pub files: Vec<(String, Bytes)>,
    /// Creator (becomes Owner... only when set).
    pub creator: Option<UserId>,
    /// Created time override (ms); default now.
    pub created_at: Option<i64>,
}

impl ProjectSpec {
    /// A private project `namespace/name` on `main`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ProjectSpec {
            namespace: namespace.into(),
            name: name.into(),
            path: None,
            visibility: Visibility::Private,
            default_branch: "main".into(),
            archived: false,
            files: Vec::new(),
            creator: None,
            created_at: None,
        }
    }

    /// Adds an initial file.
    pub fn file(mut self, path: impl Into<String>, content: impl Into<Bytes>) -> Self {
        self.files.push((path.into(), content.into()));
        self
    }

    /// Sets the visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = v;
        self
    }

    /// Sets the default branch.
    pub fn default_branch(mut self, b: impl Into<String>) -> Self {
        self.default_branch = b.into();
        self
    }

    /// Archived or not.
    pub fn archived(mut self, a: bool) -> Self {
        self.archived = a;
        self
    }
}

impl World {
    // ---- projects --------------------------------------------------------------------------

    /// Full path of a project.
    pub fn project_path(&self, p: &Project) -> String {
        match self.namespaces.get(&p.namespace_id) {
            Some(ns) => format!("{}/{}", ns.full_path, p.path),
            None => p.path.clone(),
        }
    }

    /// The project's web URL.
    pub fn project_url(&self, p: &Project) -> String {
        format!("{}/{}", self.base_url, self.project_path(p))
    }

    /// Finds a project by numeric id or full path.
    pub fn find_project(&self, id_or_path: &str) -> Option<ProjectId> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            if self.projects.contains_key(&id) {
                return Some(id);
            }
        }
        self.project_paths.get(id_or_path).copied()
    }

    /// A project by id.
    pub fn project(&self, id: ProjectId) -> Result<&Project, WorldError> {
        self.projects.get(&id).ok_or(WorldError::ProjectNotFound)
    }

    pub(super) fn project_mut(&mut self, id: ProjectId) -> Result<&mut Project, WorldError> {
        self.projects
            .get_mut(&id)
            .ok_or(WorldError::ProjectNotFound)
    }

    /// Creates a project (and its namespace groups); emits `project_create`.
    pub fn create_project(&mut self, spec: ProjectSpec) -> Result<ProjectId, WorldError> {
        let ns = match self.namespace_paths.get(spec.namespace.trim_matches('/')) {
            Some(id) => *id,
            None => self.ensure_group(&spec.namespace),
        };
        let path = spec.path.clone().unwrap_or_else(|| slug(&spec.name));
        let full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if self.project_paths.contains_key(&full) {
            return Err(WorldError::PathTaken);
        }
        let id = self.id();
        let now = spec.created_at.unwrap_or_else(|| self.now());
        let creator = spec.creator.unwrap_or(self.bot_user);
        let mut repo = Repository::default();
        if !spec.files.is_empty() {
            let files: BTreeMap<String, FileEntry> = spec
                .files
                .into_iter()
                .map(|(p, c)| (p, FileEntry::new(c)))
                .collect();
            let (name, email) = self.author_of(creator);
            let sha = util::sha1_of(&[
                b"initial",
                id.to_string().as_bytes(),
                now.to_string().as_bytes(),
            ]);
            repo.insert(Commit {
                id: sha.clone(),
                parent_ids: vec![],
                message: "Initial commit".into(),
                author_name: name,
                author_email: email,
                created_at: now,
                files: Arc::new(files),
            });
            repo.branches.insert(spec.default_branch.clone(), sha);
        }
        let mut members = BTreeMap::new();
        if let Some(c) = spec.creator {
            members.insert(c, access::OWNER);
        }
        self.projects.insert(
            id,
            Project {
                id,
                name: spec.name,
                path,
                description: String::new(),
                namespace_id: ns,
                visibility: spec.visibility,
                default_branch: spec.default_branch,
                archived: spec.archived,
                created_at: now,
                last_activity_at: now,
                creator_id: creator,
                members,
                hooks: Vec::new(),
                protected_no_force_push: BTreeSet::new(),
                protected_branches: Default::default(),
                ci_jobs: Vec::new(),
                failing_jobs: BTreeSet::new(),
                pipelines: Vec::new(),
                badges: Vec::new(),
                repo,
                merge_requests: Vec::new(),
                statuses: Vec::new(),
                forked_from: None,
            },
        );
        self.project_paths.insert(full, id);
        let people = self.people.clone();
        if let Some(p) = self.projects.get_mut(&id) {
            for (user, level) in people {
                let level = p.members.get(&user).copied().unwrap_or(0).max(level);
                p.members.insert(user, level);
            }
        }
        self.emit_system(events::project_event(self, id, "project_create", None));
        Ok(id)
    }

    /// Renames a project (name and path); emits `project_rename`.
    pub fn rename_project(
        &mut self,
        project: ProjectId,
        name: &str,
        path: &str,
    ) -> Result<(), WorldError> {
        let old = self.project_path(self.project(project)?);
        let ns = self.project(project)?.namespace_id;
        let new_full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if new_full != old && self.project_paths.contains_key(&new_full) {
            return Err(WorldError::PathTaken);
        }
        let p = self.project_mut(project)?;
        p.name = name.to_string();
        p.path = path.to_string();
        self.project_paths.remove(&old);
        self.project_paths.insert(new_full, project);
        self.emit_system(events::project_event(
            self,
            project,
            "project_rename",
            Some(&old),
        ));
        Ok(())
    }

    /// Moves a project to another namespace (created as needed); emits `project_transfer`.
    pub fn transfer_project(
        &mut self,
        project: ProjectId,
        namespace: &str,
    ) -> Result<(), WorldError> {
        let old = self.project_path(self.project(project)?);
        let ns = match self.namespace_paths.get(namespace) {
            Some(id) => *id,
            None => self.ensure_group(namespace),
        };
        let path = self.project(project)?.path.clone();
        let new_full = format!("{}/{}", self.namespaces[&ns].full_path, path);
        if self.project_paths.contains_key(&new_full) {
            return Err(WorldError::PathTaken);
        }
        self.project_mut(project)?.namespace_id = ns;
        self.project_paths.remove(&old);
        self.project_paths.insert(new_full, project);
        self.emit_system(events::project_event(
            self,
            project,
            "project_transfer",
            Some(&old),
        ));
        Ok(())
    }

    /// Archives or unarchives; emits `project_update`.
    pub fn set_archived(&mut self, project: ProjectId, archived: bool) -> Result<(), WorldError> {
        self.project_mut(project)?.archived = archived;
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Changes visibility; emits `project_update`.
    pub fn set_visibility(&mut self, project: ProjectId, v: Visibility) -> Result<(), WorldError> {
        self.project_mut(project)?.visibility = v;
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Changes the default branch; emits `project_update`.
    pub fn set_default_branch(
        &mut self,
        project: ProjectId,
        branch: &str,
    ) -> Result<(), WorldError> {
        self.project_mut(project)?.default_branch = branch.to_string();
        self.emit_system(events::project_event(self, project, "project_update", None));
        Ok(())
    }

    /// Deletes a project; emits `project_destroy`.
    pub fn destroy_project(&mut self, project: ProjectId) -> Result<(), WorldError> {
        let body = events::project_event(self, project, "project_destroy", None);
        let p = self
            .projects
            .remove(&project)
            .ok_or(WorldError::ProjectNotFound)?;
        let full = match self.namespaces.get(&p.namespace_id) {
            Some(ns) => format!("{}/{}", ns.full_path, p.path),
            None => p.path.clone(),
        };
        self.project_paths.remove(&full);
        self.emit_system(body);
        Ok(())
    }
}
