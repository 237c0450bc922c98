//! Users, tokens, namespaces, memberships and access levels.

use std::collections::BTreeMap;

use super::*;
use crate::events;
use crate::util;

/// GitLab's access levels.
pub mod access {
    /// No access.
    pub const NONE: u8 = 0;
    /// Guest.
    pub const GUEST: u8 = 10;
    /// Reporter.
    pub const REPORTER: u8 = 20;
    /// Developer.
    pub const DEVELOPER: u8 = 30;
    /// Maintainer.
    pub const MAINTAINER: u8 = 40;
    /// Owner.
    pub const OWNER: u8 = 50;

    /// The role name GitLab's system hooks use.
    pub fn name(level: u8) -> &'static str {
        match level {
            50 => "Owner",
            40 => "Maintainer",
            30 => "Developer",
            20 => "Reporter",
            10 => "Guest",
            _ => "No access",
        }
    }
}

/// A person given on the command line: `NAME=TOKEN:ROLE`, ROLE one of guest, reporter,
/// developer, maintainer, owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSpec {
    /// Username.
    pub username: String,
    /// Their personal access token.
    pub token: String,
    /// Their access level on every project.
    pub level: u8,
}

impl PersonSpec {
    /// Parses `NAME=TOKEN:ROLE`.
    pub fn parse(s: &str) -> Result<PersonSpec, String> {
        let bad = || format!("--user expects NAME=TOKEN:ROLE, got {s:?}");
        let (name, rest) = s.split_once('=').ok_or_else(bad)?;
        let (token, role) = rest.rsplit_once(':').ok_or_else(bad)?;
        if name.is_empty() || token.is_empty() {
            return Err(bad());
        }
        let level = match role.to_ascii_lowercase().as_str() {
            "guest" => access::GUEST,
            "reporter" => access::REPORTER,
            "developer" => access::DEVELOPER,
            "maintainer" => access::MAINTAINER,
            "owner" => access::OWNER,
            _ => {
                return Err(format!(
                "--user role {role:?} is not one of guest, reporter, developer, maintainer, owner"
            ))
            }
        };
        Ok(PersonSpec {
            username: name.to_string(),
            token: token.to_string(),
            level,
        })
    }
}

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login.
    pub username: String,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// `active` or `blocked`.
    pub state: String,
    /// A bot account.
    pub bot: bool,
    /// An administrator (sees every project).
    pub admin: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// The user's personal namespace.
    pub namespace_id: NamespaceId,
}

/// A personal access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Id.
    pub id: u64,
    /// Token name.
    pub name: String,
    /// Owner.
    pub user_id: UserId,
    /// Scopes such as `api`, `read_api`.
    pub scopes: Vec<String>,
    /// Expiry date `YYYY-MM-DD`; the token stops working on that day.
    pub expires_at: Option<String>,
    /// Revoked.
    pub revoked: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last use (ms).
    pub last_used_at: Option<i64>,
}

impl AccessToken {
    /// Expired as of today (GitLab: a token expires at the start of its `expires_at` day).
    pub fn expired(&self) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|d| d <= util::today().as_str())
    }
}

/// `group` or `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    /// A group or subgroup.
    Group,
    /// A user's personal namespace.
    User,
}

/// A group or user namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Id.
    pub id: NamespaceId,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// Full path (`group/sub`).
    pub full_path: String,
    /// Kind.
    pub kind: NamespaceKind,
    /// Parent group.
    pub parent_id: Option<NamespaceId>,
    /// Group members (inherited by projects and subgroups).
    pub members: BTreeMap<UserId, u8>,
}

impl World {
    // ---- users and tokens ----------------------------------------------------------------

    /// Creates a user (and its personal namespace).
    pub fn create_user(&mut self, username: &str, name: &str) -> UserId {
        let id = self.id();
        let ns = self.id();
        self.namespaces.insert(
            ns,
            Namespace {
                id: ns,
                name: name.to_string(),
                path: username.to_string(),
                full_path: username.to_string(),
                kind: NamespaceKind::User,
                parent_id: None,
                members: BTreeMap::from([(id, access::OWNER)]),
            },
        );
        self.namespace_paths.insert(username.to_string(), ns);
        let created_at = self.now();
        self.users.insert(
            id,
            User {
                id,
                username: username.to_string(),
                name: name.to_string(),
                email: format!("{username}@example.com"),
                state: "active".into(),
                bot: false,
                admin: false,
                created_at,
                namespace_id: ns,
            },
        );
        id
    }

    /// Looks a user up by username.
    pub fn user_by_name(&self, username: &str) -> Option<UserId> {
        self.users
            .values()
            .find(|u| u.username == username)
            .map(|u| u.id)
    }

