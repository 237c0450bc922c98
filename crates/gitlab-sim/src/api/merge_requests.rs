//! Merge requests, their notes and award emoji.

use serde_json::{json, Value};

use super::pagination;
use super::{err, invalid, world_err, Ctx, Reply, R};
use crate::util;
use crate::world::{
    access, Award, MergeCheck, MergeRequest, MrState, Note, Project, ProjectId, UserId, World,
};

/// A user as GitLab's `UserBasic` entity (`lib/api/entities/user_basic.rb`; `avatar_url` is
/// the Gravatar default, a string, as GitLab's schemas `user/basic.json` and `notes.json` ask).
pub(crate) fn user_json(w: &World, id: UserId) -> Value {
    match w.users.get(&id) {
        Some(u) => json!({
            "id": u.id, "username": u.username, "name": u.name, "state": u.state,
            "locked": false, "avatar_url": util::gravatar_url(&u.email),
            "web_url": format!("{}/{}", w.base_url, u.username),
        }),
        None => Value::Null,
    }
}

fn mr_json(
    w: &World,
    p: &Project,
    m: &MergeRequest,
    single: bool,
    ctx_params: Option<&super::Params>,
) -> Value {
    let opened = m.state == MrState::Opened;
    let src_exists = w.mr_source_head(p, m).is_some();
    let (facts_conflict, diverged) = if opened {
        w.mr_merge_facts(p, m)
    } else {
        (false, 0)
    };
    // Until GitLab's asynchronous check has run, `has_conflicts` is false and the status says
    // so (app/services/merge_requests/mergeability/detailed_merge_status_service.rb).
    let pending = match m.merge_check {
        MergeCheck::Preparing => Some("preparing"),
        MergeCheck::Unchecked => Some("unchecked"),
        MergeCheck::Checking => Some("checking"),
        MergeCheck::Checked => None,
    };
    let pending = pending.filter(|_| opened);
    let conflicts = facts_conflict && pending.is_none();
    let merge_status = if !opened {
        "can_be_merged"
    } else if let Some(p) = pending {
        p
    } else if conflicts || !src_exists {
        "cannot_be_merged"
    } else {
        "can_be_merged"
    };
    let detailed = if !opened {
        "not_open"
    } else if let Some(p) = pending {
        p
    } else if m.draft() {
        "draft_status"
    } else if !src_exists {
        "broken_status"
    } else if conflicts {
        "conflict"
    } else {
        "mergeable"
    };
    let full = w.project_path(p);
    let mut v = json!({
        "id": m.id,
        "iid": m.iid,
        "project_id": p.id,
        "title": m.title,
        "description": m.description,
        "state": m.state.as_str(),
        "created_at": util::iso_ms(m.created_at),
        "updated_at": util::iso_ms(m.updated_at),
        "merged_by": m.merged_by.map(|u| user_json(w, u)),
        "merge_user": m.auto_merge_user.or(m.merged_by).map(|u| user_json(w, u)),
        "merged_at": m.merged_at.map(util::iso_ms),
        "closed_by": m.closed_by.map(|u| user_json(w, u)),
        "closed_at": m.closed_at.map(util::iso_ms),
        "target_branch": m.target_branch,
        "source_branch": m.source_branch,
        "user_notes_count": m.notes.iter().filter(|n| !n.system).count(),
        "upvotes": m.awards.iter().filter(|a| a.name == "thumbsup").count(),
        "downvotes": m.awards.iter().filter(|a| a.name == "thumbsdown").count(),
        "author": user_json(w, m.author_id),
        "assignees": m.assignee_ids.iter().map(|u| user_json(w, *u)).collect::<Vec<_>>(),
        "assignee": m.assignee_ids.first().map(|u| user_json(w, *u)),
        "reviewers": m.reviewer_ids.iter().map(|u| user_json(w, *u)).collect::<Vec<_>>(),
        // An MR from a fork lives in (and is listed by) the target project, with the fork as
        // its source project (app/finders/merge_requests_finder.rb lists by target project).
        "source_project_id": m.source_project_id,
        "target_project_id": p.id,
        "labels": m.labels,
        "draft": m.draft(),
        "work_in_progress": m.draft(),
        "milestone": null,
        "merge_when_pipeline_succeeds": opened && m.auto_merge_user.is_some(),

        "merge_status": merge_status,
        "detailed_merge_status": detailed,
        "sha": m.sha,
        "merge_commit_sha": m.merge_commit_sha,
        "squash_commit_sha": null,
        "discussion_locked": null,
        "should_remove_source_branch": null,
        "force_remove_source_branch": m.remove_source_branch,
        "prepared_at": util::iso_ms(m.created_at),
        "reference": format!("!{}", m.iid),
        "references": {"short": format!("!{}", m.iid), "relative": format!("!{}", m.iid),
                       "full": format!("{full}!{}", m.iid)},
        "web_url": format!("{}/-/merge_requests/{}", w.project_url(p), m.iid),
        "time_stats": {"time_estimate": 0, "total_time_spent": 0,
                       "human_time_estimate": null, "human_total_time_spent": null},
        "squash": m.squash,
        "squash_on_merge": m.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": conflicts,
        "blocking_discussions_resolved": true,
    });
    if single {
        let head = w.mr_source_head(p, m);
        let tgt = p.repo.head(&m.target_branch);
        let base = match (&head, &tgt) {
            (Some(h), Some(t)) => p.repo.merge_base(&h.id, &t.id),
            _ => None,
        };
        v["merge_error"] = json!(m.merge_error);
        v["first_contribution"] = json!(false);
        v["diff_refs"] = json!({
            "base_sha": base,
            "head_sha": m.sha,
            "start_sha": tgt.map(|t| t.id.clone()),
        });
        v["user"] = json!({"can_merge": true});
        v["latest_build_started_at"] = Value::Null;
        v["latest_build_finished_at"] = Value::Null;
        // The single MR entity (Entities::MergeRequest) carries the head pipeline.
        let head = w
            .head_pipeline(p, m)
            .map(|pl| super::pipelines::pipeline_json(w, p, pl));
        v["head_pipeline"] = head.clone().unwrap_or(Value::Null);
        v["pipeline"] = head.unwrap_or(Value::Null);
        if let Some(params) = ctx_params {
            if params.bool("include_rebase_in_progress").ok().flatten() == Some(true) {
                v["rebase_in_progress"] = json!(m.rebase_in_progress);
            }
            if params.bool("include_diverged_commits_count").ok().flatten() == Some(true) {
                v["diverged_commits_count"] = json!(diverged);
            }
        }
    }
    v
}

