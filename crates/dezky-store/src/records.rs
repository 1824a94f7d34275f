//! Rows other than audit events: API tokens and users, and what an append reports.

use dezky_core::{Timestamp, TokenHash, TokenScope};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended { seq: u64 },
    Duplicate,
}

/// How this instance's speculative group commits went since it started (PostgreSQL; see
/// `postgres::speculation`): committed that way, or given up and written under the lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpeculationStats {
    pub committed: u64,
    pub given_up: u64,
}

/// What an append did, one outcome per submitted event, in submission order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendReceipt {
    pub outcomes: Vec<AppendOutcome>,
}

impl AppendReceipt {
    pub fn appended_seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.outcomes.iter().filter_map(|outcome| match outcome {
            AppendOutcome::Appended { seq } => Some(*seq),
            AppendOutcome::Duplicate => None,
        })
    }

    pub fn duplicates(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| matches!(outcome, AppendOutcome::Duplicate))
            .count()
    }

    pub fn first_seq(&self) -> Option<u64> {
        self.appended_seqs().next()
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.appended_seqs().last()
    }
}

#[derive(Clone, Debug)]
pub struct NewApiToken {
    pub id: String,
    pub name: String,
    pub hash: TokenHash,
    pub scope: TokenScope,
    /// Who created it: `cli`, `bootstrap`, or the creating principal's id.
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
}

/// An OIDC subject as a verified token presents it.
#[derive(Clone, Debug)]
pub struct UserSighting {
    /// The id to give the user if this is the first sight of the subject.
    pub new_user_id: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The provider vouches for `email` (`email_verified`): only then may it consume an invitation.
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub platform_admin: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A checkpoint to store: the signed note and the facts it was made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCheckpoint {
    pub tree_size: u64,
    pub root_hash: String,
    pub note: String,
    pub head_seq: Option<u64>,
    pub head_hash: String,
    pub at: Timestamp,
    pub reason: String,
}

pub type CheckpointRecord = NewCheckpoint;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointInsert {
    Stored,
    /// A checkpoint of this size with the same root exists already (another instance made it).
    AlreadyStored,
    /// A checkpoint of this size with a *different* root exists: refused (no equivocation).
    Conflicting {
        stored_root: String,
    },
}

/// The chain head: how many events the log holds and the newest event's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub tree_size: u64,
    pub head_hash: String,
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub erased_seqs: Vec<u64>,
    /// The seq of the `audit.erased` record; `None` when nothing matched (nothing was written).
    pub record_seq: Option<u64>,
}

/// Whose personal data to erase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErasureSubject {
    ActorId(String),
    /// Matched case-insensitively.
    ActorEmail(String),
}

/// The archived part of an erasure, prepared by the caller before the transaction: the batches
/// it rewrote (uploaded and confirmed) and the archived events it erased.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColdErasure {
    /// `(batch id, revision)` of every recorded batch the caller looked through. If the archive
    /// changed since (a new batch, another rewrite), the erasure is refused with
    /// `StoreError::Conflict` and must be prepared again: a batch it did not see could hold the
    /// subject's data.
    pub batches_seen: Vec<(String, u64)>,
    pub revisions: Vec<crate::archive::ArchiveRevision>,
    /// The archived events as they read after the erasure (personal fields and salt gone); also
    /// written over a restored copy of their batch.
    pub erased_events: Vec<dezky_core::AuditEvent>,
}
