//! dezky's storage: one object-safe [`Store`] trait, two backends chosen by URL.
//!
//! Every method is one unit of work in one transaction. The audit log is append-only: the trait
//! has no method that updates or deletes an event, and triggers in both databases reject any
//! UPDATE or DELETE on the events table that bypasses the trait. Mutations that must be audited
//! (`create_api_token`, `revoke_api_token`, ...) take their audit event as an argument and commit
//! it in the same transaction as the change, so there is never one without the other.

pub mod archive;
mod archive_sql;
pub mod control;
mod control_rows;
mod control_sql;
pub mod dedup_key;
mod erasure_sql;
mod error;
mod event_row;
pub mod evidence;
mod filter_sql;
mod frontier_cache;
pub mod invites;
mod invites_sql;
pub mod maintenance;
mod pg_copy;
mod postgres;
mod records;
pub mod restore;
mod restore_sql;
mod seal;
mod sequencer;
mod sql;
mod sqlite;
mod sqlite_dedup;
mod text_index;
mod text_match;
mod workers;
mod workers_sql;

pub use archive::{ArchiveBatch, ArchiveRevision, ArchiveStore, RecordBatchOutcome};
pub use error::StoreError;
pub use evidence::{EvidenceColumn, EvidencePage, EvidenceRow};
pub use invites::{AcceptInvite, Invite, InviteAcceptance, InviteContext, InviteStore};
pub use maintenance::MaintenanceStore;
pub use records::{
    ApiToken, AppendOutcome, AppendReceipt, ChainHead, CheckpointInsert, CheckpointRecord, ColdErasure, ErasureOutcome,
    ErasureSubject, NewApiToken, NewCheckpoint, SpeculationStats, User, UserSighting,
};
pub use restore::{DropRestoredOutcome, RestoreOutcome, RestoreStore, RestoredBatch};
pub use workers::{CursorWrite, WorkerStore};

use async_trait::async_trait;
use dezky_chain::merkle::{Hash, NodeId};
use dezky_core::{AuditEvent, AuditQuery, NewAuditEvent, Timestamp, TokenHash};
use std::sync::Arc;
use std::time::Duration;

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One page of query results, newest first, and whether more events match below it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    pub has_more: bool,
}

