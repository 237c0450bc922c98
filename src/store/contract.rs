//! The store's contract: each test body runs on sled and on PostgreSQL
//! ([`on_both_stores!`]), through the typed [`Table`] and [`Store`] API that every table of
//! backline uses. What only one backend has (sled's directory lock, PostgreSQL's replicas)
//! is tested beside that backend.

use super::testing::{on_both_stores, Backend, TestStore};
use super::*;

on_both_stores!(
    typed_round_trip_prefix_range_cas_and_batch,
    a_wrong_width_value_or_key_is_a_decode_error,
    single_key_operations_answer_what_the_key_held,
    compare_and_swap_covers_every_expected_and_new,
    batches_apply_atomically_and_the_last_write_of_a_key_wins,
    scans_cross_page_boundaries_in_both_directions,
    ids_strictly_increase_across_reopens_and_openers,
    flushed_writes_and_the_schema_version_survive_a_reopen,
    a_newer_schema_is_refused,
    run_goes_through_the_blocking_pool_and_injected_faults_are_errors,
    durable_returns_after_every_write_before_it,
);

fn typed_round_trip_prefix_range_cas_and_batch(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let t: Table<(u64, String), Vec<String>> = store.table("t_pairs").unwrap();
    t.insert(&(2, "b".into()), &vec!["x".into()]).unwrap();
    t.insert(&(1, "z".into()), &vec![]).unwrap();
    t.insert(&(2, "a".into()), &vec!["y".into()]).unwrap();
    let of2: Vec<_> = t.scan_prefix(&2u64).map(|kv| kv.unwrap().0 .1).collect();
    assert_eq!(of2, ["a", "b"]);
    assert_eq!(
        t.get(&(2, "a".into())).unwrap(),
        Some(vec!["y".to_string()])
    );
    assert!(t.remove(&(2, "a".into())).unwrap());
    assert!(!t.remove(&(2, "a".into())).unwrap());
    assert_eq!(t.count(), 2);

    let n: Table<u64, u64, BigEndian> = store.table("t_nums").unwrap();
    for i in 0..10 {
        n.insert(&i, &(i * 10)).unwrap();
    }
    let mid: Vec<u64> = n.range(&3, Some(&6)).map(|kv| kv.unwrap().1).collect();
    assert_eq!(mid, [30, 40, 50]);
    let last: Vec<u64> = n.iter().rev().take(2).map(|kv| kv.unwrap().0).collect();
    assert_eq!(last, [9, 8]);
    assert!(n
        .compare_and_swap(&1, Some(&10), Some(&11))
        .unwrap()
        .is_ok());
    let conflict = n
        .compare_and_swap(&1, Some(&10), None)
        .unwrap()
        .unwrap_err();
    assert_eq!(conflict.current, Some(11));
    assert!(n.compare_and_swap(&100, None, Some(&1)).unwrap().is_ok());
    let mut batch = Batch::default();
    batch.remove(&100);
    batch.insert(&101, &7);
    n.apply(batch).unwrap();
    assert_eq!(
        (n.get(&100).unwrap(), n.get(&101).unwrap()),
        (None, Some(7))
    );
    // The bytes stay what the untyped code wrote: big-endian keys and values.
    let raw: Table<u64, Vec<u8>, Bytes> = store.table("t_nums").unwrap();
    assert_eq!(raw.get(&101).unwrap(), Some(7u64.to_be_bytes().to_vec()));
}

