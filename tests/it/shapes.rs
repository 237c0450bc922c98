//! Answer shapes as GitLab's own source gives them, read by the client from gitlab-sim.

use backline::gitlab::rest::{CommitStatus, Project};
use backline::gitlab::{GitLabError, ProjectRef};
use gitlab_sim::{access, GitLabSim, ProjectSpec, SimConfig};

use crate::gitlab_client::client_for;

fn scene() -> (GitLabSim, u64) {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let id = sim.with_world(|w| {
        let id = w
            .create_project(ProjectSpec::new("acme", "api").file("README.md", "hi\n"))
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    (sim, id)
}

#[tokio::test]
async fn a_commit_status_answer_carries_status_not_state() {
    let (sim, id) = scene();
    let (gl, _) = client_for(&sim, sim.bot_token());
    let sha = sim.with_world(|w| w.projects[&id].repo.head("main").unwrap().id.clone());
    let answer = gl
        .set_commit_status(
            &ProjectRef::Id(id.into()),
            &sha,
            &CommitStatus {
                state: "success".into(),
                name: Some("backline".into()),
                target_url: None,
                description: Some("no known vulnerability".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            answer.status.as_str(),
            answer.sha.as_str(),
            answer.name.as_deref()
        ),
        ("success", sha.as_str(), Some("backline"))
    );
}

#[tokio::test]
async fn keyset_pagination_refused_is_a_405_the_client_recognises() {
    let (sim, _) = scene();
    let (gl, _) = client_for(&sim, sim.bot_token());
    let e = gl
        .get::<Vec<Project>>(
            "projects",
            &[("pagination", "keyset".into()), ("order_by", "name".into())],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitLabError::Unexpected { status: 405, .. }),
        "{e:?}"
    );
    assert!(e.is_keyset_unavailable(), "{e}");
    assert!(!GitLabError::Unexpected {
        endpoint: "GET /x".into(),
        status: 405,
        message: "405 Method Not Allowed".into()
    }
    .is_keyset_unavailable());
}
