//! `backline migrate --from-sled DIR`: copies a sled data directory into a PostgreSQL
//! database, so that the API then lists the same projects, remediations and deliveries.
//! Idempotent: a row already there is kept (deliveries, bodies, pending entries, dead letters)
//! or rewritten with the same value (key-value tables), so a copy cut short is simply run
//! again. The server must be stopped (sled holds a lock on its directory).

use std::path::PathBuf;

use super::kv::{Entry, KvTable, PgTable};
use super::{PgError, PgStore};
use crate::inbox::{DeadLetter, DeliveryRecord, InboxEntry};
use crate::store::{decode, key_u64, Store, StoreError};

/// Rows per transaction.
const CHUNK: usize = 1_000;

/// A copy that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FromSledError {
    /// Reading the sled directory failed.
    #[error(transparent)]
    Sled(#[from] StoreError),
    /// Writing to PostgreSQL failed.
    #[error(transparent)]
    Pg(#[from] PgError),
}

/// What was copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Delivery records.
    pub deliveries: usize,
    /// Stored bodies.
    pub payloads: usize,
    /// Pending entries.
    pub pending: usize,
    /// Dead letters.
    pub dead_letters: usize,
    /// Entries of the key-value tables.
    pub values: usize,
}

/// The entries a copy of `store` goes through (for a progress bar's length).
/// A tree's entries as stored (keys and values as bytes), as `migrate` copies them.
type RawTable = crate::store::Table<Vec<u8>, Vec<u8>, crate::store::Bytes>;

fn raw(store: &Store, name: &'static str) -> Result<RawTable, StoreError> {
    store.table(name)
}

pub fn total_entries(store: &Store) -> Result<u64, StoreError> {
    let mut total = 0;
    for name in ["deliveries", "payloads", "inbox", "dead_letters"] {
        total += raw(store, name)?.count();
    }
    for table in KvTable::ALL {
        total += raw(store, table.tree())?.count();
    }
    Ok(total as u64)
}

/// Copies every tree of `store` into `pg` (migrated), calling `progress(n)` as `n` more
/// entries are copied.
pub async fn copy(
    store: &Store,
    pg: &PgStore,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Copied, FromSledError> {
    let mut out = Copied::default();
    // Deliveries first: bodies, pending entries and dead letters refer to them.
    let mut records = Vec::new();
    for item in raw(store, "deliveries")?.iter() {
        let (k, v) = item?;
        let record: DeliveryRecord = decode("deliveries", &k, &v)?;
        records.push(record);
        if records.len() == CHUNK {
            out.deliveries += insert_deliveries(pg, &records).await?;
            progress(records.len() as u64);
            records.clear();
        }
    }
    out.deliveries += insert_deliveries(pg, &records).await?;
    progress(records.len() as u64);
    let client = pg.client().await?;
    client
        .execute(
            "SELECT setval(pg_get_serial_sequence('deliveries', 'seq'),
                           greatest((SELECT max(seq) FROM deliveries), 1))",
            &[],
        )
        .await
        .map_err(PgError::query(
            "moving the delivery sequence past the copied ones",
        ))?;
    drop(client);

    out.payloads = copy_rows(
        &raw(store, "payloads")?,
        pg,
        progress,
        |k, v| Ok((key_u64("payloads", k)? as i64, v.to_vec())),
        "INSERT INTO payloads (seq, body)
        SELECT s, b FROM unnest($1::int8[], $2::bytea[]) AS t(s, b)
        WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = t.s)
        ON CONFLICT (seq) DO NOTHING",
    )
    .await?;
    out.pending = copy_rows(
        &raw(store, "inbox")?,
        pg,
        progress,
        |k, v| {
            let entry: InboxEntry = decode("inbox", k, v)?;
            Ok((key_u64("inbox", k)? as i64, entry.lane as i64))
        },
        "INSERT INTO inbox (seq, lane, not_before_ms)
        SELECT s, l, coalesce(d.next_attempt_at_ms, 0)
        FROM unnest($1::int8[], $2::int8[]) AS t(s, l) JOIN deliveries d ON d.seq = t.s
        WHERE d.state IN ('queued', 'processing', 'failed')
        ON CONFLICT (seq) DO NOTHING",
    )
    .await?;
    let mut letters: Vec<(i64, DeadLetter)> = Vec::new();
    for item in raw(store, "dead_letters")?.iter() {
        let (k, v) = item?;
        letters.push((
            key_u64("dead_letters", &k)? as i64,
            decode("dead_letters", &k, &v)?,
        ));
    }
    out.dead_letters = insert_dead_letters(pg, &letters).await?;
    progress(letters.len() as u64);

    for table in KvTable::ALL {
        let tree = raw(store, table.tree())?;
        let target = PgTable::new(pg.clone(), table);
        let mut chunk: Vec<Entry> = Vec::new();
        for item in tree.iter() {
            let (k, v) = item?;
            chunk.push((k.to_vec(), v.to_vec()));
            if chunk.len() == CHUNK {
                target.insert_many(&chunk).await?;
                out.values += chunk.len();
                progress(chunk.len() as u64);
                chunk.clear();
            }
        }
        if !chunk.is_empty() {
            target.insert_many(&chunk).await?;
            out.values += chunk.len();
            progress(chunk.len() as u64);
        }
    }
    Ok(out)
}

