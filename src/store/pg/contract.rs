//! Contract tests of the PostgreSQL queue against a real database, for what several replicas
//! add (the cases both backends share run through `crate::inbox::Inbox` in
//! `crate::inbox::contract`): dedupe across replicas, leases and their takeover (with given
//! clocks, no waiting), due times, per-project order with two claimers, and group commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::intake::{Intake, IntakeConfig};
use super::queue::{Finish, PgInbox, ReplicaId, DEFAULT_LEASE};
use super::testing::TestDb;
use super::PgStore;
use crate::gitlab::hooks::EventKind;
use crate::gitlab::ProjectId;
use crate::inbox::{DeliveryState, Enqueued, NewDelivery};

const T0: i64 = 1_000_000;
/// The default lease in milliseconds.
const LEASE_MS: i64 = DEFAULT_LEASE.as_millis() as i64;

fn delivery(key: &str, project: Option<u64>) -> NewDelivery {
    NewDelivery {
        key: key.to_string(),
        kind: EventKind::Push,
        project: project.map(ProjectId),
        event_uuid: Some("uuid-1".into()),
        verified_by: crate::inbox::VerifiedBy::Token,
        received_at_ms: 1_000,
    }
}

async fn replica(store: &PgStore, name: &str) -> PgInbox {
    PgInbox::new(store.clone(), ReplicaId::new(name), DEFAULT_LEASE)
}

async fn accept(inbox: &PgInbox, key: &str, project: Option<u64>, body: &[u8]) -> u64 {
    match inbox.enqueue(&delivery(key, project), body).await.unwrap() {
        Enqueued::Accepted { seq, .. } => seq,
        other => panic!("{other:?}"),
    }
}

async fn two_replicas() -> (TestDb, PgInbox, PgInbox) {
    let db = TestDb::migrated().await;
    let a = db.open_store().await.unwrap();
    let b = db.open_store().await.unwrap();
    let (a, b) = (replica(&a, "a").await, replica(&b, "b").await);
    (db, a, b)
}

#[tokio::test]
async fn the_same_delivery_sent_to_two_replicas_is_stored_once() {
    let (_db, a, b) = two_replicas().await;
    let first = a.enqueue(&delivery("id:a", Some(5)), b"{}").await.unwrap();
    let Enqueued::Accepted { seq, lane } = first else {
        panic!("{first:?}")
    };
    assert_eq!(lane, 5);
    assert_eq!(
        b.enqueue(&delivery("id:a", Some(5)), b"{}").await.unwrap(),
        Enqueued::Duplicate { seq }
    );
    assert_eq!(b.known("id:a").await.unwrap(), Some(seq));
    assert_eq!(a.pending().await.unwrap().len(), 1);
    let r = b.record(seq).await.unwrap().unwrap();
    assert_eq!(
        (
            r.key.as_str(),
            r.kind,
            r.project,
            r.state,
            r.event_uuid.as_deref()
        ),
        (
            "id:a",
            EventKind::Push,
            Some(ProjectId(5)),
            DeliveryState::Queued,
            Some("uuid-1")
        )
    );
}

#[tokio::test]
async fn concurrent_copies_on_both_replicas_store_one() {
    let (_db, a, b) = two_replicas().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let inbox = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            inbox
                .enqueue(&delivery("id:same", Some(1)), b"{}")
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let accepted: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, Enqueued::Accepted { .. }))
        .collect();
    assert_eq!(accepted.len(), 1, "{results:?}");
    let Enqueued::Accepted { seq, .. } = accepted[0] else {
        unreachable!()
    };
    assert!(results
        .iter()
        .all(|r| r == accepted[0] || *r == Enqueued::Duplicate { seq: *seq }));
    assert_eq!(a.list(None, 1, 10).await.unwrap().total, 1);
}

