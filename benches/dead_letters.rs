//! Dead letters at scale (issue 15, O(1) on hot paths): with 100,000 dead letters, what the
//! count (`/api/v1/inbox`, the metric after each dead letter) and one page of
//! `/api/v1/dead-letters` and `/api/v1/deliveries` cost now, beside the full walks the inbox did
//! before (a walk of the dead-letter tree to count it; a walk decoding every record per page),
//! run here on the same store through its tables.
//!
//! Run: `cargo bench --bench dead_letters` (`DEAD_LETTERS=N` for another count).

use std::time::{Duration, Instant};

use backline::gitlab::hooks::EventKind;
use backline::gitlab::ProjectId;
use backline::inbox::{
    DeadLetter, DeadLetterLimits, DeliveryRecord, DeliveryState, Enqueued, Inbox, NewDelivery,
};
use backline::store::{Store, Table};

fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = f();
    let start = Instant::now();
    for _ in 0..runs {
        out = f();
    }
    (start.elapsed() / runs, out)
}

fn main() {
    let n: u64 = std::env::var("DEAD_LETTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inbox = Inbox::new(store.clone()).unwrap();
    let fill = Instant::now();
    for i in 0..n {
        let d = NewDelivery {
            key: format!("id:{i}"),
            kind: EventKind::Push,
            project: Some(ProjectId(i % 50)),
            event_uuid: None,
            verified_by: backline::inbox::VerifiedBy::Signature,
            received_at_ms: 0,
        };
        let Enqueued::Accepted { seq, .. } = inbox.enqueue(&d, b"{}").unwrap() else {
            panic!("not accepted")
        };
        inbox.claim(seq).unwrap();
        inbox.bury(seq, "gave up", i as i64).unwrap();
    }
    store.flush_now().unwrap();
    println!(
        "{n} dead letters written in {:.1} s",
        fill.elapsed().as_secs_f64()
    );

    let letters: Table<u64, DeadLetter> = store.table("dead_letters").unwrap();
    let records: Table<u64, DeliveryRecord> = store.table("deliveries").unwrap();
    let (walk_count, walked) = time(3, || letters.count());
    let (counter, counted) = time(1000, || inbox.dead_count());
    assert_eq!(walked, counted);
    // Before: every record decoded, newest first, filtered and counted, for one page.
    let old_page = |state: Option<DeliveryState>| {
        let mut total = 0;
        let mut items = Vec::new();
        for kv in records.iter().rev() {
            let (_, r) = kv.unwrap();
            if state.is_some_and(|s| s != r.state) {
                continue;
            }
            if total >= 50 && items.len() < 50 {
                items.push(r);
            }
            total += 1;
        }
        (total, items.len())
    };
    let (walk_dead, _) = time(3, || old_page(Some(DeliveryState::Dead)));
    let (page_dead, p) = time(100, || {
        inbox.list(Some(DeliveryState::Dead), 2, 50).unwrap()
    });
    assert_eq!((p.total, p.items.len()), (n as usize, 50));
    let (walk_all, _) = time(3, || old_page(None));
    let (page_all, _) = time(100, || inbox.list(None, 2, 50).unwrap());
    let (open, reopened) = time(3, || Inbox::new(store.clone()).unwrap());
    assert_eq!(reopened.dead_count(), n as usize);

    println!("| operation ({n} dead letters) | before: full walk | now |");
    println!("|---|---|---|");
    println!("| dead-letter count | {walk_count:.2?} | {counter:.2?} |");
    println!("| page 2 of `/dead-letters` (50) | {walk_dead:.2?} | {page_dead:.2?} |");
    println!("| page 2 of `/deliveries` (50) | {walk_all:.2?} | {page_all:.2?} |");
    println!("| inbox open (counts the keys once) | - | {open:.2?} |");

    let start = Instant::now();
    let removed = inbox
        .prune_dead(DeadLetterLimits {
            cutoff_ms: 0,
            max: 10_000,
        })
        .unwrap();
    let prune = start.elapsed();
    println!(
        "prune to the default most kept (10,000): {removed} removed in {:.1} s; {} left",
        prune.as_secs_f64(),
        inbox.dead_count()
    );
}
