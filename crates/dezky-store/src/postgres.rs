//! The PostgreSQL backend, for several stateless dezky instances on one database. Appends lock
//! the single chain-head row (`SELECT ... FOR UPDATE`) inside their transaction, so instances
//! interleave but never assign the same seq twice or leave a gap.

mod speculation;

use crate::evidence::EvidencePage;
use crate::frontier_cache::FrontierCache;
use crate::sequencer::{Placement, Sequencer};
use crate::sql::implement_store;
use crate::workers_sql::implement_worker_store;
use crate::{Backend, CONNECT_TIMEOUT, redact_url};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const MERGE_TEXT_INDEX_PENDING: &str = "SELECT gin_clean_pending_list('audit_events_text'::regclass)";
/// Events appended between two merges at least: about 1 MB of trigram entries, well under the
/// 16 MB limit.
const MERGE_TEXT_INDEX_EVERY: u64 = 1_024;
/// A merge that takes longer (stuck behind a lock, say) is abandoned, so the next can start.
const MERGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Rows per INSERT statement on the append path: one statement for a typical group, and a
/// bound on one statement's arrays when a group is large and its metadata too.
const ROWS_PER_UNNEST_INSERT: usize = 2_000;

/// Clears the "merge running" flag when the merge task ends, however it ends (a panic or a
/// cancelled task included), unless told to keep it set.
struct MergeInProgress(Option<Arc<AtomicBool>>);

impl MergeInProgress {
    fn keep_set(&mut self) {
        self.0 = None;
    }
}

impl Drop for MergeInProgress {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(false, Ordering::Release);
        }
    }
}

pub(crate) struct PostgresDb {
    pool: PgPool,
    frontier_cache: FrontierCache,
    /// Whether a merge of the text index's pending list is running (one at a time).
    text_index_merging: Arc<AtomicBool>,
    /// Events appended (by group commits and the ingest path) since the last merge began. Only
    /// a trigger: an ingest commit racing the reset may go uncounted, which delays the next
    /// merge a little and loses nothing.
    unmerged_events: AtomicU64,
    speculation: speculation::Backoff,
}

pub(crate) struct PostgresStore {
    db: Arc<PostgresDb>,
    sequencer: Sequencer,
}

pub(crate) struct PostgresWrite {
    pub transaction: Transaction<'static, Postgres>,
}

impl PostgresStore {
    pub(crate) async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let db = Arc::new(PostgresDb::connect(url).await?);
        Ok(PostgresStore {
            sequencer: Sequencer::start(db.clone(), Placement::CallerRuntime).await?,
            db,
        })
    }
}

impl PostgresDb {
    async fn connect(url: &str) -> Result<PostgresDb, StoreError> {
        let unavailable = |reason: String| StoreError::Unavailable {
            url: redact_url(url),
            reason,
        };
        // One direct connection first: a pool only reports "timed out", this says why
        // (connection refused, unknown database, authentication failed).
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
            .await
            .map_err(|_| unavailable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|error| unavailable(error.to_string()))?;
        probe.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        Ok(PostgresDb {
            pool,
            frontier_cache: FrontierCache::default(),
            text_index_merging: Arc::default(),
            unmerged_events: AtomicU64::new(0),
            speculation: speculation::Backoff::default(),
        })
    }

