//! Planner statistics the store keeps fresh itself.
//!
//! PostgreSQL plans every audit query from its statistics, and without them the plans are
//! disastrous: on a 10 M-event log never analysed since it was loaded, a free-text query for a
//! common word took 57 s instead of 30 ms (docs/PERFORMANCE.md). Autovacuum normally refreshes
//! them, but it can be switched off (it is on this project's test machine) or fall behind a
//! bulk ingest. So the store analyses its two large tables when they have changed by a tenth
//! since their last analysis, as autovacuum's default threshold would. SQLite's planner chooses
//! by the indexes alone here, so it has nothing to do.

use crate::error::StoreError;
use async_trait::async_trait;

#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Refreshes the statistics of the tables that changed a lot since their last analysis;
    /// returns the tables analysed (none when nothing was due, or on SQLite).
    async fn refresh_planner_statistics(&self) -> Result<Vec<String>, StoreError>;
}

/// The tables whose statistics drive the audit queries and proofs.
pub(crate) const ANALYSED_TABLES: [&str; 2] = ["audit_events", "merkle_nodes"];
