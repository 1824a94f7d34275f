//! Rows other than audit events: API tokens and users, and what an append reports.

use dezky_core::{Timestamp, TokenHash, TokenScope};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended { seq: u64 },
    Duplicate,
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
