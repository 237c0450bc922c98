//! User, token, version, members, commit statuses, hooks, badges.

use serde_json::{json, Value};

use super::merge_requests::user_json;
use super::{err, missing, pagination, Ctx, Reply, R};
use crate::util;
use crate::webhook::GITLAB_VERSION;
use crate::world::{access, Badge, CommitStatus, HookTarget, Project, ProjectHook, World};

/// `GET /user`: `lib/api/users.rb` renders `UserPublic` (`lib/api/entities/user_public.rb`),
/// which adds to `UserBasic` the sign-in times, `identities` and `commit_email`.
pub(crate) fn current_user(ctx: &mut Ctx) -> R {
    let u = ctx
        .w
        .users
        .get(&ctx.user)
        .ok_or_else(|| err(401, "401 Unauthorized"))?;
    let mut v = user_json(ctx.w, u.id);
    let extra = json!({
        "created_at": util::iso_ms(u.created_at),
        "bio": "", "location": "", "public_email": null, "skype": "", "linkedin": "",
        "twitter": "", "website_url": "", "organization": "", "job_title": "",
        "bot": u.bot, "is_admin": u.admin, "email": u.email,
        "last_sign_in_at": null, "current_sign_in_at": null,
        "confirmed_at": util::iso_ms(u.created_at), "identities": [],
        "commit_email": u.email,
        "last_activity_on": util::today(), "theme_id": 1, "color_scheme_id": 1,
        "projects_limit": 100000, "can_create_group": true, "can_create_project": true,
        "two_factor_enabled": false, "external": false, "private_profile": false,
        "namespace_id": u.namespace_id,
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    Ok(Reply::ok(v))
}

/// `GET /version`.
pub(crate) fn version(_: &mut Ctx) -> R {
    Ok(Reply::ok(json!({
        "version": GITLAB_VERSION,
        "revision": "5im0000sim",
        "kas": {"enabled": false, "externalUrl": null, "externalK8sProxyUrl": null, "version": null},
        "enterprise": false,
    })))
}

/// `GET /personal_access_tokens/self`.
pub(crate) fn token_self(ctx: &mut Ctx) -> R {
    let t = ctx
        .w
        .tokens
        .values()
        .find(|t| t.id == ctx.token_id)
        .ok_or_else(|| err(401, "401 Unauthorized"))?;
    Ok(Reply::ok(json!({
        "id": t.id,
        "name": t.name,
        "revoked": t.revoked,
        "created_at": util::iso_ms(t.created_at),
        "description": null,
        "scopes": t.scopes,
        "user_id": t.user_id,
        "last_used_at": t.last_used_at.map(util::iso_ms),
        "active": !t.revoked && !t.expired(),
        "expires_at": t.expires_at,
    })))
}

/// `GET /projects/:id/members/all/:user_id`.
pub(crate) fn member(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::NONE)?;
    let uid: u64 = ctx.seg(4).parse().map_err(|_| err(404, "404 Not found"))?;
    let p = ctx.proj(id);
    let level = ctx.w.access_level(p, uid);
    let u = ctx.w.users.get(&uid);
    match u {
        Some(u) if level > 0 => {
            let mut v = user_json(ctx.w, u.id);
            v["access_level"] = json!(level);
            v["created_at"] = json!(util::iso_ms(p.created_at));
            v["expires_at"] = Value::Null;
            v["membership_state"] = json!("active");
            Ok(Reply::ok(v))
        }
        _ => Err(err(404, "404 Not found")),
    }
}

/// A commit status as `lib/api/entities/commit_status.rb` presents it: its state is `status`
/// (the request's parameter is `state`).
fn status_json(w: &World, s: &CommitStatus) -> Value {
    let t = util::iso_ms(s.created_at);
    let finished = matches!(
        s.status.as_str(),
        "success" | "failed" | "canceled" | "skipped"
    );
    json!({
        "id": s.id,
        "sha": s.sha,
        "ref": s.ref_name,
        "status": s.status,
        "name": s.name,
        "target_url": s.target_url,
        "description": s.description,
        "created_at": t,
        "started_at": if s.status == "pending" { Value::Null } else { json!(t) },
        "finished_at": if finished { json!(t) } else { Value::Null },
        "allow_failure": false,
        "coverage": null,
        "pipeline_id": null,
        "author": user_json(w, s.author_id),
    })
}

/// `POST /projects/:id/statuses/:sha`.
pub(crate) fn create_status(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::DEVELOPER)?;
    let state = ctx.params.req_str("state")?;
    if ![
        "pending", "running", "success", "failed", "canceled", "skipped",
    ]
    .contains(&state.as_str())
    {
        return Err(Reply::json(
            400,
            json!({"error": "state does not have a valid value"}),
        ));
    }
    let sha = ctx.seg(3).to_string();
    let c = ctx
        .proj(id)
        .repo
        .commits
        .get(&sha)
        .cloned()
        .ok_or_else(|| err(404, "404 Commit Not Found"))?;
    let name = ctx
        .params
        .str("name")
        .or_else(|| ctx.params.str("context"))
        .unwrap_or_else(|| "default".into());
    let ref_name = ctx.params.str("ref").or_else(|| {
        let p = ctx.proj(id);
        p.repo
            .branches
            .iter()
            .find(|(_, h)| **h == c.id)
            .map(|(b, _)| b.clone())
    });
    let now = ctx.w.now();
    let new_id = ctx.w.next_id();
    let user = ctx.user;
    let (target_url, description) = (ctx.params.str("target_url"), ctx.params.str("description"));
    let p = ctx.w.project_mut_raw(id).map_err(super::world_err)?;
    let idx = match p
        .statuses
        .iter()
        .position(|s| s.sha == c.id && s.name == name && s.ref_name == ref_name)
    {
        Some(i) => {
            let s = &mut p.statuses[i];
            s.status = state;
            s.target_url = target_url.or(s.target_url.take());
            s.description = description.or(s.description.take());
            s.created_at = now;
            i
        }
        None => {
            p.statuses.push(CommitStatus {
                id: new_id,
                sha: c.id.clone(),
                ref_name,
                status: state,
                name,
                target_url,
                description,
                created_at: now,
                author_id: user,
            });
            p.statuses.len() - 1
        }
    };
    let s = ctx.proj(id).statuses[idx].clone();
    Ok(Reply::created(status_json(ctx.w, &s)))
}