fn iid(ctx: &Ctx) -> Result<u64, Reply> {
    ctx.seg(3).parse().map_err(|_| err(404, "404 Not found"))
}

fn mr_project(ctx: &Ctx) -> Result<(ProjectId, u64), Reply> {
    let id = ctx.code_project()?;
    let iid = iid(ctx)?;
    ctx.w.mr(id, iid).map_err(world_err)?;
    Ok((id, iid))
}

/// `GET /projects/:id/merge_requests`.
pub(crate) fn list(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let state = ctx.params.str("state").unwrap_or_else(|| "all".into());
    if !["opened", "closed", "merged", "locked", "all"].contains(&state.as_str()) {
        return Err(Reply::json(
            400,
            json!({"error": "state does not have a valid value"}),
        ));
    }
    let source = ctx.params.str("source_branch");
    let target = ctx.params.str("target_branch");
    let author = ctx.params.u64("author_id")?;
    let labels = ctx.params.list("labels");
    let sort = ctx.params.str("sort").unwrap_or_else(|| "desc".into());
    let order_by = ctx
        .params
        .str("order_by")
        .unwrap_or_else(|| "created_at".into());
    if sort != "asc" && sort != "desc" {
        return Err(invalid("sort"));
    }
    let iids: Option<Vec<u64>> = ctx
        .params
        .list("iids")
        .map(|l| l.iter().filter_map(|x| x.parse().ok()).collect());
    let w = &*ctx.w;
    let p = &w.projects[&id];
    let mut mrs: Vec<&MergeRequest> = p
        .merge_requests
        .iter()
        .filter(|m| state == "all" || m.state.as_str() == state)
        .filter(|m| source.as_ref().is_none_or(|s| &m.source_branch == s))
        .filter(|m| target.as_ref().is_none_or(|s| &m.target_branch == s))
        .filter(|m| author.is_none_or(|a| m.author_id == a))
        .filter(|m| {
            labels
                .as_ref()
                .is_none_or(|l| l.iter().all(|x| m.labels.contains(x)))
        })
        .filter(|m| iids.as_ref().is_none_or(|l| l.contains(&m.iid)))
        .collect();
    if order_by == "updated_at" {
        mrs.sort_by_key(|m| (m.updated_at, m.id));
    } else {
        mrs.sort_by_key(|m| (m.created_at, m.id));
    }
    if sort == "desc" {
        mrs.reverse();
    }
    let items: Vec<Value> = mrs.iter().map(|m| mr_json(w, p, m, false, None)).collect();
    let read: Vec<u64> = mrs.iter().map(|m| m.iid).collect();
    ctx.w.mark_checking(id, &read);
    pagination::paged(ctx, items)
}

