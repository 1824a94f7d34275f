//! SQLite's free-text index and query indexes live in a file of their own beside the database
//! (`<database>-text`: the FTS5 table and `event_keys`, the filtered fields with their indexes)
//! and are filled by a task of its own after appends commit, not inside the append transaction.
//!
//! Why: SQLite has one write lock per file, and every append transaction runs on the one writer
//! connection's thread. That thread was the append path's bottleneck (the other core stood
//! two-thirds idle), and FTS5 and the query indexes were a large share of it
//! (docs/PERFORMANCE.md, "Eleventh session"). A second file has its own lock, so its own
//! connection indexes one group while the writer commits the next.
//!
//! Invariants (the index is derived data; the events stay the only record):
//! - Every hot event with `seq < text_index_state.next_seq` is in the index with its current
//!   (possibly erased) fields; no event at or above it is. Searches read the index below
//!   `next_seq` and scan the events from `next_seq` on, in one statement and so one snapshot
//!   of this file (`filter_sql`): an answer is exact and current whatever the index's lag.
//! - Every candidate the index returns is checked against its event's current fields, so an
//!   entry that is stale for a moment (an event erased or archived since) never matches.
//! - An erasure is carried into the index when the indexer reaches its `audit.erased` record,
//!   in the same transaction that moves `next_seq` past it: a crash cannot lose it.
//! - The file can be deleted while dezky is stopped; it is rebuilt from the events. It is also rebuilt
//!   when it does not belong to the database beside it (its newest indexed event's hash differs),
//!   e.g. after a database file was restored from a backup.

use crate::filter_sql::SQLITE_TEXT_EXPRESSION;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The schema name the index file is attached under on the reading connections.
pub(crate) const ATTACHED_AS: &str = "text_index";
/// Bumped when the file's layout changes: a file of another version is rebuilt.
const LAYOUT_VERSION: i64 = 2;
/// Events indexed per transaction: large enough that FTS5 writes few segments, small enough
/// that a catch-up over a large log commits (and so shortens the searches' scan) often.
const EVENTS_PER_PASS: i64 = 20_000;
/// Archived events removed from the index per transaction.
const PRUNES_PER_PASS: i64 = 20_000;
/// The index file's page size (for a file created from now on).
const PAGE_BYTES: i64 = 8192;
/// A checkpoint once this much log has accumulated: the writer's 32,000 pages of 4 KiB.
const CHECKPOINT_WAL_BYTES: i64 = 32_000 * 4096;
/// The indexer's page cache in KiB (SQLite's `cache_size` takes negative numbers as KiB).
const INDEXER_CACHE_KIB: i64 = 32 * 1024;
/// How often the indexer looks for work nobody told it about (appends by another process).
const POLL: Duration = Duration::from_secs(1);

const CREATE: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS audit_events_text USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
);
CREATE TABLE IF NOT EXISTS text_index_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq     INTEGER NOT NULL,
    pruned_below INTEGER NOT NULL,
    last_hash    TEXT
);
INSERT OR IGNORE INTO text_index_state (id, next_seq, pruned_below, last_hash) VALUES (1, 0, 0, NULL);
-- The filtered fields of each indexed event and the query indexes on them: the columns and
-- expressions of audit_events that `filter_sql` filters on, under the same names.
CREATE TABLE IF NOT EXISTS event_keys (
    seq          INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    action       TEXT NOT NULL,
    tenant_slug  TEXT,
    partner_slug TEXT,
    actor_email  TEXT,
    source       TEXT NOT NULL,
    outcome      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_keys_at ON event_keys (at_ms);
CREATE INDEX IF NOT EXISTS event_keys_tenant ON event_keys (tenant_slug, seq);
CREATE INDEX IF NOT EXISTS event_keys_partner ON event_keys (partner_slug, seq);
CREATE INDEX IF NOT EXISTS event_keys_action ON event_keys (action, seq);
CREATE INDEX IF NOT EXISTS event_keys_actor_email ON event_keys (lower(actor_email), seq);
CREATE INDEX IF NOT EXISTS event_keys_source ON event_keys (source, seq);
CREATE INDEX IF NOT EXISTS event_keys_outcome ON event_keys (outcome, seq);
";

/// Copies the keys of the events `?1 <= seq <= ?2` that are hot. `OR FAIL`: the default
/// `ABORT` makes a multi-row INSERT inside a transaction keep a statement journal (a copy of
/// every page it touches first) to undo just this statement; a failure rolls the whole pass
/// back anyway.
const COPY_KEYS: &str = "INSERT OR FAIL INTO event_keys (seq, at_ms, action, tenant_slug, partner_slug, actor_email, source, outcome) \
     SELECT seq, at_ms, action, tenant_slug, partner_slug, actor_email, source, outcome \
     FROM events.audit_events WHERE seq >= ? AND seq <= ?";

/// The index file for the database at `database`.
pub(crate) fn path_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-text");
    PathBuf::from(name)
}

