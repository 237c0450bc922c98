//! The status badge on each project: when `BACKLINE_PUBLIC_URL` is set and the bot's role allows
//! (Maintainer), a project badge named `backline` pointing at the bot's badge endpoint is created
//! or corrected; otherwise the project records "needs Maintainer" and the API and dashboard show
//! the URL to add by hand. Idempotent: a badge already right is left alone.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::catalog::model::{CatalogProject, HookState};
use crate::gitlab::rest::{Badge, BadgeSpec};
use crate::gitlab::{GitLab, GitLabError, ProjectRef};

/// The badge's name on GitLab.
pub const BADGE_NAME: &str = "backline";

/// What to do about a project's badges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgePlan {
    /// Ours and right.
    Keep(u64),
    /// None of ours: create it.
    Create,
    /// Ours but different: update it.
    Update(u64),
}

/// Decides from the project's badges (ours is the one named [`BADGE_NAME`]).
pub fn plan(existing: &[Badge], want: &BadgeSpec) -> BadgePlan {
    match existing
        .iter()
        .find(|b| b.name.as_deref() == Some(BADGE_NAME))
    {
        None => BadgePlan::Create,
        Some(b) if b.image_url == want.image_url && b.link_url == want.link_url => {
            BadgePlan::Keep(b.id)
        }
        Some(b) => BadgePlan::Update(b.id),
    }
}

/// The image URL of a project's badge (with its key when private).
pub type ImageUrl = Arc<dyn Fn(&CatalogProject) -> String + Send + Sync>;

/// Registers badges.
#[derive(Clone)]
pub struct BadgeRegistrar {
    image_url: ImageUrl,
}

fn fingerprint(url: &str) -> String {
    hex::encode(&Sha256::digest(url.as_bytes())[..8])
}

impl BadgeRegistrar {
    /// A registrar using `image_url` for each project.
    pub fn new(image_url: ImageUrl) -> Self {
        BadgeRegistrar { image_url }
    }

    fn spec(&self, p: &CatalogProject) -> BadgeSpec {
        BadgeSpec {
            name: BADGE_NAME.to_string(),
            link_url: p.web_url.clone().unwrap_or_else(|| (self.image_url)(p)),
            image_url: (self.image_url)(p),
        }
    }

    /// Whether a project's badge should be (re)checked: not yet, failed, or its URL changed
    /// (visibility or key). "Needs Maintainer" waits for a role change.
    pub fn wants_check(&self, p: &CatalogProject) -> bool {
        match &p.badge {
            HookState::Unchecked | HookState::Failed { .. } | HookState::Disabled { .. } => true,
            HookState::Installed {
                secret_fingerprint, ..
            } => *secret_fingerprint != fingerprint(&self.spec(p).image_url),
            HookState::NeedsMaintainer => false,
        }
    }

    /// Makes the project's badge right; returns its new state (a 403 means the role cannot
    /// manage badges).
    pub async fn ensure(&self, gitlab: &GitLab, p: &CatalogProject) -> HookState {
        let spec = self.spec(p);
        let project = ProjectRef::Id(p.id);
        let result: Result<u64, GitLabError> = async {
            let existing = gitlab.project_badges(&project).await?;
            Ok(match plan(&existing, &spec) {
                BadgePlan::Keep(id) => id,
                BadgePlan::Create => gitlab.create_project_badge(&project, &spec).await?.id,
                BadgePlan::Update(id) => gitlab.update_project_badge(&project, id, &spec).await?.id,
            })
        }
        .await;
        match result {
            Ok(id) => HookState::Installed {
                hook_id: id,
                secret_fingerprint: fingerprint(&spec.image_url),
            },
            Err(GitLabError::Forbidden { .. }) => HookState::NeedsMaintainer,
            Err(e) => HookState::Failed {
                reason: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(id: u64, name: &str, image: &str) -> Badge {
        Badge {
            id,
            name: Some(name.into()),
            link_url: "https://gl/p".into(),
            image_url: image.into(),
            kind: Some("project".into()),
        }
    }

    #[test]
    fn plans() {
        let want = BadgeSpec {
            name: BADGE_NAME.into(),
            link_url: "https://gl/p".into(),
            image_url: "https://bot/badge/1.svg".into(),
        };
        assert_eq!(plan(&[badge(1, "coverage", "x")], &want), BadgePlan::Create);
        assert_eq!(
            plan(&[badge(2, "backline", "https://bot/badge/1.svg")], &want),
            BadgePlan::Keep(2)
        );
        assert_eq!(
            plan(&[badge(2, "backline", "https://old/badge/1.svg")], &want),
            BadgePlan::Update(2)
        );
    }
}