/// `GET /projects/:id/repository/commits/:sha/statuses`.
pub(crate) fn list_statuses(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let p = ctx.proj(id);
    let c = p
        .repo
        .resolve(ctx.seg(4))
        .ok_or_else(|| err(404, "404 Commit Not Found"))?;
    let want_ref = ctx.params.str("ref");
    let want_name = ctx.params.str("name");
    let items: Vec<Value> = p
        .statuses
        .iter()
        .filter(|s| s.sha == c.id)
        .filter(|s| {
            want_ref
                .as_ref()
                .is_none_or(|r| s.ref_name.as_ref() == Some(r))
        })
        .filter(|s| want_name.as_ref().is_none_or(|n| &s.name == n))
        .map(|s| status_json(ctx.w, s))
        .collect();
    pagination::paged(ctx, items)
}

/// lib/api/entities/project_hook.rb with `alert_status` and `disabled_until` from
/// app/models/concerns/web_hooks/auto_disabling.rb (`disabled_until` is the stored column: set
/// by the last backoff, cleared by `enable!`).
fn hook_json(p: &Project, h: &ProjectHook) -> Value {
    let alert = h.alert(util::now_ms());
    let disabled_until = h.disabled_until.map(util::iso_ms);
    json!({
        "id": h.id,
        "url": h.target.url,
        "name": null,
        "description": null,
        "project_id": p.id,
        "push_events": h.push_events,
        "push_events_branch_filter": h.push_events_branch_filter,
        "branch_filter_strategy": "wildcard",
        "issues_events": h.issues_events,
        "confidential_issues_events": false,
        "merge_requests_events": h.merge_requests_events,
        "tag_push_events": h.tag_push_events,
        "note_events": h.note_events,
        "confidential_note_events": h.confidential_note_events,
        "job_events": false,
        "pipeline_events": h.pipeline_events,
        "wiki_page_events": false,
        "deployment_events": false,
        "feature_flag_events": false,
        "releases_events": false,
        "milestone_events": false,
        "emoji_events": false,
        "resource_access_token_events": false,
        "repository_update_events": false,
        "enable_ssl_verification": h.enable_ssl_verification,
        "alert_status": alert.as_str(),
        "disabled_until": disabled_until,
        "url_variables": [],
        "created_at": util::iso_ms(h.created_at),
        "custom_webhook_template": null,
        "custom_headers": [],
        "token_present": h.target.token.is_some(),
        "signing_token_present": h.target.signing_token.is_some(),
    })
}

fn hook_id(ctx: &Ctx) -> Result<u64, Reply> {
    ctx.seg(3).parse().map_err(|_| err(404, "404 Not found"))
}

/// `GET /projects/:id/hooks`.
pub(crate) fn list_hooks(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let p = ctx.proj(id);
    let items = p.hooks.iter().map(|h| hook_json(p, h)).collect();
    pagination::paged(ctx, items)
}

