//! SQLite's duplicate lookup: `audit_dedup` maps each event that carries an external id to its
//! compact key (`dedup_key`), and a lookup by key is confirmed against the event itself.

use crate::dedup_key::dedup_key;
use sqlx::{SqliteConnection, SqlitePool};

/// The unique `(source, external_id)` index the lookup used before `audit_dedup`.
const LEGACY_INDEX: &str = "audit_events_source_external_id";

/// Rows per multi-row INSERT into `audit_dedup` (two values each).
const KEYS_PER_INSERT: usize = 2_000;
/// Events read per round while filling the table for a database that predates it.
const BACKFILL_ROWS: i64 = 20_000;

/// Which of `ids` the log holds for `source`. The key index narrows the search; the join reads
/// the candidates' own source and id, so a key shared by two pairs never reports a duplicate
/// that is not one (the caller keeps only exact matches).
pub(crate) async fn find_stored_ids(
    connection: &mut SqliteConnection,
    source: &str,
    ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let list = vec!["?"; ids.len()].join(", ");
    let select = format!(
        "SELECT e.external_id FROM audit_dedup d JOIN audit_events e ON e.seq = d.seq \
         WHERE d.key IN ({list}) AND e.source = ?"
    );
    let mut query = sqlx::query_scalar::<_, String>(&select);
    for id in ids {
        query = query.bind(dedup_key(source, id));
    }
    query.bind(source).fetch_all(connection).await
}

/// Records the keys of events just inserted: `(seq, source, external id)` for each that has one.
pub(crate) async fn insert_keys<'a>(
    connection: &mut SqliteConnection,
    events: impl Iterator<Item = (i64, &'a str, &'a str)>,
) -> Result<(), sqlx::Error> {
    let keys: Vec<(i64, i64)> = events.map(|(seq, source, id)| (seq, dedup_key(source, id))).collect();
    for chunk in keys.chunks(KEYS_PER_INSERT) {
        let insert = format!(
            "INSERT OR FAIL INTO audit_dedup (seq, key) VALUES {}",
            vec!["(?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&insert);
        for (seq, key) in chunk {
            query = query.bind(seq).bind(key);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// For a database that predates `audit_dedup` (it still has the unique index on the pair):
/// fills the table from the stored events and drops that index, in one write transaction, so
/// a crash leaves either the old lookup or the new one whole. Returns how many keys it wrote:
/// none when there was nothing to adopt, nor for a new database (which has the old index from
/// its first migration but no events).
pub(crate) async fn adopt_compact_keys(writer: &SqlitePool) -> Result<u64, sqlx::Error> {
    // Looked at first without the write lock: every open asks, and a command that only reads
    // must not queue behind a running server's appends to learn that nothing is to be done.
    if !has_legacy_index(writer.acquire().await?.as_mut()).await? {
        return Ok(0);
    }
    let mut transaction = writer.begin_with("BEGIN IMMEDIATE").await?;
    // Again under the lock: another process may have adopted the keys in between.
    if !has_legacy_index(&mut transaction).await? {
        return Ok(0);
    }
    // Filled in seq order with its index built after: one sort instead of an insert at a
    // random place per event.
    for statement in ["DELETE FROM audit_dedup", "DROP INDEX audit_dedup_key"] {
        sqlx::query(statement).execute(&mut *transaction).await?;
    }
    let mut after = -1_i64;
    let mut keys = 0_u64;
    loop {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, source, external_id FROM audit_events \
             WHERE seq > ? AND external_id IS NOT NULL ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(BACKFILL_ROWS)
        .fetch_all(&mut *transaction)
        .await?;
        let Some((last, _, _)) = rows.last() else { break };
        after = *last;
        keys += rows.len() as u64;
        insert_keys(
            &mut transaction,
            rows.iter()
                .map(|(seq, source, id)| (*seq, source.as_str(), id.as_str())),
        )
        .await?;
    }
    let finish = [
        "CREATE INDEX audit_dedup_key ON audit_dedup (key)".to_owned(),
        format!("DROP INDEX {LEGACY_INDEX}"),
    ];
    for statement in &finish {
        sqlx::query(statement).execute(&mut *transaction).await?;
    }
    transaction.commit().await?;
    Ok(keys)
}

async fn has_legacy_index(connection: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND name = ?")
        .bind(LEGACY_INDEX)
        .fetch_optional(connection)
        .await?;
    Ok(found.is_some())
}
