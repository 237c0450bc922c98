//! `GET /projects` and `GET /projects/:id`.

use serde_json::{json, Value};

use super::pagination;
use super::{invalid, Ctx, Reply, R};
use crate::util;
use crate::world::{access, NamespaceKind, Project, World};

/// The namespace object of a project.
pub(crate) fn namespace_json(w: &World, p: &Project) -> Value {
    match w.namespaces.get(&p.namespace_id) {
        Some(ns) => json!({
            "id": ns.id,
            "name": ns.name,
            "path": ns.path,
            "kind": if ns.kind == NamespaceKind::Group { "group" } else { "user" },
            "full_path": ns.full_path,
            "parent_id": ns.parent_id,
            "avatar_url": null,
            "web_url": if ns.kind == NamespaceKind::Group {
                format!("{}/groups/{}", w.base_url, ns.full_path)
            } else {
                format!("{}/{}", w.base_url, ns.full_path)
            },
        }),
        None => Value::Null,
    }
}

fn name_with_namespace(w: &World, p: &Project) -> String {
    let mut names = Vec::new();
    let mut ns = Some(p.namespace_id);
    while let Some(id) = ns {
        match w.namespaces.get(&id) {
            Some(n) => {
                names.push(n.name.clone());
                ns = n.parent_id;
            }
            None => break,
        }
    }
    names.reverse();
    names.push(p.name.clone());
    names.join(" / ")
}