    fn backend_kind(&self) -> Backend {
        Backend::Postgres
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Nothing to do right away: PostgreSQL writes an erased row as a new version and removes
    /// the old one (and its index entries) when (auto)vacuum reaches the table; its WAL
    /// segments are recycled by their own schedule (README, "Erasure and the disk").
    fn after_erasure_commit(&self) {}

    fn speculation_stats(&self) -> Option<crate::SpeculationStats> {
        Some(self.speculation.stats())
    }

    /// The free-text index is a GIN index written by the append itself: there is no lag.
    async fn text_index_lag(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Merges the free-text index's pending list on another connection once the appends
    /// committed since the last merge reach `MERGE_TEXT_INDEX_EVERY` events, unless a merge
    /// of this instance is already running. Called after every append that commits (group
    /// commits and the ingest path).
    ///
    /// The GIN trigram index takes new entries into a pending list, and whichever insert
    /// overflows `gin_pending_list_limit` merges the list into the index inside its own
    /// transaction: for an append, while it holds the chain head, so every other append waits
    /// for the merge. Merging from here instead runs that work beside the next append on the
    /// second core (the limit, raised by the migration `text_index_merged_beside_appends`,
    /// keeps one group from overflowing the list itself). The threshold keeps a trickle of
    /// small appends from paying a merge query each. Autovacuum would merge too, but it can be
    /// off and is not timed to the appends.
    fn after_append_commit(&self, appended: usize) {
        let unmerged = self.unmerged_events.fetch_add(appended as u64, Ordering::AcqRel) + appended as u64;
        if unmerged < MERGE_TEXT_INDEX_EVERY || self.text_index_merging.swap(true, Ordering::AcqRel) {
            return;
        }
        self.unmerged_events.store(0, Ordering::Release);
        let pool = self.pool.clone();
        let mut merging = MergeInProgress(Some(self.text_index_merging.clone()));
        tokio::spawn(async move {
            let merged =
                tokio::time::timeout(MERGE_TIMEOUT, sqlx::query(MERGE_TEXT_INDEX_PENDING).execute(&pool)).await;
            match merged {
                Ok(Ok(_)) => {}
                // A role that does not own the index may not merge it: say so once and stop
                // asking (the flag stays set); the appends then merge the list themselves.
                Ok(Err(sqlx::Error::Database(error))) if error.code().as_deref() == Some("42501") => {
                    merging.keep_set();
                    tracing::warn!(%error, "this role may not merge the text index's pending list; appends merge it themselves");
                }
                Ok(Err(error)) => tracing::warn!(%error, "merging the text index's pending list failed"),
                Err(_) => tracing::warn!(
                    seconds = MERGE_TIMEOUT.as_secs(),
                    "merging the text index's pending list took too long; gave up waiting"
                ),
            }
        });
    }

    async fn begin_write(&self) -> Result<PostgresWrite, StoreError> {
        Ok(PostgresWrite {
            transaction: self.pool.begin().await?,
        })
    }
}

/// A page of stored events for verification, read as a binary COPY stream (`pg_copy`: the
/// values are sliced from the stream into the page, with no row decoding) on a task of its own.
///
/// Reading a PostgreSQL result costs the CPU of whichever task polls it, so without the task
/// the verifier's walk (`walk_hot`: check this page while the next ones are read) would take
/// turns on one thread; spawned, the reading runs on the runtime's other worker. Each page read
/// at the same time takes a connection of the pool.
async fn read_evidence(db: &Arc<PostgresDb>, after: Option<u64>, limit: u32) -> Result<EvidencePage, StoreError> {
    let db = db.clone();
    match tokio::spawn(async move { copy_evidence(&db, after, limit).await }).await {
        Ok(page) => page,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(StoreError::Database(sqlx::Error::WorkerCrashed)),
    }
}

async fn copy_evidence(db: &PostgresDb, after: Option<u64>, limit: u32) -> Result<EvidencePage, StoreError> {
    use futures::TryStreamExt;
    use sqlx::postgres::PgPoolCopyExt;
    let statement = crate::event_row::copy_events_in_order(after.map_or(-1, crate::event_row::to_i64), limit);
    let mut page = EvidencePage::with_capacity(limit.min(crate::evidence::PAGE_CAPACITY_HINT) as usize);
    let mut reader = crate::pg_copy::EvidenceCopyReader::default();
    let mut chunks = db.pool().copy_out_raw(&statement).await?;
    // The stream is read to its end even after a parse error: dropped in the middle of the
    // COPY, its connection would go back to the pool out of step with the server's messages
    // (sqlx's return-to-pool check would take the COPY's ReadyForQuery for its own).
    let mut parsed = Ok(());
    while let Some(chunk) = chunks.try_next().await? {
        if parsed.is_ok() {
            parsed = reader.feed(&chunk, &mut page);
        }
    }
    parsed
        .and_then(|()| reader.finish())
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    Ok(page)
}

/// Which of `ids` the log holds for `source`. Written as a semi-join on an array so the
/// planner probes the unique (source, external_id) index once per id: the plain
/// `source = $1 AND external_id IN (…)` form was planned, on a table that grew faster than
/// autovacuum analysed it, as a scan of every event of the source (measured: 19 ms against 3 ms
/// at 100k events, growing with the log).
///
/// Not a prepared statement: PostgreSQL switches a prepared statement to a cached generic plan
/// after five runs, and a plan made while the table was empty is a sequential scan (or a scan
/// of the `(source, seq)` index, which costs the same on an empty table) that is kept until the
/// next ANALYZE invalidates it. Without autovacuum that is never: measured 1.9 ms per lookup at
/// 10,000 events and growing, which held one writer to 235 events/s. An unnamed statement is
/// planned for its actual values each time (~0.1 ms), with the table's current size.
async fn find_stored_ids(
    connection: &mut PgConnection,
    source: &str,
    ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT external_id FROM audit_events WHERE (source, external_id) IN (SELECT $1, unnest($2::text[]))",
    )
    .bind(source)
    .bind(ids)
    .persistent(false)
    .fetch_all(connection)
    .await
}

/// Writes a group's rows, Merkle nodes and searched values (under the chain-head lock).
async fn insert_rows(
    connection: &mut PgConnection,
    rows: &[crate::sql::NewRow<'_>],
    recorded_at_ms: i64,
    nodes: &[(dezky_chain::merkle::NodeId, dezky_chain::merkle::Hash)],
) -> Result<(), sqlx::Error> {
    insert_events_and_nodes(connection, rows, recorded_at_ms, nodes).await?;
    insert_text_values(connection, rows).await
}

/// Writes a group's rows and Merkle nodes with one statement per `ROWS_PER_UNNEST_INSERT` rows,
/// a parameter per column (see `sql::insert_events_unnest_sql`).
async fn insert_events_and_nodes(
    connection: &mut PgConnection,
    rows: &[crate::sql::NewRow<'_>],
    recorded_at_ms: i64,
    nodes: &[(dezky_chain::merkle::NodeId, dezky_chain::merkle::Hash)],
) -> Result<(), sqlx::Error> {
    static INSERT_EVENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(crate::sql::insert_events_unnest_sql);
    for rows in rows.chunks(ROWS_PER_UNNEST_INSERT) {
        let mut seqs = Vec::with_capacity(rows.len());
        let mut at_ms = Vec::with_capacity(rows.len());
        let mut texts: [Vec<Option<String>>; 14] = std::array::from_fn(|_| Vec::with_capacity(rows.len()));
        let mut hashes: [Vec<&str>; 5] = std::array::from_fn(|_| Vec::with_capacity(rows.len()));
        for row in rows {
            let values = crate::event_row::event_values(row.event);
            seqs.push(row.seq);
            at_ms.push(values.at_ms);
            for (column, text) in texts.iter_mut().zip(values.texts) {
                column.push(text);
            }
            for (column, hash) in hashes.iter_mut().zip(&row.hashes) {
                column.push(hash.as_str());
            }
        }
        let mut query = sqlx::query(&INSERT_EVENTS).bind(seqs).bind(at_ms).bind(recorded_at_ms);
        for column in texts {
            query = query.bind(column);
        }
        for column in hashes {
            query = query.bind(column);
        }
        query.execute(&mut *connection).await?;
    }
    for nodes in nodes.chunks(ROWS_PER_UNNEST_INSERT) {
        let levels: Vec<i32> = nodes.iter().map(|(node, _)| i32::from(node.level)).collect();
        let indexes: Vec<i64> = nodes
            .iter()
            .map(|(node, _)| crate::event_row::to_i64(node.index))
            .collect();
        let hashes: Vec<String> = nodes.iter().map(|(_, hash)| crate::seal::hash_hex(hash)).collect();
        sqlx::query(crate::sql::INSERT_NODES_UNNEST)
            .bind(levels)
            .bind(indexes)
            .bind(hashes)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Records the group's distinct actions and tenant slugs for the free-text search (see the
/// migration `text_index_high_cardinality_fields`). Almost every value is already there; each
/// costs one probe of the primary key.
async fn insert_text_values(connection: &mut PgConnection, rows: &[crate::sql::NewRow<'_>]) -> Result<(), sqlx::Error> {
    let mut values = std::collections::BTreeSet::new();
    for row in rows {
        values.insert((crate::filter_sql::TEXT_VALUE_ACTION, row.event.action.as_str()));
        if let Some(tenant) = &row.event.tenant_slug {
            values.insert((crate::filter_sql::TEXT_VALUE_TENANT, tenant.as_str()));
        }
    }
    if values.is_empty() {
        return Ok(());
    }
    let (fields, values): (Vec<&str>, Vec<&str>) = values.into_iter().unzip();
    sqlx::query(
        "INSERT INTO audit_text_values (field, value) SELECT * FROM unnest($1::text[], $2::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(fields)
    .bind(values)
    .execute(connection)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl crate::sequencer::GroupWriter for PostgresDb {
    /// Speculatively when it can (see `speculation`), otherwise under the chain-head lock.
    async fn write_group(
        &self,
        events: &[&dezky_core::NewAuditEvent],
        seals: &[crate::seal::PersonalSeal],
        now: dezky_core::Timestamp,
        link: &mut crate::sequencer::GroupLink,
    ) -> Result<crate::records::AppendReceipt, StoreError> {
        match self.write_group_speculatively(events, seals, now, link).await? {
            speculation::Attempt::Committed(receipt) => Ok(receipt),
            speculation::Attempt::GaveUp => self.write_group_locked(events, seals, now, link).await,
        }
    }

    fn pipelines(&self) -> bool {
        true
    }
}

implement_store!(
    PostgresStore,
    PostgresDb,
    Postgres,
    filter_sql::Dialect::Postgres,
    " FOR UPDATE",
    find_stored_ids,
    read_evidence,
    insert_rows
);
crate::erasure_sql::implement_erasure!(
    " FOR UPDATE",
    "SET LOCAL dezky.erasure = 'on'",
    "",
    "SET LOCAL dezky.restore = 'on'",
    ""
);

implement_worker_store!(PostgresStore);

#[async_trait::async_trait]
impl crate::maintenance::MaintenanceStore for PostgresStore {
    async fn refresh_planner_statistics(&self) -> Result<Vec<String>, StoreError> {
        // autovacuum's default rule (50 rows + 10 %), with a larger floor: a small table's
        // plans do not depend on its statistics.
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_stat_user_tables WHERE relname = ANY($1) \
             AND n_mod_since_analyze > 1000 + 0.1 * n_live_tup ORDER BY relname",
        )
        .bind(&crate::maintenance::ANALYSED_TABLES[..])
        .fetch_all(self.db.pool())
        .await?;
        for table in &due {
            // The name comes from ANALYSED_TABLES (matched above), never from input.
            sqlx::query(&format!("ANALYZE {table}")).execute(self.db.pool()).await?;
        }
        Ok(due)
    }
}
crate::control_sql::implement_control_store!(PostgresStore, " FOR UPDATE");
crate::invites_sql::implement_invite_store!(PostgresStore, " FOR UPDATE");
crate::archive_sql::implement_archive_store!(PostgresStore, " FOR UPDATE", "SET LOCAL dezky.archive = 'on'", "");
crate::restore_sql::implement_restore_store!(
    PostgresStore,
    crate::filter_sql::Dialect::Postgres,
    " FOR UPDATE",
    "SET LOCAL dezky.restore = 'on'",
    ""
);
