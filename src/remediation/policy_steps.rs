//! The executor's side of the repository policy: which policy holds for a project, and
//! carrying out what [`crate::policy::screen`] decided (fixes ignored by the policy are
//! recorded as dismissed, with the reason and expiry, their MR closed; lapsed ignores are
//! planned again).

use super::executor::{ExecError, Executor};
use super::model::{Remediation, State};
use super::planner::Vulnerable;
use crate::catalog::CatalogProject;
use crate::clock::now_ms;
use crate::gitlab::rest::MergeRequestUpdate;
use crate::gitlab::{GitLab, ProjectId, ProjectRef};
use crate::policy::file::Day;
use crate::policy::screen::{screen, why, Screened, POLICY_ACTOR};
use crate::policy::{Effective, InstanceDefaults, PolicyTable};
use crate::store::StoreError;

impl Executor {
    /// The executor with repository policies (given at construction); without them every
    /// project has the instance settings.
    pub fn with_policies(mut self, table: PolicyTable) -> Self {
        self.policies = Some(table);
        self
    }

    /// The policy table, when set.
    pub fn policies(&self) -> Option<&PolicyTable> {
        self.policies.as_ref()
    }

    /// The project's effective policy.
    pub fn effective(&self, project: ProjectId) -> Result<Effective, StoreError> {
        match &self.policies {
            Some(t) => t.effective(project),
            None => Ok(Effective::merge(&self.instance_defaults(), None)),
        }
    }

    /// The instance's defaults for what a policy file may set.
    pub fn instance_defaults(&self) -> InstanceDefaults {
        match &self.policies {
            Some(t) => t.instance().clone(),
            None => InstanceDefaults {
                auto_approve: self.settings.policy.auto_approve,
                max_open_mrs: self.settings.policy.max_open_mrs,
                labels: self.settings.labels.clone(),
                update_outdated: false,
            },
        }
    }

    /// Screens the plan's inputs through the policy and records what it ignores or lets go.
    pub(super) async fn apply_policy(
        &self,
        gitlab: &GitLab,
        project: &CatalogProject,
        policy: &Effective,
        wanted: &[Vulnerable],
        existing: &[Remediation],
        lines: &mut Vec<String>,
    ) -> Result<Screened, ExecError> {
        let now = now_ms();
        let mut s = screen(policy, wanted, existing, Day::of_ms(now));
        for (v, rule, id) in &s.ignore {
            let mut r = match id.map(|id| self.table.get(id)).transpose()?.flatten() {
                Some(r) => r,
                None => self.new_remediation(project, v, now)?,
            };
            if r.state == State::MrOpen {
                if let Some(iid) = r.mr_iid {
                    gitlab
                        .update_merge_request(
                            &ProjectRef::Id(project.id),
                            iid,
                            &MergeRequestUpdate {
                                state_event: Some("close".into()),
                                ..Default::default()
                            },
                        )
                        .await?;
                }
            }
            let why = why(rule);
            r.reason = Some(why.clone());
            r.transition(State::Dismissed, POLICY_ACTOR, why, now);
            self.table.put(&r)?;
            lines.push(format!("{}: ignored by the policy file", r.package));
        }
        for id in &s.lapsed {
            let Some(mut r) = self.table.get(*id)? else {
                continue;
            };
            if policy.planner().approves(r.severity) {
                r.approved_by.get_or_insert_with(|| "policy".into());
            }
            r.reason = None;
            r.transition(
                State::Planned,
                POLICY_ACTOR,
                "no longer ignored by the policy file (the ignore lapsed or was removed)",
                now,
            );
            self.table.put(&r)?;
            lines.push(format!("{}: no longer ignored, planned again", r.package));
            if let Some(e) = s.existing.iter_mut().find(|e| e.id == r.id) {
                *e = r;
            }
        }
        Ok(s)
    }
}
