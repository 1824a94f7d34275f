//! The original design's append, reproduced on the same database so the report can say how many
//! times faster dezky is than what it replaces.
//!
//! The original (seed commit "audit.service.ts: record() now allocates seq → looks up lastHash()
//! → computes hash → inserts", NestJS + MongoDB) recorded each event on its own: under one
//! per-process write mutex it incremented a counter document, read the newest event's hash,
//! hashed the canonical event with that previous hash and inserted it. Here that is, per event:
//! take a process-wide `tokio::sync::Mutex`, begin a transaction, `UPDATE … RETURNING` the
//! counter row, `SELECT` the latest hash, SHA-256 over the canonical JSON, `INSERT`, commit.
//!
//! The tables are the benchmark's own (`baseline_*`, created here, never by the product's
//! migrations), with the original collection's indexes: unique `seq`, unique `(source,
//! externalId)`, `at`, `(tenantSlug, at)`, `(actorId, at)`, `(action, at)`. Connections use the
//! same settings as the store (SQLite: WAL, `synchronous=FULL`), so both designs pay the same
//! price for durability.

use dezky_core::NewAuditEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use tokio::sync::Mutex;

const SQLITE_SCHEMA: [&str; 8] = [
    "CREATE TABLE baseline_counter (id TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO baseline_counter (id, value) VALUES ('audit_seq', 0)",
    "CREATE TABLE baseline_events (
        seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor_type TEXT NOT NULL, actor_id TEXT,
        actor_email TEXT, actor_ip TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL, resource_type TEXT,
        resource_id TEXT, resource_name TEXT, tenant_slug TEXT, partner_slug TEXT, source TEXT NOT NULL,
        external_id TEXT, metadata TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE UNIQUE INDEX baseline_events_source_external_id ON baseline_events (source, external_id)",
    "CREATE INDEX baseline_events_at ON baseline_events (at_ms)",
    "CREATE INDEX baseline_events_tenant_at ON baseline_events (tenant_slug, at_ms)",
    "CREATE INDEX baseline_events_actor_at ON baseline_events (actor_id, at_ms)",
    "CREATE INDEX baseline_events_action_at ON baseline_events (action, at_ms)",
];

const POSTGRES_EVENTS_TABLE: &str = "CREATE TABLE baseline_events (
    seq BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL, actor_type TEXT NOT NULL, actor_id TEXT,
    actor_email TEXT, actor_ip TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL, resource_type TEXT,
    resource_id TEXT, resource_name TEXT, tenant_slug TEXT, partner_slug TEXT, source TEXT NOT NULL,
    external_id TEXT, metadata TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)";

const INCREMENT_COUNTER: &str = "UPDATE baseline_counter SET value = value + 1 WHERE id = 'audit_seq' RETURNING value";
const LATEST_HASH: &str = "SELECT hash FROM baseline_events ORDER BY seq DESC LIMIT 1";
const INSERT_EVENT: &str = "INSERT INTO baseline_events (seq, at_ms, actor_type, actor_id, actor_email, actor_ip,
    action, outcome, resource_type, resource_id, resource_name, tenant_slug, partner_slug, source, external_id,
    metadata, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The original append path on one database; clone it to share it between writers (they then
/// share the one mutex, as the original's writers shared one process).
#[derive(Clone)]
pub struct Baseline {
    pool: Arc<Pool>,
    write_mutex: Arc<Mutex<()>>,
}

impl Baseline {
    /// Connects to the database at `url` (as `dezky_store::open` does) and creates the tables.
    pub async fn create(url: &str) -> anyhow::Result<Baseline> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
            sqlx::query("CREATE TABLE baseline_counter (id TEXT PRIMARY KEY, value BIGINT NOT NULL)")
                .execute(&pool)
                .await?;
            sqlx::query(SQLITE_SCHEMA[1]).execute(&pool).await?;
            sqlx::query(POSTGRES_EVENTS_TABLE).execute(&pool).await?;
            for index in &SQLITE_SCHEMA[3..] {
                sqlx::query(index).execute(&pool).await?;
            }
            Pool::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(std::time::Duration::from_secs(10))
                .pragma("wal_autocheckpoint", "8000")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            for statement in SQLITE_SCHEMA {
                sqlx::query(statement).execute(&pool).await?;
            }
            Pool::Sqlite(pool)
        };
        Ok(Baseline {
            pool: Arc::new(pool),
            write_mutex: Arc::new(Mutex::new(())),
        })
    }

    /// Records the events one by one, each in its own transaction under the mutex (a batch in
    /// the original was a loop of single records).
    pub async fn append(&self, events: Vec<NewAuditEvent>) -> anyhow::Result<()> {
        for event in &events {
            let _turn = self.write_mutex.lock().await;
            match self.pool.as_ref() {
                Pool::Sqlite(pool) => record_sqlite(pool, event).await?,
                Pool::Postgres(pool) => record_postgres(pool, event).await?,
            }
        }
        Ok(())
    }

    /// Events recorded so far (the counter's value).
    pub async fn count(&self) -> anyhow::Result<i64> {
        let select = "SELECT value FROM baseline_counter WHERE id = 'audit_seq'";
        Ok(match self.pool.as_ref() {
            Pool::Sqlite(pool) => sqlx::query_scalar(select).fetch_one(pool).await?,
            Pool::Postgres(pool) => sqlx::query_scalar(select).fetch_one(pool).await?,
        })
    }
}

