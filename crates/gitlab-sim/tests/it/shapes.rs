//! Small answer and hook shapes taken from GitLab's source.

use gitlab_sim::access;
use serde_json::Value;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_note_update_hook_names_the_notes_author_and_only_when_the_text_changed() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    let note = sim.with_world(|w| {
        let alice = w.create_user("alice", "Alice");
        w.add_member(pid, alice, access::DEVELOPER).unwrap();
        w.commit_files(pid, bot, "fix", "fix", vec![("a".into(), Some("b".into()))])
            .unwrap();
        let iid = w
            .create_mr(pid, bot, "fix", "main", "Fix", "", Vec::new(), false, false)
            .unwrap();
        let note = w.add_note(pid, iid, alice, "/backline status").unwrap();
        w.add_project_hook(pid, gitlab_sim::HookTarget::new("http://127.0.0.1:9/x"))
            .unwrap();
        w.pending.clear();
        // An admin (here the bot's world identity) edits Alice's note.
        w.edit_note(pid, iid, note, bot, "/backline status\n/backline rebase")
            .unwrap();
        w.edit_note(pid, iid, note, bot, "/backline status\n/backline rebase")
            .unwrap();
        note
    });
    let pending = sim.take_pending();
    let notes: Vec<Value> = pending
        .iter()
        .filter(|d| d.event == "Note Hook")
        .map(|d| serde_json::from_slice(&d.body).unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "an edit that changes nothing sends nothing");
    assert_eq!(notes[0]["object_attributes"]["id"], note);
    assert_eq!(notes[0]["object_attributes"]["action"], "update");
    assert_eq!(notes[0]["user"]["username"], "alice");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pagination_where_gitlab_has_none_is_405_with_an_error_field() {
    let sim = start();
    project(&sim);
    let (status, body) = json(
        get(
            &sim,
            "/projects?pagination=keyset&order_by=name&sort=asc&per_page=1",
        )
        .await,
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(
        body["error"],
        "Keyset pagination is not yet available for this type of request"
    );
    sim.stop().await;
}
