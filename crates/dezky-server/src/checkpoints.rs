//! Making signed checkpoints, and the worker that makes them on schedule.
//!
//! A checkpoint signs (origin, tree size, root) for the log as it stands. Several instances may
//! run the worker at once: each computes the same root for the same size from the same stored
//! nodes, and the store keeps one checkpoint per size, so they agree instead of racing.

use crate::clock::Clock;
use crate::signing::AuditSigner;
use dezky_chain::checkpoint::{Checkpoint, sign_checkpoint};
use dezky_chain::merkle::{Hash, fold_range, range_nodes};
use dezky_store::{CheckpointInsert, CheckpointRecord, NewCheckpoint, Store, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Startup,
    Interval,
    Threshold,
    Manual,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Interval => "interval",
            Reason::Threshold => "threshold",
            Reason::Manual => "manual",
        }
    }
}

#[derive(Debug)]
pub enum CheckpointOutcome {
    /// A new checkpoint was signed and stored (or another instance stored the same one).
    Made(CheckpointRecord),
    /// Nothing new since the latest checkpoint (or the log is empty).
    NothingNew(Option<CheckpointRecord>),
}

pub struct Checkpointer {
    store: Arc<dyn Store>,
    signer: Arc<AuditSigner>,
    clock: Arc<dyn Clock>,
}

/// The Merkle root of the first `tree_size` events, from the stored perfect subtrees.
pub async fn root_at(store: &dyn Store, tree_size: u64) -> Result<Hash, StoreError> {
    let hashes = store.merkle_node_hashes(&range_nodes(0, tree_size)).await?;
    Ok(fold_range(&hashes))
}

impl Checkpointer {
    pub fn new(store: Arc<dyn Store>, signer: Arc<AuditSigner>, clock: Arc<dyn Clock>) -> Checkpointer {
        Checkpointer { store, signer, clock }
    }

    pub fn signer(&self) -> &AuditSigner {
        &self.signer
    }

    pub async fn make(&self, reason: Reason) -> Result<CheckpointOutcome, StoreError> {
        let head = self.store.chain_head().await?;
        let latest = self.store.latest_checkpoint().await?;
        if head.tree_size == 0 || latest.as_ref().is_some_and(|latest| latest.tree_size >= head.tree_size) {
            return Ok(CheckpointOutcome::NothingNew(latest));
        }
        let root = root_at(self.store.as_ref(), head.tree_size).await?;
        let checkpoint = Checkpoint {
            origin: self.signer.origin().to_owned(),
            tree_size: head.tree_size,
            root_hash: root,
        };
        let note = sign_checkpoint(&checkpoint, &self.signer.signer, self.signer.hmac());
        let record = NewCheckpoint {
            tree_size: head.tree_size,
            root_hash: hex::encode(root),
            note,
            head_seq: Some(head.tree_size - 1),
            head_hash: head.head_hash,
            at: self.clock.now(),
            reason: reason.as_str().to_owned(),
        };
        match self.store.insert_checkpoint(record.clone()).await? {
            CheckpointInsert::Stored | CheckpointInsert::AlreadyStored => Ok(CheckpointOutcome::Made(record)),
            CheckpointInsert::Conflicting { stored_root } => {
                tracing::error!(
                    tree_size = record.tree_size,
                    stored_root = %stored_root,
                    computed_root = %record.root_hash,
                    "a different checkpoint exists for this tree size: the log was changed, or instances disagree"
                );
                Err(StoreError::Conflict(format!(
                    "a checkpoint of tree size {} with another root exists",
                    record.tree_size
                )))
            }
        }
    }

    /// Makes a checkpoint at start, then whenever `every_events` new events accumulated or
    /// `interval` passed with new events, until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, interval: Duration, every_events: u64, shutdown: impl Future<Output = ()>) {
        let mut last_made = Instant::now();
        self.log_result(self.make(Reason::Startup).await);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {}
            }
            let (head, latest) = match (self.store.chain_head().await, self.store.latest_checkpoint().await) {
                (Ok(head), Ok(latest)) => (head, latest),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(error = %error, "checkpoint worker cannot read the log");
                    continue;
                }
            };
            let signed = latest.map_or(0, |latest| latest.tree_size);
            let new_events = head.tree_size.saturating_sub(signed);
            let reason = if new_events >= every_events {
                Reason::Threshold
            } else if new_events > 0 && last_made.elapsed() >= interval {
                Reason::Interval
            } else {
                continue;
            };
            self.log_result(self.make(reason).await);
            last_made = Instant::now();
        }
    }

    fn log_result(&self, result: Result<CheckpointOutcome, StoreError>) {
        match result {
            Ok(CheckpointOutcome::Made(record)) => {
                tracing::info!(tree_size = record.tree_size, root = %record.root_hash, reason = %record.reason, "checkpoint signed")
            }
            Ok(CheckpointOutcome::NothingNew(_)) => {}
            Err(error) => tracing::error!(error = %error, "checkpoint failed"),
        }
    }
}