#[async_trait]
pub trait Store:
    WorkerStore
    + control::ControlStore
    + invites::InviteStore
    + archive::ArchiveStore
    + restore::RestoreStore
    + maintenance::MaintenanceStore
    + Send
    + Sync
{
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations that have not run yet. Safe to call from two instances
    /// at once (the migrator takes a database lock).
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Appends events, in order, through the store's sequencer (group commit: concurrent calls
    /// share one transaction). An event whose `(source, externalId)` is already in the log (or
    /// earlier in the same batch) is skipped and reported as a duplicate: it consumes no `seq`,
    /// so `seq` stays gapless. `recordedAt` is `now`, raised if needed so that it never
    /// decreases along `seq`. Each event gets its salt, commitment, leaf, prevHash and hash,
    /// and the Merkle nodes it completes are stored. Returns after the commit.
    async fn append_events(&self, events: Vec<NewAuditEvent>, now: Timestamp) -> Result<AppendReceipt, StoreError>;

    /// Events matching the query, newest (highest `seq`) first, at most `query.limit`.
    async fn query_events(&self, query: &AuditQuery) -> Result<EventPage, StoreError>;

    async fn get_event(&self, seq: u64) -> Result<Option<AuditEvent>, StoreError>;

    /// Events with `seq > after` in ascending order, at most `limit` (for verification).
    async fn events_in_order(&self, after: Option<u64>, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;

    /// The same events as their raw stored values, packed for the verifier (see `evidence`):
    /// nothing is decoded or validated, so a changed row reaches the hash check.
    async fn evidence_page(&self, after: Option<u64>, limit: u32) -> Result<EvidencePage, StoreError>;

    /// The tree size (next seq) and the newest event's hash, read together.
    async fn chain_head(&self) -> Result<ChainHead, StoreError>;

    /// Hashes of stored perfect subtrees (level 0: leaf hashes), in the order asked.
    async fn merkle_node_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, StoreError>;

    /// Stores a checkpoint unless one of the same tree size exists (see [`CheckpointInsert`]).
    async fn insert_checkpoint(&self, checkpoint: NewCheckpoint) -> Result<CheckpointInsert, StoreError>;

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRecord>, StoreError>;

    async fn list_checkpoints(&self) -> Result<Vec<CheckpointRecord>, StoreError>;

    /// Erases the personal fields and salts of every not-yet-erased event of `subject` and, in
    /// the same transaction, records the archive batches `cold` rewrote, rewrites their
    /// restored copies, and appends the event `audit` builds from every erased seq (hot and
    /// archived). The only path that changes a stored event; hashes are untouched, so every
    /// proof stays valid. When nothing matches in either tier, nothing is written.
    async fn erase_personal_data(
        &self,
        subject: &ErasureSubject,
        cold: &ColdErasure,
        audit: &(dyn for<'s> Fn(&'s [u64]) -> NewAuditEvent + Sync),
        now: Timestamp,
    ) -> Result<ErasureOutcome, StoreError>;

    /// The next `seq` the log will assign (the number of events ever appended).
    async fn next_seq(&self) -> Result<u64, StoreError>;

    /// How many hot events SQLite's index file has not reached yet (searches scan them, so a
    /// lag costs query time, never correctness; archived events are neither indexed nor
    /// counted); `None` on PostgreSQL, which indexes inside the append transaction.
    async fn text_index_lag(&self) -> Result<Option<u64>, StoreError>;

    /// How this instance's speculative group commits went; `None` on SQLite, whose groups are
    /// always written one after another.
    fn speculation_stats(&self) -> Option<SpeculationStats>;

    async fn create_api_token(
        &self,
        token: NewApiToken,
        audit: NewAuditEvent,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError>;

    /// Revokes an active token and records `audit`; `None` (and nothing recorded) when no active
    /// token has that id.
    async fn revoke_api_token(
        &self,
        id: &str,
        audit: NewAuditEvent,
        now: Timestamp,
    ) -> Result<Option<ApiToken>, StoreError>;

    /// The active (not revoked) token with this hash.
    async fn find_active_api_token(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError>;

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Records that an OIDC subject was seen: creates the user (committing `audit_if_created` with
    /// it) on first sight, otherwise refreshes e-mail, name, groups and last-seen time. On first
    /// sight with a verified e-mail, the pending invitation for that address is consumed in the
    /// same transaction: `accept_invite` decides what it grants (see [`invites`]).
    async fn see_oidc_user(
        &self,
        sighting: UserSighting,
        audit_if_created: NewAuditEvent,
        accept_invite: AcceptInvite<'_>,
        now: Timestamp,
    ) -> Result<User, StoreError>;

    async fn find_users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError>;

    /// Sets `platformAdmin` on a user and records `audit` with the change.
    async fn set_platform_admin(
        &self,
        user_id: &str,
        platform_admin: bool,
        audit: NewAuditEvent,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError>;
}

/// How long opening a database may take before it is reported as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether this process keeps SQLite's index file up to date (`text_index`). PostgreSQL's
/// indexes are the database's own, so it ignores this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indexing {
    /// The server: an indexer task follows the appends.
    On,
    /// A command that only reads (`dezky verify`, `dezky config`): no indexer, so it neither
    /// writes the index file nor competes with the command for CPU (a whole-log verification
    /// of a database the index had not caught up with indexed it at the same time). Queries
    /// stay exact: they scan the events the index has not reached.
    Off,
}

/// Opens the store a URL names: `postgres://` or `postgresql://` selects PostgreSQL; `sqlite:`
/// or a plain file path selects SQLite (the file and its folder are created if missing).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, Indexing::On).await
}

/// `open`, saying whether SQLite's index file is kept up to date by this process.
pub async fn open_with(url: &str, indexing: Indexing) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else if url.contains("://") && !url.starts_with("sqlite:") {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(url, indexing).await?))
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://dezky:s3cret@db:5432/dezky"),
            "postgres://dezky:***@db:5432/dezky"
        );
        assert_eq!(redact_url("postgres://db/dezky"), "postgres://db/dezky");
        assert_eq!(redact_url("sqlite://data/dezky.db"), "sqlite://data/dezky.db");
    }
}
