//! SQLite's free-text index lives in a file of its own beside the database (`<database>-text`)
//! and is filled by a task of its own after appends commit, not inside the append transaction.
//!
//! Why: SQLite has one write lock per file, and every append transaction runs on the one writer
//! connection's thread. That thread was the append path's bottleneck (the other core stood
//! two-thirds idle), and FTS5's share of it was measured at 10–15 % of appends
//! (docs/PERFORMANCE.md, "Eleventh session"). A second file has its own lock, so its own
//! connection indexes one group while the writer commits the next.
//!
//! Invariants (the index is derived data; the events stay the only record):
//! - Every hot event with `seq < text_index_state.next_seq` is in the index with its current
//!   (possibly erased) fields; no event at or above it is. Searches read the index below
//!   `next_seq` and scan the events from `next_seq` on, in one statement and so one snapshot
//!   of this file (`filter_sql::sqlite_text_match`): an answer is exact and current whatever
//!   the index's lag.
//! - Every candidate the index returns is checked against its event's current fields, so an
//!   entry that is stale for a moment (an event erased or archived since) never matches.
//! - An erasure is carried into the index when the indexer reaches its `audit.erased` record,
//!   in the same transaction that moves `next_seq` past it: a crash cannot lose it.
//! - The file can be deleted at any time; it is rebuilt from the events. It is also rebuilt
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
const LAYOUT_VERSION: i64 = 1;
/// Events indexed per transaction: large enough that FTS5 writes few segments, small enough
/// that a catch-up over a large log commits (and so shortens the searches' scan) often.
const EVENTS_PER_PASS: i64 = 20_000;
/// Archived events removed from the index per transaction.
const PRUNES_PER_PASS: i64 = 20_000;
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
";

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
        .busy_timeout(Duration::from_secs(10));
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut connection)
        .await?;
    if version != LAYOUT_VERSION {
        sqlx::raw_sql("DROP TABLE IF EXISTS audit_events_text; DROP TABLE IF EXISTS text_index_state;")
            .execute(&mut connection)
            .await?;
    }
    sqlx::raw_sql(CREATE).execute(&mut connection).await?;
    sqlx::raw_sql(&format!("PRAGMA user_version = {LAYOUT_VERSION}"))
        .execute(&mut connection)
        .await?;
    sqlx::query("ATTACH DATABASE ? AS events")
        .bind(database.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await?;
    Ok(connection)
}

