//! Group commit: concurrent appends are gathered into one transaction.
//!
//! Every `append_events` call hands its batch to one task per store. The task takes whatever
//! is waiting (up to `MAX_GROUP_EVENTS`), appends it all in one transaction — one lock of the
//! chain head, one fsync — and then answers every caller. A caller is answered only after the
//! commit, so an acknowledged event is durable. If the combined transaction fails, every caller
//! in the group gets the error (nothing of the group was written, or — after an ambiguous commit
//! failure — it may have been: callers retry with their externalIds, which deduplicate).

use crate::error::StoreError;
use crate::records::AppendReceipt;
use crate::seal::{PersonalSeal, seal_all};
use async_trait::async_trait;
use dezky_core::{NewAuditEvent, Timestamp};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub(crate) const MAX_GROUP_EVENTS: usize = 10_000;

#[async_trait]
pub(crate) trait GroupWriter: Send + Sync + 'static {
    /// Appends the events in one transaction; `seals[i]` is `events[i]`'s personal seal.
    async fn write_group(
        &self,
        events: &[&NewAuditEvent],
        seals: &[PersonalSeal],
        now: Timestamp,
    ) -> Result<AppendReceipt, StoreError>;
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

impl Sequencer {
    pub(crate) fn start(writer: Arc<dyn GroupWriter>) -> Sequencer {
        let (sender, mut receiver) = mpsc::channel::<Request>(4_096);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                // Let writers that are about to send join this group: without this yield, the
                // group right after a commit holds only the fastest writer's events.
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
                commit_group(writer.as_ref(), group).await;
            }
        });
        Sequencer { sender }
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

async fn commit_group(writer: &dyn GroupWriter, group: Vec<Request>) {
    let now = group
        .iter()
        .map(|request| request.now)
        .max()
        .unwrap_or(Timestamp::from_millis(0));
    let all: Vec<&NewAuditEvent> = group.iter().flat_map(|request| request.events.iter()).collect();
    let seals: Vec<PersonalSeal> = group.iter().flat_map(|request| request.seals.iter().copied()).collect();
    let combined = writer.write_group(&all, &seals, now).await;
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
