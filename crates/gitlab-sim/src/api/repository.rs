//! Repository routes: tree, files, compare, branches, commits.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use super::pagination;
use super::{err, invalid, missing, world_err, Body, Ctx, Reply, R};
use crate::repo::{self, Commit, FileEntry, Repository};
use crate::util;
use crate::world::{access, CommitRequest, FileAction, Project, World};

/// A commit as GitLab's `Commit` entity.
pub(crate) fn commit_json(w: &World, p: &Project, c: &Commit) -> Value {
    let t = util::iso_ms(c.created_at);
    json!({
        "id": c.id,
        "short_id": &c.id[..8.min(c.id.len())],
        "created_at": t,
        "parent_ids": c.parent_ids,
        "title": c.title(),
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": t,
        "committer_name": c.author_name,
        "committer_email": c.author_email,
        "committed_date": t,
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{}/-/commit/{}", w.project_url(p), c.id),
    })
}

fn resolve_ref(p: &Project, reference: Option<String>) -> Option<Arc<Commit>> {
    let r = reference.unwrap_or_else(|| p.default_branch.clone());
    p.repo.resolve(&r)
}

/// The last commit (first-parent walk) that changed `path`, starting at `head`.
fn last_commit_for(r: &Repository, head: &Arc<Commit>, path: &str) -> String {
    let mut cur = head.clone();
    loop {
        let mine = cur.files.get(path).map(|f| f.blob_id.clone());
        let parent = cur
            .parent_ids
            .first()
            .and_then(|pid| r.commits.get(pid))
            .cloned();
        match parent {
            Some(pc) if pc.files.get(path).map(|f| f.blob_id.clone()) == mine => cur = pc,
            _ => return cur.id.clone(),
        }
    }
}

/// `GET /projects/:id/repository/tree`.
pub(crate) fn tree(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let p = ctx.proj(id);
    let c = resolve_ref(p, ctx.params.str("ref")).ok_or_else(|| err(404, "404 Tree Not Found"))?;
    let recursive = ctx.params.bool("recursive")?.unwrap_or(false);
    let base = ctx
        .params
        .str("path")
        .map(|s| s.trim_matches('/').to_string())
        .unwrap_or_default();
    let dirs = repo::directories(&c.files);
    if !base.is_empty() && !dirs.contains(&base) {
        return Err(err(404, "404 Tree Not Found"));
    }
    let prefix = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let under = |path: &str| -> bool {
        path.starts_with(&prefix) && (recursive || !path[prefix.len()..].contains('/'))
    };
    let name_of = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    // (sort key, item)
    let mut trees: Vec<(String, Value)> = dirs
        .iter()
        .filter(|d| under(d))
        .map(|d| {
            let sub: Vec<&[u8]> = c
                .files
                .iter()
                .filter(|(fp, _)| fp.starts_with(&format!("{d}/")))
                .map(|(_, f)| f.blob_id.as_bytes())
                .collect();
            let mut parts = vec![d.as_bytes()];
            parts.extend(sub);
            (
                format!("{d}/"),
                json!({"id": util::sha1_of(&parts), "name": name_of(d), "type": "tree",
                       "path": d, "mode": "040000"}),
            )
        })
        .collect();
    let mut blobs: Vec<(String, Value)> = c
        .files
        .iter()
        .filter(|(fp, _)| under(fp))
        .map(|(fp, f)| {
            (
                fp.clone(),
                json!({"id": &*f.blob_id, "name": name_of(fp), "type": "blob",
                       "path": fp, "mode": f.mode()}),
            )
        })
        .collect();
    let items: Vec<Value> = if recursive {
        trees.append(&mut blobs);
        trees.sort_by(|a, b| a.0.cmp(&b.0));
        trees.into_iter().map(|(_, v)| v).collect()
    } else {
        trees.into_iter().chain(blobs).map(|(_, v)| v).collect()
    };
    if pagination::is_keyset(ctx)? {
        let (_, per_page) = pagination::page_params(ctx)?;
        // GitLab's page_token is Gitaly's opaque cursor: base64 of `{"file_name":"<path>"}`.
        let start = match ctx.params.str("page_token") {
            Some(t) if !t.is_empty() => {
                let after = B64
                    .decode(t.as_bytes())
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|v| v["file_name"].as_str().map(str::to_string))
                    .ok_or_else(|| err(400, "400 Bad request - page_token is invalid"))?;
                items
                    .iter()
                    .position(|i| i["path"] == after.as_str())
                    .map(|i| i + 1)
                    .ok_or_else(|| err(400, "400 Bad request - page_token is invalid"))?
            }
            _ => 0,
        };
        let end = (start + per_page).min(items.len());
        let page: Vec<Value> = items[start..end].to_vec();
        let mut r = Reply::ok(Value::Array(page));
        if end < items.len() {
            let last = items[end - 1]["path"].as_str().unwrap_or("");
            let token = B64.encode(json!({ "file_name": last }).to_string());
            let l = pagination::link(ctx, &[("page_token", token)]);
            r.headers
                .push(("Link".into(), format!("<{l}>; rel=\"next\"")));
        }
        return Ok(r);
    }
    pagination::paged(ctx, items)
}