#[tokio::test]
async fn a_batch_stores_each_key_once_and_answers_in_order() {
    let (_db, a, _b) = two_replicas().await;
    let old = accept(&a, "id:old", Some(1), b"x").await;
    let batch = ["id:new", "id:old", "id:new", "id:other"]
        .iter()
        .map(|k| super::queue::Admitted {
            delivery: delivery(k, Some(2)),
            stored: crate::payload_codec::encode(b"{}"),
            body_len: 2,
        })
        .collect();
    let answers = a.enqueue_batch(batch).await.unwrap();
    let Enqueued::Accepted { seq: new, .. } = answers[0] else {
        panic!("{answers:?}")
    };
    assert_eq!(answers[1], Enqueued::Duplicate { seq: old });
    assert_eq!(answers[2], Enqueued::Duplicate { seq: new });
    assert!(matches!(answers[3], Enqueued::Accepted { seq, .. } if seq > new));
}

#[tokio::test]
async fn a_dead_replicas_lease_is_taken_over_and_its_late_ack_changes_nothing() {
    let (_db, a, b) = two_replicas().await;
    let seq = accept(&a, "id:t", Some(3), b"x").await;
    let (lease_a, _) = a.claim_next(T0).await.unwrap().unwrap();
    assert_eq!(lease_a.seq, seq);
    // Within A's lease, B finds nothing to do.
    assert!(b.claim_next(T0 + LEASE_MS - 1).await.unwrap().is_none());
    // A died: its lease ran out, B takes the delivery over.
    let (lease_b, claimed) = b.claim_next(T0 + LEASE_MS).await.unwrap().unwrap();
    assert_eq!(lease_b.seq, seq);
    assert_ne!(lease_b.token, lease_a.token);
    assert_eq!(claimed.record.attempts, 2, "the lost attempt counts");
    // A comes back late: its ack, retry and bury are refused.
    assert_eq!(
        a.ack(&lease_a, "late", T0).await.unwrap(),
        Finish::LeaseLost
    );
    assert_eq!(
        a.retry_later(&lease_a, "late", T0).await.unwrap(),
        Finish::LeaseLost
    );
    assert_eq!(
        a.bury(&lease_a, "late", T0).await.unwrap(),
        Finish::LeaseLost
    );
    let mut stale = lease_a;
    assert!(!a.renew(&mut stale, T0 + LEASE_MS + 1).await.unwrap());
    assert_eq!(
        a.record(seq).await.unwrap().unwrap().state,
        DeliveryState::Processing
    );
    assert_eq!(
        b.ack(&lease_b, "ok", T0 + LEASE_MS + 1_000).await.unwrap(),
        Finish::Done
    );
    assert_eq!(
        a.record(seq).await.unwrap().unwrap().outcome.as_deref(),
        Some("ok")
    );
}

#[tokio::test]
async fn a_renewed_lease_is_not_taken_over() {
    let (_db, a, b) = two_replicas().await;
    accept(&a, "id:r", Some(3), b"x").await;
    let (mut lease, _) = a.claim_next(T0).await.unwrap().unwrap();
    // Renewed at two thirds of the lease: it holds a whole lease from then on.
    let renewed_at = T0 + LEASE_MS * 2 / 3;
    assert!(a.renew(&mut lease, renewed_at).await.unwrap());
    assert_eq!(lease.until_ms, renewed_at + LEASE_MS);
    assert!(b.claim_next(T0 + LEASE_MS).await.unwrap().is_none());
    assert!(b
        .claim_next(renewed_at + LEASE_MS - 1)
        .await
        .unwrap()
        .is_none());
    assert!(b.claim_next(renewed_at + LEASE_MS).await.unwrap().is_some());
}