fn a_wrong_width_value_or_key_is_a_decode_error(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let raw: Table<String, Vec<u8>, Bytes> = store.table("t_mixed").unwrap();
    raw.insert(&"k".to_string(), &vec![1, 2, 3]).unwrap();
    let typed: Table<String, u64, BigEndian> = store.table("t_mixed").unwrap();
    assert!(matches!(
        typed.get(&"k".to_string()),
        Err(StoreError::Decode {
            tree: "t_mixed",
            ..
        })
    ));
    // A replaced or taken value that does not decode is an error too, never "nothing".
    assert!(matches!(
        typed.replace(&"k".to_string(), &5),
        Err(StoreError::Decode { .. })
    ));
    assert_eq!(typed.get(&"k".to_string()).unwrap(), Some(5), "written");
    raw.insert(&"k".to_string(), &vec![9]).unwrap();
    assert!(matches!(
        typed.take(&"k".to_string()),
        Err(StoreError::Decode { .. })
    ));
    let by_number: Table<u64, Vec<u8>, Bytes> = store.table("t_mixed").unwrap();
    raw.insert(&"kk".to_string(), &vec![0]).unwrap();
    assert!(by_number.keys().next().unwrap().is_err());
    assert!(by_number.iter().next().unwrap().is_err());
    // A key that is not UTF-8 under a text key, and a postcard value that is not one.
    let bytes_keyed: Table<Vec<u8>, Vec<u8>, Bytes> = store.table("t_text").unwrap();
    bytes_keyed.insert(&vec![0xff, 0xfe], &vec![1]).unwrap();
    let text_keyed: Table<String, Vec<u8>, Bytes> = store.table("t_text").unwrap();
    let err = text_keyed.keys().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    let records: Table<Vec<u8>, Vec<String>> = store.table("t_text").unwrap();
    assert!(matches!(
        records.get(&vec![0xff, 0xfe]),
        Err(StoreError::Decode { tree: "t_text", .. })
    ));
    assert!(!err.is_transient());
}

fn single_key_operations_answer_what_the_key_held(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let t: Table<String, Vec<u8>, Bytes> = store.table("t_single").unwrap();
    let k = |s: &str| s.to_string();
    assert!(t.is_empty().unwrap());
    assert_eq!(t.get(&k("a")).unwrap(), None);
    assert!(!t.contains(&k("a")).unwrap());
    assert!(!t.insert(&k("a"), &b"1".to_vec()).unwrap(), "new key");
    assert!(t.insert(&k("a"), &b"2".to_vec()).unwrap(), "replaced");
    assert_eq!(
        t.replace(&k("a"), &b"3".to_vec()).unwrap(),
        Some(b"2".to_vec())
    );
    assert_eq!(t.replace(&k("b"), &b"4".to_vec()).unwrap(), None);
    assert!(t.contains(&k("a")).unwrap());
    assert!(!t.is_empty().unwrap());
    // An empty value is a value, not an absent key.
    t.insert(&k("empty"), &Vec::new()).unwrap();
    assert_eq!(t.get(&k("empty")).unwrap(), Some(Vec::new()));
    assert!(t.contains(&k("empty")).unwrap());
    assert_eq!(t.count(), 3);
    assert_eq!(t.stored_bytes().unwrap(), 2);
    assert_eq!(t.take(&k("a")).unwrap(), Some(b"3".to_vec()));
    assert_eq!(t.take(&k("a")).unwrap(), None);
    assert!(t.remove(&k("b")).unwrap());
    assert!(!t.remove(&k("b")).unwrap());
    let keys: Vec<String> = t.keys().map(Result::unwrap).collect();
    assert_eq!(keys, ["empty"]);
    // Text keys order as bytes: "a/10" before "a/2", and a prefix scan stays inside it.
    for key in ["a/2", "a/10", "a", "b/1", "a/"] {
        t.insert(&k(key), &key.as_bytes().to_vec()).unwrap();
    }
    let all: Vec<String> = t.keys().map(Result::unwrap).collect();
    assert_eq!(all, ["a", "a/", "a/10", "a/2", "b/1", "empty"]);
    let pairs: Table<(u64, String), u64, BigEndian> = store.table("t_pairs").unwrap();
    for (p, s) in [(1, "x"), (2, "y"), (2, "z"), (3, "w")] {
        pairs.insert(&(p, s.to_string()), &p).unwrap();
    }
    let of2: Vec<(u64, String)> = pairs.keys_with_prefix(&2u64).map(Result::unwrap).collect();
    assert_eq!(of2, [(2, "y".to_string()), (2, "z".to_string())]);
    t.clear().unwrap();
    assert!(t.is_empty().unwrap());
    assert_eq!(t.count(), 0);
    assert_eq!(pairs.count(), 4, "clear empties its own table only");
}