fn file_lookup(
    ctx: &Ctx,
    ref_required: bool,
) -> Result<(Arc<Commit>, FileEntry, String, String, String), Reply> {
    let id = ctx.code_project()?;
    let p = ctx.proj(id);
    let path = ctx.seg(4).to_string();
    if path.is_empty() {
        return Err(missing("file_path"));
    }
    let reference = match ctx.params.str("ref") {
        Some(r) if !r.is_empty() => r,
        _ if ref_required => return Err(missing("ref")),
        _ => p.default_branch.clone(),
    };
    let c = p
        .repo
        .resolve(&reference)
        .ok_or_else(|| err(404, "404 Commit Not Found"))?;
    let f = c
        .files
        .get(&path)
        .cloned()
        .ok_or_else(|| err(404, "404 File Not Found"))?;
    let last = last_commit_for(&p.repo, &c, &path);
    Ok((c, f, path, reference, last))
}

fn file_headers(
    c: &Commit,
    f: &FileEntry,
    path: &str,
    reference: String,
    last: String,
) -> Vec<(String, String)> {
    vec![
        ("X-Gitlab-Blob-Id".into(), f.blob_id.to_string()),
        ("X-Gitlab-Commit-Id".into(), c.id.clone()),
        ("X-Gitlab-Content-Sha256".into(), sha256_hex(&f.content)),
        ("X-Gitlab-Encoding".into(), "base64".into()),
        (
            "X-Gitlab-File-Name".into(),
            path.rsplit('/').next().unwrap_or(path).to_string(),
        ),
        ("X-Gitlab-File-Path".into(), path.to_string()),
        ("X-Gitlab-Last-Commit-Id".into(), last),
        ("X-Gitlab-Ref".into(), reference),
        ("X-Gitlab-Size".into(), f.content.len().to_string()),
        ("X-Gitlab-Execute-Filemode".into(), f.executable.to_string()),
    ]
}

/// `GET /projects/:id/repository/files/:file_path/raw`.
pub(crate) fn file_raw(ctx: &mut Ctx) -> R {
    let (c, f, path, reference, last) = file_lookup(ctx, false)?;
    Ok(Reply {
        status: 200,
        headers: file_headers(&c, &f, &path, reference, last),
        body: Body::Raw(f.content.clone(), "text/plain; charset=utf-8"),
    })
}

/// `HEAD /projects/:id/repository/files/:file_path`: the metadata headers only.
pub(crate) fn file_head(ctx: &mut Ctx) -> R {
    let (c, f, path, reference, last) = file_lookup(ctx, true)?;
    Ok(Reply {
        status: 200,
        headers: file_headers(&c, &f, &path, reference, last),
        body: Body::Empty,
    })
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    util::hex(&sha2::Sha256::digest(b))
}

/// `GET /projects/:id/repository/files/:file_path`.
pub(crate) fn file_json(ctx: &mut Ctx) -> R {
    let (c, f, path, reference, last) = file_lookup(ctx, true)?;
    let headers = file_headers(&c, &f, &path, reference.clone(), last.clone());
    let mut r = Reply::ok(json!({
        "file_name": path.rsplit('/').next().unwrap_or(&path),
        "file_path": path,
        "size": f.content.len(),
        "encoding": "base64",
        "content": B64.encode(&f.content),
        "content_sha256": sha256_hex(&f.content),
        "ref": reference,
        "blob_id": &*f.blob_id,
        "commit_id": c.id,
        "last_commit_id": last,
        "execute_filemode": f.executable,
    }));
    r.headers = headers;
    Ok(r)
}

