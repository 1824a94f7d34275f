//! Group commit: concurrent appends are gathered into one transaction.
//!
//! Every `append_events` call hands its batch to one loop per store (a task, or for SQLite a
//! thread of its own: see `Placement`). The loop takes whatever is waiting (up to
//! `MAX_GROUP_EVENTS`), appends it all in one transaction — one lock of the chain head, one
//! fsync — and then answers every caller. A caller is answered only after the commit, so an
//! acknowledged event is durable. If the combined transaction fails, every caller in the group
//! gets the error (nothing of the group was written, or — after an ambiguous commit failure — it
//! may have been: callers retry with their externalIds, which deduplicate).

use crate::error::StoreError;
use crate::records::AppendReceipt;
use crate::seal::{PersonalSeal, seal_all};
use async_trait::async_trait;
use dezky_core::{NewAuditEvent, Timestamp};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

pub(crate) const MAX_GROUP_EVENTS: usize = 10_000;
/// Groups being written at once at most: one committing while the next one is written beside
/// it (PostgreSQL, see `GroupLink`). A third would only wait for the chain head too.
const MAX_GROUPS_IN_FLIGHT: usize = 2;

#[async_trait]
pub(crate) trait GroupWriter: Send + Sync + 'static {
    /// Appends the events in one transaction; `seals[i]` is `events[i]`'s personal seal.
    async fn write_group(
        &self,
        events: &[&NewAuditEvent],
        seals: &[PersonalSeal],
        now: Timestamp,
        link: &mut GroupLink,
    ) -> Result<AppendReceipt, StoreError>;

    /// Whether a group can be written beside the one before it (see `GroupLink`). If not, the
    /// loop writes each group itself and gathers the next one after it.
    fn pipelines(&self) -> bool;
}

/// How long a group waits for the group before it to settle. Only a safety net: every path of
/// a group that has published either has nothing left but its commit, or bounds each of its
/// database waits and settles before it retries (see `GroupLink`); a wait this long means
/// that rule was broken, and answering "not committed" breaks the cycle instead of hanging.
const PREVIOUS_SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a group being written tells the loop and the group after it.
///
/// The loop gathers the next group once this one has *published* its tip (its seqs, hashes and
/// Merkle frontier are computed and cached, `frontier_cache::Tip`), so on PostgreSQL the next
/// group can compute and insert its rows from that tip while this one still writes or commits
/// (`postgres::speculation`). Before it commits, the next group asks whether this group's tip
/// was committed (`previous_committed`) and gives up its attempt if not. A writer that does not
/// pipeline (SQLite: one writer connection) has each group written by the loop itself, one
/// after another, with a detached link.
///
/// The rule that keeps the two from waiting on each other for ever: once a group has published,
/// either only its commit is left, or each of its waits in the database is bounded
/// (`lock_timeout`) and it settles (`settle(false)`) before it writes anything under the lock.
pub(crate) struct GroupLink {
    published: Option<oneshot::Sender<()>>,
    settled: Option<oneshot::Sender<bool>>,
    previous: Previous,
}

/// The answer of the group before, as far as it is known.
enum Previous {
    /// None was in flight, or its answer was read.
    Known(bool),
    Awaited(oneshot::Receiver<bool>),
}

impl GroupLink {
    /// A link nobody listens to.
    pub(crate) fn detached() -> GroupLink {
        GroupLink {
            published: None,
            settled: None,
            previous: Previous::Known(true),
        }
    }

    /// The group's tip is in the cache: the loop may gather the next group.
    pub(crate) fn published(&mut self) {
        if let Some(published) = self.published.take() {
            let _ = published.send(());
        }
    }

    /// Whether the tip this group published first was committed (only the first answer
    /// counts: a retry after a failed attempt publishes a tip nobody started from).
    pub(crate) fn settle(&mut self, committed: bool) {
        self.published();
        if let Some(settled) = self.settled.take() {
            let _ = settled.send(committed);
        }
    }

