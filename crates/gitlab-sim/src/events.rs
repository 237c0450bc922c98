//! Webhook payloads built from the world's state, shaped like GitLab's documented examples
//! (`tests/data/gitlab-webhooks/*.json`).

use serde_json::{json, Value};

use crate::repo::ZERO_SHA;
use crate::util;
use crate::world::{access, MergeRequest, Project, ProjectId, UserId, World};

/// The most commits a push payload lists (GitLab's `PUSH_COMMIT_LIMIT`).
pub const PUSH_COMMIT_LIMIT: usize = 20;

fn avatar() -> Value {
    Value::Null
}

/// The `project` object of hook payloads.
pub fn hook_project(w: &World, p: &Project) -> Value {
    let url = w.project_url(p);
    let host = w
        .base_url
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .split(':')
        .next()
        .unwrap_or("localhost")
        .to_string();
    let full = w.project_path(p);
    let ssh = format!("git@{host}:{full}.git");
    let ns_name = w
        .namespaces
        .get(&p.namespace_id)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "web_url": url,
        "avatar_url": avatar(),
        "git_ssh_url": ssh,
        "git_http_url": format!("{url}.git"),
        "namespace": ns_name,
        "visibility_level": p.visibility.level(),
        "path_with_namespace": full,
        "default_branch": p.default_branch,
        "ci_config_path": null,
        "homepage": url,
        "url": ssh,
        "ssh_url": ssh,
        "http_url": format!("{url}.git"),
    })
}

fn hook_repository(w: &World, p: &Project) -> Value {
    let hp = hook_project(w, p);
    json!({
        "name": p.name,
        "url": hp["url"],
        "description": p.description,
        "homepage": hp["homepage"],
        "git_http_url": hp["git_http_url"],
        "git_ssh_url": hp["git_ssh_url"],
        "visibility_level": p.visibility.level(),
    })
}

fn hook_user(w: &World, user: UserId) -> Value {
    match w.users.get(&user) {
        Some(u) => json!({
            "id": u.id, "name": u.name, "username": u.username,
            "avatar_url": avatar(), "email": u.email,
        }),
        None => json!({"id": user, "name": "Ghost User", "username": "ghost",
                       "avatar_url": avatar(), "email": "[REDACTED]"}),
    }
}

fn owners(w: &World, p: &Project) -> (String, String, Value) {
    let owner = p
        .members
        .iter()
        .find(|(_, l)| **l == access::OWNER)
        .map(|(u, _)| *u)
        .or_else(|| w.users.get(&p.creator_id).map(|u| u.id));
    match owner.and_then(|u| w.users.get(&u)) {
        Some(u) => (
            u.name.clone(),
            u.email.clone(),
            json!([{"name": u.name, "email": u.email}]),
        ),
        None => (String::new(), String::new(), json!([])),
    }
}

/// `project_create`, `project_destroy`, `project_rename`, `project_transfer`,
/// `project_update` system-hook bodies.
pub fn project_event(w: &World, id: ProjectId, event: &str, old_path: Option<&str>) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({"event_name": event, "project_id": id});
    };
    let (owner_name, owner_email, owners) = owners(w, p);
    let mut v = json!({
        "created_at": util::iso_ms(p.created_at),
        "updated_at": util::iso_ms(p.last_activity_at),
        "event_name": event,
        "name": p.name,
        "owner_email": owner_email,
        "owner_name": owner_name,
        "owners": owners,
        "path": p.path,
        "path_with_namespace": w.project_path(p),
        "project_id": p.id,
        "project_namespace_id": p.namespace_id,
        "project_visibility": p.visibility.as_str(),
    });
    if let Some(old) = old_path {
        v["old_path_with_namespace"] = json!(old);
    }
    v
}

/// `user_add_to_team`, `user_remove_from_team`, `user_update_for_team` bodies.
pub fn team_event(w: &World, id: ProjectId, user: UserId, level: u8, event: &str) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({"event_name": event, "project_id": id});
    };
    let u = w.users.get(&user);
    let now = util::iso_ms(util::now_ms());
    json!({
        "created_at": now,
        "updated_at": now,
        "event_name": event,
        "access_level": access::name(level),
        "project_id": p.id,
        "project_name": p.name,
        "project_path": p.path,
        "project_path_with_namespace": w.project_path(p),
        "user_email": u.map(|u| u.email.clone()),
        "user_name": u.map(|u| u.name.clone()),
        "user_username": u.map(|u| u.username.clone()),
        "user_id": user,
        "project_visibility": p.visibility.as_str(),
    })
}