/// `GET /projects/:id/hooks/:hook_id`.
pub(crate) fn get_hook(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let hid = hook_id(ctx)?;
    let p = ctx.proj(id);
    let h = p
        .hooks
        .iter()
        .find(|h| h.id == hid)
        .ok_or_else(|| err(404, "404 Not found"))?;
    Ok(Reply::ok(hook_json(p, h)))
}

fn apply_hook_params(ctx: &Ctx, h: &mut ProjectHook) -> Result<(), Reply> {
    if let Some(u) = ctx.params.str("url") {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(Reply::json(
                400,
                json!({"message": {"url": ["is blocked: Only allowed schemes are http, https"]}}),
            ));
        }
        h.target.url = u;
    }
    if let Some(t) = ctx.params.str("token") {
        h.target.token = if t.is_empty() { None } else { Some(t) };
    }
    if let Some(t) = ctx.params.str("signing_token") {
        if t.is_empty() {
            h.target.signing_token = None;
        } else {
            if crate::webhook::sign(&t, "x", 0, b"").is_err() {
                return Err(Reply::json(
                    400,
                    json!({"message": {"signing_token": ["must be in the format whsec_<base64-encoded key>"]}}),
                ));
            }
            h.target.signing_token = Some(t);
        }
    }
    macro_rules! flag {
        ($name:literal, $field:ident) => {
            if let Some(b) = ctx.params.bool($name)? {
                h.$field = b;
            }
        };
    }
    flag!("push_events", push_events);
    flag!("merge_requests_events", merge_requests_events);
    flag!("note_events", note_events);
    flag!("confidential_note_events", confidential_note_events);
    flag!("tag_push_events", tag_push_events);
    flag!("issues_events", issues_events);
    flag!("pipeline_events", pipeline_events);
    flag!("enable_ssl_verification", enable_ssl_verification);
    if let Some(f) = ctx.params.str("push_events_branch_filter") {
        h.push_events_branch_filter = f;
    }
    Ok(())
}

/// `POST /projects/:id/hooks` (accepts `token` and `signing_token`, never returns them).
pub(crate) fn create_hook(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    if ctx.params.str("url").is_none() {
        return Err(missing("url"));
    }
    let now = ctx.w.now();
    let mut h = ProjectHook {
        id: ctx.w.next_id(),
        target: HookTarget::default(),
        push_events: true,
        merge_requests_events: false,
        note_events: false,
        confidential_note_events: false,
        tag_push_events: false,
        issues_events: false,
        pipeline_events: false,
        enable_ssl_verification: true,
        push_events_branch_filter: String::new(),
        created_at: now,
        recent_failures: 0,
        disabled_until: None,
    };
    apply_hook_params(ctx, &mut h)?;
    let p = ctx.w.project_mut_raw(id).map_err(super::world_err)?;
    p.hooks.push(h.clone());
    Ok(Reply::created(hook_json(ctx.proj(id), &h)))
}

/// `PUT /projects/:id/hooks/:hook_id`.
pub(crate) fn update_hook(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let hid = hook_id(ctx)?;
    let mut h = ctx
        .proj(id)
        .hooks
        .iter()
        .find(|h| h.id == hid)
        .cloned()
        .ok_or_else(|| err(404, "404 Not found"))?;
    apply_hook_params(ctx, &mut h)?;
    let p = ctx.w.project_mut_raw(id).map_err(super::world_err)?;
    if let Some(slot) = p.hooks.iter_mut().find(|x| x.id == hid) {
        *slot = h.clone();
    }
    Ok(Reply::ok(hook_json(ctx.proj(id), &h)))
}

/// `DELETE /projects/:id/hooks/:hook_id`.
pub(crate) fn delete_hook(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let hid = hook_id(ctx)?;
    let p = ctx.w.project_mut_raw(id).map_err(super::world_err)?;
    let before = p.hooks.len();
    p.hooks.retain(|h| h.id != hid);
    if p.hooks.len() == before {
        return Err(err(404, "404 Not found"));
    }
    Ok(Reply::no_content())
}

fn render(w: &World, p: &Project, s: &str) -> String {
    let full = w.project_path(p);
    let ns = w
        .namespaces
        .get(&p.namespace_id)
        .map(|n| n.full_path.clone())
        .unwrap_or_default();
    let head = p
        .repo
        .head(&p.default_branch)
        .map(|c| c.id.clone())
        .unwrap_or_default();
    s.replace("%{project_path}", &full)
        .replace("%{project_title}", &p.name)
        .replace("%{project_name}", &p.path)
        .replace("%{project_id}", &p.id.to_string())
        .replace("%{project_namespace}", &ns)
        .replace(
            "%{gitlab_server}",
            w.base_url.split("://").nth(1).unwrap_or(""),
        )
        .replace("%{default_branch}", &p.default_branch)
        .replace("%{commit_sha}", &head)
}

