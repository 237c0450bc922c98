//! The inbox's contract: each case runs through [`Inbox`] on sled and on PostgreSQL
//! ([`on_both_stores!`]). What only one backend has stays beside it: sled's crash recovery,
//! counters and raw bodies in `super::tests`; leases across replicas, dedupe across replicas
//! and group commit in `crate::store::pg::contract` and `super::either`.
//!
//! Claims here take each lane's oldest delivery, as the lanes (sled) and the leases
//! (PostgreSQL) both require; retry times lie in the past, so a delivery is due on both.

use super::*;
use crate::store::testing::{on_both_stores, Backend, TestStore};

on_both_stores!(
    enqueue_once_then_duplicate,
    concurrent_copies_store_one,
    claim_ack_lifecycle,
    a_parked_delivery_keeps_its_attempts_and_waits,
    retry_then_bury_then_revive,
    list_filters_and_paginates_newest_first,
    prune_forgets_old_done_deliveries_and_their_keys,
    dead_letters_are_pruned_by_age_then_oldest_past_the_most_kept,
    listing_dead_and_all_pages_with_totals,
    burying_twice_or_reviving_what_is_not_dead_moves_nothing,
    a_missing_body_becomes_a_dead_letter_not_a_loop,
);

fn delivery(key: &str, project: Option<u64>) -> NewDelivery {
    NewDelivery {
        key: key.to_string(),
        kind: EventKind::Push,
        project: project.map(ProjectId),
        event_uuid: Some("uuid-1".into()),
        verified_by: VerifiedBy::Token,
        received_at_ms: 1_000,
    }
}

/// A new inbox on `backend`, with what keeps its store alive.
fn open(backend: Backend) -> (TestStore, Inbox) {
    let test = TestStore::open(backend);
    let inbox = Inbox::new(test.store.clone()).unwrap();
    match (&inbox, backend) {
        (Inbox::Sled(_), Backend::Sled) | (Inbox::Pg(_), Backend::Pg) => {}
        _ => panic!("the inbox of a {backend:?} store"),
    }
    (test, inbox)
}

/// Enqueues a new delivery and returns its sequence number.
fn accept(inbox: &Inbox, key: &str, project: Option<u64>, body: &[u8]) -> u64 {
    match inbox.enqueue(&delivery(key, project), body).unwrap() {
        Enqueued::Accepted { seq, .. } => seq,
        other => panic!("{other:?}"),
    }
}

fn seqs(page: &Page<DeliveryRecord>) -> Vec<u64> {
    page.items.iter().map(|r| r.seq).collect()
}

fn enqueue_once_then_duplicate(backend: Backend) {
    let (_test, inbox) = open(backend);
    let first = inbox.enqueue(&delivery("id:a", Some(5)), b"{}").unwrap();
    let Enqueued::Accepted { seq, lane } = first else {
        panic!("{first:?}")
    };
    assert_eq!(lane, 5);
    assert_eq!(
        inbox.enqueue(&delivery("id:a", Some(5)), b"{}").unwrap(),
        Enqueued::Duplicate { seq }
    );
    assert_eq!(inbox.known("id:a").unwrap(), Some(seq));
    assert_eq!(inbox.known("id:never").unwrap(), None);
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(
        (
            r.key.as_str(),
            r.kind,
            r.project,
            r.state,
            r.event_uuid.as_deref(),
            &r.verified_by,
            r.body_len,
            r.attempts,
            r.received_at_ms,
        ),
        (
            "id:a",
            EventKind::Push,
            Some(ProjectId(5)),
            DeliveryState::Queued,
            Some("uuid-1"),
            &VerifiedBy::Token,
            2,
            0,
            1_000,
        )
    );
    assert_eq!(
        (
            r.finished_at_ms,
            r.next_attempt_at_ms,
            r.outcome,
            r.last_error
        ),
        (None, None, None, None)
    );
    assert_eq!(inbox.record_count(), 1);
    assert_eq!(
        inbox
            .list(Some(DeliveryState::Queued), 1, 10)
            .unwrap()
            .total,
        1
    );
    // Instance-wide events share lane 0.
    assert!(matches!(
        inbox.enqueue(&delivery("id:none", None), b"{}").unwrap(),
        Enqueued::Accepted { lane: 0, .. }
    ));
}

