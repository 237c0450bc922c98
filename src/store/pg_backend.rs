//! The PostgreSQL backend of [`super::Store`]: byte-level trees over the `kv_<tree>` tables of
//! [`super::pg`], offered to [`super::raw::RawTree`] with sled's synchronous operations.
//!
//! The store's API is synchronous and is called inline from async code, including actix-web's
//! current-thread runtimes, so this backend never uses the caller's runtime (nor
//! `block_in_place`): it owns a small tokio runtime on its own threads, where the connection
//! pool lives; each call sends its work there and blocks on a channel for the answer. Once that
//! runtime has stopped, calls fail with [`StoreError::Task`].
//!
//! Scans fetch keyset pages of [`PAGE_ROWS`] rows as they are walked, from either end
//! ([`PgIter`] is a `DoubleEndedIterator`).

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;

use super::pg::kv::{prefix_end, KvTable};
use super::pg::{migrate, DatabaseUrl, PgError, PgStore};
use super::raw::{RawBatch, RawEntry, RawIter};
use super::StoreError;
use crate::net::Network;

/// Rows fetched per page of a scan.
pub const PAGE_ROWS: i64 = 1_000;

/// Threads of the backend's own runtime.
const RUNTIME_THREADS: usize = 2;

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// The backend's own runtime: running on its threads until the last [`PgDb`] clone is dropped.
struct PgRuntime {
    handle: Handle,
    /// Dropping (or sending on) it lets the owner thread drop the runtime.
    stop: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// Answers once the runtime has been shut down.
    stopped: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl PgRuntime {
    fn start() -> Result<PgRuntime, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("backline-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let handle = runtime.handle().clone();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (stopped_tx, stopped_rx) = std::sync::mpsc::channel::<()>();
        // The runtime is dropped on a thread of its own: dropping it inside an async context
        // (a test's runtime, actix's) would panic.
        std::thread::Builder::new()
            .name("backline-pg-owner".to_string())
            .spawn(move || {
                let _ = stop_rx.recv();
                runtime.shutdown_background();
                let _ = stopped_tx.send(());
            })
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(PgRuntime {
            handle,
            stop: Mutex::new(Some(stop_tx)),
            stopped: Mutex::new(stopped_rx),
        })
    }

    /// Runs `fut` on the backend's runtime and waits for its answer on this thread.
    fn block_on<T, Fut>(&self, fut: Fut) -> Result<T, StoreError>
    where
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // A runtime that has stopped drops the task unrun: the sender goes with it.
        drop(self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        }));
        match rx.recv() {
            Ok(answer) => answer.map_err(StoreError::from),
            Err(_) => Err(StoreError::Task(
                "the database runtime has stopped".to_string(),
            )),
        }
    }

    fn stop(&self) {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = stop.take() {
            let _ = tx.send(());
        }
    }

    /// [`PgRuntime::stop`], returning once the runtime no longer runs tasks (the owner
    /// thread shuts it down without waiting for them, so this does not wait for them either).
    fn stop_and_wait(&self) {
        self.stop();
        let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        // An error: the owner thread is gone, so the runtime went with it.
        let _ = stopped.recv();
    }
}

impl Drop for PgRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An open PostgreSQL store: the pool on the backend's runtime. Cheap to clone.
#[derive(Clone)]
pub struct PgDb {
    inner: Arc<PgDbInner>,
}

struct PgDbInner {
    runtime: PgRuntime,
    store: PgStore,
}

impl PgDb {
    /// Connects to `url` with `network`'s trust and applies the pending migrations (refusing a
    /// database newer than this binary).
    pub fn open(
        url: &DatabaseUrl,
        network: &Network,
        pool_size: usize,
    ) -> Result<PgDb, StoreError> {
        let runtime = PgRuntime::start()?;
        let (url, network) = (url.clone(), network.clone());
        let store =
            runtime.block_on(async move { PgStore::open(&url, &network, pool_size).await })?;
        Ok(PgDb {
            inner: Arc::new(PgDbInner { runtime, store }),
        })
    }

    /// The pool (for the inbox, the leader and health checks, which are async and run on the
    /// caller's runtime or through [`PgDb::block_on`]).
    pub fn pg(&self) -> &PgStore {
        &self.inner.store
    }