/// Opens (creating or rebuilding as needed) the index file beside `database`, and returns the
/// connection that fills it, with the database attached read-only in practice (it only reads).
pub(crate) async fn open(database: &Path) -> Result<SqliteConnection, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path_beside(database))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Derived data: a power cut may lose the newest passes (the events are still there to
        // index again), never the file's consistency, so the commit does not wait for fsync.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        // SQLite's default 2 MiB page cache held only the newest pages of the seven query
        // indexes and the FTS5 segments, so every pass read the rest back from the OS; and the
        // default checkpoint every 1,000 pages copied the same hot index pages over and over.
        // The same settings as the writer's, with half its cache (one connection, derived data).
        // Measured on a noisy day: as many appends or more in every pair of runs, and less
        // system time (docs/PERFORMANCE.md, "Twelfth session").
        .pragma("cache_size", (-INDEXER_CACHE_KIB).to_string())
        // Twice SQLite's default page: half the page splits and one level less in the seven
        // query indexes, whose inserts land at the end of every tenant's, action's and e-mail's
        // range. With `OR FAIL` in `COPY_KEYS`: the same user CPU to index 400,000 events and ~10 %
        // less system CPU, lower in 10 of 11 alternated pairs (docs/PERFORMANCE.md,
        // "Thirteenth session"). It takes effect only when the file is created: an older file
        // keeps its 4 KiB pages until it is deleted and rebuilt.
        .pragma("page_size", PAGE_BYTES.to_string())
        // FTS5 writes its shadow tables through statements nested in the pass's INSERT, and
        // SQLite journals their pages for each statement; with the default temp store those
        // journals were a file, written with a system call per page.
        .pragma("temp_store", "memory");
    let mut connection = SqliteConnection::connect_with(&options).await?;
    // In pages, so set for the page size the file has (an older file keeps 4 KiB pages).
    let page_bytes: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut connection)
        .await?;
    sqlx::raw_sql(&format!(
        "PRAGMA wal_autocheckpoint = {}",
        CHECKPOINT_WAL_BYTES / page_bytes.max(512)
    ))
    .execute(&mut connection)
    .await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut connection)
        .await?;
    // Opening a current file writes nothing, so it does not wait for another process's
    // indexer (a long pass holds the file's write lock).
    if version != LAYOUT_VERSION {
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS audit_events_text; DROP TABLE IF EXISTS text_index_state; \
             DROP TABLE IF EXISTS event_keys;",
        )
        .execute(&mut connection)
        .await?;
        sqlx::raw_sql(CREATE).execute(&mut connection).await?;
        sqlx::raw_sql(&format!("PRAGMA user_version = {LAYOUT_VERSION}"))
            .execute(&mut connection)
            .await?;
    }
    // Erased personal data must not linger in freed pages of this file.
    sqlx::raw_sql("PRAGMA main.secure_delete = ON")
        .execute(&mut connection)
        .await?;
    sqlx::query("ATTACH DATABASE ? AS events")
        .bind(database.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await?;
    // Before any reader attaches the file: an index of another database (a restored backup
    // beside an old index file) would answer wrongly until the first pass.
    in_transaction(&mut connection, |connection| Box::pin(reset_if_foreign(connection))).await?;
    Ok(connection)
}

