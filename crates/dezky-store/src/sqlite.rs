//! The SQLite backend: the embedded default. WAL mode, `synchronous=FULL` (an acknowledged event
//! survives power loss), and writes serialised twice over: this process's write transactions
//! all use one dedicated writer connection (so they queue instead of spinning on SQLite's busy
//! handler) and begin with `BEGIN IMMEDIATE` (so another process on the same file, such as
//! `dezky token create`, takes turns with us).
//!
//! The writer has its own, larger page cache: an append touches the newest pages of the table
//! and of its indexes, and the duplicate lookup's key index (`sqlite_dedup`) takes keys at
//! random places, so a warm cache saves reading those pages back on every commit. Only the
//! writer gets it, because the cache is per connection and readers are many.

use crate::event_row::SELECT_EVENTS_IN_ORDER;
use crate::evidence::{EVIDENCE_TEXT_COLUMNS, EvidenceColumn, EvidencePage};
use crate::frontier_cache::FrontierCache;
use crate::sequencer::{Placement, Sequencer};
use crate::sql::implement_store;
use crate::workers_sql::implement_worker_store;
use crate::{Backend, CONNECT_TIMEOUT, redact_url};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub(crate) struct SqliteDb {
    pool: SqlitePool,
    writer: SqlitePool,
    frontier_cache: FrontierCache,
    /// The database file, and the idle read-only connections that verification reads it
    /// through (opened on first use, one per page read at the same time).
    path: PathBuf,
    evidence_readers: Mutex<Vec<rusqlite::Connection>>,
    /// Wakes the indexer of the index file (`text_index`) after a commit.
    text_index_wake: Arc<Notify>,
}

/// How long one truncating checkpoint after an erasure waits for readers (holding up appends).
const SCRUB_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
/// Attempts to truncate the WAL after an erasure, one a second.
const SCRUB_ATTEMPTS: u32 = 60;

/// Checkpoints and truncates the WAL; false if readers kept it busy on every attempt.
async fn scrub_wal(options: &SqliteConnectOptions) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect_with(options).await?;
    for _ in 0..SCRUB_ATTEMPTS {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut connection)
            .await?;
        if busy == 0 {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Ok(false)
}

/// The writer's page cache in KiB (SQLite's `cache_size` takes negative numbers as KiB).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

pub(crate) struct SqliteStore {
    db: Arc<SqliteDb>,
    sequencer: Sequencer,
}

pub(crate) struct SqliteWrite {
    pub transaction: Transaction<'static, Sqlite>,
}

impl SqliteStore {
    pub(crate) async fn open(url: &str, indexing: crate::Indexing) -> Result<SqliteStore, StoreError> {
        let (db, text_indexer) = SqliteDb::open(url).await?;
        let db = Arc::new(db);
        if indexing == crate::Indexing::On {
            tokio::spawn(crate::text_index::run(text_indexer, db.text_index_wake.clone()));
        }
        Ok(SqliteStore {
            sequencer: Sequencer::start(db.clone(), Placement::OwnThread).await?,
            db,
        })
    }
}