/// A push payload (`Gitlab::DataBuilder::Push`), used by project hooks (`Push Hook`) and system
/// hooks alike. Lists at most [`PUSH_COMMIT_LIMIT`] commits, newest last, with
/// `total_commits_count` counting them all.
pub fn push(
    w: &World,
    id: ProjectId,
    user: UserId,
    branch: &str,
    before: &str,
    after: &str,
) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({});
    };
    let commits = if after == ZERO_SHA {
        Vec::new()
    } else if before == ZERO_SHA {
        // A new branch: GitLab lists the commits not on the default branch.
        match p.repo.head(&p.default_branch) {
            Some(d) if p.default_branch != branch => p.repo.commits_between(&d.id, after),
            _ => p
                .repo
                .commits
                .get(after)
                .map(|c| vec![c.clone()])
                .unwrap_or_default(),
        }
    } else {
        p.repo.commits_between(before, after)
    };
    let total = commits.len();
    let url = w.project_url(p);
    let listed: Vec<Value> = commits
        .iter()
        .skip(total.saturating_sub(PUSH_COMMIT_LIMIT))
        .map(|c| {
            let parent = c
                .parent_ids
                .first()
                .and_then(|pid| p.repo.commits.get(pid))
                .map(|pc| pc.files.clone())
                .unwrap_or_default();
            let ch = crate::repo::diff_trees(&parent, &c.files);
            json!({
                "id": c.id,
                "message": c.message,
                "title": c.title(),
                "timestamp": util::hook_commit_time(c.created_at),
                "url": format!("{url}/-/commit/{}", c.id),
                "author": {"name": c.author_name, "email": c.author_email},
                "added": ch.added,
                "modified": ch.modified,
                "removed": ch.removed,
            })
        })
        .collect();
    let u = w.users.get(&user);
    let head_message = p.repo.commits.get(after).map(|c| c.message.clone());
    json!({
        "object_kind": "push",
        "event_name": "push",
        "before": before,
        "after": after,
        "ref": format!("refs/heads/{branch}"),
        "ref_protected": branch == p.default_branch,
        "checkout_sha": if after == ZERO_SHA { Value::Null } else { json!(after) },
        "message": head_message,
        "user_id": user,
        "user_name": u.map(|u| u.name.clone()),
        "user_username": u.map(|u| u.username.clone()),
        "user_email": u.map(|u| u.email.clone()),
        "user_avatar": avatar(),
        "project_id": p.id,
        "project": hook_project(w, p),
        "commits": listed,
        "total_commits_count": total,
        "push_options": {},
        "repository": hook_repository(w, p),
    })
}

/// A `repository_update` system-hook body.
pub fn repository_update(
    w: &World,
    id: ProjectId,
    user: UserId,
    branch: &str,
    before: &str,
    after: &str,
) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({});
    };
    let u = w.users.get(&user);
    let r = format!("refs/heads/{branch}");
    json!({
        "event_name": "repository_update",
        "user_id": user,
        "user_name": u.map(|u| u.name.clone()),
        "user_email": u.map(|u| u.email.clone()),
        "user_avatar": avatar(),
        "project_id": p.id,
        "project": hook_project(w, p),
        "changes": [{"before": before, "after": after, "ref": r}],
        "refs": [r],
    })
}

fn labels(mr: &MergeRequest, project: ProjectId) -> Value {
    Value::Array(
        mr.labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json!({
                    "id": i + 1, "title": l, "color": "#428BCA", "project_id": project,
                    "created_at": util::hook_time(mr.created_at),
                    "updated_at": util::hook_time(mr.created_at),
                    "template": false, "description": null, "type": "ProjectLabel",
                    "group_id": null,
                })
            })
            .collect(),
    )
}