/// Copies a tree of `seq → value` rows with `sql` (two array parameters), in chunks.
async fn copy_rows<V>(
    tree: &RawTable,
    pg: &PgStore,
    progress: &(dyn Fn(u64) + Sync),
    row: impl Fn(&[u8], &[u8]) -> Result<(i64, V), StoreError>,
    sql: &str,
) -> Result<usize, FromSledError>
where
    V: tokio_postgres::types::ToSql + Sync,
{
    let mut copied = 0;
    let mut seqs = Vec::new();
    let mut values = Vec::new();
    let client = pg.client().await?;
    let mut items = tree.iter();
    loop {
        let next = items.next().transpose()?;
        if let Some((k, v)) = &next {
            let (seq, value) = row(k, v)?;
            seqs.push(seq);
            values.push(value);
        }
        if seqs.len() == CHUNK || (next.is_none() && !seqs.is_empty()) {
            copied += client
                .execute(sql, &[&seqs, &values])
                .await
                .map_err(PgError::query("copying rows"))? as usize;
            progress(seqs.len() as u64);
            seqs.clear();
            values.clear();
        }
        if next.is_none() {
            return Ok(copied);
        }
    }
}

async fn insert_deliveries(pg: &PgStore, records: &[DeliveryRecord]) -> Result<usize, PgError> {
    if records.is_empty() {
        return Ok(0);
    }
    let col = |f: &dyn Fn(&DeliveryRecord) -> Option<String>| -> Vec<Option<String>> {
        records.iter().map(f).collect()
    };
    let int = |f: &dyn Fn(&DeliveryRecord) -> Option<i64>| -> Vec<Option<i64>> {
        records.iter().map(f).collect()
    };
    let seqs = int(&|r| Some(r.seq as i64));
    let keys = col(&|r| Some(r.key.clone()));
    let kinds = col(&|r| Some(super::queue::kind_name(r.kind)));
    let projects = int(&|r| r.project.map(|p| p.get() as i64));
    let lanes = int(&|r| Some(crate::inbox::lane_of(r.project) as i64));
    let uuids = col(&|r| r.event_uuid.clone());
    let verified = col(&|r| Some(r.verified_by.to_string()));
    let lens = int(&|r| Some(r.body_len as i64));
    let states = col(&|r| Some(r.state.as_str().to_string()));
    let attempts = int(&|r| Some(i64::from(r.attempts)));
    let received = int(&|r| Some(r.received_at_ms));
    let finished = int(&|r| r.finished_at_ms);
    let next = int(&|r| r.next_attempt_at_ms);
    let outcomes = col(&|r| r.outcome.clone());
    let errors = col(&|r| r.last_error.clone());
    let client = pg.client().await?;
    let n = client
        .execute(
            "INSERT INTO deliveries (seq, dedupe_key, kind, project, lane, event_uuid, verified_by,
                                     body_len, state, attempts, received_at_ms, finished_at_ms,
                                     next_attempt_at_ms, outcome, last_error)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[],
                                  $6::text[], $7::text[], $8::int8[], $9::text[], $10::int8[],
                                  $11::int8[], $12::int8[], $13::int8[], $14::text[], $15::text[])
             ON CONFLICT DO NOTHING",
            &[
                &seqs, &keys, &kinds, &projects, &lanes, &uuids, &verified, &lens, &states,
                &attempts, &received, &finished, &next, &outcomes, &errors,
            ],
        )
        .await
        .map_err(PgError::query("copying deliveries"))?;
    Ok(n as usize)
}