fn badge_json(w: &World, p: &Project, b: &Badge) -> Value {
    json!({
        "name": b.name,
        "link_url": b.link_url,
        "image_url": b.image_url,
        "rendered_link_url": render(w, p, &b.link_url),
        "rendered_image_url": render(w, p, &b.image_url),
        "id": b.id,
        "kind": "project",
    })
}

/// `GET /projects/:id/badges`.
pub(crate) fn list_badges(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::NONE)?;
    let p = ctx.proj(id);
    let items = p.badges.iter().map(|b| badge_json(ctx.w, p, b)).collect();
    pagination::paged(ctx, items)
}

/// `POST /projects/:id/badges`.
pub(crate) fn create_badge(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let link = ctx.params.req_str("link_url")?;
    let image = ctx.params.req_str("image_url")?;
    let name = ctx.params.str("name").unwrap_or_default();
    let bid = ctx
        .w
        .add_badge(id, &name, &link, &image)
        .map_err(super::world_err)?;
    let p = ctx.proj(id);
    let b = p
        .badges
        .iter()
        .find(|b| b.id == bid)
        .ok_or_else(|| err(404, "404 Badge Not Found"))?;
    Ok(Reply::created(badge_json(ctx.w, p, b)))
}

/// `PUT /projects/:id/badges/:badge_id`.
pub(crate) fn update_badge(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let bid: u64 = ctx
        .seg(3)
        .parse()
        .map_err(|_| err(404, "404 Badge Not Found"))?;
    let (link, image, name) = (
        ctx.params.str("link_url"),
        ctx.params.str("image_url"),
        ctx.params.str("name"),
    );
    let p = ctx.w.project_mut_raw(id).map_err(super::world_err)?;
    let b = p
        .badges
        .iter_mut()
        .find(|b| b.id == bid)
        .ok_or_else(|| err(404, "404 Badge Not Found"))?;
    if let Some(l) = link {
        b.link_url = l;
    }
    if let Some(i) = image {
        b.image_url = i;
    }
    if let Some(n) = name {
        b.name = n;
    }
    let p = ctx.proj(id);
    let b = p
        .badges
        .iter()
        .find(|b| b.id == bid)
        .ok_or_else(|| err(404, "404 Badge Not Found"))?;
    Ok(Reply::ok(badge_json(ctx.w, p, b)))
}

/// `GET /users`: lib/api/users.rb. With `username`, the one user of that name (matched
/// case-insensitively, `User.by_username`), else every active user; `UserBasic` entities for
/// people who are not administrators.
pub(crate) fn list_users(ctx: &mut Ctx) -> R {
    let wanted = ctx.params.str("username");
    let items: Vec<Value> = ctx
        .w
        .users
        .values()
        .filter(|u| match &wanted {
            Some(name) => u.username.eq_ignore_ascii_case(name),
            None => u.state == "active",
        })
        .map(|u| user_json(ctx.w, u.id))
        .collect();
    pagination::paged(ctx, items)
}

/// `GET /groups/:id/members/all`: lib/api/members.rb, the group's members with those inherited
/// from its ancestors (the highest level wins), as `Entities::Member`. `:id` is the id or the
/// URL-encoded full path; 404 `Group Not Found` otherwise.
pub(crate) fn group_members_all(ctx: &mut Ctx) -> R {
    let key = ctx.seg(1).to_string();
    let group = ctx
        .w
        .namespaces
        .values()
        .find(|n| {
            n.kind == crate::world::NamespaceKind::Group
                && (n.id.to_string() == key || n.full_path.eq_ignore_ascii_case(&key))
        })
        .map(|n| n.id)
        .ok_or_else(|| err(404, "404 Group Not Found"))?;
    let mut levels: std::collections::BTreeMap<u64, u8> = Default::default();
    let mut ns = Some(group);
    while let Some(id) = ns {
        let Some(n) = ctx.w.namespaces.get(&id) else {
            break;
        };
        for (u, l) in &n.members {
            let e = levels.entry(*u).or_insert(0);
            *e = (*e).max(*l);
        }
        ns = n.parent_id;
    }
    let items: Vec<Value> = levels
        .into_iter()
        .filter(|(u, _)| ctx.w.users.contains_key(u))
        .map(|(u, level)| {
            let mut v = user_json(ctx.w, u);
            v["access_level"] = json!(level);
            v["expires_at"] = Value::Null;
            v["membership_state"] = json!("active");
            v
        })
        .collect();
    pagination::paged(ctx, items)
}