    /// Whether the group before this one is already known not to have committed its tip (a
    /// look, no wait).
    pub(crate) fn previous_failed(&mut self) -> bool {
        if let Previous::Awaited(receiver) = &mut self.previous {
            match receiver.try_recv() {
                Ok(committed) => self.previous = Previous::Known(committed),
                Err(oneshot::error::TryRecvError::Closed) => self.previous = Previous::Known(false),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
        }
        matches!(self.previous, Previous::Known(false))
    }

    /// Whether the group before this one committed the tip it published; `true` when none was
    /// in flight as this group was gathered. Waits for that group's answer (at most
    /// `PREVIOUS_SETTLE_TIMEOUT`, then `false`).
    pub(crate) async fn previous_committed(&mut self) -> bool {
        let committed = match &mut self.previous {
            Previous::Known(committed) => *committed,
            Previous::Awaited(receiver) => match tokio::time::timeout(PREVIOUS_SETTLE_TIMEOUT, receiver).await {
                Ok(answer) => answer.unwrap_or(false),
                Err(_) => {
                    tracing::warn!("the previous group commit did not settle in time; this one does not build on it");
                    false
                }
            },
        };
        self.previous = Previous::Known(committed);
        committed
    }
}

struct Request {
    events: Vec<NewAuditEvent>,
    seals: Vec<PersonalSeal>,
    now: Timestamp,
    reply: oneshot::Sender<Result<AppendReceipt, StoreError>>,
}

pub(crate) struct Sequencer {
    sender: mpsc::Sender<Request>,
}

/// Where the sequencer's loop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// A task on the caller's runtime.
    CallerRuntime,
    /// A thread of its own, with a single-threaded runtime. The loop is the append path's
    /// critical section: between the writer's statements it hashes the group's leaves and
    /// builds the next statement, and as a task it waited in the runtime's queue behind every
    /// request being parsed and sealed while the writer's connection stood idle. As a thread
    /// the kernel gives it its share of the cores. For SQLite only: its connections step
    /// statements on worker threads of their own, while a PostgreSQL connection's socket
    /// belongs to the runtime that opened it. Both ways of moving PostgreSQL's loop measured
    /// slower: answers crossing runtimes, and a pool of the thread's own
    /// (docs/PERFORMANCE.md, "Fifteenth session").
    OwnThread,
}

impl Sequencer {
    pub(crate) async fn start(writer: Arc<dyn GroupWriter>, placement: Placement) -> Result<Sequencer, StoreError> {
        let (sender, receiver) = mpsc::channel::<Request>(4_096);
        match placement {
            Placement::CallerRuntime => {
                tokio::spawn(run(writer, receiver));
            }
            Placement::OwnThread => {
                let failed =
                    |error: std::io::Error| StoreError::Conflict(format!("the sequencer cannot start: {error}"));
                // The runtime is built on the thread and dropped there: a runtime dropped in an
                // async context panics. The thread ends when every sender is gone, i.e. with the
                // store.
                let (ready, started) = oneshot::channel();
                std::thread::Builder::new()
                    .name("dezky-sequencer".into())
                    .spawn(
                        move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                            Ok(runtime) => {
                                let _ = ready.send(Ok(()));
                                runtime.block_on(run(writer, receiver));
                            }
                            Err(error) => {
                                let _ = ready.send(Err(error));
                            }
                        },
                    )
                    .map_err(failed)?;
                started
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the thread stopped")))
                    .map_err(failed)?;
            }
        }
        Ok(Sequencer { sender })
    }

    /// Seals the events here, in the caller's task (see `seal`), then queues them.
    pub(crate) async fn append(&self, events: Vec<NewAuditEvent>, now: Timestamp) -> Result<AppendReceipt, StoreError> {
        let seals = seal_all(&events);
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request {
                events,
                seals,
                now,
                reply,
            })
            .await
            .map_err(|_| StoreError::Conflict("the sequencer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Conflict("the sequencer dropped the request".into()))?
    }
}

