//! The PostgreSQL backend, for several stateless dezky instances on one database. Appends lock
//! the single chain-head row (`SELECT ... FOR UPDATE`) inside their transaction, so instances
//! interleave but never assign the same seq twice or leave a gap.

use crate::event_row::SELECT_EVENTS_IN_ORDER;
use crate::evidence::{EVIDENCE_TEXT_COLUMNS, EvidencePage};
use crate::frontier_cache::FrontierCache;
use crate::sequencer::Sequencer;
use crate::sql::implement_store;
use crate::workers_sql::implement_worker_store;
use crate::{Backend, CONNECT_TIMEOUT, redact_url};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use std::sync::Arc;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) struct PostgresDb {
    pool: PgPool,
    frontier_cache: FrontierCache,
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
            sequencer: Sequencer::start(db.clone()),
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

    async fn begin_write(&self) -> Result<PostgresWrite, StoreError> {
        Ok(PostgresWrite {
            transaction: self.pool.begin().await?,
        })
    }
}

/// A page of stored events for verification: each value is borrowed from the row's buffer and
/// copied once into the page (no `String` per column, no decoding).
async fn read_evidence(db: &Arc<PostgresDb>, after: Option<u64>, limit: u32) -> Result<EvidencePage, StoreError> {
    use futures::TryStreamExt;
    use sqlx::Row;
    let after = after.map_or(-1, crate::event_row::to_i64);
    let mut page = EvidencePage::with_capacity(limit.min(crate::evidence::PAGE_CAPACITY_HINT) as usize);
    let mut rows = sqlx::query(SELECT_EVENTS_IN_ORDER)
        .bind(after)
        .bind(i64::from(limit))
        .fetch(db.pool());
    while let Some(row) = rows.try_next().await? {
        let mut texts = [None; EVIDENCE_TEXT_COLUMNS];
        for (index, text) in texts.iter_mut().enumerate() {
            *text = row.try_get::<Option<&str>, _>(index + 3)?;
        }
        page.push(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, texts);
    }
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

implement_store!(
    PostgresStore,
    PostgresDb,
    Postgres,
    filter_sql::Dialect::Postgres,
    " FOR UPDATE",
    find_stored_ids,
    read_evidence
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
