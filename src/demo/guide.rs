//! What `backline demo` prints: addresses, tokens and commands that copy-paste and work (pure).

use std::fmt::Write as _;
use std::path::Path;

use super::scene::{Scene, PERSON, PERSON_TOKEN};

/// What the guide needs to know about the running demo.
pub struct Facts<'a> {
    /// backline's base URL (`http://127.0.0.1:8080`).
    pub backline: &'a str,
    /// The simulator's base URL.
    pub gitlab: &'a str,
    /// The admin token.
    pub admin: &'a str,
    /// The webhook secret.
    pub secret: &'a str,
    /// The projects.
    pub scene: &'a Scene,
    /// The held-back push payload of the Cargo project, when written.
    pub push_file: Option<&'a Path>,
    /// An MR of the bot to comment on: (project id, iid, web URL).
    pub mr: Option<(u64, u64, String)>,
}

/// Single-quotes a value for a POSIX shell.
fn sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The guide's text.
pub fn guide(f: &Facts<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "backline demo");
    let _ = writeln!(
        out,
        "  dashboard and API: {}/   (log in with the admin token: {})",
        f.backline, f.admin
    );
    let _ = writeln!(out, "  GitLab simulator:  {}/", f.gitlab);
    let n = f.scene.projects.len();
    let _ = writeln!(
        out,
        "  {n} {}, {} with known-vulnerable dependencies:",
        if n == 1 { "project" } else { "projects" },
        f.scene.vulnerable()
    );
    for p in &f.scene.projects {
        let _ = writeln!(out, "    {}/{}  {}", f.gitlab, p.path, p.about);
    }
    let _ = writeln!(out, "  try:");
    let _ = writeln!(
        out,
        "    curl -s -H {} {}/api/v1/remediations",
        sh(&format!("Authorization: Bearer {}", f.admin)),
        f.backline
    );
    if let Some(file) = f.push_file {
        let _ = writeln!(
            out,
            "    # {} updated regex on {}'s default branch; tell backline (its MR then closes as obsolete):",
            PERSON,
            f.scene.cargo().path
        );
        let _ = writeln!(
            out,
            "    cargo run --release -- webhook send {} --url {}/webhooks/gitlab --secret {}",
            sh(&file.display().to_string()),
            f.backline,
            sh(f.secret)
        );
    }
    if let Some((project, iid, url)) = &f.mr {
        let _ = writeln!(
            out,
            "    # comment on a bot MR as {PERSON} (a Developer); the bot answers on {url}"
        );
        let _ = writeln!(
            out,
            "    curl -s -X POST -H {} --data-urlencode {} {}/api/v4/projects/{project}/merge_requests/{iid}/notes",
            sh(&format!("PRIVATE-TOKEN: {PERSON_TOKEN}")),
            sh("body=/backline status"),
            f.gitlab
        );
    }
    let _ = writeln!(out, "  Ctrl-C stops it.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scene::DemoProject;

    #[test]
    fn commands_quote_their_values_and_name_the_demo_project() {
        let scene = Scene {
            projects: vec![DemoProject {
                id: 1,
                path: "acme/platform/api".into(),
                about: "Cargo",
                vulnerable: true,
            }],
        };
        let text = guide(&Facts {
            backline: "http://127.0.0.1:1",
            gitlab: "http://127.0.0.1:2",
            admin: "adm",
            secret: "it's",
            scene: &scene,
            push_file: Some(Path::new("/tmp/x/push api.json")),
            mr: Some((
                1,
                2,
                "http://127.0.0.1:2/acme/platform/api/-/merge_requests/2".into(),
            )),
        });
        assert!(
            text.contains("1 project, 1 with known-vulnerable"),
            "{text}"
        );
        assert!(text.contains(
            "cargo run --release -- webhook send '/tmp/x/push api.json' --url http://127.0.0.1:1/webhooks/gitlab --secret 'it'\\''s'"
        ), "{text}");
        assert!(
            text.contains("/api/v4/projects/1/merge_requests/2/notes"),
            "{text}"
        );
        assert!(text.contains("'body=/backline status'"), "{text}");
    }
}