fn concurrent_copies_store_one(backend: Backend) {
    let (_test, inbox) = open(backend);
    let results: Vec<Enqueued> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| inbox.enqueue(&delivery("id:same", Some(1)), b"{}")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let accepted: Vec<u64> = results
        .iter()
        .filter_map(|r| match r {
            Enqueued::Accepted { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(accepted.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r,
        Enqueued::Accepted { seq, .. } | Enqueued::Duplicate { seq } if *seq == accepted[0])));
    assert_eq!(inbox.list(None, 1, 10).unwrap().total, 1);
    assert_eq!(inbox.record_count(), 1);
}

fn claim_ack_lifecycle(backend: Backend) {
    let (_test, inbox) = open(backend);
    let body = br#"{"object_kind":"push","commits":[{"message":"fix"}]}"#.repeat(300);
    let seq = accept(&inbox, "id:b", None, &body);
    let stored = inbox.payload_bytes();
    assert!(
        stored > 0 && stored * 10 < body.len() as u64,
        "compressed: {stored}"
    );
    let claimed = inbox.claim(seq).unwrap().unwrap();
    assert_eq!(claimed.body, body);
    assert_eq!(claimed.record.attempts, 1);
    assert_eq!(claimed.record.state, DeliveryState::Processing);
    assert_eq!(
        inbox.record(seq).unwrap().unwrap().state,
        DeliveryState::Processing
    );
    assert_eq!(
        inbox
            .list(Some(DeliveryState::Processing), 1, 10)
            .unwrap()
            .total,
        1
    );
    inbox.ack(seq, "recorded", 2_000).unwrap();
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(r.state, DeliveryState::Done);
    assert_eq!(r.finished_at_ms, Some(2_000));
    assert_eq!(r.outcome.as_deref(), Some("recorded"));
    assert_eq!(r.attempts, 1);
    assert!(
        inbox.claim(seq).unwrap().is_none(),
        "acked work cannot be claimed again"
    );
    assert_eq!(inbox.payload_bytes(), 0, "the body is gone");
    assert_eq!(
        inbox.list(Some(DeliveryState::Done), 1, 10).unwrap().total,
        1
    );
    assert_eq!(inbox.recover().unwrap().pending, Vec::new());
}

fn a_parked_delivery_keeps_its_attempts_and_waits(backend: Backend) {
    let (_test, inbox) = open(backend);
    let seq = accept(&inbox, "id:p", Some(9), b"x");
    inbox.claim(seq).unwrap().unwrap();
    inbox.park(seq, "rate limited", 600_000).unwrap();
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(
        (
            r.state,
            r.attempts,
            r.next_attempt_at_ms,
            r.last_error.as_deref()
        ),
        (
            DeliveryState::Failed,
            0,
            Some(600_000),
            Some("rate limited")
        )
    );
    let failed = inbox.list(Some(DeliveryState::Failed), 1, 10).unwrap();
    assert_eq!(seqs(&failed), [seq]);
    // Due again: the next attempt is the first counted.
    assert_eq!(inbox.claim(seq).unwrap().unwrap().record.attempts, 1);
}

fn retry_then_bury_then_revive(backend: Backend) {
    let (_test, inbox) = open(backend);
    let seq = accept(&inbox, "id:c", Some(9), b"x");
    inbox.claim(seq).unwrap().unwrap();
    inbox.retry_later(seq, "GitLab 502", 5_000).unwrap();
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(
        (
            r.state,
            r.attempts,
            r.next_attempt_at_ms,
            r.last_error.as_deref()
        ),
        (DeliveryState::Failed, 1, Some(5_000), Some("GitLab 502"))
    );
    assert!(inbox.payload_bytes() > 0, "a retry keeps the body");
    let again = inbox.claim(seq).unwrap().unwrap();
    assert_eq!(
        (again.record.attempts, again.record.next_attempt_at_ms),
        (2, None)
    );
    inbox.bury(seq, "gave up", 6_000).unwrap();
    assert_eq!(inbox.dead_count(), 1);
    let letter = inbox.dead_letter(seq).unwrap().unwrap();
    assert_eq!((letter.reason.as_str(), letter.at_ms), ("gave up", 6_000));
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(
        (
            r.state,
            r.attempts,
            r.finished_at_ms,
            r.last_error.as_deref()
        ),
        (DeliveryState::Dead, 2, Some(6_000), Some("gave up"))
    );
    assert!(inbox.claim(seq).unwrap().is_none(), "the dead do not run");
    assert_eq!(
        inbox
            .list(Some(DeliveryState::Failed), 1, 10)
            .unwrap()
            .total,
        0
    );
    assert_eq!(inbox.revive(seq).unwrap(), Some(9));
    assert_eq!(inbox.dead_count(), 0);
    assert_eq!(inbox.dead_letter(seq).unwrap(), None);
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(
        (r.state, r.attempts, r.finished_at_ms),
        (DeliveryState::Queued, 0, None)
    );
    let claimed = inbox.claim(seq).unwrap().unwrap();
    assert_eq!(claimed.record.attempts, 1);
    assert_eq!(claimed.body, b"x", "the body was kept for a revive");
    assert_eq!(inbox.revive(seq).unwrap(), None);
    assert_eq!(inbox.revive(123_456_789).unwrap(), None);
}

fn list_filters_and_paginates_newest_first(backend: Backend) {
    let (_test, inbox) = open(backend);
    let seqs_in: Vec<u64> = (0..5)
        .map(|i| accept(&inbox, &format!("id:{i}"), Some(1), b"{}"))
        .collect();
    inbox.claim(seqs_in[0]).unwrap().unwrap();
    inbox.ack(seqs_in[0], "ok", 10).unwrap();
    let all = inbox.list(None, 1, 2).unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(seqs(&all), [seqs_in[4], seqs_in[3]]);
    let page3 = inbox.list(None, 3, 2).unwrap();
    assert_eq!(seqs(&page3), [seqs_in[0]]);
    assert!(inbox.list(None, 4, 2).unwrap().items.is_empty());
    let done = inbox.list(Some(DeliveryState::Done), 1, 10).unwrap();
    assert_eq!((done.total, seqs(&done)), (1, vec![seqs_in[0]]));
    let queued = inbox.list(Some(DeliveryState::Queued), 2, 3).unwrap();
    assert_eq!((queued.total, seqs(&queued)), (4, vec![seqs_in[1]]));
    assert_eq!(
        inbox.list(Some(DeliveryState::Dead), 1, 10).unwrap().total,
        0
    );
}

fn prune_forgets_old_done_deliveries_and_their_keys(backend: Backend) {
    let (_test, inbox) = open(backend);
    let seq = accept(&inbox, "id:old", None, b"{}");
    inbox.claim(seq).unwrap().unwrap();
    inbox.ack(seq, "ok", 100).unwrap();
    accept(&inbox, "id:pending", None, b"{}");
    assert_eq!(inbox.prune(50).unwrap(), 0);
    assert_eq!(inbox.prune(101).unwrap(), 1);
    assert_eq!(inbox.record(seq).unwrap(), None);
    assert_eq!(inbox.known("id:old").unwrap(), None);
    assert!(inbox.known("id:pending").unwrap().is_some());
    assert_eq!(inbox.record_count(), 1);
    assert_eq!(
        inbox.prune(i64::MAX).unwrap(),
        0,
        "pending work is never pruned"
    );
    // The key is free again: a new copy is a new delivery.
    assert!(accept(&inbox, "id:old", None, b"{}") > seq);
}

/// Buries `n` new deliveries at times 1..=n; returns their sequence numbers.
fn bury_n(inbox: &Inbox, n: u64) -> Vec<u64> {
    (1..=n)
        .map(|i| {
            let seq = accept(inbox, &format!("id:dead-{i}"), Some(i % 3), b"{}");
            inbox.claim(seq).unwrap().unwrap();
            inbox.bury(seq, "gave up", i as i64).unwrap();
            seq
        })
        .collect()
}

fn dead_letters_are_pruned_by_age_then_oldest_past_the_most_kept(backend: Backend) {
    let (_test, inbox) = open(backend);
    let buried = bury_n(&inbox, 6);
    let revived = buried[1];
    inbox.revive(revived).unwrap().unwrap();
    let bodies = inbox.payload_bytes();
    // Age: letters buried before 3 go (1; 2 was revived and is no dead letter).
    let none_past_max = DeadLetterLimits {
        cutoff_ms: 3,
        max: 100,
    };
    assert_eq!(inbox.prune_dead(none_past_max).unwrap(), 1);
    assert!(inbox.record(buried[0]).unwrap().is_none());
    assert!(inbox.dead_letter(buried[0]).unwrap().is_none());
    assert_eq!(inbox.known("id:dead-1").unwrap(), None);
    assert!(inbox.payload_bytes() < bodies, "its body went with it");
    assert!(inbox.record(revived).unwrap().is_some());
    // Count: of 3, 4, 5, 6 keep the newest two.
    let two = DeadLetterLimits {
        cutoff_ms: 0,
        max: 2,
    };
    assert_eq!(inbox.prune_dead(two).unwrap(), 2);
    assert_eq!(inbox.dead_count(), 2);
    let dead = inbox.list(Some(DeliveryState::Dead), 1, 10).unwrap();
    assert_eq!((dead.total, seqs(&dead)), (2, vec![buried[5], buried[4]]));
    assert_eq!(inbox.prune_dead(two).unwrap(), 0);
    assert_eq!(inbox.record_count(), 3, "the revived one and the two kept");
}

fn listing_dead_and_all_pages_with_totals(backend: Backend) {
    let (_test, inbox) = open(backend);
    let buried = bury_n(&inbox, 7);
    let live = accept(&inbox, "id:live", Some(1), b"{}");
    let dead = inbox.list(Some(DeliveryState::Dead), 2, 3).unwrap();
    assert_eq!(dead.total, 7);
    assert_eq!(seqs(&dead), [buried[3], buried[2], buried[1]]);
    let all = inbox.list(None, 1, 2).unwrap();
    assert_eq!(all.total, 8);
    assert_eq!(seqs(&all), [live, buried[6]]);
    let queued = inbox.list(Some(DeliveryState::Queued), 1, 10).unwrap();
    assert_eq!((queued.total, seqs(&queued)), (1, vec![live]));
    assert_eq!(
        inbox.list(Some(DeliveryState::Done), 1, 10).unwrap().total,
        0
    );
    assert!(inbox
        .list(Some(DeliveryState::Dead), 9, 3)
        .unwrap()
        .items
        .is_empty());
    assert_eq!((inbox.dead_count(), inbox.record_count()), (7, 8));
}

fn burying_twice_or_reviving_what_is_not_dead_moves_nothing(backend: Backend) {
    let (_test, inbox) = open(backend);
    let buried = bury_n(&inbox, 2);
    let live = accept(&inbox, "id:live", Some(1), b"{}");
    assert_eq!(inbox.revive(live).unwrap(), None, "not dead");
    assert_eq!(inbox.revive(12_345).unwrap(), None, "unknown");
    assert_eq!(
        inbox.record(live).unwrap().unwrap().state,
        DeliveryState::Queued
    );
    // A finish of a delivery that is not running here changes nothing.
    inbox.bury(buried[0], "again", 9).unwrap();
    assert_eq!(inbox.dead_letter(buried[0]).unwrap().unwrap().at_ms, 1);
    assert_eq!((inbox.dead_count(), inbox.record_count()), (2, 3));
    inbox.revive(buried[1]).unwrap().unwrap();
    assert_eq!(inbox.dead_count(), 1);
}

/// Loses a delivery's stored body behind the inbox's back (a damaged disk, a bad restore).
fn lose_body(test: &TestStore, inbox: &Inbox, seq: u64) {
    match inbox {
        Inbox::Sled(i) => assert!(i.t.payloads.remove(&seq).unwrap()),
        Inbox::Pg(_) => {
            let db = test.store.pg().unwrap();
            let removed = db
                .block_on(move |pg| async move {
                    pg.client()
                        .await?
                        .execute("DELETE FROM payloads WHERE seq = $1", &[&(seq as i64)])
                        .await
                        .map_err(crate::store::pg::PgError::query("losing a body"))
                })
                .unwrap();
            assert_eq!(removed, 1);
        }
    }
}

fn a_missing_body_becomes_a_dead_letter_not_a_loop(backend: Backend) {
    let (test, inbox) = open(backend);
    let seq = accept(&inbox, "id:nobody", None, b"{}");
    lose_body(&test, &inbox, seq);
    assert!(inbox.claim(seq).unwrap().is_none());
    let r = inbox.record(seq).unwrap().unwrap();
    assert_eq!(r.state, DeliveryState::Dead);
    assert_eq!(r.attempts, 0, "no handler ran");
    assert!(r.last_error.unwrap().contains("body"));
    assert_eq!(inbox.dead_count(), 1);
    assert!(inbox
        .dead_letter(seq)
        .unwrap()
        .unwrap()
        .reason
        .contains("missing"));
}
