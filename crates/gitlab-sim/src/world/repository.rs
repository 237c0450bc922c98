//! Commits and branches.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::repo::{Commit, FileEntry, ZERO_SHA};
use crate::util;

/// One file action of a commit (the REST `actions[]`).
#[derive(Debug, Clone)]
pub enum FileAction {
    /// Create a file; fails if it exists.
    Create(String, Bytes),
    /// Replace a file; fails if missing.
    Update(String, Bytes),
    /// Create or replace (setup API only).
    Upsert(String, Bytes),
    /// Delete a file; fails if missing.
    Delete(String),
    /// Move `from` to `to`, optionally with new content.
    Move {
        /// Old path.
        from: String,
        /// New path.
        to: String,
        /// New content, or keep.
        content: Option<Bytes>,
    },
    /// Set or clear the executable bit.
    Chmod(String, bool),
}

/// A commit to make with [`World::commit_actions`].
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// Branch to commit to.
    pub branch: String,
    /// Message.
    pub message: String,
    /// Start from this branch when `branch` does not exist (or with `force`).
    pub start_branch: Option<String>,
    /// Start from this sha.
    pub start_sha: Option<String>,
    /// Actions.
    pub actions: Vec<FileAction>,
    /// Author name (default: the user).
    pub author_name: Option<String>,
    /// Author e-mail.
    pub author_email: Option<String>,
    /// Rewrite `branch` from the start point.
    pub force: bool,
}

impl World {
    // ---- repository ------------------------------------------------------------------------

    pub(super) fn author_of(&self, user: UserId) -> (String, String) {
        self.users
            .get(&user)
            .map(|u| (u.name.clone(), u.email.clone()))
            .unwrap_or_else(|| ("Administrator".into(), "admin@example.com".into()))
    }

    /// Commits files to a branch (creating it from the default branch when missing); a `None`
    /// content deletes the path. Emits a push. Returns the new sha.
    pub fn commit_files(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        message: &str,
        files: Vec<(String, Option<Bytes>)>,
    ) -> Result<String, WorldError> {
        let start = {
            let p = self.project(project)?;
            if p.repo.branches.contains_key(branch) || p.repo.branches.is_empty() {
                None
            } else {
                Some(p.default_branch.clone())
            }
        };
        let actions = files
            .into_iter()
            .map(|(path, c)| match c {
                Some(c) => FileAction::Upsert(path, c),
                None => FileAction::Delete(path),
            })
            .collect();
        let c = self.commit_actions(
            project,
            user,
            CommitRequest {
                branch: branch.to_string(),
                message: message.to_string(),
                start_branch: start,
                start_sha: None,
                actions,
                author_name: None,
                author_email: None,
                force: false,
            },
        )?;
        Ok(c.id.clone())
    }