async fn insert_dead_letters(
    pg: &PgStore,
    letters: &[(i64, DeadLetter)],
) -> Result<usize, PgError> {
    if letters.is_empty() {
        return Ok(0);
    }
    let seqs: Vec<i64> = letters.iter().map(|(s, _)| *s).collect();
    let reasons: Vec<&str> = letters.iter().map(|(_, l)| l.reason.as_str()).collect();
    let at: Vec<i64> = letters.iter().map(|(_, l)| l.at_ms).collect();
    let client = pg.client().await?;
    let n = client
        .execute(
            "INSERT INTO dead_letters (seq, reason, at_ms)
             SELECT s, r, a FROM unnest($1::int8[], $2::text[], $3::int8[]) AS t(s, r, a)
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = t.s AND d.state = 'dead')
             ON CONFLICT (seq) DO NOTHING",
            &[&seqs, &reasons, &at],
        )
        .await
        .map_err(PgError::query("copying dead letters"))?;
    Ok(n as usize)
}

/// `backline migrate` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// The sled data directory to copy (the server must be stopped).
    #[arg(long, value_name = "DIR")]
    pub from_sled: PathBuf,
    /// The PostgreSQL database to copy into [default: the file key database_url].
    #[arg(long, env = "BACKLINE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PEM file of extra CAs trusted besides the system trust store, for the database's TLS.
    #[arg(long, env = "BACKLINE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Runs `backline migrate`: opens both sides (upgrading an older sled directory and migrating