    /// Creates a personal access token for a user; returns the token string.
    pub fn create_token(
        &mut self,
        user: UserId,
        token: &str,
        scopes: &[&str],
        expires_at: Option<&str>,
    ) -> String {
        let id = self.id();
        let created_at = self.now();
        self.tokens.insert(
            token.to_string(),
            AccessToken {
                id,
                name: format!("token-{id}"),
                user_id: user,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                expires_at: expires_at.map(str::to_string),
                revoked: false,
                created_at,
                last_used_at: None,
            },
        );
        token.to_string()
    }

    /// Revokes a token.
    pub fn revoke_token(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    // ---- namespaces ----------------------------------------------------------------------

    /// Returns the group at `full_path`, creating it and its parents as needed.
    pub fn ensure_group(&mut self, full_path: &str) -> NamespaceId {
        let full_path = full_path.trim_matches('/');
        if let Some(id) = self.namespace_paths.get(full_path) {
            return *id;
        }
        let (parent, path) = match full_path.rsplit_once('/') {
            Some((p, last)) => (Some(self.ensure_group(p)), last),
            None => (None, full_path),
        };
        let id = self.id();
        let mut name: String = path.replace(['-', '_'], " ");
        if let Some(f) = name.get(..1) {
            name = f.to_uppercase() + &name[1..];
        }
        self.namespaces.insert(
            id,
            Namespace {
                id,
                name,
                path: path.to_string(),
                full_path: full_path.to_string(),
                kind: NamespaceKind::Group,
                parent_id: parent,
                members: BTreeMap::new(),
            },
        );
        self.namespace_paths.insert(full_path.to_string(), id);
        id
    }

    /// Adds a member to a group (inherited by its subgroups and projects).
    pub fn add_group_member(&mut self, group: NamespaceId, user: UserId, level: u8) {
        if let Some(ns) = self.namespaces.get_mut(&group) {
            ns.members.insert(user, level);
        }
    }

    /// A person (`--user NAME=TOKEN:ROLE`): a user whose token (`api` scope) acts as them
    /// through the API, with `role` on every project, now and later (direct memberships, so
    /// the hooks name them as GitLab's would). Returns their id.
    pub fn add_person(&mut self, spec: &PersonSpec) -> UserId {
        let id = match self.user_by_name(&spec.username) {
            Some(id) => id,
            None => self.create_user(&spec.username, &spec.username),
        };
        self.create_token(id, &spec.token, &["api"], None);
        let projects: Vec<ProjectId> = self.projects.keys().copied().collect();
        for p in projects {
            // The project exists and so does the user: this cannot fail.
            let _ = self.add_member(p, id, spec.level);
        }
        self.people.push((id, spec.level));
        id
    }

    /// Adds or changes a direct project member; emits `user_add_to_team` (or
    /// `user_update_for_team` when the user was already a member).
    pub fn add_member(
        &mut self,
        project: ProjectId,
        user: UserId,
        level: u8,
    ) -> Result<(), WorldError> {
        if !self.users.contains_key(&user) {
            return Err(WorldError::UserNotFound);
        }
        let old = self.project_mut(project)?.members.insert(user, level);
        let name = if old.is_some() {
            "user_update_for_team"
        } else {
            "user_add_to_team"
        };
        self.emit_system(events::team_event(self, project, user, level, name));
        Ok(())
    }

    /// Removes a direct project member; emits `user_remove_from_team`.
    pub fn remove_member(&mut self, project: ProjectId, user: UserId) -> Result<(), WorldError> {
        let old = self.project_mut(project)?.members.remove(&user);
        if let Some(level) = old {
            self.emit_system(events::team_event(
                self,
                project,
                user,
                level,
                "user_remove_from_team",
            ));
        }
        Ok(())
    }

    /// The user's effective access level: direct membership or inherited from groups.
    pub fn access_level(&self, project: &Project, user: UserId) -> u8 {
        let mut level = project.members.get(&user).copied().unwrap_or(0);
        let mut ns = Some(project.namespace_id);
        while let Some(id) = ns {
            match self.namespaces.get(&id) {
                Some(n) => {
                    level = level.max(n.members.get(&user).copied().unwrap_or(0));
                    ns = n.parent_id;
                }
                None => break,
            }
        }
        level
    }

    /// Whether the user sees the project at all.
    pub fn can_see(&self, project: &Project, user: UserId) -> bool {
        let admin = self.users.get(&user).is_some_and(|u| u.admin);
        admin
            || project.visibility != Visibility::Private
            || self.access_level(project, user) >= access::GUEST
    }

    /// Whether the user can read the repository (Reporter+ on private projects).
    pub fn can_read_code(&self, project: &Project, user: UserId) -> bool {
        let admin = self.users.get(&user).is_some_and(|u| u.admin);
        admin
            || project.visibility != Visibility::Private
            || self.access_level(project, user) >= access::REPORTER
    }
}