fn unified(old: Option<&FileEntry>, new: Option<&FileEntry>) -> String {
    let text = |f: Option<&FileEntry>| -> Option<Vec<String>> {
        match f {
            None => Some(Vec::new()),
            Some(f) => std::str::from_utf8(&f.content)
                .ok()
                .map(|s| s.lines().map(str::to_string).collect()),
        }
    };
    let (Some(a), Some(b)) = (text(old), text(new)) else {
        return String::new();
    };
    let mut out = format!(
        "@@ -{},{} +{},{} @@\n",
        if a.is_empty() { 0 } else { 1 },
        a.len(),
        if b.is_empty() { 0 } else { 1 },
        b.len()
    );
    for l in &a {
        out.push('-');
        out.push_str(l);
        out.push('\n');
    }
    for l in &b {
        out.push('+');
        out.push_str(l);
        out.push('\n');
    }
    out
}

pub(crate) fn diffs(
    old: &BTreeMap<String, FileEntry>,
    new: &BTreeMap<String, FileEntry>,
) -> Vec<Value> {
    let ch = repo::diff_trees(old, new);
    let mut out = Vec::new();
    let entry = |path: &str, o: Option<&FileEntry>, n: Option<&FileEntry>| {
        json!({
            "old_path": path, "new_path": path,
            "a_mode": o.map(|f| f.mode()).unwrap_or("0"),
            "b_mode": n.map(|f| f.mode()).unwrap_or("0"),
            "new_file": o.is_none(), "renamed_file": false, "deleted_file": n.is_none(),
            "generated_file": false,
            "diff": unified(o, n),
        })
    };
    let mut paths: Vec<&String> = ch
        .added
        .iter()
        .chain(&ch.modified)
        .chain(&ch.removed)
        .collect();
    paths.sort();
    for p in paths {
        out.push(entry(p, old.get(p), new.get(p)));
    }
    out
}

/// `GET /projects/:id/repository/compare`.
pub(crate) fn compare(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let from = ctx.params.req_str("from")?;
    let to = ctx.params.req_str("to")?;
    let straight = ctx.params.bool("straight")?.unwrap_or(false);
    let w = &*ctx.w;
    let p = &w.projects[&id];
    let nf = || err(404, "404 Ref Not Found");
    let a = p.repo.resolve(&from).ok_or_else(nf)?;
    let b = p.repo.resolve(&to).ok_or_else(nf)?;
    let base = if straight {
        a.clone()
    } else {
        p.repo
            .merge_base(&a.id, &b.id)
            .and_then(|s| p.repo.commits.get(&s).cloned())
            .unwrap_or_else(|| a.clone())
    };
    let commits: Vec<Value> = p
        .repo
        .commits_between(&base.id, &b.id)
        .iter()
        .map(|c| commit_json(w, p, c))
        .collect();
    let last = p.repo.commits.get(&b.id).map(|c| commit_json(w, p, c));
    Ok(Reply::ok(json!({
        "commit": if commits.is_empty() { Value::Null } else { last.unwrap_or(Value::Null) },
        "commits": commits,
        "diffs": diffs(&base.files, &b.files),
        "compare_timeout": false,
        "compare_same_ref": from == to,
        "web_url": format!("{}/-/compare/{}...{}", w.project_url(p), a.id, b.id),
    })))
}

pub(crate) fn branch_json(w: &World, p: &Project, name: &str, user: u64) -> Option<Value> {
    let c = p.repo.head(name)?;
    let default = name == p.default_branch;
    let merged = !default
        && p.repo
            .head(&p.default_branch)
            .is_some_and(|d| d.id != c.id && p.repo.ancestors(&d.id).contains(&c.id));
    Some(json!({
        "name": name,
        "merged": merged,
        "protected": default,
        "default": default,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": w.access_level(p, user) >= if default { access::MAINTAINER } else { access::DEVELOPER },
        "web_url": format!("{}/-/tree/{}", w.project_url(p), name),
        "commit": commit_json(w, p, &c),
    }))
}

/// `GET /projects/:id/repository/branches/:branch`.
pub(crate) fn get_branch(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let p = ctx.proj(id);
    branch_json(ctx.w, p, ctx.seg(4), ctx.user)
        .map(Reply::ok)
        .ok_or_else(|| err(404, "404 Branch Not Found"))
}

/// `POST /projects/:id/repository/branches`.
pub(crate) fn create_branch(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::DEVELOPER)?;
    let branch = ctx.params.req_str("branch")?;
    let reference = ctx.params.req_str("ref")?;
    let user = ctx.user;
    ctx.w
        .create_branch(id, user, &branch, &reference)
        .map_err(world_err)?;
    let p = ctx.proj(id);
    Ok(Reply::created(
        branch_json(ctx.w, p, &branch, user).unwrap_or(Value::Null),
    ))
}