fn compare_and_swap_covers_every_expected_and_new(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let t: Table<u64, u64, BigEndian> = store.table("t_cas").unwrap();
    let cas = |expected: Option<u64>, new: Option<u64>| {
        t.compare_and_swap(&1, expected.as_ref(), new.as_ref())
            .unwrap()
            .map_err(|c| c.current)
    };
    // Absent key.
    assert_eq!(cas(None, None), Ok(()), "absent expected and absent found");
    assert_eq!(cas(Some(5), Some(6)), Err(None));
    assert_eq!(cas(Some(5), None), Err(None));
    assert_eq!(cas(None, Some(1)), Ok(()));
    // Present key.
    assert_eq!(cas(None, Some(2)), Err(Some(1)));
    assert_eq!(cas(None, None), Err(Some(1)));
    assert_eq!(cas(Some(9), Some(2)), Err(Some(1)));
    assert_eq!(cas(Some(1), Some(1)), Ok(()), "the same value");
    assert_eq!(cas(Some(1), Some(2)), Ok(()));
    assert_eq!(t.get(&1).unwrap(), Some(2));
    assert_eq!(cas(Some(1), None), Err(Some(2)));
    assert_eq!(cas(Some(2), None), Ok(()));
    assert_eq!(t.get(&1).unwrap(), None);
    // Racing swaps of a new key from several threads: exactly one wins.
    let wins = std::thread::scope(|s| {
        let racers: Vec<_> = (0..6u64)
            .map(|i| {
                let t = t.clone();
                s.spawn(move || t.compare_and_swap(&7, None, Some(&i)).unwrap().is_ok())
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(wins, 1);
}

fn batches_apply_atomically_and_the_last_write_of_a_key_wins(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let t: Table<u64, u64, BigEndian> = store.table("t_batch").unwrap();
    t.insert(&1, &100).unwrap();
    let mut batch = Batch::default();
    assert!(batch.is_empty());
    batch.insert(&2, &20);
    batch.remove(&1);
    batch.insert(&2, &21);
    batch.insert(&3, &30);
    batch.remove(&3);
    batch.insert(&1, &11);
    assert_eq!(batch.len(), 6);
    t.apply(batch).unwrap();
    let all: Vec<(u64, u64)> = t.iter().map(Result::unwrap).collect();
    assert_eq!(all, [(1, 11), (2, 21)], "the last write of each key");
    t.apply(Batch::default()).unwrap();
    assert_eq!(t.count(), 2, "an empty batch changes nothing");

    // Atomic: each batch writes `n` under key 10, then under key 20. A reader that sees batch
    // `n` under key 10 must then see at least `n` under key 20; applied key by key (key 10
    // first) it could find 20 still at `n - 1`.
    let (low, high) = (10u64, 20u64);
    let mut first = Batch::default();
    first.insert(&low, &0);
    first.insert(&high, &0);
    t.apply(first).unwrap();
    const BATCHES: u64 = 300;
    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let seen_low = t.get(&low).unwrap().unwrap();
                let seen_high = t.get(&high).unwrap().unwrap();
                assert!(
                    seen_high >= seen_low,
                    "half a batch seen: {low} at {seen_low}, {high} at {seen_high}"
                );
                reads += 1;
            }
            reads
        });
        for n in 1..=BATCHES {
            let mut batch = Batch::default();
            batch.insert(&low, &n);
            batch.insert(&high, &n);
            t.apply(batch).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().unwrap()
    });
    assert!(reads > 0);
    assert_eq!(t.get(&high).unwrap(), Some(BATCHES));
}

/// More rows than a PostgreSQL page ([`pg_backend::PAGE_ROWS`]) in one prefix, between others.
const MANY: u64 = 2_500;