/// The original's hash: SHA-256 over the canonical JSON of the event with its seq and the
/// previous event's hash.
pub fn event_hash(event: &NewAuditEvent, seq: i64, prev_hash: &str) -> String {
    let document = json!({
        "seq": seq, "prevHash": prev_hash, "at": event.at.to_rfc3339(), "actorType": event.actor_type.as_str(),
        "actorId": event.actor_id, "actorEmail": event.actor_email, "actorIp": event.actor_ip,
        "action": event.action.as_str(), "outcome": event.outcome.as_str(), "resourceType": event.resource_type,
        "resourceId": event.resource_id, "resourceName": event.resource_name,
        "tenantSlug": event.tenant_slug.as_ref().map(|slug| slug.as_str()),
        "partnerSlug": event.partner_slug.as_ref().map(|slug| slug.as_str()),
        "source": event.source.as_str(), "externalId": event.external_id,
        "metadata": Value::Object(event.metadata.clone()),
    });
    let canonical = dezky_chain::canonical::to_canonical_string(&document);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn optional_slug(slug: &Option<dezky_core::Slug>) -> Option<&str> {
    slug.as_ref().map(|slug| slug.as_str())
}

macro_rules! record_one {
    ($name:ident, $pool:ty) => {
        async fn $name(pool: &$pool, event: &NewAuditEvent) -> anyhow::Result<()> {
            let mut transaction = pool.begin().await?;
            let seq: i64 = sqlx::query_scalar(INCREMENT_COUNTER)
                .fetch_one(&mut *transaction)
                .await?;
            let prev_hash: Option<String> = sqlx::query_scalar(LATEST_HASH)
                .fetch_optional(&mut *transaction)
                .await?;
            let prev_hash = prev_hash.unwrap_or_else(|| GENESIS.to_owned());
            let hash = event_hash(event, seq, &prev_hash);
            let metadata = serde_json::to_string(&event.metadata)?;
            sqlx::query(INSERT_EVENT)
                .bind(seq)
                .bind(event.at.as_millis())
                .bind(event.actor_type.as_str())
                .bind(event.actor_id.as_deref())
                .bind(event.actor_email.as_deref())
                .bind(event.actor_ip.as_deref())
                .bind(event.action.as_str())
                .bind(event.outcome.as_str())
                .bind(event.resource_type.as_deref())
                .bind(event.resource_id.as_deref())
                .bind(event.resource_name.as_deref())
                .bind(optional_slug(&event.tenant_slug))
                .bind(optional_slug(&event.partner_slug))
                .bind(event.source.as_str())
                .bind(event.external_id.as_deref())
                .bind(metadata)
                .bind(prev_hash)
                .bind(hash)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(())
        }
    };
}

record_one!(record_sqlite, SqlitePool);
record_one!(record_postgres, PgPool);

/// Whether the baseline wrote one chain: seqs 1..=n without gaps, each row naming its
/// predecessor's hash (checked after every baseline run, so a broken reproduction cannot report
/// a rate).
pub async fn chain_is_intact(url: &str) -> anyhow::Result<bool> {
    let select = "SELECT seq, prev_hash, hash FROM baseline_events ORDER BY seq";
    let rows: Vec<(i64, String, String)> = if url.starts_with("postgres") {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query_as(select).fetch_all(&pool).await?
    } else {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::from_str(url)?)
            .await?;
        sqlx::query_as(select).fetch_all(&pool).await?
    };
    let mut previous = GENESIS.to_owned();
    for (index, (seq, prev_hash, hash)) in rows.iter().enumerate() {
        if *seq != index as i64 + 1 || *prev_hash != previous {
            return Ok(false);
        }
        previous = hash.clone();
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event;
    use dezky_core::Timestamp;

    #[test]
    fn the_hash_commits_to_the_previous_hash_and_the_content() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let first = event(1, at);
        let hash = event_hash(&first, 1, GENESIS);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, event_hash(&first, 1, GENESIS));
        assert_ne!(hash, event_hash(&first, 2, GENESIS));
        assert_ne!(hash, event_hash(&first, 1, &hash));
        assert_ne!(hash, event_hash(&event(2, at), 1, GENESIS));
    }
}