/// `GET /projects/:id/merge_requests/:iid`.
pub(crate) fn get(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let v = mr_json(ctx.w, p, m, true, Some(&ctx.params));
    ctx.w.mark_checking(id, &[iid]);
    Ok(Reply::ok(v))
}

/// `GET /projects/:id/merge_requests/:iid/diffs`: the MR's changed files, between the merge
/// base and the source head, as lib/api/merge_requests.rb presents them (`paginate` over the
/// latest merge request diff's files, each an `Entities::Diff` of lib/api/entities/diff.rb:
/// paths, modes, new/renamed/deleted/generated flags and the unified diff), offset-paginated.
pub(crate) fn list_diffs(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let w = &*ctx.w;
    let p = &w.projects[&id];
    let m = w.mr(id, iid).map_err(world_err)?;
    let head = w.mr_source_head(p, m);
    let target = p.repo.head(&m.target_branch);
    let items = match (head, target) {
        (Some(h), Some(t)) => {
            let base = p
                .repo
                .merge_base(&h.id, &t.id)
                .and_then(|s| p.repo.commits.get(&s).cloned())
                .unwrap_or(t);
            super::repository::diffs(&base.files, &h.files)
        }
        _ => Vec::new(),
    };
    pagination::paged(ctx, items)
}

/// `POST /projects/:id/merge_requests`.
pub(crate) fn create(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::DEVELOPER)?;
    let source = ctx.params.req_str("source_branch")?;
    let target = ctx.params.req_str("target_branch")?;
    let title = ctx.params.req_str("title")?;
    let description = ctx.params.str("description").unwrap_or_default();
    let labels = ctx.params.list("labels").unwrap_or_default();
    let remove = ctx.params.bool("remove_source_branch")?.unwrap_or(false);
    let squash = ctx.params.bool("squash")?.unwrap_or(false);
    let user = ctx.user;
    // `target_project_id`: an MR from this project (a fork) into the project it was forked
    // from (lib/api/merge_requests.rb; MergeRequests::BuildService checks the fork network).
    let target_project = ctx.params.u64("target_project_id")?.unwrap_or(id);
    let assignee_ids = readers(ctx, id, ctx.params.ids("assignee_ids")?);
    let reviewer_ids = readers(ctx, id, ctx.params.ids("reviewer_ids")?);
    let spec = crate::world::MrSpec {
        source_branch: source,
        target_branch: target,
        title,
        description,
        labels,
        remove_source_branch: remove,
        squash,
        assignee_ids: assignee_ids.unwrap_or_default(),
        reviewer_ids: reviewer_ids.unwrap_or_default(),
    };
    let (id, iid) = if target_project == id {
        let iid = ctx.w.create_mr_with(id, user, spec).map_err(world_err)?;
        (id, iid)
    } else {
        if ctx.proj(id).forked_from != Some(target_project) {
            return Err(err(400, "The target project must be in the fork network"));
        }
        ctx.w.open_fork_mr(id, user, spec).map_err(world_err)?
    };
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    Ok(Reply::created(mr_json(ctx.w, p, m, true, None)))
}

/// The ids of users who may be assigned or asked to review: those that exist and can read
/// the project's MRs; others are dropped without an error (app/services/issuable_base_service.rb
/// `filter_assignees_using_checks`, `filter_reviewers`). The simulator models Premium, where
/// several assignees and reviewers are allowed (CE keeps only the first).
fn readers(ctx: &Ctx, project: ProjectId, ids: Option<Vec<u64>>) -> Option<Vec<UserId>> {
    let p = ctx.proj(project);
    ids.map(|ids| {
        let mut kept: Vec<UserId> = Vec::new();
        for id in ids {
            if ctx.w.users.contains_key(&id) && ctx.w.can_see(p, id) && !kept.contains(&id) {
                kept.push(id);
            }
        }
        kept
    })
}