/// Takes whatever is waiting, commits it as one group, answers its callers; until the store
/// (every sender) is gone. For a writer that pipelines, each group is written by a task of its
/// own and the next group is gathered once the current one has published its tip (see
/// `GroupLink`), with at most `MAX_GROUPS_IN_FLIGHT` being written.
async fn run(writer: Arc<dyn GroupWriter>, mut receiver: mpsc::Receiver<Request>) {
    let in_flight = Arc::new(Semaphore::new(MAX_GROUPS_IN_FLIGHT));
    let mut previous: Option<oneshot::Receiver<bool>> = None;
    while let Some(first) = receiver.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        // On the caller's runtime, let writers that are about to send join this group: without
        // this yield, the group right after a commit holds only the fastest writer's events. On
        // a thread of its own it lets the previous group's connection go back to its pool first
        // (sqlx gives a pooled connection back through a task spawned on the current runtime,
        // here this thread's, which runs whenever the loop waits).
        tokio::task::yield_now().await;
        let mut count = first.events.len();
        let mut group = vec![first];
        while count < MAX_GROUP_EVENTS {
            match receiver.try_recv() {
                Ok(request) => {
                    count += request.events.len();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        if !writer.pipelines() {
            commit_group(writer.as_ref(), group, &mut GroupLink::detached()).await;
            drop(permit);
            continue;
        }
        let (published, on_published) = oneshot::channel();
        let (settled, on_settled) = oneshot::channel();
        let mut link = GroupLink {
            published: Some(published),
            settled: Some(settled),
            previous: previous
                .replace(on_settled)
                .map_or(Previous::Known(true), Previous::Awaited),
        };
        let writer = writer.clone();
        tokio::spawn(async move {
            commit_group(writer.as_ref(), group, &mut link).await;
            drop(permit);
        });
        // Err: the group ended without publishing (its sender is gone).
        let _ = on_published.await;
    }
    // The groups still being written finish before the loop (and, on its own thread, the
    // runtime that runs them) ends.
    let _ = in_flight.acquire_many(MAX_GROUPS_IN_FLIGHT as u32).await;
}

async fn commit_group(writer: &dyn GroupWriter, group: Vec<Request>, link: &mut GroupLink) {
    let now = group
        .iter()
        .map(|request| request.now)
        .max()
        .unwrap_or(Timestamp::from_millis(0));
    let all: Vec<&NewAuditEvent> = group.iter().flat_map(|request| request.events.iter()).collect();
    let seals: Vec<PersonalSeal> = group.iter().flat_map(|request| request.seals.iter().copied()).collect();
    let combined = writer.write_group(&all, &seals, now, link).await;
    drop(all);
    match combined {
        Ok(receipt) => {
            let mut outcomes = receipt.outcomes.into_iter();
            for request in group {
                let mine = outcomes.by_ref().take(request.events.len()).collect();
                let _ = request.reply.send(Ok(AppendReceipt { outcomes: mine }));
            }
        }
        Err(error) => {
            // Not retried one by one: a commit that failed ambiguously (the connection dropped
            // after the server committed) would then be written twice. Every caller gets the
            // error; ingest callers may retry safely, their externalIds deduplicate.
            let message = error.to_string();
            tracing::error!(error = %message, requests = group.len(), "group commit failed");
            for request in group {
                let _ = request
                    .reply
                    .send(Err(StoreError::Conflict(format!("append failed: {message}"))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(
        previous: Option<oneshot::Receiver<bool>>,
    ) -> (GroupLink, oneshot::Receiver<()>, oneshot::Receiver<bool>) {
        let (published, on_published) = oneshot::channel();
        let (settled, on_settled) = oneshot::channel();
        let link = GroupLink {
            published: Some(published),
            settled: Some(settled),
            previous: previous.map_or(Previous::Known(true), Previous::Awaited),
        };
        (link, on_published, on_settled)
    }

    #[tokio::test]
    async fn a_group_learns_how_the_one_before_it_settled() {
        let (mut first, mut first_published, first_settled) = linked(None);
        let (mut second, _, _) = linked(Some(first_settled));
        assert!(first_published.try_recv().is_err(), "nothing published yet");
        assert!(!second.previous_failed(), "not known yet");
        first.settle(false);
        first.settle(true);
        assert!(first_published.try_recv().is_ok(), "settling publishes");
        assert!(second.previous_failed(), "only the first answer counts");
        assert!(!second.previous_committed().await);
    }

    #[tokio::test]
    async fn a_group_before_that_ended_without_answering_did_not_commit() {
        let (first, _, first_settled) = linked(None);
        let (mut second, _, _) = linked(Some(first_settled));
        drop(first);
        assert!(!second.previous_committed().await);
        let (mut alone, _, _) = linked(None);
        assert!(!alone.previous_failed());
        assert!(alone.previous_committed().await, "none in flight");
        let (mut first, _, first_settled) = linked(None);
        let (mut second, _, _) = linked(Some(first_settled));
        first.settle(true);
        assert!(second.previous_committed().await);
    }
}
