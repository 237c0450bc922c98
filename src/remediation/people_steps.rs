//! The executor's side of the people on the bot's MRs: the policy's usernames resolved to
//! user ids (`GET /users?username=`, lib/api/users.rb), `reviewers: [codeowners]` read from the
//! project's `CODEOWNERS` (the first of GitLab's locations, as Gitlab::CodeOwners::Loader), and
//! groups expanded to their members (`GET /groups/:id/members/all`). Lookups are cached for
//! one sync of the project (one `apply`); an unknown username or an owner that cannot be asked
//! is recorded in the remediation's history and skipped, never fatal. Open MRs are updated
//! when the policy's labels, assignees or reviewers change (compared with what was last sent,
//! kept in the `mr_people` tree: an unchanged policy costs no request).

use std::collections::HashMap;
use std::sync::Mutex;

use super::executor::{ExecError, Executor, BOT};
use super::model::State;
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::codeowners::{CodeOwners, LOCATIONS};
use crate::gitlab::rest::MergeRequestUpdate;
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef, UserId};
use crate::policy::people::{lookup, MrPeople, OwnerLookup};
use crate::policy::Effective;
use crate::store::{Store, StoreError, Table};

const MR_PEOPLE: &str = "mr_people";
/// The most bytes of `CODEOWNERS` read.
const CODEOWNERS_MAX_BYTES: usize = 1 << 20;
/// The most reviewers asked from `CODEOWNERS` (a large group is cut here, and it is said).
pub const MAX_CODEOWNER_REVIEWERS: usize = 20;
/// Group members at or above this level (Developer) may review.
const REVIEWER_LEVEL: u8 = 30;

/// What each open MR was last given (labels, assignees, reviewers as the policy named them),
/// keyed by remediation id. Cheap to clone.
#[derive(Clone)]
pub struct MrPeopleTable {
    tree: Table<u64, MrPeople>,
}

impl MrPeopleTable {
    /// Opens the table.
    pub fn open(store: &Store) -> Result<MrPeopleTable, StoreError> {
        Ok(MrPeopleTable {
            tree: store.table(MR_PEOPLE)?,
        })
    }

    /// What a remediation's MR was last given.
    pub fn get(&self, remediation: u64) -> Result<Option<MrPeople>, StoreError> {
        self.tree.get(&remediation)
    }

    /// Records what a remediation's MR was given.
    pub fn put(&self, remediation: u64, people: &MrPeople) -> Result<(), StoreError> {
        self.tree.insert(&remediation, people)?;
        Ok(())
    }
}

/// Lookups of one sync of one project.
#[derive(Debug, Default)]
pub(super) struct PeopleCache {
    /// Lowercase username → id (none: no such user).
    users: HashMap<String, Option<UserId>>,
    /// Group path → reviewers, or why not.
    groups: HashMap<String, Result<Vec<UserId>, String>>,
    /// The file, once read (inner none: no file).
    codeowners: Option<Option<CodeOwners>>,
}

/// Per-project caches of the syncs running now (a project is in it while its `apply` runs).
pub(super) type PeopleCaches = Mutex<HashMap<ProjectId, PeopleCache>>;

/// Ends a project's sync cache when dropped.
pub(super) struct SyncCache<'a> {
    caches: &'a PeopleCaches,
    project: ProjectId,
}

impl Drop for SyncCache<'_> {
    fn drop(&mut self) {
        self.caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.project);
    }
}

/// The ids to send, and what was skipped (each a history line).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Assignees.
    pub assignee_ids: Vec<UserId>,
    /// Reviewers.
    pub reviewer_ids: Vec<UserId>,
    /// Why some were not sent (no untrusted text but checked names).
    pub skipped: Vec<String>,
}

fn push_unique(v: &mut Vec<UserId>, id: UserId) {
    if !v.contains(&id) {
        v.push(id);
    }
}

impl Executor {
    /// The executor with the table of what open MRs were given (at construction); without
    /// it, open MRs are not updated when the policy changes.
    pub fn with_people(mut self, table: MrPeopleTable) -> Self {
        self.people = Some(table);
        self
    }