#[tokio::test]
async fn a_project_runs_one_delivery_at_a_time_in_order_across_replicas() {
    let (_db, a, b) = two_replicas().await;
    let s1 = accept(&a, "id:s1", Some(1), b"1").await;
    let t1 = accept(&b, "id:t1", Some(2), b"1").await;
    let s2 = accept(&b, "id:s2", Some(1), b"2").await;
    let s3 = accept(&a, "id:s3", Some(1), b"3").await;
    let (l1, _) = a.claim_next(T0).await.unwrap().unwrap();
    assert_eq!(l1.seq, s1);
    // B may not start project 1's next delivery while s1 runs: it gets project 2's.
    let (l2, _) = b.claim_next(T0).await.unwrap().unwrap();
    assert_eq!(l2.seq, t1);
    assert!(b.claim_next(T0).await.unwrap().is_none());
    assert!(
        b.claim(s2, T0).await.unwrap().is_none(),
        "not before s1 finishes"
    );
    // A retry of s1 keeps its place: s2 waits until s1 is done, even past s1's retry time.
    assert_eq!(
        a.retry_later(&l1, "502", T0 + 5_000).await.unwrap(),
        Finish::Done
    );
    assert!(b.claim_next(T0 + 1_000).await.unwrap().is_none());
    let (again, c) = b.claim_next(T0 + 5_000).await.unwrap().unwrap();
    assert_eq!((again.seq, c.record.attempts), (s1, 2));
    b.ack(&again, "ok", T0 + 5_000).await.unwrap();
    let (l, _) = a.claim_next(T0 + 5_000).await.unwrap().unwrap();
    assert_eq!(l.seq, s2);
    a.ack(&l, "ok", T0).await.unwrap();
    let (l, _) = b.claim_next(T0 + 5_000).await.unwrap().unwrap();
    assert_eq!(l.seq, s3);
}