/// Runs passes until the index is current, then waits to be woken (or for `POLL`). Stops once
/// the store that owns `wake` is gone.
pub(crate) async fn run(mut connection: SqliteConnection, wake: Arc<Notify>) {
    let mut last_error = String::new();
    while Arc::strong_count(&wake) > 1 {
        match pass(&mut connection).await {
            Ok(outcome) => {
                if outcome.erased
                    && let Err(error) = scrub_erased(&mut connection).await
                {
                    tracing::warn!(%error, "erased entries could not be scrubbed from the index file");
                }
                if outcome.more {
                    continue;
                }
                last_error.clear();
            }
            Err(error) => {
                // Expected once on a new database: the indexer can start before its migrations ran.
                let message = error.to_string();
                if message != last_error {
                    tracing::warn!(error = %message, "the index file could not be brought up to date; retrying");
                    last_error = message;
                }
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// What one pass did.
#[derive(Debug, Default)]
pub(crate) struct PassOutcome {
    /// There is more to do right away.
    pub more: bool,
    /// It carried an erasure into the index.
    pub erased: bool,
}

struct State {
    next_seq: i64,
    pruned_below: i64,
    last_hash: Option<String>,
}

/// One transaction: index the next events (at most `EVENTS_PER_PASS`), carry the erasures they
/// record into the index, and drop archived events from it.
pub(crate) async fn pass(connection: &mut SqliteConnection) -> Result<PassOutcome, sqlx::Error> {
    // Looked at first without writing: an idle indexer polls every second and must not write
    // (or wait for another process's indexer) each time.
    if !in_transaction(connection, |connection| Box::pin(has_work(connection))).await? {
        return Ok(PassOutcome::default());
    }
    in_transaction(connection, |connection| Box::pin(pass_body(connection))).await
}

/// Whether events wait to be indexed or archived ones to be pruned (read only).
async fn has_work(connection: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let state = read_state(&mut *connection).await?;
    if database_head(&mut *connection).await != state.next_seq {
        return Ok(true);
    }
    // Nothing indexed is left to prune. (Also: a new database's tables may not exist yet.)
    if state.pruned_below >= state.next_seq {
        return Ok(false);
    }
    let oldest_hot: Option<i64> = sqlx::query_scalar("SELECT min(seq) FROM events.audit_events")
        .fetch_one(&mut *connection)
        .await?;
    Ok(oldest_hot.unwrap_or(state.next_seq).min(state.next_seq) > state.pruned_below)
}

type Step<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

/// Runs `step` in a deferred transaction: `BEGIN IMMEDIATE` would take the database's write
/// lock too (it is attached), and this connection must never hold up the appends. (The steps
/// are boxed with their lifetime spelled out: the compiler cannot prove a plain async fn's
/// future `Send` for every lifetime of the connection borrow, which `tokio::spawn` needs.)
async fn in_transaction<T>(
    connection: &mut SqliteConnection,
    step: impl for<'c> FnOnce(&'c mut SqliteConnection) -> Step<'c, T>,
) -> Result<T, sqlx::Error> {
    sqlx::query("BEGIN").execute(&mut *connection).await?;
    match step(&mut *connection).await {
        Ok(value) => {
            sqlx::query("COMMIT").execute(&mut *connection).await?;
            Ok(value)
        }
        Err(error) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
            Err(error)
        }
    }
}

/// Takes this file's write lock now (a write as the transaction's first statement), so a
/// second process's indexer waits here (busy timeout) instead of failing to upgrade a read
/// later.
async fn lock_index_file(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE text_index_state SET next_seq = next_seq WHERE id = 1")
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn read_state(connection: &mut SqliteConnection) -> Result<State, sqlx::Error> {
    let (next_seq, pruned_below, last_hash): (i64, i64, Option<String>) =
        sqlx::query_as("SELECT next_seq, pruned_below, last_hash FROM text_index_state WHERE id = 1")
            .fetch_one(&mut *connection)
            .await?;
    Ok(State {
        next_seq,
        pruned_below,
        last_hash,
    })
}

/// The database's next seq; 0 before its migrations ran.
async fn database_head(connection: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT next_seq FROM events.chain_head WHERE id = 1")
        .fetch_optional(&mut *connection)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// Empties the index when it was not built from the database beside it; true if it did. Only
/// reads unless it must empty the index.
async fn reset_if_foreign(connection: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let state = read_state(&mut *connection).await?;
    let head = database_head(&mut *connection).await;
    if belongs_to_database(&mut *connection, &state, head).await? {
        return Ok(false);
    }
    tracing::warn!("the index file does not match the database beside it; rebuilding it");
    sqlx::query("INSERT INTO audit_events_text (audit_events_text) VALUES ('delete-all')")
        .execute(&mut *connection)
        .await?;
    sqlx::query("DELETE FROM event_keys").execute(&mut *connection).await?;
    sqlx::query("UPDATE text_index_state SET next_seq = 0, pruned_below = 0, last_hash = NULL WHERE id = 1")
        .execute(&mut *connection)
        .await?;
    Ok(true)
}

/// After an erasure reached the index: rewrites the text index in full (`optimize` merges every
/// segment, so the erased trigrams' old entries are gone, not only marked deleted), with freed
/// pages zeroed (`secure_delete`), and empties the WAL that still holds the old pages. Costs a
/// rewrite of the text index; erasures are rare.
async fn scrub_erased(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_events_text (audit_events_text) VALUES ('optimize')")
        .execute(&mut *connection)
        .await?;
    sqlx::query("PRAGMA main.wal_checkpoint(TRUNCATE)")
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn pass_body(connection: &mut SqliteConnection) -> Result<PassOutcome, sqlx::Error> {
    lock_index_file(&mut *connection).await?;
    if reset_if_foreign(&mut *connection).await? {
        return Ok(PassOutcome {
            more: true,
            erased: false,
        });
    }
    let state = read_state(&mut *connection).await?;
    let head: i64 = sqlx::query_scalar("SELECT next_seq FROM events.chain_head WHERE id = 1")
        .fetch_one(&mut *connection)
        .await?;
    let until = head.min(state.next_seq + EVENTS_PER_PASS);
    let mut erased = false;
    if until > state.next_seq {
        index_range(&mut *connection, state.next_seq, until - 1).await?;
        erased = reindex_erased(&mut *connection, &state, until).await?;
    }
    let pruned_until = prune_archived(&mut *connection, &state).await?;
    sqlx::query(
        "UPDATE text_index_state SET next_seq = ?, pruned_below = ?, \
         last_hash = (SELECT hash FROM events.audit_events WHERE seq = ? - 1) WHERE id = 1",
    )
    .bind(until)
    .bind(pruned_until)
    .bind(until)
    .execute(&mut *connection)
    .await?;
    Ok(PassOutcome {
        more: until < head || pruned_until > state.pruned_below,
        erased,
    })
}

/// Whether the index was built from this database: the newest event it indexed must still be
/// there with the same hash (an archived one cannot be checked and is trusted), and the log must
/// not be shorter than the index.
async fn belongs_to_database(connection: &mut SqliteConnection, state: &State, head: i64) -> Result<bool, sqlx::Error> {
    if state.next_seq == 0 {
        return Ok(true);
    }
    if state.next_seq > head {
        return Ok(false);
    }
    let stored: Option<String> = sqlx::query_scalar("SELECT hash FROM events.audit_events WHERE seq = ?")
        .bind(state.next_seq - 1)
        .fetch_optional(&mut *connection)
        .await?;
    Ok(stored.is_none() || stored == state.last_hash)
}

/// Re-indexes the events erased by the `audit.erased` records in `next_seq..until` that were
/// indexed before this pass (the others were just indexed as they are now); true if there was
/// any. Only the platform's own records count, as for the verifier: an ingest source cannot
/// make the indexer rewrite the index.
async fn reindex_erased(connection: &mut SqliteConnection, state: &State, until: i64) -> Result<bool, sqlx::Error> {
    let records: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT seq, metadata FROM events.audit_events \
         WHERE action = ? AND source = 'platform' AND seq >= ? AND seq < ?",
    )
    .bind(dezky_chain::verify::ERASURE_ACTION)
    .bind(state.next_seq)
    .bind(until)
    .fetch_all(&mut *connection)
    .await?;
    let any = !records.is_empty();
    for (seq, metadata) in records {
        let parsed =
            metadata.and_then(|text| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text).ok());
        let Some(metadata) = parsed else {
            tracing::warn!(
                seq,
                "an audit.erased record without readable erasedSeqs; the index keeps what it had"
            );
            continue;
        };
        for (first, last) in dezky_chain::verify::erased_ranges(&metadata) {
            let first = i64::try_from(first).unwrap_or(i64::MAX).max(state.pruned_below);
            let last = i64::try_from(last).unwrap_or(i64::MAX).min(state.next_seq - 1);
            if first > last {
                continue;
            }
            unindex_range(&mut *connection, first, last).await?;
            index_range(&mut *connection, first, last).await?;
        }
    }
    Ok(any)
}

/// Removes archived events (a prefix of the log: batches are archived in order) that were
/// indexed, at most `PRUNES_PER_PASS`; returns the new `pruned_below`.
async fn prune_archived(connection: &mut SqliteConnection, state: &State) -> Result<i64, sqlx::Error> {
    let oldest_hot: Option<i64> = sqlx::query_scalar("SELECT min(seq) FROM events.audit_events")
        .fetch_one(&mut *connection)
        .await?;
    // With no hot events at all, everything indexed so far was archived.
    let archived_below = oldest_hot.unwrap_or(state.next_seq).min(state.next_seq);
    let until = archived_below.min(state.pruned_below + PRUNES_PER_PASS);
    if until > state.pruned_below {
        unindex_range(&mut *connection, state.pruned_below, until - 1).await?;
    }
    Ok(until.max(state.pruned_below))
}

/// Indexes the hot events `first <= seq <= last` as they are now (text and keys).
async fn index_range(connection: &mut SqliteConnection, first: i64, last: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO audit_events_text (rowid, body) SELECT seq, {SQLITE_TEXT_EXPRESSION} \
         FROM events.audit_events WHERE seq >= ? AND seq <= ?"
    ))
    .bind(first)
    .bind(last)
    .execute(&mut *connection)
    .await?;
    sqlx::query(COPY_KEYS)
        .bind(first)
        .bind(last)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Takes the events `first <= seq <= last` out of the index. The text index is contentless: it
/// deletes by rowid, one at a time (a rowid it never held is a no-op).
async fn unindex_range(connection: &mut SqliteConnection, first: i64, last: i64) -> Result<(), sqlx::Error> {
    for seq in first..=last {
        sqlx::query("DELETE FROM audit_events_text WHERE rowid = ?")
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("DELETE FROM event_keys WHERE seq >= ? AND seq <= ?")
        .bind(first)
        .bind(last)
        .execute(&mut *connection)
        .await?;
    Ok(())
}