/// `DELETE /projects/:id/repository/branches/:branch`.
pub(crate) fn delete_branch(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::DEVELOPER)?;
    let branch = ctx.seg(4).to_string();
    if branch == ctx.proj(id).default_branch {
        return Err(err(405, "405 Method Not Allowed"));
    }
    let user = ctx.user;
    ctx.w.delete_branch(id, user, &branch).map_err(world_err)?;
    Ok(Reply::no_content())
}

/// `GET /projects/:id/repository/commits/:sha`.
pub(crate) fn get_commit(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let p = ctx.proj(id);
    let c = p
        .repo
        .resolve(ctx.seg(4))
        .ok_or_else(|| err(404, "404 Commit Not Found"))?;
    let mut v = commit_json(ctx.w, p, &c);
    v["status"] = Value::Null;
    v["last_pipeline"] = Value::Null;
    v["project_id"] = json!(id);
    Ok(Reply::ok(v))
}

/// `POST /projects/:id/repository/commits`.
pub(crate) fn create_commit(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::DEVELOPER)?;
    let branch = ctx.params.req_str("branch")?;
    let message = ctx.params.req_str("commit_message")?;
    let actions_v = ctx
        .params
        .get("actions")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| missing("actions"))?;
    if actions_v.is_empty() {
        return Err(Reply::json(400, json!({"error": "actions is empty"})));
    }
    let p = ctx.proj(id);
    let head = p.repo.head(&branch);
    let mut actions = Vec::new();
    for a in &actions_v {
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
        let kind = s("action").ok_or_else(|| missing("actions[action]"))?;
        let path = s("file_path").ok_or_else(|| missing("actions[file_path]"))?;
        let content = match s("content") {
            None => None,
            Some(c) => Some(match s("encoding").as_deref() {
                None | Some("text") => Bytes::from(c),
                Some("base64") => Bytes::from(
                    B64.decode(c.trim())
                        .map_err(|_| err(400, "Invalid base64 content"))?,
                ),
                Some(_) => {
                    return Err(Reply::json(
                        400,
                        json!({"error": "actions[encoding] does not have a valid value"}),
                    ))
                }
            }),
        };
        if let (Some(lc), Some(h)) = (s("last_commit_id"), &head) {
            if h.files.contains_key(&path) && last_commit_for(&p.repo, h, &path) != lc {
                return Err(err(
                    400,
                    "You are attempting to update a file that has changed since you started editing it.",
                ));
            }
        }
        let content_or_empty = || content.clone().unwrap_or_default();
        actions.push(match kind.as_str() {
            "create" => FileAction::Create(path, content_or_empty()),
            "update" => FileAction::Update(path, content_or_empty()),
            "delete" => FileAction::Delete(path),
            "move" => FileAction::Move {
                from: s("previous_path").ok_or_else(|| missing("actions[previous_path]"))?,
                to: path,
                content,
            },
            "chmod" => {
                let exec = match a.get("execute_filemode") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(v)) => v == "true",
                    _ => return Err(missing("actions[execute_filemode]")),
                };
                FileAction::Chmod(path, exec)
            }
            _ => {
                return Err(Reply::json(
                    400,
                    json!({"error": "actions[action] does not have a valid value"}),
                ))
            }
        });
    }
    let force = ctx.params.bool("force")?.unwrap_or(false);
    let req = CommitRequest {
        branch,
        message,
        start_branch: ctx.params.str("start_branch"),
        start_sha: ctx.params.str("start_sha"),
        actions,
        author_name: ctx.params.str("author_name"),
        author_email: ctx.params.str("author_email"),
        force,
    };
    if ctx.params.get("start_project").is_some() {
        return Err(invalid("start_project"));
    }
    let user = ctx.user;
    let parent_files = req
        .start_sha
        .as_deref()
        .or(req
            .start_branch
            .as_deref()
            .filter(|_| force || head.is_none()))
        .and_then(|r| ctx.proj(id).repo.resolve(r))
        .or(head)
        .map(|c| c.files.clone());
    let c = ctx.w.commit_actions(id, user, req).map_err(world_err)?;
    let p = ctx.proj(id);
    let mut v = commit_json(ctx.w, p, &c);
    let (mut add, mut del) = (0usize, 0usize);
    if let Some(old) = parent_files {
        for d in diffs(&old, &c.files) {
            let text = d["diff"].as_str().unwrap_or("");
            add += text.lines().filter(|l| l.starts_with('+')).count();
            del += text.lines().filter(|l| l.starts_with('-')).count();
        }
    }
    v["stats"] = json!({"additions": add, "deletions": del, "total": add + del});
    v["status"] = Value::Null;
    v["last_pipeline"] = Value::Null;
    v["project_id"] = json!(id);
    Ok(Reply::created(v))
}
