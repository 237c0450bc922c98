//! Key-value tables: one `kv_<tree>` table per sled tree, `key bytea primary key, value bytea`,
//! holding the same postcard values under the same keys, with the operations a sled tree
//! offers the typed tables (get, insert, remove, ordered range and prefix scans). Keys compare
//! as bytes in both (`bytea` orders like sled's keys: unsigned bytes, shorter first on a tie).

use std::fmt;
use std::ops::Bound;

use super::{PgError, PgStore};

/// Every key-value table, named as its sled tree is (the migration creates `kv_<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvTable {
    /// Catalog: project id → project (`catalog::table`).
    Projects,
    /// Catalog: path → project id.
    ProjectPaths,
    /// Inventory: project → scanned head.
    ProjectHeads,
    /// Inventory: manifests.
    Manifests,
    /// Findings.
    Findings,
    /// Outdated direct dependencies.
    Outdated,
    /// Remediations.
    Remediations,
    /// Remediation natural keys → id.
    RemediationKeys,
    /// Notes answered (commands).
    NoteCommands,
    /// Refusals replied to.
    RefusalReplies,
    /// MR checks.
    MrChecks,
    /// Advisory index metadata.
    Advisories,
    /// Sessions.
    Sessions,
    /// Schema version and other single values.
    Meta,
    /// Repository policies (`policy::table`).
    Policies,
    /// Bot MRs' pipelines (`pipeline::table`).
    Pipelines,
}

impl KvTable {
    /// Every table.
    pub const ALL: [KvTable; 16] = [
        KvTable::Projects,
        KvTable::ProjectPaths,
        KvTable::ProjectHeads,
        KvTable::Manifests,
        KvTable::Findings,
        KvTable::Outdated,
        KvTable::Remediations,
        KvTable::RemediationKeys,
        KvTable::NoteCommands,
        KvTable::RefusalReplies,
        KvTable::MrChecks,
        KvTable::Advisories,
        KvTable::Sessions,
        KvTable::Meta,
        KvTable::Policies,
        KvTable::Pipelines,
    ];

    /// The sled tree's name.
    pub fn tree(self) -> &'static str {
        match self {
            KvTable::Projects => "projects",
            KvTable::ProjectPaths => "project_paths",
            KvTable::ProjectHeads => "project_heads",
            KvTable::Manifests => "manifests",
            KvTable::Findings => "findings",
            KvTable::Outdated => "outdated",
            KvTable::Remediations => "remediations",
            KvTable::RemediationKeys => "remediation_keys",
            KvTable::NoteCommands => "note_commands",
            KvTable::RefusalReplies => "refusal_replies",
            KvTable::MrChecks => "mr_checks",
            KvTable::Advisories => "advisories",
            KvTable::Sessions => "sessions",
            KvTable::Meta => "meta",
            KvTable::Policies => "policies",
            KvTable::Pipelines => "pipelines",
        }
    }

    /// The table for a sled tree's name.
    pub fn from_tree(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.tree() == name)
    }

    /// The SQL table name (a fixed identifier, never from input).
    fn sql(self) -> &'static str {
        match self {
            KvTable::Projects => "kv_projects",
            KvTable::ProjectPaths => "kv_project_paths",
            KvTable::ProjectHeads => "kv_project_heads",
            KvTable::Manifests => "kv_manifests",
            KvTable::Findings => "kv_findings",
            KvTable::Outdated => "kv_outdated",
            KvTable::Remediations => "kv_remediations",
            KvTable::RemediationKeys => "kv_remediation_keys",
            KvTable::NoteCommands => "kv_note_commands",
            KvTable::RefusalReplies => "kv_refusal_replies",
            KvTable::MrChecks => "kv_mr_checks",
            KvTable::Advisories => "kv_advisories",
            KvTable::Sessions => "kv_sessions",
            KvTable::Meta => "kv_meta",
            KvTable::Policies => "kv_policies",
            KvTable::Pipelines => "kv_pipelines",
        }
    }
}

impl fmt::Display for KvTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tree())
    }
}

/// One key-value table. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgTable {
    store: PgStore,
    table: KvTable,
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

impl PgTable {
    /// The table `table` of `store`.
    pub fn new(store: PgStore, table: KvTable) -> Self {
        PgTable { store, table }
    }

    /// Which table.
    pub fn table(&self) -> KvTable {
        self.table
    }