fn scans_cross_page_boundaries_in_both_directions(backend: Backend) {
    assert!(MANY as i64 > 2 * pg_backend::PAGE_ROWS);
    let TestStore { store, .. } = &TestStore::open(backend);
    let t: Table<(u64, u64), u64, BigEndian> = store.table("t_scan").unwrap();
    let mut batch = Batch::default();
    batch.insert(&(1, 0), &0);
    for i in 0..MANY {
        batch.insert(&(2, i), &i);
    }
    for i in 0..99 {
        batch.insert(&(3, i), &(i + 10_000));
    }
    t.apply(batch).unwrap();
    let expected: Vec<u64> = (0..MANY).collect();
    let seconds = |it: Entries<'_, ((u64, u64), u64)>| -> Vec<u64> {
        it.map(|kv| {
            let ((p, i), v) = kv.unwrap();
            assert_eq!(p, 2, "inside the prefix");
            assert_eq!(i, v);
            i
        })
        .collect()
    };
    assert_eq!(seconds(t.scan_prefix(&2u64)), expected);
    let mut backwards = seconds(Box::new(t.scan_prefix(&2u64).rev()));
    backwards.reverse();
    assert_eq!(backwards, expected);
    assert_eq!(t.keys_with_prefix(&2u64).count(), MANY as usize);
    assert_eq!(t.keys_with_prefix(&2u64).rev().count(), MANY as usize);

    // A range across two page boundaries, both ways, and open-ended.
    let (from, to) = ((2, 400), (2, 2_100));
    assert_eq!(
        seconds(t.range(&from, Some(&to))),
        (400..2_100).collect::<Vec<_>>()
    );
    let mut down = seconds(Box::new(t.range(&from, Some(&to)).rev()));
    down.reverse();
    assert_eq!(down, (400..2_100).collect::<Vec<_>>());
    assert_eq!(t.range(&(2, 1_999), None).count(), 501 + 99);
    assert_eq!(t.range(&(2, 5), Some(&(2, 5))).count(), 0, "empty range");

    // Every row once when walked from both ends until they meet.
    let mut it = t.scan_prefix(&2u64);
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let a = it.next().map(|kv| kv.unwrap().0 .1);
        let b = it.next_back().map(|kv| kv.unwrap().0 .1);
        if a.is_none() && b.is_none() {
            break;
        }
        front.extend(a);
        back.extend(b);
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, expected);

    // The whole table: its ends and its size.
    let total = 1 + MANY as usize + 99;
    assert_eq!(t.iter().count(), total);
    assert_eq!(t.count(), total);
    assert_eq!(t.iter().next().unwrap().unwrap().0, (1, 0));
    assert_eq!(t.iter().next_back().unwrap().unwrap().0, (3, 98));
    let newest: Vec<(u64, u64)> = t.keys().rev().take(3).map(Result::unwrap).collect();
    assert_eq!(newest, [(3, 98), (3, 97), (3, 96)]);
    assert_eq!(t.scan_prefix(&4u64).count(), 0);
}

fn ids_strictly_increase_across_reopens_and_openers(backend: Backend) {
    let test = TestStore::open(backend);
    let first_run = test.store.first_id_of_run();
    let ids: Vec<u64> = (0..50).map(|_| test.store.next_id().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(ids[0] >= first_run);
    let last = *ids.last().unwrap();
    // Two threads (and on PostgreSQL two replicas) taking ids at once: never the same id.
    let other = test.second().unwrap_or_else(|| test.store.clone());
    let (mine, theirs) = std::thread::scope(|s| {
        let take = |store: Store| {
            s.spawn(move || {
                (0..100)
                    .map(|_| store.next_id().unwrap())
                    .collect::<Vec<_>>()
            })
        };
        let (a, b) = (take(test.store.clone()), take(other));
        (a.join().unwrap(), b.join().unwrap())
    });
    for ids in [&mine, &theirs] {
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[0] > last);
    }
    let mut all: Vec<u64> = mine.iter().chain(&theirs).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 200, "no id handed out twice");
    let highest = *all.last().unwrap();
    // After a restart: the run starts above every id handed out before.
    let test = test.reopen();
    assert!(test.store.first_id_of_run() > highest);
    assert!(test.store.next_id().unwrap() > test.store.first_id_of_run());
}