    /// Runs `f` with the pool on the backend's runtime and waits for the answer.
    pub fn block_on<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.runtime.block_on(f(self.inner.store.clone()))
    }

    /// Runs `f` with the pool on the backend's runtime; the caller awaits it on its own runtime
    /// (whichever it is: the answer comes back through a channel).
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let fut = f(self.inner.store.clone());
        drop(self.inner.runtime.handle.spawn(async move {
            let _ = tx.send(fut.await);
        }));
        match rx.await {
            Ok(answer) => answer.map_err(StoreError::from),
            Err(_) => Err(StoreError::Task(
                "the database runtime has stopped".to_string(),
            )),
        }
    }

    /// Runs `f` on the backend's runtime without waiting for it (work that must happen even
    /// when its caller is synchronous or going away, such as releasing a lock).
    pub fn spawn<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.inner.runtime.handle.spawn(f));
    }

    /// Stops the backend's runtime now: calls made after this returns fail with
    /// [`StoreError::Task`].
    #[doc(hidden)]
    pub fn stop_runtime(&self) {
        self.inner.runtime.stop_and_wait();
    }

    /// The tree `name`: its `kv_<name>` table, created on first use when no migration made it
    /// (names are fixed identifiers in the code, never input).
    pub fn tree(&self, name: &'static str) -> Result<PgTree, StoreError> {
        if !valid_tree_name(name) {
            return Err(StoreError::Backend(
                format!("tree name {name:?} is not a plain identifier").into(),
            ));
        }
        let sql_table = format!("kv_{name}");
        if KvTable::from_tree(name).is_none() {
            let create = sql_table.clone();
            self.block_on(move |store| async move {
                let mut client = store.client().await?;
                let tx = client
                    .transaction()
                    .await
                    .map_err(PgError::query("creating a table"))?;
                // Under the migration lock: two replicas creating it together do not collide.
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&migrate::MIGRATION_LOCK])
                    .await
                    .map_err(PgError::query("creating a table"))?;
                tx.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {create} (key bytea PRIMARY KEY, value bytea NOT NULL)"
                ))
                .await
                .map_err(PgError::query("creating a table"))?;
                tx.commit().await.map_err(PgError::query("creating a table"))
            })?;
        }
        Ok(PgTree {
            db: self.clone(),
            table: Arc::from(sql_table),
        })
    }

    /// A fresh, strictly increasing id from the `store_ids` sequence (shared by the replicas).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        self.block_on(|store| async move {
            let client = store.client().await?;
            let row = client
                .query_one("SELECT nextval('store_ids')", &[])
                .await
                .map_err(PgError::query("taking an id"))?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }
}

/// Whether `name` can be a table name as it is: lowercase ASCII letters, digits, `_`. Pure.
fn valid_tree_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 60
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One tree: its table. Cheap to clone.
#[derive(Clone)]
pub struct PgTree {
    db: PgDb,
    /// `kv_<tree>`: a checked identifier.
    table: Arc<str>,
}

type Param = Option<Vec<u8>>;

impl PgTree {
    fn query_opt_value(
        &self,
        op: &'static str,
        sql: String,
        params: Vec<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.block_on(move |store| async move {
            let client = store.client().await?;
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            let row = client
                .query_opt(&sql, &refs)
                .await
                .map_err(PgError::query(op))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.query_opt_value(
            "reading a value",
            format!("SELECT value FROM {} WHERE key = $1", self.table),
            vec![key.to_vec()],
        )
    }

    pub fn contains_key(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .query_opt_value(
                "reading a value",
                format!("SELECT ''::bytea FROM {} WHERE key = $1", self.table),
                vec![key.to_vec()],
            )?
            .is_some())
    }

    pub fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        // One statement: the CTE reads the row as it was before the upsert.
        self.query_opt_value(
            "writing a value",
            format!(
                "WITH old AS (SELECT value FROM {t} WHERE key = $1),
                      up AS (INSERT INTO {t} (key, value) VALUES ($1, $2)
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value)
                 SELECT value FROM old",
                t = self.table
            ),
            vec![key.to_vec(), value],
        )
    }