    /// The value under `key`.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let client = self.store.client().await?;
        let sql = format!("SELECT value FROM {} WHERE key = $1", self.table.sql());
        let row = client
            .query_opt(&sql, &[&key])
            .await
            .map_err(PgError::query("reading a value"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Stores `value` under `key`; returns the value it replaced.
    pub async fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let client = self.store.client().await?;
        // The old value is read in the same statement: a CTE sees the table before the upsert.
        let sql = format!(
            "WITH old AS (SELECT value FROM {t} WHERE key = $1),
                  up AS (INSERT INTO {t} (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value)
             SELECT value FROM old",
            t = self.table.sql()
        );
        let row = client
            .query_opt(&sql, &[&key, &value])
            .await
            .map_err(PgError::query("writing a value"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Removes `key`; returns its value.
    pub async fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let client = self.store.client().await?;
        let sql = format!(
            "DELETE FROM {} WHERE key = $1 RETURNING value",
            self.table.sql()
        );
        let row = client
            .query_opt(&sql, &[&key])
            .await
            .map_err(PgError::query("removing a value"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Stores `new` under `key` only if the current value is `expected` (`None`: absent;
    /// `new` `None`: remove). `Ok(true)` when it was swapped. sled's `compare_and_swap`.
    pub async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, PgError> {
        let client = self.store.client().await?;
        let t = self.table.sql();
        let n = match (expected, new) {
            (None, Some(new)) => {
                client
                    .execute(
                        &format!(
                        "INSERT INTO {t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
                    ),
                        &[&key, &new],
                    )
                    .await
            }
            (Some(old), Some(new)) => {
                client
                    .execute(
                        &format!("UPDATE {t} SET value = $3 WHERE key = $1 AND value = $2"),
                        &[&key, &old, &new],
                    )
                    .await
            }
            (Some(old), None) => {
                client
                    .execute(
                        &format!("DELETE FROM {t} WHERE key = $1 AND value = $2"),
                        &[&key, &old],
                    )
                    .await
            }
            (None, None) => {
                return Ok(client
                    .query_opt(&format!("SELECT 1 FROM {t} WHERE key = $1"), &[&key])
                    .await
                    .map_err(PgError::query("reading a value"))?
                    .is_none())
            }
        }
        .map_err(PgError::query("swapping a value"))?;
        Ok(n == 1)
    }

    /// Whether `key` is present.
    pub async fn contains_key(&self, key: &[u8]) -> Result<bool, PgError> {
        Ok(self.get(key).await?.is_some())
    }

    /// Number of entries.
    pub async fn len(&self) -> Result<usize, PgError> {
        let client = self.store.client().await?;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {}", self.table.sql()), &[])
            .await
            .map_err(PgError::query("counting values"))?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    /// Whether the table is empty.
    pub async fn is_empty(&self) -> Result<bool, PgError> {
        Ok(self.len().await? == 0)
    }

    /// Entries with keys in `(start, end)`, in key order (or reversed), at most `limit`.
    pub async fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Entry>, PgError> {
        let (lo, lo_inclusive) = bound_param(start);
        let (hi, hi_inclusive) = bound_param(end);
        let sql = format!(
            "SELECT key, value FROM {} WHERE
                 ($1::bytea IS NULL OR key > $1 OR ($2 AND key = $1))
             AND ($3::bytea IS NULL OR key < $3 OR ($4 AND key = $3))
             ORDER BY key {} LIMIT $5",
            self.table.sql(),
            if reverse { "DESC" } else { "ASC" }
        );
        let limit = limit.map(|l| l.min(i64::MAX as usize) as i64);
        let client = self.store.client().await?;
        let rows = client
            .query(&sql, &[&lo, &lo_inclusive, &hi, &hi_inclusive, &limit])
            .await
            .map_err(PgError::query("scanning values"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Entries whose keys start with `prefix`, in key order.
    pub async fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, PgError> {
        match prefix_end(prefix) {
            Some(end) => {
                self.range(Bound::Included(prefix), Bound::Excluded(&end), false, None)
                    .await
            }
            None => {
                self.range(Bound::Included(prefix), Bound::Unbounded, false, None)
                    .await
            }
        }
    }

    /// Every entry, in key order.
    pub async fn iter(&self) -> Result<Vec<Entry>, PgError> {
        self.range(Bound::Unbounded, Bound::Unbounded, false, None)
            .await
    }

    /// Stores many entries in one transaction (a migration copy, a bulk import).
    pub async fn insert_many(&self, entries: &[Entry]) -> Result<(), PgError> {
        let keys: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
        let values: Vec<&[u8]> = entries.iter().map(|(_, v)| v.as_slice()).collect();
        let client = self.store.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO {} (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    self.table.sql()
                ),
                &[&keys, &values],
            )
            .await
            .map_err(PgError::query("writing values"))?;
        Ok(())
    }
}

fn bound_param(b: Bound<&[u8]>) -> (Option<&[u8]>, bool) {
    match b {
        Bound::Included(k) => (Some(k), true),
        Bound::Excluded(k) => (Some(k), false),
        Bound::Unbounded => (None, false),
    }
}

/// The smallest key greater than every key starting with `prefix`; `None` when there is none
/// (the prefix is empty or all `0xff`). Pure.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pg::testing::TestDb;
    use crate::store::{encode, u64_key};

    async fn table(t: KvTable) -> (TestDb, PgTable) {
        let db = TestDb::migrated().await;
        let store = db.open_store().await.unwrap();
        (db, PgTable::new(store, t))
    }

    #[test]
    fn every_table_has_its_sled_name_and_a_prefix_end() {
        for t in KvTable::ALL {
            assert_eq!(KvTable::from_tree(t.tree()), Some(t));
            assert_eq!(t.sql(), format!("kv_{}", t.tree()));
        }
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[tokio::test]
    async fn values_round_trip_and_replace() {
        let (_db, t) = table(KvTable::Findings).await;
        let value = encode(&("lodash", 4u32, vec!["CVE-1".to_string()]));
        assert_eq!(t.insert(&u64_key(7), &value).await.unwrap(), None);
        assert_eq!(t.get(&u64_key(7)).await.unwrap(), Some(value.clone()));
        assert_eq!(
            t.insert(&u64_key(7), b"new").await.unwrap(),
            Some(value),
            "the replaced value comes back"
        );
        assert_eq!(t.len().await.unwrap(), 1);
        assert_eq!(t.remove(&u64_key(7)).await.unwrap(), Some(b"new".to_vec()));
        assert_eq!(t.remove(&u64_key(7)).await.unwrap(), None);
        assert!(t.is_empty().await.unwrap());
        assert!(!t.contains_key(&u64_key(7)).await.unwrap());
    }

    #[tokio::test]
    async fn keys_order_as_bytes_like_sled_with_ranges_and_prefixes() {
        let (_db, t) = table(KvTable::Manifests).await;
        let keys: Vec<Vec<u8>> = vec![
            vec![0xff],
            vec![1, 0],
            vec![1],
            b"p/1/a".to_vec(),
            b"p/1/b".to_vec(),
            b"p/10/a".to_vec(),
            b"p/2/a".to_vec(),
            vec![0x80, 0xff],
            vec![0x80, 0xff, 0x00],
        ];
        let entries: Vec<Entry> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
        t.insert_many(&entries).await.unwrap();
        let all: Vec<Vec<u8>> = t
            .iter()
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(all, sorted, "bytea orders as unsigned bytes, shorter first");
        let p1: Vec<Vec<u8>> = t
            .scan_prefix(b"p/1/")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(p1, vec![b"p/1/a".to_vec(), b"p/1/b".to_vec()]);
        assert_eq!(t.scan_prefix(&[0x80, 0xff]).await.unwrap().len(), 2);
        assert_eq!(t.scan_prefix(&[0xff]).await.unwrap().len(), 1);
        let last_two = t
            .range(
                Bound::Unbounded,
                Bound::Excluded(&[0xff][..]),
                true,
                Some(2),
            )
            .await
            .unwrap();
        assert_eq!(
            last_two.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            vec![vec![0x80, 0xff, 0x00], vec![0x80, 0xff]]
        );
        let between = t
            .range(
                Bound::Excluded(&[1][..]),
                Bound::Included(&b"p/1/a"[..]),
                false,
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            between.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            vec![vec![1, 0], b"p/1/a".to_vec()]
        );
    }

    #[tokio::test]
    async fn compare_and_swap_lets_one_writer_win() {
        let (_db, t) = table(KvTable::RemediationKeys).await;
        assert!(t.compare_and_swap(b"k", None, Some(b"1")).await.unwrap());
        assert!(!t.compare_and_swap(b"k", None, Some(b"2")).await.unwrap());
        assert!(!t
            .compare_and_swap(b"k", Some(b"0"), Some(b"2"))
            .await
            .unwrap());
        assert!(t
            .compare_and_swap(b"k", Some(b"1"), Some(b"2"))
            .await
            .unwrap());
        assert!(!t.compare_and_swap(b"k", None, None).await.unwrap());
        assert!(t.compare_and_swap(b"k", Some(b"2"), None).await.unwrap());
        assert!(t.compare_and_swap(b"k", None, None).await.unwrap());
        // Racing inserts of a new key: one wins.
        let wins = futures_util::future::join_all((0..6u8).map(|i| {
            let t = t.clone();
            async move { t.compare_and_swap(b"race", None, Some(&[i])).await.unwrap() }
        }))
        .await;
        assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    }
}