    /// Starts the lookup cache of one sync of `project`; it ends when the guard is dropped.
    pub(super) fn people_sync(&self, project: ProjectId) -> SyncCache<'_> {
        self.people_caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project, PeopleCache::default());
        SyncCache {
            caches: &self.people_caches,
            project,
        }
    }

    /// The ids of what `want` names for an MR of `manifest`.
    pub(super) async fn resolve_people(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        manifest: &str,
        want: &MrPeople,
    ) -> Result<Resolved, ExecError> {
        if want.assignees.is_empty() && want.reviewers.is_empty() {
            return Ok(Resolved::default());
        }
        let (mut cache, in_sync) = {
            let mut all = self.people_caches.lock().unwrap_or_else(|p| p.into_inner());
            match all.get_mut(&project.id) {
                Some(c) => (std::mem::take(c), true),
                None => (PeopleCache::default(), false),
            }
        };
        let out = self
            .resolve_with(gitlab, project, manifest, want, &mut cache)
            .await;
        if in_sync {
            let mut all = self.people_caches.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = all.get_mut(&project.id) {
                *c = cache;
            }
        }
        out
    }

    async fn resolve_with(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        manifest: &str,
        want: &MrPeople,
        cache: &mut PeopleCache,
    ) -> Result<Resolved, ExecError> {
        let mut out = Resolved::default();
        for name in &want.assignees {
            match user_id(gitlab, name, cache).await? {
                Some(id) => push_unique(&mut out.assignee_ids, id),
                None => out
                    .skipped
                    .push(format!("assignee `{name}` is not a GitLab user: skipped")),
            }
        }
        for name in want.named_reviewers() {
            match user_id(gitlab, name, cache).await? {
                Some(id) => push_unique(&mut out.reviewer_ids, id),
                None => out
                    .skipped
                    .push(format!("reviewer `{name}` is not a GitLab user: skipped")),
            }
        }
        if want.wants_codeowners() {
            self.codeowner_reviewers(gitlab, project, manifest, cache, &mut out)
                .await?;
        }
        let bot = self.bot().id;
        out.reviewer_ids.retain(|id| *id != bot);
        out.assignee_ids.retain(|id| *id != bot);
        Ok(out)
    }

    async fn codeowner_reviewers(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        manifest: &str,
        cache: &mut PeopleCache,
        out: &mut Resolved,
    ) -> Result<(), ExecError> {
        if cache.codeowners.is_none() {
            cache.codeowners = Some(read_codeowners(gitlab, project).await?);
        }
        let Some(Some(file)) = &cache.codeowners else {
            out.skipped.push(format!(
                "reviewers: codeowners: no CODEOWNERS file ({}): skipped",
                LOCATIONS.join(", ")
            ));
            return Ok(());
        };
        let owners = file.all_owners_of(manifest);
        if owners.is_empty() {
            out.skipped.push(format!(
                "reviewers: codeowners: CODEOWNERS names no owner of `{}`",
                crate::untrusted::markdown_inline(manifest)
            ));
        }
        let mut from_file: Vec<UserId> = Vec::new();
        for owner in owners {
            let group = match lookup(&owner) {
                OwnerLookup::Skip(why) => {
                    out.skipped.push(format!("codeowners: {why}"));
                    continue;
                }
                OwnerLookup::UserOrGroup(name) => match user_id(gitlab, &name, cache).await? {
                    Some(id) => {
                        push_unique(&mut from_file, id);
                        continue;
                    }
                    None => name,
                },
                OwnerLookup::Group(path) => path,
            };
            match group_reviewers(gitlab, &group, cache).await? {
                Ok(ids) => ids
                    .into_iter()
                    .for_each(|id| push_unique(&mut from_file, id)),
                Err(why) => out
                    .skipped
                    .push(format!("codeowners: `@{group}` {why}: skipped")),
            }
        }
        if from_file.len() > MAX_CODEOWNER_REVIEWERS {
            out.skipped.push(format!(
                "codeowners: {} owners; the first {MAX_CODEOWNER_REVIEWERS} are asked to review",
                from_file.len()
            ));
            from_file.truncate(MAX_CODEOWNER_REVIEWERS);
        }
        for id in from_file {
            push_unique(&mut out.reviewer_ids, id);
        }
        Ok(())
    }

    /// Updates the open MRs of the project whose labels, assignees or reviewers differ from
    /// what the policy now says. Returns one line per MR updated.
    pub(super) async fn sync_mr_people(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        policy: &Effective,
    ) -> Result<Vec<String>, ExecError> {
        let Some(table) = &self.people else {
            return Ok(Vec::new());
        };
        let want = MrPeople::of(policy);
        let before = MrPeople::before_recorded(&self.instance_defaults());
        let mut lines = Vec::new();
        for mut r in self.table.of_project(project.id)? {
            let Some(iid) = r.mr_iid.filter(|_| r.state == State::MrOpen) else {
                continue;
            };
            let had = table.get(r.id)?.unwrap_or_else(|| before.clone());
            if had == want {
                continue;
            }
            let resolved = self
                .resolve_people(gitlab, project, &r.manifest, &want)
                .await?;
            gitlab
                .update_merge_request(
                    &ProjectRef::Id(project.id),
                    iid,
                    &MergeRequestUpdate {
                        labels: Some(want.labels.join(",")),
                        assignee_ids: Some(resolved.assignee_ids.clone()),
                        reviewer_ids: Some(resolved.reviewer_ids.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            let now = now_ms();
            for s in &resolved.skipped {
                r.record(BOT, s.clone(), now);
            }
            r.record(
                BOT,
                "the MR's labels, assignees and reviewers follow the changed policy",
                now,
            );
            self.table.put(&r)?;
            table.put(r.id, &want)?;
            lines.push(format!(
                "{}: MR labels, assignees and reviewers updated from the policy",
                r.package
            ));
        }
        Ok(lines)
    }
}

async fn user_id(
    gitlab: &GitLab,
    name: &str,
    cache: &mut PeopleCache,
) -> Result<Option<UserId>, GitLabError> {
    let key = name.to_ascii_lowercase();
    if let Some(known) = cache.users.get(&key) {
        return Ok(*known);
    }
    let id = gitlab
        .user_by_username(name)
        .await?
        .filter(|u| u.state.as_deref().is_none_or(|s| s == "active"))
        .map(|u| u.id);
    cache.users.insert(key, id);
    Ok(id)
}

async fn group_reviewers(
    gitlab: &GitLab,
    path: &str,
    cache: &mut PeopleCache,
) -> Result<Result<Vec<UserId>, String>, GitLabError> {
    if let Some(known) = cache.groups.get(path) {
        return Ok(known.clone());
    }
    let answer = match gitlab.group_members(path).await {
        Ok(Some(members)) => Ok(members
            .into_iter()
            .filter(|m| m.access_level >= REVIEWER_LEVEL)
            .filter(|m| m.state.as_deref().is_none_or(|s| s == "active"))
            .map(|m| m.id)
            .collect()),
        Ok(None) => Err("is neither a user nor a group the bot can see".to_string()),
        Err(GitLabError::Forbidden { .. }) => {
            Err("is a group whose members the bot may not read".to_string())
        }
        Err(e) => return Err(e),
    };
    cache.groups.insert(path.to_string(), answer.clone());
    Ok(answer)
}

/// The project's `CODEOWNERS` on its default branch: the first of [`LOCATIONS`] found.
async fn read_codeowners(
    gitlab: &GitLab,
    project: &CatalogProject,
) -> Result<Option<CodeOwners>, GitLabError> {
    let Some(branch) = project.default_branch.as_deref() else {
        return Ok(None);
    };
    let p = ProjectRef::Id(project.id);
    for path in LOCATIONS {
        match gitlab
            .raw_file_within(&p, path, branch, CODEOWNERS_MAX_BYTES)
            .await
        {
            Ok(f) => {
                return Ok(Some(CodeOwners::parse(&String::from_utf8_lossy(
                    &f.content,
                ))))
            }
            Err(e) if e.is_not_found() => continue,
            // Too large to read: as GitLab, which ignores an oversized file, no owners.
            Err(GitLabError::TooLarge { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