/// `PUT /projects/:id/merge_requests/:iid`.
pub(crate) fn update(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let author = ctx.w.mr(id, iid).map_err(world_err)?.author_id;
    if author != ctx.user
        && !ctx.is_admin()
        && ctx.w.access_level(ctx.proj(id), ctx.user) < access::DEVELOPER
    {
        return Err(err(403, "403 Forbidden"));
    }
    let user = ctx.user;
    let mut labels = ctx.params.list("labels");
    let add = ctx.params.list("add_labels");
    let remove = ctx.params.list("remove_labels");
    if add.is_some() || remove.is_some() {
        let mut l = labels.unwrap_or_else(|| {
            ctx.w
                .mr(id, iid)
                .map(|m| m.labels.clone())
                .unwrap_or_default()
        });
        for a in add.unwrap_or_default() {
            if !l.contains(&a) {
                l.push(a);
            }
        }
        let rm = remove.unwrap_or_default();
        l.retain(|x| !rm.contains(x));
        labels = Some(l);
    }
    let state_event = ctx.params.str("state_event");
    let (title, description, target) = (
        ctx.params.str("title"),
        ctx.params.str("description"),
        ctx.params.str("target_branch"),
    );
    let assignee_ids = readers(ctx, id, ctx.params.ids("assignee_ids")?);
    let reviewer_ids = readers(ctx, id, ctx.params.ids("reviewer_ids")?);
    if title.is_none()
        && description.is_none()
        && target.is_none()
        && labels.is_none()
        && assignee_ids.is_none()
        && reviewer_ids.is_none()
        && state_event.is_none()
        && ctx.params.get("remove_source_branch").is_none()
        && ctx.params.get("squash").is_none()
    {
        return Err(Reply::json(
            400,
            json!({"error": "assignee_id, assignee_ids, confidential, description, discussion_locked, labels, add_labels, milestone_id, remove_labels, remove_source_branch, reviewer_ids, squash, state_event, target_branch, title are missing, at least one parameter must be provided"}),
        ));
    }
    if let Some(r) = ctx.params.bool("remove_source_branch")? {
        if let Ok(Some(m)) = ctx
            .w
            .project_mut_raw(id)
            .map(|p| p.merge_requests.iter_mut().find(|m| m.iid == iid))
        {
            m.remove_source_branch = r;
        }
    }
    if let Some(s) = ctx.params.bool("squash")? {
        if let Ok(Some(m)) = ctx
            .w
            .project_mut_raw(id)
            .map(|p| p.merge_requests.iter_mut().find(|m| m.iid == iid))
        {
            m.squash = s;
        }
    }
    ctx.w
        .update_mr(id, iid, user, title, description, labels, target)
        .map_err(world_err)?;
    if assignee_ids.is_some() || reviewer_ids.is_some() {
        ctx.w
            .set_mr_people(id, iid, user, assignee_ids, reviewer_ids)
            .map_err(world_err)?;
    }
    match state_event.as_deref() {
        None => {}
        Some("close") => ctx.w.close_mr(id, iid, user).map_err(world_err)?,
        Some("reopen") => ctx.w.reopen_mr(id, iid, user).map_err(world_err)?,
        Some(_) => {
            return Err(Reply::json(
                400,
                json!({"error": "state_event does not have a valid value"}),
            ))
        }
    }
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    Ok(Reply::ok(mr_json(ctx.w, p, m, true, None)))
}

/// `PUT /projects/:id/merge_requests/:iid/rebase`: answers 202 and queues the rebase, which
/// finishes a few requests later (lib/api/merge_requests.rb, `RebaseWorker`).
pub(crate) fn rebase(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    if ctx.w.access_level(ctx.proj(id), ctx.user) < access::DEVELOPER && !ctx.is_admin() {
        return Err(err(403, "403 Forbidden"));
    }
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    if m.state != MrState::Opened {
        return Err(err(403, "403 Forbidden"));
    }
    if m.source_project_id != id {
        // A fork's branch: pushing to it needs `allow_collaboration` (not modelled).
        return Err(err(403, "403 Forbidden - Cannot push to source branch"));
    }
    // MergeRequests::RebaseService#validate (app/services/merge_requests/rebase_service.rb),
    // answered by lib/api/merge_requests.rb as 403 `{"merge_error": reason}`.
    let refuse = |status: u16, reason: &str| Reply::json(status, json!({ "merge_error": reason }));
    let p = ctx.proj(id);
    if !p.repo.branches.contains_key(&m.source_branch) {
        return Err(refuse(403, "Source branch does not exist"));
    }
    if p.protected_no_force_push.contains(&m.source_branch) {
        return Err(refuse(403, "Source branch is protected from force push"));
    }
    if m.row_locked {
        // `rescue ::MergeRequest::RebaseLockTimeout` → 409 with REBASE_LOCK_MESSAGE.
        return Err(refuse(
            409,
            "Failed to enqueue the rebase operation, possibly due to a long-lived transaction. Try again later.",
        ));
    }
    let user = ctx.user;
    ctx.w.enqueue_rebase(id, iid, user).map_err(world_err)?;
    Ok(Reply::json(202, json!({"rebase_in_progress": true})))
}

