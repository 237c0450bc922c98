//! Issue 12 item 10: a non-member who keeps commenting `/backline ...` gets one refusal reply
//! per MR per day, not one per comment.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::access;

use crate::remediation::{world, CargoLockLines};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_member_is_refused_once_per_mr_per_day() {
    let w = world(Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let iid = w.mrs()[0].iid;
    let (guest, outsider) = w.sim.with_world(|x| {
        let guest = x.create_user("gus", "Gus");
        x.add_member(w.pid, guest, access::GUEST).unwrap();
        let other = x.create_user("olga", "Olga");
        x.add_member(w.pid, other, access::GUEST).unwrap();
        (guest, other)
    });
    let refusals_to = |name: &str| {
        w.mrs()[0]
            .notes
            .iter()
            .filter(|n| n.author_id == w.bot && !n.system)
            .filter(|n| n.body.starts_with(&format!("@{name} only members")))
            .count()
    };
    let mut notes = Vec::new();
    for text in [
        "/backline recreate",
        "/backline approve",
        "/backline rebase",
    ] {
        notes.push(
            w.sim
                .with_world(|x| x.add_note(w.pid, iid, guest, text))
                .unwrap(),
        );
        w.settle().await;
    }
    assert_eq!(refusals_to("gus"), 1);
    // Each attempt is still marked as refused.
    for id in notes {
        let awards = w.mrs()[0]
            .notes
            .iter()
            .find(|n| n.id == id)
            .unwrap()
            .awards
            .iter()
            .filter(|a| a.user_id == w.bot && a.name == "no_entry_sign")
            .count();
        assert_eq!(awards, 1);
    }
    // Another person (a Guest too) is told once as well.
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, outsider, "/backline approve"))
        .unwrap();
    w.settle().await;
    assert_eq!(refusals_to("olga"), 1);
    assert_eq!(refusals_to("gus"), 1);
    let (_, list) = w.app.api("/api/v1/deliveries?per_page=100").await;
    let outcomes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["outcome"].as_str())
        .collect();
    assert!(
        outcomes.iter().any(|o| o.contains("already told today")),
        "{outcomes:?}"
    );
    w.app.shutdown().await;
}