fn mr_attributes(w: &World, p: &Project, mr: &MergeRequest) -> Value {
    let hp = hook_project(w, p);
    let (conflicts, _) = w.mr_merge_facts(p, mr);
    let status = if mr.state != crate::world::MrState::Opened {
        "can_be_merged"
    } else if conflicts {
        "cannot_be_merged"
    } else {
        "can_be_merged"
    };
    let last = p.repo.commits.get(&mr.sha).map(|c| {
        json!({
            "id": c.id, "message": c.message, "title": c.title(),
            "timestamp": util::hook_commit_time(c.created_at),
            "url": format!("{}/-/commit/{}", w.project_url(p), c.id),
            "author": {"name": c.author_name, "email": c.author_email},
        })
    });
    json!({
        "author_id": mr.author_id,
        "created_at": util::hook_time(mr.created_at),
        "description": mr.description,
        "draft": mr.draft(),
        "head_pipeline_id": null,
        "id": mr.id,
        "iid": mr.iid,
        "last_edited_at": null,
        "last_edited_by_id": null,
        "merge_commit_sha": mr.merge_commit_sha,
        "merge_error": mr.merge_error,
        "merge_params": {"force_remove_source_branch": if mr.remove_source_branch { "1" } else { "0" }},
        "merge_status": status,
        "merge_user_id": mr.merged_by,
        "merge_when_pipeline_succeeds": false,
        "milestone_id": null,
        "source_branch": mr.source_branch,
        "source_project_id": mr.source_project_id,
        "state_id": mr.state.id(),
        "target_branch": mr.target_branch,
        "target_project_id": p.id,
        "time_estimate": 0,
        "title": mr.title,
        "updated_at": util::hook_time(mr.updated_at),
        "updated_by_id": null,
        "assignee_ids": [],
        "blocking_discussions_resolved": true,
        "detailed_merge_status": if conflicts { "conflict" } else { "mergeable" },
        "first_contribution": false,
        "labels": labels(mr, p.id),
        "last_commit": last,
        "reviewer_ids": [],
        "source": w
            .projects
            .get(&mr.source_project_id)
            .map(|s| hook_project(w, s))
            .unwrap_or_else(|| hp.clone()),
        "state": mr.state.as_str(),
        "system": false,
        "target": hp,
        "time_change": 0,
        "total_time_spent": 0,
        "url": format!("{}/-/merge_requests/{}", w.project_url(p), mr.iid),
        "work_in_progress": mr.draft(),
        "approval_rules": [],
        "human_time_change": null,
        "human_time_estimate": null,
        "human_total_time_spent": null,
        "prepared_at": util::hook_time(mr.created_at),
        "squash_commit_sha": null,
    })
}

/// A Merge Request Hook body with `object_attributes.action`.
pub fn merge_request(w: &World, id: ProjectId, iid: u64, user: UserId, action: &str) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({});
    };
    let Some(mr) = p.merge_requests.iter().find(|m| m.iid == iid) else {
        return json!({});
    };
    let mut attrs = mr_attributes(w, p, mr);
    attrs["action"] = json!(action);
    attrs["actioned_at"] = json!(util::hook_time(mr.updated_at));
    let mut changes = json!({});
    if action == "update" || action == "close" || action == "reopen" || action == "merge" {
        changes["updated_at"] = json!({"previous": util::hook_time(mr.created_at),
                                       "current": util::hook_time(mr.updated_at)});
    }
    if action != "open" && action != "update" {
        changes["state_id"] = json!({"previous": 1, "current": mr.state.id()});
    }
    json!({
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": hook_user(w, user),
        "project": hook_project(w, p),
        "object_attributes": attrs,
        "labels": labels(mr, p.id),
        "changes": changes,
        "repository": hook_repository(w, p),
        "assignees": [],
        "reviewers": [],
    })
}

/// A Note Hook body for a comment on a merge request.
pub fn note(w: &World, id: ProjectId, iid: u64, note_id: u64, user: UserId, action: &str) -> Value {
    let Some(p) = w.projects.get(&id) else {
        return json!({});
    };
    let Some(mr) = p.merge_requests.iter().find(|m| m.iid == iid) else {
        return json!({});
    };
    let Some(n) = mr.notes.iter().find(|n| n.id == note_id) else {
        return json!({});
    };
    let mut mr_obj = mr_attributes(w, p, mr);
    mr_obj["position"] = json!(0);
    json!({
        "object_kind": "note",
        "event_type": if n.internal { "confidential_note" } else { "note" },
        "user": hook_user(w, user),
        "project_id": p.id,
        "project": hook_project(w, p),
        "repository": hook_repository(w, p),
        "object_attributes": {
            "id": n.id,
            "internal": n.internal,
            "confidential": n.internal,
            "note": n.body,
            "noteable_type": "MergeRequest",
            "author_id": n.author_id,
            "created_at": util::hook_time(n.created_at),
            "updated_at": util::hook_time(n.updated_at),
            "project_id": p.id,
            "attachment": null,
            "line_code": null,
            "commit_id": "",
            "noteable_id": mr.id,
            "system": n.system,
            "st_diff": null,
            "action": action,
            "url": format!("{}/-/merge_requests/{}#note_{}", w.project_url(p), mr.iid, n.id),
        },
        "merge_request": mr_obj,
    })
}
