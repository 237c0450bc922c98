//! The webhook delivery queue: what each mutation announces.

use super::*;
use crate::events;
use crate::repo::ZERO_SHA;
use crate::util;

/// A webhook waiting to be posted.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    /// Where to.
    pub target: HookTarget,
    /// `X-Gitlab-Event`.
    pub event: String,
    /// JSON body.
    pub body: Vec<u8>,
    /// `X-Gitlab-Event-UUID`: the UUID of the API call that caused it, or none (a fresh one
    /// is given when it is sent).
    pub event_uuid: Option<String>,
    /// The project hook it goes to (none for system hooks), whose failures count.
    pub hook: Option<(ProjectId, u64)>,
}

impl World {
    // ---- event queue -----------------------------------------------------------------------

    pub(super) fn emit_system(&mut self, body: serde_json::Value) {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        for h in &self.system_hooks {
            self.pending.push(PendingDelivery {
                target: h.target.clone(),
                event: "System Hook".into(),
                body: bytes.clone(),
                event_uuid: None,
                hook: None,
            });
        }
    }

    pub(super) fn emit_project(
        &mut self,
        project: ProjectId,
        event: &str,
        body: serde_json::Value,
    ) {
        let Some(p) = self.projects.get(&project) else {
            return;
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let now = util::now_ms();
        for h in &p.hooks {
            // Project#execute_hooks reads `hooks.executable` (auto_disabling.rb): a disabled
            // hook is not even queued.
            if !h.executable(now) {
                continue;
            }
            let on = match event {
                "Push Hook" => h.push_events,
                "Merge Request Hook" => h.merge_requests_events,
                "Note Hook" => h.note_events,
                "Pipeline Hook" => h.pipeline_events,
                "Confidential Note Hook" => h.confidential_note_events,
                _ => false,
            };
            if on {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: event.to_string(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: Some((project, h.id)),
                });
            }
        }
    }

    pub(super) fn emit_push(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        before: Option<&str>,
        after: &str,
    ) {
        let before = before.unwrap_or(ZERO_SHA);
        self.invalidate_merge_checks(project, branch);
        let body = events::push(self, project, user, branch, before, after);
        self.emit_project(project, "Push Hook", body.clone());
        self.refresh_source_mrs(project, user, branch, before, after);
        self.create_pipeline(project, user, branch, before, after);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let update = serde_json::to_vec(&events::repository_update(
            self, project, user, branch, before, after,
        ))
        .unwrap_or_default();
        for h in &self.system_hooks {
            if h.push_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
            if h.repository_update_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: update.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
        }
    }

    /// Recursion blocking (lib/gitlab/web_hooks/recursion_detection.rb): deliveries queued by an
    /// API call that carried `X-Gitlab-Event-UUID: uuid` (from `first` on in `pending`) belong
    /// to that event's chain; one to a hook the chain has already reached is dropped (kept in
    /// [`World::blocked_deliveries`]), the others carry the UUID.
    pub fn chain_deliveries(&mut self, uuid: &str, first: usize) {
        if first >= self.pending.len() {
            return;
        }
        let queued = self.pending.split_off(first);
        for mut d in queued {
            let reached = self.hook_chains.entry(uuid.to_string()).or_default();
            if reached.contains(&d.target.url) {
                self.blocked_deliveries.push(d);
                continue;
            }
            reached.insert(d.target.url.clone());
            d.event_uuid = Some(uuid.to_string());
            self.pending.push(d);
        }
    }

    /// Gives a delivery that no API call caused its own event UUID, starting its chain.
    pub fn start_chain(&mut self, d: &mut PendingDelivery) -> String {
        let uuid = d
            .event_uuid
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        self.hook_chains
            .entry(uuid.clone())
            .or_default()
            .insert(d.target.url.clone());
        uuid
    }

    /// What a push does to the open MRs whose source branch it moved
    /// (app/services/merge_requests/refresh_service.rb): a deletion closes them, by the person
    /// who deleted the branch (`close_upon_missing_source_branch_ref`); new commits update
    /// their head and send a Merge Request Hook `update` with `oldrev`
    /// (`execute_mr_web_hooks`).
    pub(super) fn refresh_source_mrs(
        &mut self,
        project: ProjectId,
        user: UserId,
        branch: &str,
        before: &str,
        after: &str,
    ) {
        let upstream = self.projects.get(&project).and_then(|p| p.forked_from);
        let mut touched = Vec::new();
        for p in self.projects.values() {
            if p.id != project && Some(p.id) != upstream {
                continue;
            }
            for m in &p.merge_requests {
                if m.state == MrState::Opened
                    && m.source_project_id == project
                    && m.source_branch == branch
                {
                    touched.push((p.id, m.iid));
                }
            }
        }
        for (target, iid) in touched {
            // The refresh reloads the MR's diff (app/services/merge_requests/refresh_service.rb
            // `reload_merge_requests`), and a new diff fetches a fork MR's head into the
            // target project first (app/models/merge_request.rb `create_merge_request_diff`
            // calls `fetch_ref!`), so statuses and diffs there see its commits.
            self.fetch_fork_commits(target, project);
            let now = self.now();
            let Ok(m) = self.mr_mut(target, iid) else {
                continue;
            };
            m.updated_at = now;
            if after == ZERO_SHA {
                m.state = MrState::Closed;
                m.closed_at = Some(now);
                m.closed_by = Some(user);
                self.emit_mr(target, iid, user, "close");
            } else {
                m.sha = after.to_string();
                // New commits abort auto-merge (refresh_service.rb `abort_auto_merges`: the
                // source branch was updated).
                m.auto_merge_user = None;
                let mut body = events::merge_request(self, target, iid, user, "update");
                if before != ZERO_SHA {
                    body["object_attributes"]["oldrev"] = serde_json::json!(before);
                }
                self.emit_mr_body(body);
            }
        }
    }

    pub(super) fn emit_mr(&mut self, project: ProjectId, iid: u64, user: UserId, action: &str) {
        let body = events::merge_request(self, project, iid, user, action);
        self.emit_mr_body(body);
    }

    pub(super) fn emit_mr_body(&mut self, body: serde_json::Value) {
        let Some(project) = body["project"]["id"].as_u64() else {
            return;
        };
        self.emit_project(project, "Merge Request Hook", body.clone());
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        for h in &self.system_hooks {
            if h.merge_requests_events {
                self.pending.push(PendingDelivery {
                    target: h.target.clone(),
                    event: "System Hook".into(),
                    body: bytes.clone(),
                    event_uuid: None,
                    hook: None,
                });
            }
        }
    }

    /// An internal note goes only to hooks with `confidential_note_events`, as
    /// `Confidential Note Hook` (app/models/note.rb `confidential?` picks the
    /// `:confidential_note_hooks` scope), never as `Note Hook`.
    pub(super) fn emit_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        note: u64,
        user: UserId,
        action: &str,
    ) {
        let internal = self
            .mr(project, iid)
            .ok()
            .and_then(|m| m.notes.iter().find(|n| n.id == note))
            .is_some_and(|n| n.internal);
        let body = events::note(self, project, iid, note, user, action);
        let event = if internal {
            "Confidential Note Hook"
        } else {
            "Note Hook"
        };
        self.emit_project(project, event, body);
    }
}