fn flushed_writes_and_the_schema_version_survive_a_reopen(backend: Backend) {
    let test = TestStore::open(backend);
    assert_eq!(test.store.schema_version().unwrap(), SCHEMA_VERSION);
    let t: Table<u64, Vec<u8>, Bytes> = test.store.table("t_flush").unwrap();
    t.insert(&1, &b"one".to_vec()).unwrap();
    t.flush().unwrap();
    t.insert(&2, &b"two".to_vec()).unwrap();
    test.store.flush_now().unwrap();
    drop(t);
    let test = test.reopen();
    let t: Table<u64, Vec<u8>, Bytes> = test.store.table("t_flush").unwrap();
    let all: Vec<(u64, Vec<u8>)> = t.iter().map(Result::unwrap).collect();
    assert_eq!(all, [(1, b"one".to_vec()), (2, b"two".to_vec())]);
    assert_eq!(test.store.schema_version().unwrap(), SCHEMA_VERSION);
}

fn a_newer_schema_is_refused(backend: Backend) {
    let test = TestStore::open(backend);
    test.store.set_schema_version(SCHEMA_VERSION + 1).unwrap();
    test.store.flush_now().unwrap();
    let err = test.reopen_with(|target| target.open()).err().unwrap();
    match (backend, &err) {
        (Backend::Sled, StoreError::NewerSchema { found, .. })
        | (Backend::Pg, StoreError::NewerDatabaseSchema { found, .. }) => {
            assert_eq!(*found, SCHEMA_VERSION + 1)
        }
        _ => panic!("{backend:?}: {err}"),
    }
    assert!(err.to_string().contains("upgrade backline"), "{err}");
    assert!(!err.is_transient());
}

fn run_goes_through_the_blocking_pool_and_injected_faults_are_errors(backend: Backend) {
    let TestStore { store, .. } = &TestStore::open(backend);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (caller, on_pool) = runtime.block_on(async {
        let caller = std::thread::current().id();
        let on_pool = store
            .run(|_| Ok::<_, StoreError>(std::thread::current().id()))
            .await
            .unwrap();
        (caller, on_pool)
    });
    assert_ne!(on_pool, caller);
    let t: Table<u64, u64, BigEndian> = store.table("faulty").unwrap();
    t.insert(&1, &1).unwrap();
    store.fail_table("faulty");
    assert!(matches!(t.get(&1), Err(StoreError::Backend(_))));
    assert!(t.insert(&2, &2).is_err());
    assert!(t.apply(Batch::default()).is_err());
    assert!(t.iter().next().unwrap().is_err());
    assert!(t.range(&0, None).next().unwrap().is_err());
    assert!(t.get(&1).unwrap_err().is_transient());
    store.heal_table("faulty");
    assert_eq!(t.get(&1).unwrap(), Some(1));
    assert_eq!(t.get(&2).unwrap(), None, "the failed insert wrote nothing");
}

fn durable_returns_after_every_write_before_it(backend: Backend) {
    let test = TestStore::open(backend);
    let store = test.store.clone();
    let t: Table<u64, Vec<u8>, Bytes> = store.table("t_durable").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        t.insert(&1, &b"x".to_vec()).unwrap();
        store.durable().await.unwrap();
        let waiters: Vec<_> = (0..64)
            .map(|i| {
                let (s, t) = (store.clone(), t.clone());
                tokio::spawn(async move {
                    s.run(move |_| t.insert(&(i + 2), &b"y".to_vec())).await?;
                    s.durable().await
                })
            })
            .collect();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
    });
    drop((runtime, t, store));
    let test = test.reopen();
    let t: Table<u64, Vec<u8>, Bytes> = test.store.table("t_durable").unwrap();
    assert_eq!(t.count(), 65);
}
