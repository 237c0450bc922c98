//! Issue 15: store errors are never swallowed. A store that fails while a comment is handled
//! is an error the inbox retries (the delivery is not acknowledged as "not the bot's MR"), and
//! the command runs once the store answers again.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::access;

use crate::remediation::{world, CargoLockLines};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_during_comment_handling_is_retried_not_lost() {
    let w = world(Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let iid = w.mrs()[0].iid;
    let dev = w.sim.with_world(|x| {
        let dev = x.create_user("dora", "Dora");
        x.add_member(w.pid, dev, access::DEVELOPER).unwrap();
        dev
    });
    let replies = || {
        w.mrs()[0]
            .notes
            .iter()
            .filter(|n| n.author_id == w.bot && n.body.starts_with("@dora"))
            .count()
    };
    let store = w.app.app.store.clone();
    for (answered, table) in ["note_commands", "remediations", "projects"]
        .into_iter()
        .enumerate()
    {
        store.fail_table(table);
        w.sim
            .with_world(|x| x.add_note(w.pid, iid, dev, "/backline rebase"))
            .unwrap();
        w.settle().await;
        // Every attempt failed on the store (the test's retries are immediate): the delivery
        // ends in the dead letters with the store's error, not "done" as someone else's MR.
        let (_, dead) = w.app.api("/api/v1/dead-letters").await;
        let letter = dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "note")
            .unwrap_or_else(|| panic!("{table}: no dead note delivery in {dead}"))
            .clone();
        let error = letter["error"].as_str().unwrap();
        assert!(
            error.contains("store") && error.contains(table),
            "{table}: {error}"
        );
        assert!(letter["attempts"].as_u64().unwrap() > 1, "{letter}");
        assert_eq!(replies(), answered, "{table}: no command ran");
        store.heal_table(table);
        let id = letter["id"].as_u64().unwrap();
        let (status, _) = w
            .app
            .api_post(&format!("/api/v1/dead-letters/{id}/retry"))
            .await;
        assert_eq!(status, 202);
        w.settle().await;
        let (_, done) = w.app.api(&format!("/api/v1/deliveries/{id}")).await;
        assert_eq!(done["state"], "done", "{done}");
        assert!(
            done["outcome"]
                .as_str()
                .unwrap()
                .starts_with("ran 1 command"),
            "{done}"
        );
        assert_eq!(replies(), answered + 1);
    }
    assert_eq!(replies(), 3);
    w.app.shutdown().await;
}