    /// Makes one commit from file actions (the Commits API); emits a push.
    pub fn commit_actions(
        &mut self,
        project: ProjectId,
        user: UserId,
        req: CommitRequest,
    ) -> Result<Arc<Commit>, WorldError> {
        let now = self.now();
        let (def_name, def_email) = self.author_of(user);
        let p = self.project(project)?;
        let existing = p.repo.head(&req.branch);
        let start: Option<Arc<Commit>> = if let Some(sha) = &req.start_sha {
            Some(
                p.repo
                    .resolve(sha)
                    .ok_or_else(|| WorldError::InvalidRef(sha.clone()))?,
            )
        } else if let Some(sb) = &req.start_branch {
            if existing.is_some() && !req.force && sb != &req.branch {
                return Err(WorldError::Invalid(format!(
                    "A branch called '{}' already exists. Switch to that branch in order to make changes",
                    req.branch
                )));
            }
            Some(
                p.repo
                    .head(sb)
                    .ok_or_else(|| WorldError::InvalidRef(sb.clone()))?,
            )
        } else {
            None
        };
        let parent = match (&existing, &start, req.force) {
            (_, Some(s), true) => Some(s.clone()),
            (Some(e), _, _) => Some(e.clone()),
            (None, Some(s), _) => Some(s.clone()),
            (None, None, _) => {
                if p.repo.branches.is_empty() {
                    None // first commit of an empty repository
                } else {
                    return Err(WorldError::NotOnBranch);
                }
            }
        };
        let mut files: BTreeMap<String, FileEntry> = parent
            .as_ref()
            .map(|c| (*c.files).clone())
            .unwrap_or_default();
        for a in req.actions {
            match a {
                FileAction::Create(path, c) => {
                    if files.contains_key(&path) {
                        return Err(WorldError::FileExists);
                    }
                    files.insert(path, FileEntry::new(c));
                }
                FileAction::Update(path, c) => {
                    let exec = files.get(&path).ok_or(WorldError::FileMissing)?.executable;
                    let mut f = FileEntry::new(c);
                    f.executable = exec;
                    files.insert(path, f);
                }
                FileAction::Upsert(path, c) => {
                    files.insert(path, FileEntry::new(c));
                }
                FileAction::Delete(path) => {
                    files.remove(&path).ok_or(WorldError::FileMissing)?;
                }
                FileAction::Move { from, to, content } => {
                    let old = files.remove(&from).ok_or(WorldError::FileMissing)?;
                    if files.contains_key(&to) {
                        return Err(WorldError::FileExists);
                    }
                    let f = match content {
                        Some(c) => FileEntry::new(c),
                        None => old,
                    };
                    files.insert(to, f);
                }
                FileAction::Chmod(path, exec) => {
                    files
                        .get_mut(&path)
                        .ok_or(WorldError::FileMissing)?
                        .executable = exec;
                }
            }
        }
        let parent_ids: Vec<String> = parent.iter().map(|c| c.id.clone()).collect();
        let id = util::sha1_of(&[
            project.to_string().as_bytes(),
            parent_ids.join(",").as_bytes(),
            req.message.as_bytes(),
            now.to_string().as_bytes(),
        ]);
        let commit = Commit {
            id: id.clone(),
            parent_ids,
            message: req.message,
            author_name: req.author_name.unwrap_or(def_name),
            author_email: req.author_email.unwrap_or(def_email),
            created_at: now,
            files: Arc::new(files),
        };
        let before = existing.map(|c| c.id.clone());
        let p = self.project_mut(project)?;
        let c = p.repo.insert(commit);
        p.repo.branches.insert(req.branch.clone(), id);
        p.last_activity_at = now;
        self.emit_push(project, user, &req.branch, before.as_deref(), &c.id);
        Ok(c)
    }

    /// Creates a branch at a ref (branch name or sha); emits a push.
    pub fn create_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        reference: &str,
    ) -> Result<Arc<Commit>, WorldError> {
        let p = self.project(project)?;
        if p.repo.branches.contains_key(branch) {
            return Err(WorldError::BranchExists);
        }
        if !valid_branch_name(branch) {
            return Err(WorldError::Invalid("Branch name is invalid".into()));
        }
        let c = p
            .repo
            .resolve(reference)
            .ok_or_else(|| WorldError::InvalidRef(reference.to_string()))?;
        self.project_mut(project)?
            .repo
            .branches
            .insert(branch.to_string(), c.id.clone());
        self.emit_push(project, user, branch, None, &c.id);
        Ok(c)
    }

    /// Deletes a branch; emits a push with `after` all zeros.
    pub fn delete_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
    ) -> Result<(), WorldError> {
        let sha = self
            .project_mut(project)?
            .repo
            .branches
            .remove(branch)
            .ok_or(WorldError::BranchNotFound)?;
        self.emit_push(project, user, branch, Some(&sha), ZERO_SHA);
        Ok(())
    }

    /// Moves a branch to a commit (a force push); emits a push.
    pub fn force_branch(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        sha: &str,
    ) -> Result<(), WorldError> {
        let p = self.project_mut(project)?;
        if !p.repo.commits.contains_key(sha) {
            return Err(WorldError::InvalidRef(sha.to_string()));
        }
        let before = p.repo.branches.insert(branch.to_string(), sha.to_string());
        self.emit_push(project, user, branch, before.as_deref(), sha);
        Ok(())
    }
}