impl SqliteDb {
    /// Opens the database and its index file; returns the index file's own connection for the
    /// indexer task.
    async fn open(url: &str) -> Result<(SqliteDb, sqlx::SqliteConnection), StoreError> {
        let unavailable = |reason: String| StoreError::Unavailable {
            url: redact_url(url),
            reason,
        };
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(|error| unavailable(error.to_string()))?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        if let Some(folder) = options.get_filename().parent().filter(|path| path != &Path::new("")) {
            std::fs::create_dir_all(folder)
                .map_err(|error| unavailable(format!("cannot create {}: {error}", folder.display())))?;
        }
        let path = options.get_filename().to_path_buf();
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true)
            // Fewer, larger WAL checkpoints cost less than many small ones: a checkpoint copies
            // each page changed since the last one once, and appends change the same hot index
            // pages commit after commit. Checkpointing at 32,000 pages (~128 MB of WAL) measured
            // 4–9 % more appends than 8,000 (docs/PERFORMANCE.md, "Ninth session"); the price
            // is a WAL file that stays that large on disk (larger while readers hold old
            // snapshots) and a longer stall on the commit that runs each checkpoint. (A larger page
            // cache helped appends by ~10 % but is per connection: eight of them would cost more
            // resident memory than the export and RSS targets allow.)
            .pragma("wal_autocheckpoint", "32000")
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // Waiting for the writer is waiting for the transactions queued before ours.
            .acquire_timeout(std::time::Duration::from_secs(300))
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", (-WRITER_CACHE_KIB).to_string())
                    // Erasure rewrites rows shorter: without this the erased values would stay
                    // in the pages' free space (and so in the WAL frames the erasure writes).
                    // Appends free almost nothing, so it costs them nothing measurable.
                    .pragma("secure_delete", "ON"),
            )
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let text_indexer = crate::text_index::open(&path).await.map_err(|error| {
            unavailable(format!(
                "cannot open the index file {}: {error}",
                crate::text_index::path_beside(&path).display()
            ))
        })?;
        // Only the readers see the index file: the writer's `BEGIN IMMEDIATE` would lock every
        // attached file, and the writer and the indexer must never wait for each other.
        let text_index_file = crate::text_index::path_beside(&path).to_string_lossy().into_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |connection, _| {
                let file = text_index_file.clone();
                Box::pin(async move {
                    let attach = format!("ATTACH DATABASE ? AS {}", crate::text_index::ATTACHED_AS);
                    sqlx::query(&attach).bind(file).execute(connection).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let db = SqliteDb {
            pool,
            writer,
            frontier_cache: FrontierCache::default(),
            path,
            evidence_readers: Mutex::new(Vec::new()),
            text_index_wake: Arc::new(Notify::new()),
        };
        Ok((db, text_indexer))
    }

    fn backend_kind(&self) -> Backend {
        Backend::Sqlite
    }

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        let keys = crate::sqlite_dedup::adopt_compact_keys(&self.writer).await?;
        if keys > 0 {
            tracing::info!(keys, "the duplicate lookup now uses compact keys (audit_dedup)");
        }
        Ok(())
    }

    /// The index file is filled after the commit, by its own connection (`text_index`).
    fn after_append_commit(&self, _appended: usize) {
        self.text_index_wake.notify_one();
    }

    /// The hot events from the index file's `next_seq` to the head, read in one statement
    /// (one snapshot of both files): archived events are never indexed nor scanned, so an
    /// index rebuilt from empty does not count them. Zero when the index is ahead, as it is
    /// for a moment before it rebuilds itself for a database restored from an older backup.
    fn speculation_stats(&self) -> Option<crate::SpeculationStats> {
        None
    }

    async fn text_index_lag(&self) -> Result<Option<u64>, StoreError> {
        let lag: i64 = sqlx::query_scalar(&format!(
            "SELECT max(0, head - max(indexed, coalesce(oldest_hot, head))) FROM (SELECT \
             (SELECT next_seq FROM chain_head WHERE id = 1) AS head, \
             (SELECT next_seq FROM {}.text_index_state WHERE id = 1) AS indexed, \
             (SELECT min(seq) FROM audit_events) AS oldest_hot)",
            crate::text_index::ATTACHED_AS
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(lag as u64))
    }

    /// The WAL still holds every page as it was before the erasure (the frames of the appends
    /// that wrote them): once the erasure is in the database file, the WAL is checkpointed and
    /// truncated, on a connection of its own. A reader on an older snapshot keeps the WAL alive,
    /// and a pending truncating checkpoint holds up the writer, so each attempt waits at most
    /// `SCRUB_WAIT` for readers, and attempts repeat each second for a minute.
    fn after_erasure_commit(&self) {
        let options = SqliteConnectOptions::new()
            .filename(&self.path)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(SCRUB_WAIT);
        tokio::spawn(async move {
            match scrub_wal(&options).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    "readers kept the WAL busy for a minute after an erasure: the erased values stay in \
                     it until the next checkpoint truncates it"
                ),
                Err(error) => tracing::warn!(%error, "the WAL could not be truncated after an erasure"),
            }
        });
    }

    async fn begin_write(&self) -> Result<SqliteWrite, StoreError> {
        let transaction = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteWrite { transaction })
    }
}

/// A page of stored events for verification, read through rusqlite on a blocking thread.
///
/// sqlx's SQLite driver steps statements on a worker thread and hands each row over a channel
/// with every value copied into its own allocation; over a whole log that cost about four times
/// the hashing (measured with perf: allocator lock contention between the two threads, thread
/// wake-ups, value copies). Here each value is borrowed from SQLite's row buffer and copied once
/// into the page. The connection is read-only and, in WAL mode, reads a consistent snapshot
/// beside the writer.
async fn read_evidence(db: &Arc<SqliteDb>, after: Option<u64>, limit: u32) -> Result<EvidencePage, StoreError> {
    let db = db.clone();
    let after = after.map_or(-1, crate::event_row::to_i64);
    tokio::task::spawn_blocking(move || {
        let idle = db
            .evidence_readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => open_evidence_reader(&db.path)?,
        };
        let page = read_evidence_page(&mut connection, after, limit)?;
        // Only a connection that read its page to the end goes back (an error drops it).
        let mut idle = db
            .evidence_readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < IDLE_EVIDENCE_READERS {
            idle.push(connection);
        }
        Ok(page)
    })
    .await
    .map_err(|error| StoreError::Corrupt(format!("the verification reader stopped: {error}")))?
}

/// Idle verification readers kept open: the verifier's read-ahead (`walk_hot`) reads three pages
/// at a time; more readers are opened when walks run side by side and closed after.
const IDLE_EVIDENCE_READERS: usize = 4;