/// `PUT /projects/:id/merge_requests/:iid/merge`.
pub(crate) fn merge(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    if ctx.w.access_level(ctx.proj(id), ctx.user) < access::DEVELOPER && !ctx.is_admin() {
        return Err(err(401, "401 Unauthorized"));
    }
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    // `unauthorized! unless merge_request.can_be_merged_by?(current_user)`: the target
    // branch's protection decides.
    if !ctx.w.can_merge_into(p, ctx.user, &m.target_branch) && !ctx.is_admin() {
        return Err(err(401, "401 Unauthorized"));
    }
    // `merge_when_pipeline_succeeds` (or `auto_merge`): automatically mergeable while the head
    // pipeline is running; immediately mergeable once it succeeded; otherwise 405
    // (`not_allowed!`).
    let auto = ctx
        .params
        .bool("merge_when_pipeline_succeeds")?
        .unwrap_or(false)
        || ctx.params.bool("auto_merge")?.unwrap_or(false);
    let pipeline = ctx.w.head_pipeline(p, m).map(|pl| pl.status.clone());
    let automatically = auto && pipeline.as_deref() == Some("running");
    let immediately = if auto {
        pipeline.as_deref() == Some("success")
    } else {
        true
    };
    if m.state != MrState::Opened || m.draft() || (!automatically && !immediately) {
        return Err(err(405, "405 Method Not Allowed"));
    }
    if ctx.w.mr_merge_facts(p, m).0 || p.repo.head(&m.source_branch).is_none() {
        return Err(err(406, "Branch cannot be merged"));
    }
    // `merge_request.mergeable?` checks the merge status: while GitLab is still checking, the
    // answer is 422 (and the check is enqueued).
    if !m.merge_check.done() {
        ctx.w.mark_checking(id, &[iid]);
        return Err(err(422, "Branch cannot be merged"));
    }
    if let Some(sha) = ctx.params.str("sha") {
        if sha != m.sha {
            return Err(err(409, "SHA does not match HEAD of source branch"));
        }
    }
    if let Some(r) = ctx.params.bool("should_remove_source_branch")? {
        if let Ok(Some(m)) = ctx
            .w
            .project_mut_raw(id)
            .map(|p| p.merge_requests.iter_mut().find(|m| m.iid == iid))
        {
            m.remove_source_branch = r;
        }
    }
    let user = ctx.user;
    if automatically {
        ctx.w.set_auto_merge(id, iid, user).map_err(world_err)?;
    } else {
        ctx.w.merge_mr(id, iid, user).map_err(world_err)?;
    }
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    Ok(Reply::ok(mr_json(ctx.w, p, m, true, None)))
}

fn note_json(w: &World, p: &Project, m: &MergeRequest, n: &Note) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": user_json(w, n.author_id),
        "created_at": util::iso_ms(n.created_at),
        "updated_at": util::iso_ms(n.updated_at),
        "system": n.system,
        "noteable_id": m.id,
        "noteable_type": "MergeRequest",
        "project_id": p.id,
        "resolvable": false,
        "confidential": n.internal,
        "internal": n.internal,
        "imported": false,
        "imported_from": "none",
        "noteable_iid": m.iid,
        "commands_changes": {},
    })
}

/// `GET /projects/:id/merge_requests/:iid/notes`.
pub(crate) fn list_notes(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let sort = ctx.params.str("sort").unwrap_or_else(|| "desc".into());
    let order_by = ctx
        .params
        .str("order_by")
        .unwrap_or_else(|| "created_at".into());
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let mut notes: Vec<&Note> = m.notes.iter().collect();
    if order_by == "updated_at" {
        notes.sort_by_key(|n| (n.updated_at, n.id));
    }
    if sort == "desc" {
        notes.reverse();
    }
    let items: Vec<Value> = notes.iter().map(|n| note_json(ctx.w, p, m, n)).collect();
    pagination::paged(ctx, items)
}