/// Two claimers racing over many projects: every delivery runs once, a project never has two
/// running at once, and each project's deliveries finish in order.
#[tokio::test]
async fn two_claimers_race_without_breaking_order_or_running_twice() {
    let (_db, a, b) = two_replicas().await;
    let mut expected: HashMap<u64, Vec<u64>> = HashMap::new();
    for i in 0..60u64 {
        let project = i % 4 + 1;
        let seq = accept(&a, &format!("id:{i}"), Some(project), b"{}").await;
        expected.entry(project).or_default().push(seq);
    }
    let running: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let done: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let mut workers = Vec::new();
    for inbox in [a.clone(), b.clone(), a.clone(), b.clone()] {
        let (running, done) = (running.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut idle = 0;
            while idle < 50 {
                let Some((lease, claimed)) = inbox.claim_next(T0).await.unwrap() else {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                };
                idle = 0;
                let lane = claimed.record.project.unwrap().get();
                if let Some(other) = running.lock().unwrap().insert(lane, lease.seq) {
                    panic!("project {lane} runs {other} and {} at once", lease.seq);
                }
                tokio::task::yield_now().await;
                running.lock().unwrap().remove(&lane);
                done.lock().unwrap().push((lane, lease.seq));
                assert_eq!(inbox.ack(&lease, "ok", T0).await.unwrap(), Finish::Done);
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let done = done.lock().unwrap().clone();
    assert_eq!(done.len(), 60, "every delivery ran exactly once");
    for (project, seqs) in expected {
        let order: Vec<u64> = done
            .iter()
            .filter(|(p, _)| *p == project)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(order, seqs, "project {project} in order");
    }
    assert!(a.pending().await.unwrap().is_empty());
    assert_eq!(a.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_parked_or_retried_delivery_is_not_claimed_before_its_time() {
    let (_db, a, b) = two_replicas().await;
    let seq = accept(&a, "id:p", Some(9), b"x").await;
    let (lease, _) = a.claim(seq, T0).await.unwrap().unwrap();
    assert_eq!(
        lease.until_ms,
        T0 + DEFAULT_LEASE.as_millis() as i64,
        "the default lease"
    );
    assert_eq!(a.leased_count(T0).await.unwrap(), 1);
    a.park(&lease, "rate limited", 600_000 + T0).await.unwrap();
    assert_eq!(a.leased_count(T0).await.unwrap(), 0, "parking lets go");
    assert_eq!(
        a.pending().await.unwrap()[0].not_before_ms,
        Some(600_000 + T0)
    );
    assert!(b.claim_next(T0 + 599_999).await.unwrap().is_none());
    assert!(b.claim(seq, T0 + 599_999).await.unwrap().is_none());
    let (lease, _) = b.claim_next(T0 + 600_000).await.unwrap().unwrap();
    b.retry_later(&lease, "502", T0 + 700_000).await.unwrap();
    assert!(a.claim_next(T0 + 699_999).await.unwrap().is_none());
    assert!(a.claim_next(T0 + 700_000).await.unwrap().is_some());
}

#[tokio::test]
async fn two_replicas_reviving_a_dead_letter_at_once_revive_it_once() {
    let (_db, a, b) = two_replicas().await;
    let seq = accept(&a, "id:c", Some(9), b"x").await;
    let (lease, _) = a.claim(seq, T0).await.unwrap().unwrap();
    assert_eq!(
        a.bury(&lease, "gave up", 6_000).await.unwrap(),
        Finish::Done
    );
    let (ra, rb) = tokio::join!(a.revive(seq), b.revive(seq));
    let mut lanes = vec![ra.unwrap(), rb.unwrap()];
    lanes.sort();
    assert_eq!(lanes, vec![None, Some(9)]);
    assert_eq!(a.dead_count().await.unwrap(), 0);
    assert_eq!(a.pending().await.unwrap().len(), 1);
}

#[tokio::test]
async fn claim_next_buries_a_delivery_without_its_body_and_takes_the_next() {
    let db = TestDb::migrated().await;
    let a = replica(&db.open_store().await.unwrap(), "a").await;
    let lost = accept(&a, "id:nobody", Some(1), b"{}").await;
    let next = accept(&a, "id:next", Some(2), b"{}").await;
    db.client()
        .await
        .execute("DELETE FROM payloads WHERE seq = $1", &[&(lost as i64)])
        .await
        .unwrap();
    let (lease, _) = a.claim_next(T0).await.unwrap().unwrap();
    assert_eq!(lease.seq, next);
    let r = a.record(lost).await.unwrap().unwrap();
    assert_eq!((r.state, r.attempts), (DeliveryState::Dead, 0));
    assert!(r.last_error.unwrap().contains("body"));
}

#[tokio::test]
async fn group_commit_batches_concurrent_requests_and_answers_after_commit() {
    let (_db, a, b) = two_replicas().await;
    let (intake, task) = Intake::start(
        a.clone(),
        IntakeConfig {
            max_batch: 64,
            in_flight: 1,
            ..IntakeConfig::default()
        },
    );
    let mut requests = Vec::new();
    for i in 0..200u64 {
        let intake = intake.clone();
        requests.push(tokio::spawn(async move {
            intake
                .enqueue(
                    delivery(&format!("id:{}", i % 150), Some(i % 7)),
                    b"{\"a\":1}",
                )
                .await
                .unwrap()
        }));
    }
    let mut accepted = 0;
    let mut duplicates = 0;
    for r in requests {
        match r.await.unwrap() {
            Enqueued::Accepted { seq, .. } => {
                accepted += 1;
                // Committed before the answer: the other replica sees it.
                assert!(b.record(seq).await.unwrap().is_some());
            }
            Enqueued::Duplicate { .. } => duplicates += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((accepted, duplicates), (150, 50));
    let stats = intake.stats();
    assert_eq!(stats.deliveries, 200);
    assert!(
        stats.batches < 200,
        "concurrent requests shared transactions: {stats:?}"
    );
    drop(intake);
    task.await.unwrap();
    assert_eq!(b.pending().await.unwrap().len(), 150);
    assert_eq!(b.pending_count().await.unwrap(), 150);
}

#[tokio::test]
async fn a_full_intake_refuses_until_bodies_are_freed() {
    let (_db, a, _b) = two_replicas().await;
    let noise: Vec<u8> = (0..4000u32)
        .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
        .collect();
    let config = IntakeConfig {
        max_payload_bytes: 20_000,
        usage_refresh: Duration::ZERO,
        ..IntakeConfig::default()
    };
    let (intake, _task) = Intake::start(a.clone(), config);
    let first = intake
        .enqueue(delivery("id:1", Some(1)), &noise)
        .await
        .unwrap();
    let Enqueued::Accepted { seq, .. } = first else {
        panic!("{first:?}")
    };
    assert!(matches!(
        intake
            .enqueue(delivery("id:2", Some(1)), &noise)
            .await
            .unwrap(),
        Enqueued::Full { limit: 20_000, .. }
    ));
    let (lease, _) = a.claim(seq, T0).await.unwrap().unwrap();
    a.ack(&lease, "done", T0).await.unwrap();
    assert!(matches!(
        intake
            .enqueue(delivery("id:2", Some(1)), &noise)
            .await
            .unwrap(),
        Enqueued::Accepted { .. }
    ));
}