/// A project as GitLab's `Project` (or `BasicProjectDetails` with `simple`) entity.
pub(crate) fn project_json(w: &World, p: &Project, simple: bool) -> Value {
    let url = w.project_url(p);
    let host = w.base_url.split("://").nth(1).unwrap_or("localhost");
    let host = host.split(':').next().unwrap_or(host);
    let empty = p.repo.branches.is_empty();
    let full = w.project_path(p);
    let mut v = json!({
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": name_with_namespace(w, p),
        "path": p.path,
        "path_with_namespace": full,
        "created_at": util::iso_ms(p.created_at),
        "default_branch": if empty { Value::Null } else { json!(p.default_branch) },
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@{host}:{full}.git"),
        "http_url_to_repo": format!("{url}.git"),
        "web_url": url,
        "readme_url": null,
        "forks_count": 0,
        "avatar_url": null,
        "star_count": 0,
        "last_activity_at": util::iso_ms(p.last_activity_at),
        "namespace": namespace_json(w, p),
    });
    if !simple {
        // `visibility` is the full `Project` entity's (`lib/api/entities/project.rb`);
        // `BasicProjectDetails` (`simple=true`) has none, as GitLab's `projects.json` says.
        let extra = json!({
            "visibility": p.visibility.as_str(),
            "empty_repo": empty,
            "archived": p.archived,
            "creator_id": p.creator_id,
            "open_issues_count": 0,
            "issues_enabled": true,
            "merge_requests_enabled": true,
            "repository_access_level": "enabled",
            "merge_requests_access_level": "enabled",
            "only_allow_merge_if_pipeline_succeeds": false,
            "remove_source_branch_after_merge": true,
            "merge_method": "merge",
            "squash_option": "default_off",
            "updated_at": util::iso_ms(p.last_activity_at),
            "_links": {
                "self": format!("{}/api/v4/projects/{}", w.base_url, p.id),
                "merge_requests": format!("{}/api/v4/projects/{}/merge_requests", w.base_url, p.id),
                "repo_branches": format!("{}/api/v4/projects/{}/repository/branches", w.base_url, p.id),
                "members": format!("{}/api/v4/projects/{}/members", w.base_url, p.id),
            },
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
    }
    v
}

/// `GET /projects`.
pub(crate) fn list(ctx: &mut Ctx) -> R {
    let membership = ctx.params.bool("membership")?.unwrap_or(false);
    let min_access = ctx.params.u64("min_access_level")?;
    if let Some(l) = min_access {
        if ![10, 20, 30, 40, 50].contains(&l) {
            return Err(Reply::json(
                400,
                json!({"error": "min_access_level does not have a valid value"}),
            ));
        }
    }
    let archived = ctx.params.bool("archived")?;
    let simple = ctx.params.bool("simple")?.unwrap_or(false);
    let search = ctx.params.str("search").map(|s| s.to_lowercase());
    let keyset = pagination::is_keyset(ctx)?;
    let order_by = ctx.params.str("order_by").unwrap_or_else(|| {
        if keyset {
            "id".into()
        } else {
            "created_at".into()
        }
    });
    let sort = ctx.params.str("sort").unwrap_or_else(|| "desc".into());
    if sort != "asc" && sort != "desc" {
        return Err(invalid("sort"));
    }
    if ![
        "id",
        "created_at",
        "updated_at",
        "last_activity_at",
        "name",
        "path",
    ]
    .contains(&order_by.as_str())
    {
        return Err(Reply::json(
            400,
            json!({"error": "order_by does not have a valid value"}),
        ));
    }
    if keyset && order_by != "id" {
        // lib/api/helpers/pagination_strategies.rb (`keyset_paginator`): Grape's `error!`,
        // whose body is `{"error": ...}`.
        return Err(Reply::json(
            405,
            json!({"error": "Keyset pagination is not yet available for this type of request"}),
        ));
    }
    let w = &*ctx.w;
    let user = ctx.user;
    let admin = ctx.is_admin();
    let keep = |p: &Project| -> bool {
        if let Some(a) = archived {
            if p.archived != a {
                return false;
            }
        }
        let level = w.access_level(p, user);
        if membership && level < access::GUEST {
            return false;
        }
        if let Some(min) = min_access {
            if (level as u64) < min {
                return false;
            }
        }
        if !admin && !w.can_see(p, user) {
            return false;
        }
        if let Some(s) = &search {
            if !p.name.to_lowercase().contains(s) && !p.path.to_lowercase().contains(s) {
                return false;
            }
        }
        true
    };
    let desc = sort == "desc";
    if keyset {
        let (_, per_page) = pagination::page_params(ctx)?;
        let after = ctx.params.u64("id_after")?;
        let before = ctx.params.u64("id_before")?;
        let mut page: Vec<&Project> = Vec::with_capacity(per_page + 1);
        let iter: Box<dyn Iterator<Item = &Project>> = if desc {
            Box::new(w.projects.values().rev())
        } else {
            Box::new(w.projects.values())
        };
        for p in iter {
            if after.is_some_and(|a| p.id <= a) || before.is_some_and(|b| p.id >= b) {
                continue;
            }
            if keep(p) {
                page.push(p);
                if page.len() > per_page {
                    break;
                }
            }
        }
        let more = page.len() > per_page;
        page.truncate(per_page);
        let items: Vec<Value> = page.iter().map(|p| project_json(w, p, simple)).collect();
        let mut r = Reply::ok(Value::Array(items));
        if more {
            if let Some(last) = page.last() {
                let (k, drop_k) = if desc {
                    ("id_before", "id_after")
                } else {
                    ("id_after", "id_before")
                };
                let pairs: Vec<(String, String)> = ctx
                    .query_pairs
                    .iter()
                    .filter(|(q, _)| q != drop_k && q != "page")
                    .cloned()
                    .collect();
                let l = pagination::link_from(&ctx.link_base, &pairs, &[(k, last.id.to_string())]);
                r.headers
                    .push(("Link".into(), format!("<{l}>; rel=\"next\"")));
            }
        }
        return Ok(r);
    }
    let mut ids: Vec<&Project> = w.projects.values().filter(|p| keep(p)).collect();
    match order_by.as_str() {
        "id" | "created_at" => {} // ids grow with creation time
        "updated_at" | "last_activity_at" => ids.sort_by_key(|p| (p.last_activity_at, p.id)),
        "name" => ids.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        _ => ids.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id))),
    }
    if desc {
        ids.reverse();
    }
    let (range, headers) = pagination::offset(ctx, ids.len())?;
    let items: Vec<Value> = ids[range]
        .iter()
        .map(|p| project_json(w, p, simple))
        .collect();
    let mut r = Reply::ok(Value::Array(items));
    r.headers = headers;
    Ok(r)
}

/// `GET /projects/:id`.
pub(crate) fn get(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::NONE)?;
    let w = &*ctx.w;
    let p = &w.projects[&id];
    let mut v = project_json(w, p, false);
    let direct = p.members.get(&ctx.user).copied();
    let inherited = w.access_level(p, ctx.user);
    let group = (inherited > direct.unwrap_or(0)).then_some(inherited);
    v["permissions"] = json!({
        "project_access": direct.map(|l| json!({"access_level": l, "notification_level": 3})),
        "group_access": group.map(|l| json!({"access_level": l, "notification_level": 3})),
    });
    Ok(Reply::ok(v))
}
