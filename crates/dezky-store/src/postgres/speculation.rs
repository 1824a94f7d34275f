//! Speculative group commit: on PostgreSQL a group's rows are written beside the group before
//! it, and its transaction takes the chain head only to check and move it.
//!
//! Under the lock alone, PostgreSQL wrote one group at a time: one backend inserted the rows
//! and their index entries while the other core was mostly idle (perf, sixteenth session:
//! ~40 % of both cores idle during a bulk append). Here a group starts from the tip the group
//! before it published (`frontier_cache::Tip`, cached before that group commits) and, without
//! the lock:
//!
//! 1. reads which of its dedup keys are stored and computes seqs, hashes and Merkle nodes from
//!    the tip, then publishes its own tip (so the group after it can start);
//! 2. inserts its rows and Merkle nodes;
//! 3. waits until the group before it has settled, and gives up if that one did not commit;
//! 4. takes the chain head with `NOWAIT` and gives up unless the head is exactly the tip it
//!    started from (another instance, or an append inside another transaction, came between);
//! 5. records its searched values (`insert_text_values`, only ever under the lock), moves the
//!    head, commits.
//!
//! Giving up rolls the transaction back and writes the group under the lock instead
//! (`write_group_locked`), so the log is the same as without speculation: gapless seqs (the
//! primary key and the head check), one chain, no event written twice.
//!
//! Why the groups cannot wait on each other for ever (the rule `sequencer::GroupLink` states):
//! every wait of this transaction on a lock ends after `LOCK_TIMEOUT`, and it settles before its
//! group is written under the lock; so whatever waits on its rows (an append of another
//! instance, an `append_in` transaction, the group before it retried under the lock) waits at
//! most until it gives up. What keeps it from giving up in the common case: its seqs and Merkle
//! nodes come after the tip's; a dedup key of the tip's own group sends it under the lock, but
//! only once that group has settled (it would otherwise take the head first and write that
//! group's seqs); and the searched values wait for the lock. An `append_in` may replace the tip
//! between the group before publishing and this one peeking; then the two can overlap, and the
//! lock timeout decides.

use super::{PostgresDb, insert_events_and_nodes, insert_text_values, plan_group, stored_external_ids, update_head};
use crate::StoreError;
use crate::records::AppendReceipt;
use crate::seal::PersonalSeal;
use crate::sequencer::GroupLink;
use dezky_core::{NewAuditEvent, Timestamp};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// How long a speculative transaction waits for a lock held by someone else before giving up.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '100ms'";
const SELECT_HEAD_NOWAIT: &str =
    "SELECT next_seq, last_recorded_at_ms, head_hash FROM chain_head WHERE id = 1 FOR UPDATE NOWAIT";
/// Groups written under the lock after an attempt gave up: with a second instance appending,
/// most attempts would, and each costs its inserts.
const GROUPS_AFTER_GIVING_UP: u32 = 16;

/// When to try (not for a while after an attempt gave up), and how attempts went.
#[derive(Default)]
pub(crate) struct Backoff {
    groups_to_skip: AtomicU32,
    committed: AtomicU64,
    given_up: AtomicU64,
}

impl Backoff {
    pub(crate) fn stats(&self) -> crate::SpeculationStats {
        crate::SpeculationStats {
            committed: self.committed.load(Ordering::Relaxed),
            given_up: self.given_up.load(Ordering::Relaxed),
        }
    }

    fn may_try(&self) -> bool {
        self.groups_to_skip
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(1))
            .is_err()
    }

    fn gave_up(&self) {
        self.given_up.fetch_add(1, Ordering::Relaxed);
        self.groups_to_skip.store(GROUPS_AFTER_GIVING_UP, Ordering::Release);
    }
}

/// How an attempt ended when it did not fail at the commit.
pub(crate) enum Attempt {
    Committed(AppendReceipt),
    /// Rolled back (or never begun): the group is to be written under the lock.
    GaveUp,
}

impl PostgresDb {
    /// Writes the group speculatively when a tip is cached and no attempt gave up lately.
    /// `Err` only when the commit itself failed: then the group may or may not be in the log,
    /// and is not written again (see `sequencer`).
    pub(super) async fn write_group_speculatively(
        &self,
        events: &[&NewAuditEvent],
        seals: &[PersonalSeal],
        now: Timestamp,
        link: &mut GroupLink,
    ) -> Result<Attempt, StoreError> {
        if link.previous_failed() {
            return Ok(Attempt::GaveUp);
        }
        let Some(start) = self.frontier_cache.peek() else {
            return Ok(Attempt::GaveUp);
        };
        if events.iter().any(|event| start.holds_key_of(event)) {
            // Under the lock, but after the tip's group: before, this group would take the
            // head first and write that group's seqs, and make it give up.
            link.previous_committed().await;
            return Ok(Attempt::GaveUp);
        }
        if !self.speculation.may_try() {
            return Ok(Attempt::GaveUp);
        }
        let mut transaction = match self.pool.begin().await {
            Ok(transaction) => transaction,
            Err(_) => return Ok(Attempt::GaveUp),
        };
        let mut published = false;
        let before_commit = async {
            sqlx::query(LOCK_TIMEOUT).execute(&mut *transaction).await?;
            let stored = stored_external_ids(&mut transaction, events).await?;
            let planned = plan_group(&start, events, seals, &stored, now)?;
            self.frontier_cache.put(planned.end.clone());
            link.published();
            published = true;
            if planned.rows.is_empty() {
                // Every event is stored already (committed): the answer holds whatever the head
                // is, and the tip published is the previous group's, committed or not with it.
                let committed = link.previous_committed().await;
                return Ok(Some((planned.receipt, committed)));
            }
            insert_events_and_nodes(&mut transaction, &planned.rows, planned.recorded_at_ms, &planned.nodes).await?;
            if !link.previous_committed().await {
                return Ok(None);
            }
            let head: (i64, i64, String) = sqlx::query_as(SELECT_HEAD_NOWAIT).fetch_one(&mut *transaction).await?;
            if head
                != (
                    crate::event_row::to_i64(start.size),
                    start.last_recorded_ms,
                    start.head_hash.clone(),
                )
            {
                return Ok(None);
            }
            insert_text_values(&mut transaction, &planned.rows).await?;
            update_head(&mut transaction, &start, &planned.end).await?;
            Ok::<_, StoreError>(Some((planned.receipt, true)))
        };
        let ready = before_commit.await;
        let receipt = match ready {
            Ok(Some((receipt, false))) => {
                transaction.rollback().await.ok();
                link.settle(false);
                return Ok(Attempt::Committed(receipt));
            }
            Ok(Some((receipt, true))) => receipt,
            Ok(None) | Err(_) => {
                if let Err(error) = &ready {
                    tracing::debug!(%error, "speculative group commit gave up");
                }
                // At once, not when the connection is next used: a group retried under the
                // lock may be waiting for these rows to go.
                transaction.rollback().await.ok();
                if published {
                    link.settle(false);
                }
                self.speculation.gave_up();
                return Ok(Attempt::GaveUp);
            }
        };
        let committed = transaction.commit().await;
        link.settle(committed.is_ok());
        committed?;
        self.speculation.committed.fetch_add(1, Ordering::Relaxed);
        self.after_append_commit(receipt.appended_seqs().count());
        Ok(Attempt::Committed(receipt))
    }
}
