//! The store's own ceiling, for reading the webhook figures: how many 8 KB deliveries per second
//! sled 0.34 takes on this machine through `Inbox::enqueue` (a compare-and-swap and three inserts),
//! from 1 and 2 threads, with and without a flush per batch of 64 (group commit).
//!
//! Run: `cargo bench --bench store_ceiling`

use std::sync::Arc;
use std::time::Instant;

use backline::gitlab::hooks::EventKind;
use backline::gitlab::ProjectId;
use backline::inbox::{Inbox, NewDelivery};
use backline::store::Store;

const PER_THREAD: usize = 10_000;

fn run(threads: usize, flush_every: Option<usize>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inbox = Arc::new(Inbox::new(store.clone()).unwrap());
    let body = Arc::new(vec![b'x'; 8192]);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (inbox, body, store) = (inbox.clone(), body.clone(), store.clone());
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let d = NewDelivery {
                        key: format!("id:{t}-{i}"),
                        kind: EventKind::Push,
                        project: Some(ProjectId(i as u64 % 50)),
                        event_uuid: None,
                        verified_by: backline::inbox::VerifiedBy::Signature,
                        received_at_ms: 0,
                    };
                    inbox.enqueue(&d, &body).unwrap();
                    if flush_every.is_some_and(|n| i % n == n - 1) {
                        store.flush_now().unwrap();
                    }
                }
            });
        }
    });
    store.flush_now().unwrap();
    (threads * PER_THREAD) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    println!("| threads | flush | enqueues/s |");
    println!("|---|---|---|");
    for threads in [1, 2] {
        for flush in [None, Some(64)] {
            let label = flush.map_or("at the end".to_string(), |n| format!("every {n}"));
            println!("| {threads} | {label} | {:.0} |", run(threads, flush));
        }
    }
}