/// the database first), copies with a progress bar, and prints what it copied.
pub async fn run(args: MigrateArgs, file: &crate::config::FileConfig) -> anyhow::Result<bool> {
    let url =
        crate::config::database_url(args.database_url, file.database_url().map(str::to_string))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "migrate needs a database: set BACKLINE_DATABASE_URL or --database-url"
                )
            })?;
    let ca_file = args.ca_file.or_else(|| file.ca_file().map(PathBuf::from));
    let network = crate::config::network(ca_file.as_deref())?;
    let store = Store::open(&args.from_sled)?;
    crate::upgrade::upgrade(&store)?;
    let pg = PgStore::open(&url, &network, 4).await?;
    let bar = indicatif::ProgressBar::new(total_entries(&store)?);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} copying {pos}/{len} entries [{bar:30}] {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let copied = copy(&store, &pg, &|n| bar.inc(n)).await?;
    bar.finish_and_clear();
    println!(
        "copied {} into {url} in {:.1} s: {} deliveries, {} bodies, {} pending, {} dead letters, {} values (rows already there were kept)",
        args.from_sled.display(),
        started.elapsed().as_secs_f64(),
        copied.deliveries,
        copied.payloads,
        copied.pending,
        copied.dead_letters,
        copied.values
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::hooks::EventKind;
    use crate::gitlab::ProjectId;
    use crate::inbox::{DeliveryState, Enqueued, Inbox, NewDelivery};
    use crate::store::pg::queue::{PgInbox, ReplicaId, DEFAULT_LEASE};
    use crate::store::pg::testing::TestDb;
    use crate::store::u64_key;

    fn delivery(key: &str, project: u64) -> NewDelivery {
        NewDelivery {
            key: key.into(),
            kind: EventKind::MergeRequest,
            project: Some(ProjectId(project)),
            event_uuid: Some("e-1".into()),
            verified_by: crate::inbox::VerifiedBy::Signature,
            received_at_ms: 42,
        }
    }

    fn accept(inbox: &Inbox, key: &str, project: u64, body: &[u8]) -> u64 {
        match inbox.enqueue(&delivery(key, project), body).unwrap() {
            Enqueued::Accepted { seq, .. } => seq,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_sled_directory_is_copied_whole_and_a_second_copy_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sled = Store::open(dir.path()).unwrap();
        let inbox = Inbox::new(sled.clone()).unwrap();
        let done = accept(&inbox, "id:done", 1, b"{\"done\":1}");
        inbox.claim(done).unwrap();
        inbox.ack(done, "recorded", 500).unwrap();
        let dead = accept(&inbox, "id:dead", 2, b"{\"dead\":1}");
        inbox.claim(dead).unwrap();
        inbox.bury(dead, "gave up", 600).unwrap();
        let failed = accept(&inbox, "id:failed", 3, b"{\"failed\":1}");
        inbox.claim(failed).unwrap();
        inbox.retry_later(failed, "502", 9_000).unwrap();
        let queued = accept(&inbox, "id:queued", 3, b"{\"queued\":1}");
        raw(&sled, "projects")
            .unwrap()
            .insert(&u64_key(7).to_vec(), &b"project seven".to_vec())
            .unwrap();
        raw(&sled, "remediations")
            .unwrap()
            .insert(&b"r/1".to_vec(), &b"remediation one".to_vec())
            .unwrap();

        let db = TestDb::migrated().await;
        let pg = db.open_store().await.unwrap();
        let seen = std::sync::atomic::AtomicU64::new(0);
        let count = |n: u64| {
            seen.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        };
        let first = copy(&sled, &pg, &count).await.unwrap();
        assert_eq!(
            first,
            Copied {
                deliveries: 4,
                payloads: 3,
                pending: 2,
                dead_letters: 1,
                values: 3
            },
            "two values and the value encoding's version (meta)"
        );
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            total_entries(&sled).unwrap()
        );
        let again = copy(&sled, &pg, &|_| {}).await.unwrap();
        assert_eq!(
            (
                again.deliveries,
                again.payloads,
                again.pending,
                again.dead_letters
            ),
            (0, 0, 0, 0)
        );

        let copied = PgInbox::new(pg.clone(), ReplicaId::new("r"), DEFAULT_LEASE);
        for seq in [done, dead, failed, queued] {
            assert_eq!(
                copied.record(seq).await.unwrap(),
                inbox.record(seq).unwrap(),
                "delivery {seq}"
            );
        }
        assert_eq!(
            copied.dead_letter(dead).await.unwrap(),
            inbox.dead_letter(dead).unwrap()
        );
        let pending = copied.pending().await.unwrap();
        assert_eq!(pending, inbox.recover().unwrap().pending);
        assert_eq!(pending[0].not_before_ms, Some(9_000));
        // The queue runs on: the failed one first (its project's oldest), with its body.
        assert!(copied.claim_next(8_999).await.unwrap().is_none());
        let (_, claimed) = copied.claim_next(9_000).await.unwrap().unwrap();
        assert_eq!(
            (claimed.record.seq, claimed.body.as_slice()),
            (failed, &b"{\"failed\":1}"[..])
        );
        assert_eq!(claimed.record.state, DeliveryState::Processing);
        // The dedupe keys came along, and new deliveries number after the copied ones.
        assert_eq!(copied.known("id:done").await.unwrap(), Some(done));
        let Enqueued::Accepted { seq, .. } =
            copied.enqueue(&delivery("id:new", 4), b"{}").await.unwrap()
        else {
            panic!()
        };
        assert!(seq > queued);
        let projects = PgTable::new(pg.clone(), KvTable::Projects);
        assert_eq!(
            projects.get(&u64_key(7)).await.unwrap(),
            Some(b"project seven".to_vec())
        );
        let meta = PgTable::new(pg.clone(), KvTable::Meta);
        assert_eq!(
            meta.get(b"schema_version").await.unwrap(),
            Some(crate::store::SCHEMA_VERSION.to_be_bytes().to_vec())
        );
        let remediations = PgTable::new(pg, KvTable::Remediations);
        assert_eq!(
            remediations.iter().await.unwrap(),
            vec![(b"r/1".to_vec(), b"remediation one".to_vec())]
        );
    }
}