/// Runs passes until the index is current, then waits to be woken (or for `POLL`). Stops once
/// the store that owns `wake` is gone.
pub(crate) async fn run(mut connection: SqliteConnection, wake: Arc<Notify>) {
    let mut last_error = String::new();
    while Arc::strong_count(&wake) > 1 {
        match pass(&mut connection).await {
            Ok(Progress::MoreToDo) => continue,
            Ok(Progress::Current) => last_error.clear(),
            Err(error) => {
                // Expected once on a new database: the indexer can start before its migrations ran.
                let message = error.to_string();
                if message != last_error {
                    tracing::warn!(error = %message, "the free-text index could not be brought up to date; retrying");
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

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    Current,
    MoreToDo,
}

struct State {
    next_seq: i64,
    pruned_below: i64,
    last_hash: Option<String>,
}

/// One transaction: index the next events (at most `EVENTS_PER_PASS`), carry the erasures they
/// record into the index, and drop archived events from it.
pub(crate) fn pass(connection: &mut SqliteConnection) -> PassFuture<'_> {
    // Boxed with its lifetime spelled out: the compiler cannot prove the plain async fn's
    // future `Send` for every lifetime of the connection borrow, which `tokio::spawn` needs.
    Box::pin(pass_in(connection))
}

type PassFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Progress, sqlx::Error>> + Send + 'a>>;

async fn pass_in(connection: &mut SqliteConnection) -> Result<Progress, sqlx::Error> {
    // A deferred transaction: `BEGIN IMMEDIATE` would take the database's write lock too (it is
    // attached), and this connection must never hold up the appends.
    sqlx::query("BEGIN").execute(&mut *connection).await?;
    match pass_body(connection).await {
        Ok(progress) => {
            sqlx::query("COMMIT").execute(&mut *connection).await?;
            Ok(progress)
        }
        Err(error) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
            Err(error)
        }
    }
}

async fn pass_body(connection: &mut SqliteConnection) -> Result<Progress, sqlx::Error> {
    // Writing first takes this file's lock now, so a second process's indexer waits here
    // (busy timeout) instead of failing to upgrade a read later.
    sqlx::query("UPDATE text_index_state SET next_seq = next_seq WHERE id = 1")
        .execute(&mut *connection)
        .await?;
    let (next_seq, pruned_below, last_hash): (i64, i64, Option<String>) =
        sqlx::query_as("SELECT next_seq, pruned_below, last_hash FROM text_index_state WHERE id = 1")
            .fetch_one(&mut *connection)
            .await?;
    let state = State {
        next_seq,
        pruned_below,
        last_hash,
    };
    let head: i64 = sqlx::query_scalar("SELECT next_seq FROM events.chain_head WHERE id = 1")
        .fetch_one(&mut *connection)
        .await?;
    if !belongs_to_database(&mut *connection, &state, head).await? {
        tracing::warn!("the free-text index does not match the database beside it; rebuilding it");
        sqlx::query("INSERT INTO audit_events_text (audit_events_text) VALUES ('delete-all')")
            .execute(&mut *connection)
            .await?;
        sqlx::query("UPDATE text_index_state SET next_seq = 0, pruned_below = 0, last_hash = NULL WHERE id = 1")
            .execute(&mut *connection)
            .await?;
        return Ok(Progress::MoreToDo);
    }
    let until = head.min(state.next_seq + EVENTS_PER_PASS);
    if until > state.next_seq {
        sqlx::query(&format!(
            "INSERT INTO audit_events_text (rowid, body) SELECT seq, {SQLITE_TEXT_EXPRESSION} \
             FROM events.audit_events WHERE seq >= ? AND seq < ?"
        ))
        .bind(state.next_seq)
        .bind(until)
        .execute(&mut *connection)
        .await?;
        reindex_erased(&mut *connection, &state, until).await?;
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
    let more = until < head || pruned_until > state.pruned_below;
    Ok(if more { Progress::MoreToDo } else { Progress::Current })
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
/// indexed before this pass (the others were just indexed as they are now).
async fn reindex_erased(connection: &mut SqliteConnection, state: &State, until: i64) -> Result<(), sqlx::Error> {
    let records: Vec<String> = sqlx::query_scalar(
        "SELECT metadata FROM events.audit_events \
         WHERE action = ? AND seq >= ? AND seq < ? AND metadata IS NOT NULL",
    )
    .bind(dezky_chain::verify::ERASURE_ACTION)
    .bind(state.next_seq)
    .bind(until)
    .fetch_all(&mut *connection)
    .await?;
    for metadata in records {
        let Ok(metadata) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&metadata) else {
            continue;
        };
        for (first, last) in dezky_chain::verify::erased_ranges(&metadata) {
            let first = i64::try_from(first).unwrap_or(i64::MAX).max(state.pruned_below);
            let last = i64::try_from(last).unwrap_or(i64::MAX).min(state.next_seq - 1);
            if first > last {
                continue;
            }
            for seq in first..=last {
                sqlx::query("DELETE FROM audit_events_text WHERE rowid = ?")
                    .bind(seq)
                    .execute(&mut *connection)
                    .await?;
            }
            sqlx::query(&format!(
                "INSERT INTO audit_events_text (rowid, body) SELECT seq, {SQLITE_TEXT_EXPRESSION} \
                 FROM events.audit_events WHERE seq >= ? AND seq <= ?"
            ))
            .bind(first)
            .bind(last)
            .execute(&mut *connection)
            .await?;
        }
    }
    Ok(())
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
    for seq in state.pruned_below..until {
        sqlx::query("DELETE FROM audit_events_text WHERE rowid = ?")
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    Ok(until.max(state.pruned_below))
}
