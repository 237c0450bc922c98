//! `POST /projects/:id/hooks/:hook_id/test/:trigger`, as lib/api/hooks/trigger_test.rb answers
//! it: rate limited per project and user (`check_rate_limit!(:web_hook_test)`, 5 a minute in
//! lib/gitlab/application_rate_limiter.rb), then the hook is executed with sample data and
//! `force: true` (app/services/web_hook_service.rb: even a disabled hook is sent), the outcome
//! is logged inline (`WebHooks::LogExecutionService`: a 2xx/3xx answer re-enables the hook),
//! and the API answers 201 when the receiver answered 2xx, otherwise 422 with the receiver's
//! body or the transport error as `message`.

use serde_json::json;

use super::{err, fault_reply, Body, Ctx, Reply, Shared, R};
use crate::world::{access, HookTarget, ProjectId};
use crate::DeliveryBuilder;

/// A test delivery the handler decided to send (sent after the world lock is released).
#[derive(Debug)]
pub(crate) struct HookTest {
    project: ProjectId,
    hook_id: u64,
    target: HookTarget,
    event: &'static str,
    body: Vec<u8>,
}

/// The triggers `ProjectHook.triggers` accepts (lib/api/hooks/trigger_test.rb `values:`).
const TRIGGERS: &[&str] = &[
    "push_events",
    "tag_push_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "merge_requests_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "feature_flag_events",
    "releases_events",
    "emoji_events",
    "resource_access_token_events",
];

/// Checks the request and builds the sample delivery.
pub(crate) fn test_hook(ctx: &mut Ctx) -> R {
    let id = ctx.project(access::MAINTAINER)?;
    let hid: u64 = ctx.seg(3).parse().map_err(|_| err(404, "404 Not found"))?;
    let trigger = ctx.seg(5).to_string();
    let target = ctx
        .proj(id)
        .hooks
        .iter()
        .find(|h| h.id == hid)
        .map(|h| h.target.clone())
        .ok_or_else(|| err(404, "404 Not found"))?;
    if !TRIGGERS.contains(&trigger.as_str()) {
        return Err(Reply::json(
            400,
            json!({ "error": "trigger does not have a valid value" }),
        ));
    }
    if !ctx.w.allow_hook_test(id, ctx.user) {
        return Err(fault_reply(429, 60, true));
    }
    // app/services/test_hooks/project_service.rb: only the push sample is modelled; it needs
    // a commit ("Ensure the project has at least one commit.").
    if trigger != "push_events" {
        return Err(err(
            422,
            format!("gitlab-sim models the push_events test only, not {trigger}"),
        ));
    }
    let sample = push_sample(ctx, id).ok_or_else(|| {
        err(
            422,
            "Ensure the project has at least one commit.".to_string(),
        )
    })?;
    Ok(Reply {
        status: 201,
        body: Body::HookTest(Box::new(HookTest {
            project: id,
            hook_id: hid,
            target,
            event: "Push Hook",
            body: serde_json::to_vec(&sample).unwrap_or_default(),
        })),
        headers: Vec::new(),
    })
}

fn push_sample(ctx: &Ctx, id: ProjectId) -> Option<serde_json::Value> {
    let p = ctx.proj(id);
    let head = p.repo.branches.get(&p.default_branch)?.clone();
    let branch = p.default_branch.clone();
    let parent = p
        .repo
        .commits
        .get(&head)
        .and_then(|c| c.parent_ids.first().cloned())
        .unwrap_or_else(|| crate::repo::ZERO_SHA.to_string());
    Some(crate::events::push(
        ctx.w, id, ctx.user, &branch, &parent, &head,
    ))
}

/// Sends the test delivery and answers as GitLab does.
pub(crate) async fn finish(shared: &Shared, t: HookTest) -> Reply {
    let instance = shared
        .world
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .base_url
        .clone();
    let mut b = DeliveryBuilder::new(t.event, t.body).instance(instance);
    if let Some(tok) = &t.target.token {
        b = b.secret_token(tok.clone());
    }
    if let Some(tok) = &t.target.signing_token {
        b = b.signing_token(tok.clone());
    }
    let outcome = match b.build() {
        Ok(delivery) => shared
            .sender
            .send(&t.target.url, &delivery)
            .await
            .map(|r| (r.status, r.body))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let status = outcome.as_ref().map(|(s, _)| *s).unwrap_or(0);
    shared
        .world
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record_hook_outcome(t.project, t.hook_id, status);
    match outcome {
        Ok((s, _)) if (200..300).contains(&s) => err(201, "201 Created"),
        Ok((_, body)) => err(422, body),
        Err(message) => err(422, message),
    }
}
