//! Pipeline jobs (lib/api/ci/jobs.rb) and protected branches (lib/api/protected_branches.rb).

use serde_json::{json, Value};

use super::{err, Ctx, Reply, R};
use crate::util;
use crate::world::{access, Job, Pipeline, Project, World};

/// A pipeline as `Entities::Ci::PipelineBasic` (the MR's `head_pipeline`).
pub(crate) fn pipeline_json(w: &World, p: &Project, pl: &Pipeline) -> Value {
    json!({
        "id": pl.id,
        "iid": pl.iid,
        "project_id": p.id,
        "sha": pl.sha,
        "ref": pl.ref_name,
        "status": pl.status,
        "source": "push",
        "created_at": util::iso_ms(pl.created_at),
        "updated_at": util::iso_ms(pl.finished_at.unwrap_or(pl.created_at)),
        "web_url": format!("{}/-/pipelines/{}", w.project_url(p), pl.id),
    })
}

fn job_json(w: &World, p: &Project, pl: &Pipeline, j: &Job) -> Value {
    json!({
        "id": j.id,
        "name": j.name,
        "stage": j.stage,
        "status": j.status,
        "ref": pl.ref_name,
        "tag": false,
        "allow_failure": false,
        "created_at": util::iso_ms(j.created_at),
        "started_at": util::iso_ms(j.created_at),
        "finished_at": j.finished_at.map(util::iso_ms),
        "failure_reason": (j.status == "failed").then_some("script_failure"),
        "web_url": format!("{}/-/jobs/{}", w.project_url(p), j.id),
        "pipeline": {"id": pl.id, "iid": pl.iid, "project_id": p.id, "sha": pl.sha, "ref": pl.ref_name, "status": pl.status},
    })
}

/// `GET /projects/:id/pipelines/:pipeline_id/jobs` with `scope[]` filters (Reporter or more,
/// or a public project's pipelines).
pub(crate) fn list_jobs(ctx: &mut Ctx) -> R {
    let id = ctx.code_project()?;
    let pid: u64 = ctx.seg(3).parse().map_err(|_| err(404, "404 Not found"))?;
    let scopes: Vec<String> = ctx
        .params
        .list("scope[]")
        .or_else(|| ctx.params.list("scope"))
        .unwrap_or_default();
    let p = ctx.proj(id);
    let pl = p
        .pipelines
        .iter()
        .find(|x| x.id == pid)
        .ok_or_else(|| err(404, "404 Not found"))?;
    let jobs: Vec<Value> = pl
        .jobs
        .iter()
        .filter(|j| scopes.is_empty() || scopes.contains(&j.status))
        .map(|j| job_json(ctx.w, p, pl, j))
        .collect();
    Ok(Reply::ok(Value::Array(jobs)))
}

fn level_json(level: u8) -> Value {
    json!([{
        "id": level as u64 + 1,
        "access_level": level,
        "access_level_description": if level == 0 { "No one" } else { access::name(level) },
        "user_id": null,
        "group_id": null,
    }])
}

/// `GET /projects/:id/protected_branches/:name` (Maintainer: `read_protected_branch`).
pub(crate) fn get_protected_branch(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let name = ctx.seg(3).to_string();
    let p = ctx.proj(id);
    let rules = p
        .protected_branches
        .get(&name)
        .ok_or_else(|| err(404, "404 Not found"))?;
    Ok(Reply::ok(json!({
        "id": id * 1000 + name.len() as u64,
        "name": name,
        "push_access_levels": level_json(rules.push_access_level),
        "merge_access_levels": level_json(rules.merge_access_level),
        "allow_force_push": !p.protected_no_force_push.contains(&name),
        "unprotect_access_levels": [],
        "code_owner_approval_required": false,
    })))
}