    pub fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.query_opt_value(
            "removing a value",
            format!("DELETE FROM {} WHERE key = $1 RETURNING value", self.table),
            vec![key.to_vec()],
        )
    }

    /// sled's compare-and-swap: one conditional statement (atomic); on a conflict, the value
    /// read right after it.
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<Result<(), Option<Vec<u8>>>, StoreError> {
        let t = self.table.clone();
        let (key, expected) = (key.to_vec(), expected.map(<[u8]>::to_vec));
        self.db.block_on(move |store| async move {
            let client = store.client().await?;
            let swapped = match (&expected, &new) {
                (None, Some(new)) => client
                    .execute(
                        &format!(
                            "INSERT INTO {t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
                        ),
                        &[&key, new],
                    )
                    .await
                    .map(|n| n == 1),
                (Some(old), Some(new)) => client
                    .execute(
                        &format!("UPDATE {t} SET value = $3 WHERE key = $1 AND value = $2"),
                        &[&key, old, new],
                    )
                    .await
                    .map(|n| n == 1),
                (Some(old), None) => client
                    .execute(
                        &format!("DELETE FROM {t} WHERE key = $1 AND value = $2"),
                        &[&key, old],
                    )
                    .await
                    .map(|n| n == 1),
                (None, None) => Ok(false),
            }
            .map_err(PgError::query("swapping a value"))?;
            if swapped {
                return Ok(Ok(()));
            }
            let current: Option<Vec<u8>> = client
                .query_opt(&format!("SELECT value FROM {t} WHERE key = $1"), &[&key])
                .await
                .map_err(PgError::query("reading a value"))?
                .map(|r| r.get(0));
            if expected.is_none() && new.is_none() && current.is_none() {
                // Absent expected and absent found: sled counts that as done.
                return Ok(Ok(()));
            }
            Ok(Err(current))
        })
    }

    pub fn iter(&self) -> RawIter {
        Box::new(PgIter::new(
            self.clone(),
            Bound::Unbounded,
            Bound::Unbounded,
        ))
    }

    pub fn range(&self, from: &[u8], to: Option<&[u8]>) -> RawIter {
        let hi = match to {
            Some(to) => Bound::Excluded(to.to_vec()),
            None => Bound::Unbounded,
        };
        Box::new(PgIter::new(
            self.clone(),
            Bound::Included(from.to_vec()),
            hi,
        ))
    }

    pub fn scan_prefix(&self, prefix: &[u8]) -> RawIter {
        let hi = match prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        Box::new(PgIter::new(
            self.clone(),
            Bound::Included(prefix.to_vec()),
            hi,
        ))
    }

    /// Number of entries (`count(*)`); 0 when the database does not answer, as sled's `len`
    /// has no error either (callers that must know use the iterators, which do fail).
    pub fn len(&self) -> usize {
        let t = self.table.clone();
        let counted = self.db.block_on(move |store| async move {
            let client = store.client().await?;
            let row = client
                .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .await
                .map_err(PgError::query("counting values"))?;
            Ok(row.get::<_, i64>(0) as usize)
        });
        match counted {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(table = %self.table, error = %e, "could not count a table");
                0
            }
        }
    }

    /// Whether the table holds nothing (as [`PgTree::len`], 0 when it cannot be counted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn first(&self) -> Result<Option<RawEntry>, StoreError> {
        let mut page = self.page(&Bound::Unbounded, &Bound::Unbounded, false, 1)?;
        Ok(page.pop())
    }

    /// Applies the batch in one transaction (the last write of a key wins, as in sled).
    pub fn apply(&self, batch: RawBatch) -> Result<(), StoreError> {
        let mut last: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> = Default::default();
        for (key, value) in batch {
            last.insert(key, value);
        }
        let (mut put_keys, mut put_values, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in last {
            match value {
                Some(v) => {
                    put_keys.push(key);
                    put_values.push(v);
                }
                None => removed.push(key),
            }
        }
        let t = self.table.clone();
        self.db.block_on(move |store| async move {
            let mut client = store.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(PgError::query("writing a batch"))?;
            if !removed.is_empty() {
                tx.execute(
                    &format!("DELETE FROM {t} WHERE key = ANY($1::bytea[])"),
                    &[&removed],
                )
                .await
                .map_err(PgError::query("writing a batch"))?;
            }
            if !put_keys.is_empty() {
                tx.execute(
                    &format!(
                        "INSERT INTO {t} (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                    ),
                    &[&put_keys, &put_values],
                )
                .await
                .map_err(PgError::query("writing a batch"))?;
            }
            tx.commit().await.map_err(PgError::query("writing a batch"))
        })
    }

    pub fn clear(&self) -> Result<(), StoreError> {
        let t = self.table.clone();
        self.db.block_on(move |store| async move {
            let client = store.client().await?;
            client
                .execute(&format!("DELETE FROM {t}"), &[])
                .await
                .map_err(PgError::query("clearing a table"))?;
            Ok(())
        })
    }

    /// Every statement commits before it answers: nothing to flush.
    pub fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Up to `limit` entries strictly inside `(lo, hi)`, ascending or descending.
    fn page(
        &self,
        lo: &Bound<Vec<u8>>,
        hi: &Bound<Vec<u8>>,
        descending: bool,
        limit: i64,
    ) -> Result<Vec<RawEntry>, StoreError> {
        let (lo, lo_inclusive) = bound_param(lo);
        let (hi, hi_inclusive) = bound_param(hi);
        let sql = format!(
            "SELECT key, value FROM {} WHERE
                 ($1::bytea IS NULL OR key > $1 OR ($2 AND key = $1))
             AND ($3::bytea IS NULL OR key < $3 OR ($4 AND key = $3))
             ORDER BY key {} LIMIT $5",
            self.table,
            if descending { "DESC" } else { "ASC" }
        );
        self.db.block_on(move |store| async move {
            let client = store.client().await?;
            let rows = client
                .query(&sql, &[&lo, &lo_inclusive, &hi, &hi_inclusive, &limit])
                .await
                .map_err(PgError::query("scanning values"))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }
}

fn bound_param(b: &Bound<Vec<u8>>) -> (Param, bool) {
    match b {
        Bound::Included(k) => (Some(k.clone()), true),
        Bound::Excluded(k) => (Some(k.clone()), false),
        Bound::Unbounded => (None, false),
    }
}

/// A scan fetched a page at a time from either end. The keys not fetched yet lie strictly
/// between `lo` and `hi`; `front` holds fetched keys below them (ascending), `back` fetched
/// keys above them (descending), so walking from both ends meets in the middle exactly once.
pub struct PgIter {
    tree: PgTree,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    /// Nothing is left between `lo` and `hi`.
    exhausted: bool,
    front: VecDeque<RawEntry>,
    back: VecDeque<RawEntry>,
    /// A failed fetch ends the walk after yielding its error.
    failed: bool,
    page_rows: i64,
}

impl PgIter {
    fn new(tree: PgTree, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> PgIter {
        PgIter {
            tree,
            lo,
            hi,
            exhausted: false,
            front: VecDeque::new(),
            back: VecDeque::new(),
            failed: false,
            page_rows: PAGE_ROWS,
        }
    }

    /// Fetches the next page from the front (`descending` false) or the back.
    fn fetch(&mut self, descending: bool) -> Result<(), StoreError> {
        let page = self
            .tree
            .page(&self.lo, &self.hi, descending, self.page_rows)?;
        if (page.len() as i64) < self.page_rows {
            self.exhausted = true;
        }
        if let Some((last, _)) = page.last() {
            if descending {
                self.hi = Bound::Excluded(last.clone());
            } else {
                self.lo = Bound::Excluded(last.clone());
            }
        }
        if descending {
            self.back.extend(page);
        } else {
            self.front.extend(page);
        }
        Ok(())
    }

    fn step(&mut self, descending: bool) -> Option<Result<RawEntry, StoreError>> {
        if self.failed {
            return None;
        }
        loop {
            let own = if descending {
                &mut self.back
            } else {
                &mut self.front
            };
            if let Some(entry) = own.pop_front() {
                return Some(Ok(entry));
            }
            if self.exhausted {
                // What is left was fetched by the other end.
                let other = if descending {
                    self.front.pop_back()
                } else {
                    self.back.pop_back()
                };
                return other.map(Ok);
            }
            if let Err(e) = self.fetch(descending) {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

impl Iterator for PgIter {
    type Item = Result<RawEntry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

impl DoubleEndedIterator for PgIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A store on a fresh schema of the test database.

    use super::super::pg::testing::TestDb;
    use super::super::Store;

    /// A PostgreSQL store on its own new schema (kept alive by the returned [`TestDb`]).
    pub fn pg_store() -> (TestDb, Store) {
        let db = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(TestDb::empty())
        })
        .join()
        .unwrap();
        let store = Store::open_pg(&db.url, &crate::net::Network::default(), 4).unwrap();
        (db, store)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::pg_store;
    use super::*;
    use crate::store::{BigEndian, Bytes, Table};

    #[test]
    fn tree_names_are_plain_identifiers() {
        assert!(valid_tree_name("remediation_keys"));
        assert!(valid_tree_name("t2"));
        assert!(!valid_tree_name(""));
        assert!(!valid_tree_name("x; DROP TABLE y"));
        assert!(!valid_tree_name("Upper"));
    }

    #[test]
    fn scans_page_from_both_ends_and_meet_once() {
        let (_db, store) = pg_store();
        let t: Table<u64, Vec<u8>, Bytes> = store.table("t_pages").unwrap();
        let mut batch = crate::store::Batch::default();
        for i in 0..25u64 {
            batch.insert(&i, &vec![i as u8]);
        }
        t.apply(batch).unwrap();
        let tree = match store.raw_tree("t_pages").unwrap() {
            super::super::raw::RawTree::Pg(tree) => tree,
            _ => unreachable!("a PostgreSQL store"),
        };
        for rows in [1i64, 2, 3, 7, 25, 26, 1000] {
            let mut it = PgIter::new(tree.clone(), Bound::Unbounded, Bound::Unbounded);
            it.page_rows = rows;
            // Alternate ends: every key once, front ascending, back descending.
            let (mut front, mut back) = (Vec::new(), Vec::new());
            loop {
                let a = it.next().map(|e| e.unwrap().0);
                let b = it.next_back().map(|e| e.unwrap().0);
                if a.is_none() && b.is_none() {
                    break;
                }
                front.extend(a);
                back.extend(b);
            }
            back.reverse();
            front.extend(back);
            let expected: Vec<Vec<u8>> = (0..25u64).map(|i| i.to_be_bytes().to_vec()).collect();
            assert_eq!(front, expected, "page of {rows}");
            let mut it = PgIter::new(tree.clone(), Bound::Unbounded, Bound::Unbounded);
            it.page_rows = rows;
            let rev: Vec<Vec<u8>> = it.rev().map(|e| e.unwrap().0).collect();
            assert_eq!(rev.len(), 25);
            assert_eq!(rev[0], 24u64.to_be_bytes().to_vec());
        }
        let n: Table<u64, u64, BigEndian> = store.table("t_pages").unwrap();
        assert_eq!(n.range(&3, Some(&6)).count(), 3);
    }

    #[test]
    fn a_stopped_runtime_is_a_task_error_and_batches_are_atomic() {
        let (_db, store) = pg_store();
        let t: Table<u64, Vec<u8>, Bytes> = store.table("t_batches").unwrap();
        t.insert(&1, &b"one".to_vec()).unwrap();
        let mut batch = crate::store::Batch::default();
        batch.insert(&2, &b"two".to_vec());
        batch.remove(&1);
        batch.insert(&2, &b"two again".to_vec());
        t.apply(batch).unwrap();
        assert_eq!(t.get(&1).unwrap(), None);
        assert_eq!(t.get(&2).unwrap(), Some(b"two again".to_vec()));
        store.stop_pg_runtime();
        assert!(matches!(t.get(&2), Err(StoreError::Task(_))));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn calls_from_a_current_thread_runtime_do_not_need_it() {
        let (_db, store) = tokio::task::spawn_blocking(pg_store).await.unwrap();
        let t: Table<u64, u64, BigEndian> = store.table("t_inline").unwrap();
        // Inline on the current-thread runtime: the call runs on the backend's own runtime.
        t.insert(&7, &8).unwrap();
        assert_eq!(t.get(&7).unwrap(), Some(8));
    }
}