fn note_id(ctx: &Ctx) -> Result<u64, Reply> {
    ctx.seg(5)
        .parse()
        .map_err(|_| err(404, "404 Note Not Found"))
}

/// `GET /projects/:id/merge_requests/:iid/notes/:note_id`.
pub(crate) fn get_note(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let nid = note_id(ctx)?;
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let n = m
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| err(404, "404 Note Not Found"))?;
    Ok(Reply::ok(note_json(ctx.w, p, m, n)))
}

/// `POST /projects/:id/merge_requests/:iid/notes`.
pub(crate) fn create_note(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let body = ctx.params.req_str("body")?;
    if body.trim().is_empty() {
        return Err(Reply::json(
            400,
            json!({"message": {"note": ["can't be blank"]}}),
        ));
    }
    let user = ctx.user;
    let nid = if ctx.params.bool("internal")?.unwrap_or(false) {
        ctx.w.add_internal_note(id, iid, user, &body)
    } else {
        ctx.w.add_note(id, iid, user, &body)
    }
    .map_err(world_err)?;
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let n = m
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| err(404, "404 Note Not Found"))?;
    Ok(Reply::created(note_json(ctx.w, p, m, n)))
}

/// `PUT /projects/:id/merge_requests/:iid/notes/:note_id`.
pub(crate) fn update_note(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let nid = note_id(ctx)?;
    let body = ctx.params.req_str("body")?;
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let n = m
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| err(404, "404 Note Not Found"))?;
    if n.author_id != ctx.user && !ctx.is_admin() {
        return Err(err(403, "403 Forbidden"));
    }
    let user = ctx.user;
    ctx.w
        .edit_note(id, iid, nid, user, &body)
        .map_err(world_err)?;
    let p = ctx.proj(id);
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let n = m
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| err(404, "404 Note Not Found"))?;
    Ok(Reply::ok(note_json(ctx.w, p, m, n)))
}

fn award_json(w: &World, a: &Award, awardable_id: u64, kind: &str) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "user": user_json(w, a.user_id),
        "created_at": util::iso_ms(a.created_at),
        "updated_at": util::iso_ms(a.created_at),
        "awardable_id": awardable_id,
        "awardable_type": kind,
        "url": null,
    })
}

/// `GET .../merge_requests/:iid/award_emoji` and `.../notes/:note_id/award_emoji`.
pub(crate) fn list_awards(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let items: Vec<Value> = if ctx.segs.len() > 6 {
        let nid = note_id(ctx)?;
        let n = m
            .notes
            .iter()
            .find(|n| n.id == nid)
            .ok_or_else(|| err(404, "404 Note Not Found"))?;
        n.awards
            .iter()
            .map(|a| award_json(ctx.w, a, n.id, "Note"))
            .collect()
    } else {
        m.awards
            .iter()
            .map(|a| award_json(ctx.w, a, m.id, "MergeRequest"))
            .collect()
    };
    pagination::paged(ctx, items)
}

/// `POST .../merge_requests/:iid/award_emoji` and `.../notes/:note_id/award_emoji`.
pub(crate) fn create_award(ctx: &mut Ctx) -> R {
    let (id, iid) = mr_project(ctx)?;
    let name = ctx.params.req_str("name")?;
    let note = if ctx.segs.len() > 6 {
        Some(note_id(ctx)?)
    } else {
        None
    };
    let user = ctx.user;
    let aid = ctx
        .w
        .award(id, iid, note, user, &name)
        .map_err(|e| match e {
            crate::world::WorldError::Invalid(m) => err(404, format!("404 {m} Not Found")),
            other => world_err(other),
        })?;
    let m = ctx.w.mr(id, iid).map_err(world_err)?;
    let (list, awardable, kind) = match note {
        Some(nid) => {
            let n = m
                .notes
                .iter()
                .find(|n| n.id == nid)
                .ok_or_else(|| err(404, "404 Note Not Found"))?;
            (&n.awards, n.id, "Note")
        }
        None => (&m.awards, m.id, "MergeRequest"),
    };
    let a = list
        .iter()
        .find(|a| a.id == aid)
        .ok_or_else(|| err(404, "404 Not found"))?;
    Ok(Reply::created(award_json(ctx.w, a, awardable, kind)))
}