fn read_evidence_page(
    connection: &mut rusqlite::Connection,
    after: i64,
    limit: u32,
) -> Result<EvidencePage, StoreError> {
    let mut statement = connection.prepare_cached(SELECT_EVENTS_IN_ORDER)?;
    let mut rows = statement.query((after, i64::from(limit)))?;
    let mut page = EvidencePage::with_capacity(limit.min(crate::evidence::PAGE_CAPACITY_HINT) as usize);
    while let Some(row) = rows.next()? {
        let mut texts = [None; EVIDENCE_TEXT_COLUMNS];
        let seq: i64 = row.get(0)?;
        for (column, text) in EvidenceColumn::ALL.iter().zip(texts.iter_mut()) {
            *text = match row.get_ref(*column as usize + 3)? {
                rusqlite::types::ValueRef::Text(bytes) => Some(bytes),
                rusqlite::types::ValueRef::Null => None,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "audit event seq {seq}: its {} is {:?}, not text",
                        column.name(),
                        other.data_type()
                    )));
                }
            };
        }
        page.push(seq, row.get(1)?, row.get(2)?, texts);
    }
    Ok(page)
}

fn open_evidence_reader(path: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(connection)
}

/// Writes a group's rows and Merkle nodes with multi-row INSERTs (SQLite has no arrays).
async fn insert_rows(
    connection: &mut sqlx::SqliteConnection,
    rows: &[crate::sql::NewRow<'_>],
    recorded_at_ms: i64,
    nodes: &[(dezky_chain::merkle::NodeId, dezky_chain::merkle::Hash)],
) -> Result<(), sqlx::Error> {
    let with_ids = rows.iter().filter_map(|row| {
        let id = row.event.external_id.as_deref()?;
        Some((row.seq, row.event.source.as_str(), id))
    });
    crate::sqlite_dedup::insert_keys(&mut *connection, with_ids).await?;
    for chunk in rows.chunks(crate::sql::ROWS_PER_INSERT) {
        let insert = crate::sql::insert_events_sql(chunk.len(), crate::filter_sql::Dialect::Sqlite);
        let mut query = sqlx::query(&insert);
        for row in chunk {
            let values = crate::event_row::event_values(row.event);
            query = query.bind(row.seq).bind(values.at_ms).bind(recorded_at_ms);
            for text in values.texts {
                query = query.bind(text);
            }
            for hash in &row.hashes {
                query = query.bind(hash.as_str());
            }
        }
        query.execute(&mut *connection).await?;
    }
    for chunk in nodes.chunks(crate::sql::ROWS_PER_INSERT) {
        let insert = crate::sql::insert_nodes_sql(chunk.len(), crate::filter_sql::Dialect::Sqlite);
        let mut query = sqlx::query(&insert);
        for (node, node_hash) in chunk {
            query = query
                .bind(i64::from(node.level))
                .bind(crate::event_row::to_i64(node.index))
                .bind(crate::seal::hash_hex(node_hash));
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl crate::sequencer::GroupWriter for SqliteDb {
    async fn write_group(
        &self,
        events: &[&dezky_core::NewAuditEvent],
        seals: &[crate::seal::PersonalSeal],
        now: dezky_core::Timestamp,
        link: &mut crate::sequencer::GroupLink,
    ) -> Result<crate::records::AppendReceipt, StoreError> {
        self.write_group_locked(events, seals, now, link).await
    }

    /// One group after another: SQLite has one writer connection, so a group cannot start
    /// before the previous one has committed.
    fn pipelines(&self) -> bool {
        false
    }
}

implement_store!(
    SqliteStore,
    SqliteDb,
    Sqlite,
    filter_sql::Dialect::Sqlite,
    "",
    crate::sqlite_dedup::find_stored_ids,
    read_evidence,
    insert_rows
);
crate::erasure_sql::implement_erasure!(
    "",
    "INSERT INTO erasure_gate (open) VALUES (1)",
    "DELETE FROM erasure_gate",
    "INSERT INTO restore_gate (open) VALUES (1)",
    "DELETE FROM restore_gate"
);

implement_worker_store!(SqliteStore);

#[async_trait::async_trait]
impl crate::maintenance::MaintenanceStore for SqliteStore {
    async fn refresh_planner_statistics(&self) -> Result<Vec<String>, StoreError> {
        Ok(vec![])
    }
}
crate::control_sql::implement_control_store!(SqliteStore, "");
crate::invites_sql::implement_invite_store!(SqliteStore, "");
crate::archive_sql::implement_archive_store!(
    SqliteStore,
    "",
    "INSERT INTO archive_gate (open) VALUES (1)",
    "DELETE FROM archive_gate"
);
crate::restore_sql::implement_restore_store!(
    SqliteStore,
    crate::filter_sql::Dialect::Sqlite,
    "",
    "INSERT INTO restore_gate (open) VALUES (1)",
    "DELETE FROM restore_gate"
);
