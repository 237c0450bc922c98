//! Per-project webhook secrets for managed hooks: each project's hook carries
//! HMAC-SHA256(master secret, "backline/project-hook/v1/<project id>") in hex, so a secret read
//! from (or leaked by) one project's hook settings opens no other project's deliveries, while the
//! bot stores nothing per project: it derives the secret again to verify.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::gitlab::ProjectId;
use crate::secret::Secret;

/// The domain separator of the derivation (versioned, so the scheme can change).
const CONTEXT: &[u8] = b"backline/project-hook/v1/";

/// The secret token of `project`'s managed hook, derived from `master`.
pub fn project_hook_secret(master: &Secret, project: ProjectId) -> Secret {
    let mut mac = Hmac::<Sha256>::new_from_slice(master.expose().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(CONTEXT);
    mac.update(project.get().to_string().as_bytes());
    Secret::new(hex::encode(mac.finalize().into_bytes()))
}

/// The path below the public URL that a project's managed hook posts to: the project id in the
/// path lets the token be checked on the headers, before any of the body is read.
pub fn project_hook_path(project: ProjectId) -> String {
    format!("/webhooks/gitlab/projects/{project}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_project_gets_its_own_stable_secret() {
        let master = Secret::new("master");
        let a = project_hook_secret(&master, ProjectId(1));
        assert_eq!(a, project_hook_secret(&master, ProjectId(1)));
        assert_ne!(a, project_hook_secret(&master, ProjectId(2)));
        assert_ne!(a, project_hook_secret(&Secret::new("other"), ProjectId(1)));
        assert_eq!(a.expose().len(), 64);
        assert!(!a.expose().contains("master"));
        // Not a plain concatenation: 1 and 12 differ, as do 11 and 1 + "1".
        assert_ne!(
            project_hook_secret(&master, ProjectId(11)),
            project_hook_secret(&master, ProjectId(1))
        );
    }
}
