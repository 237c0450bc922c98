//! The demo's projects: one per ecosystem with real vulnerable lockfiles matching the bundled
//! advisories (`examples/demo/advisories/`), one with nothing to fix, a person who may talk to
//! the bot, and the push the printed `webhook send` command delivers.

use gitlab_sim::generator::{cargo_lock, package_lock, pom, requirements};
use gitlab_sim::world::{access, ProjectId, ProjectSpec, World};

/// The token of `alice`, a Developer on every demo project (for trying `/backline` commands).
pub const PERSON_TOKEN: &str = "demo-alice-token";
/// Her user name.
pub const PERSON: &str = "alice";

/// One demo project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoProject {
    /// The simulator's id.
    pub id: ProjectId,
    /// `group/name`.
    pub path: String,
    /// What it shows, for the printed guide.
    pub about: &'static str,
    /// Whether a bundled advisory affects one of its dependencies.
    pub vulnerable: bool,
}

/// What [`populate`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene {
    /// The projects, in the order the guide lists them.
    pub projects: Vec<DemoProject>,
}

impl Scene {
    /// The Cargo project whose push the guide sends.
    pub fn cargo(&self) -> &DemoProject {
        &self.projects[0]
    }

    /// How many have known-vulnerable dependencies.
    pub fn vulnerable(&self) -> usize {
        self.projects.iter().filter(|p| p.vulnerable).count()
    }
}

const CARGO_TOML: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nregex = \"1\"\nserde = \"1\"\n";
const PACKAGE_JSON: &str = "{\n  \"name\": \"web-app\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"express\": \"^4.18.2\",\n    \"lodash\": \"^4.17.20\"\n  }\n}\n";

/// Group, name, what it shows, whether it is vulnerable, its files.
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    Vec<(&'static str, String)>,
);

/// Creates the demo's projects, with the bot a Developer on each and `alice` a Developer too.
pub fn populate(w: &mut World) -> Scene {
    let bot = w.bot_user;
    let alice = w.create_user(PERSON, "Alice Example");
    w.create_token(alice, PERSON_TOKEN, &["api"], None);
    let specs: [Spec; 5] = [
        (
            "acme/platform",
            "api",
            "Cargo: regex 1.5.4 (RUSTSEC-2022-0013, high)",
            true,
            vec![
                ("Cargo.lock", cargo_lock("1.5.4")),
                ("Cargo.toml", CARGO_TOML.to_string()),
            ],
        ),
        (
            "acme/web",
            "shop",
            "npm: lodash 4.17.20 (GHSA-35jh-r3h4-6jhm, high)",
            true,
            vec![
                ("package-lock.json", package_lock("4.17.20")),
                ("package.json", PACKAGE_JSON.to_string()),
            ],
        ),
        (
            "acme/data",
            "reports",
            "PyPI: Django 3.2.0 (GHSA-2gwj-7jmv-h26r, critical), Jinja2 2.10 (GHSA-462w-v97r-4m45, high)",
            true,
            vec![("requirements.txt", requirements("3.2.0", "2.10"))],
        ),
        (
            "acme/platform",
            "billing",
            "Maven: log4j-core 2.14.1 (Log4Shell, GHSA-jfh8-c2jp-5v3q, critical)",
            true,
            vec![("pom.xml", pom("2.14.1"))],
        ),
        (
            "acme/tools",
            "cli",
            "Cargo: regex 1.5.6, nothing known",
            false,
            vec![
                ("Cargo.lock", cargo_lock("1.5.6")),
                ("Cargo.toml", CARGO_TOML.to_string()),
            ],
        ),
    ];
    let mut projects = Vec::new();
    for (group, name, about, vulnerable, files) in specs {
        let mut spec = ProjectSpec::new(group, name).file("README.md", format!("# {name}\n"));
        for (path, content) in files {
            spec = spec.file(path, content);
        }
        let Ok(id) = w.create_project(spec) else {
            continue;
        };
        let _ = w.add_member(id, bot, access::DEVELOPER);
        let _ = w.add_member(id, alice, access::DEVELOPER);
        projects.push(DemoProject {
            id,
            path: format!("{group}/{name}"),
            about,
            vulnerable,
        });
    }
    Scene { projects }
}

/// Alice fixes regex on the Cargo project's default branch herself (1.5.4 → 1.5.6). The commit
/// is made now but its webhooks are held back: the Push Hook body is returned for the guide's
/// `webhook send`, so that sending it is what tells backline (its MR then closes as obsolete).
pub fn prepare_push(w: &mut World, project: ProjectId) -> Option<Vec<u8>> {
    let alice = w.user_by_name(PERSON)?;
    let before = w.pending.len();
    let branch = w.project(project).ok()?.default_branch.clone();
    w.commit_files(
        project,
        alice,
        &branch,
        "Update regex to 1.5.6",
        vec![("Cargo.lock".to_string(), Some(cargo_lock("1.5.6").into()))],
    )
    .ok()?;
    let held: Vec<_> = w.pending.drain(before..).collect();
    held.into_iter()
        .find(|d| d.event == "Push Hook")
        .map(|d| d.body)
}
