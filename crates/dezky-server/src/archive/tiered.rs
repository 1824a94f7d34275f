//! Reading across tiers (`includeArchived=true`): hot events above the archive, then archived
//! batches, newest first, each archived event flagged.
//!
//! The archive is a prefix of the log (batches `0..=highestArchivedSeq`), so a newest-first read
//! takes hot rows above the archive first (a batch recorded but not yet deleted from hot storage
//! is read from the archive, never twice) and continues into the batches from the newest one.
//! A batch is read whole: from cold storage (checked against its recorded SHA-256, decompressed,
//! filtered in memory with the same filters as SQL), which costs seconds for a full batch, so it
//! is opt-in.

use crate::archive::cold::ColdStorage;
use crate::archive::read::{ArchiveReadError, read_batch_events};
use dezky_core::{AuditEvent, AuditQuery, Cursor};
use dezky_store::{ArchiveBatch, Store, StoreError};
use serde::Serialize;
use std::sync::Arc;

/// An event of a tiered read: `"archived": true` when it came from an archive batch (the field
/// is absent for hot events, so a hot-only response is unchanged).
#[derive(Clone, Debug, Serialize)]
pub struct TieredEvent {
    #[serde(flatten)]
    pub event: AuditEvent,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

impl TieredEvent {
    pub fn hot(event: AuditEvent) -> TieredEvent {
        TieredEvent { event, archived: false }
    }

    pub fn archived(event: AuditEvent) -> TieredEvent {
        TieredEvent { event, archived: true }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TieredError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveReadError),
    #[error(
        "archived events cannot be read: no cold storage is configured (set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT)"
    )]
    NoColdStorage,
}

/// Both tiers, cheap to clone.
#[derive(Clone)]
pub struct Tiers {
    pub store: Arc<dyn Store>,
    pub cold: Option<ColdStorage>,
}

/// A page of a tiered read.
pub struct TieredPage {
    pub events: Vec<TieredEvent>,
    pub has_more: bool,
}

impl Tiers {
    /// Every event of one batch that matches `query` (filters, cursor and `min_seq`), in seq
    /// order.
    pub async fn batch_events(&self, batch: &ArchiveBatch, query: &AuditQuery) -> Result<Vec<AuditEvent>, TieredError> {
        let cold = self.cold.as_ref().ok_or(TieredError::NoColdStorage)?;
        let mut events = read_batch_events(cold, batch).await?;
        events.retain(|event| query.matches(event));
        Ok(events)
    }

    /// Newest first, at most `query.limit` events below `query.before` from both tiers, and
    /// whether more match.
    pub async fn page(&self, query: &AuditQuery) -> Result<TieredPage, TieredError> {
        let limit = query.limit.get() as usize;
        let batches = self.store.list_archive_batches().await?;
        let highest = batches.last().map(|batch| batch.end_seq);
        let hot_query = AuditQuery {
            min_seq: highest.map(|seq| seq + 1),
            ..query.clone()
        };
        let hot = self.store.query_events(&hot_query).await?;
        let mut events: Vec<TieredEvent> = hot.events.into_iter().map(TieredEvent::hot).collect();
        if hot.has_more {
            return Ok(TieredPage { events, has_more: true });
        }
        let before = query.before.map_or(u64::MAX, |cursor| cursor.0);
        for batch in batches.iter().rev().filter(|batch| batch.start_seq < before) {
            let mut found = self.batch_events(batch, query).await?;
            found.reverse();
            // One event beyond the page says whether there are more.
            events.extend(
                found
                    .into_iter()
                    .take(limit + 1 - events.len())
                    .map(TieredEvent::archived),
            );
            if events.len() > limit {
                events.truncate(limit);
                return Ok(TieredPage { events, has_more: true });
            }
        }
        Ok(TieredPage {
            events,
            has_more: false,
        })
    }
}

/// `desc` (default): newest first, with filters. `asc`: the whole log oldest first, the order
/// `dezky verify --jsonl` reads, and no filters (a filtered log cannot be verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportOrder {
    Descending,
    Ascending,
}

/// Where a streaming export across tiers stands.
pub enum TieredExport {
    /// Newest first: hot pages above the archive, then the batches from the newest one.
    Descending {
        query: AuditQuery,
        hot_done: bool,
        batches: Vec<ArchiveBatch>,
    },
    /// The whole log oldest first: the batches, then the hot rows above them.
    Ascending {
        batches: std::collections::VecDeque<ArchiveBatch>,
        after: Option<u64>,
        /// The log's size when the export began.
        end: u64,
    },
}

impl TieredExport {
    /// `query.limit` is the hot page size; `end` the log's size when the export began. Without
    /// `include_archived` only the hot tier is read (no batch is listed).
    pub async fn start(
        tiers: &Tiers,
        query: AuditQuery,
        order: ExportOrder,
        include_archived: bool,
        end: u64,
    ) -> Result<TieredExport, TieredError> {
        let batches = match include_archived {
            true => tiers.store.list_archive_batches().await?,
            false => vec![],
        };
        if !batches.is_empty() && tiers.cold.is_none() {
            return Err(TieredError::NoColdStorage);
        }
        let highest = batches.last().map(|batch| batch.end_seq);
        Ok(if order == ExportOrder::Ascending {
            TieredExport::Ascending {
                batches: batches.into(),
                after: highest,
                end,
            }
        } else {
            let before = query.before.map_or(u64::MAX, |cursor| cursor.0);
            TieredExport::Descending {
                query: AuditQuery {
                    min_seq: highest.map(|seq| seq + 1),
                    ..query
                },
                hot_done: false,
                batches: batches.into_iter().filter(|batch| batch.start_seq < before).collect(),
            }
        })
    }

    /// The next chunk of events; `None` when the export is complete.
    pub async fn next_chunk(&mut self, tiers: &Tiers) -> Result<Option<Vec<TieredEvent>>, TieredError> {
        match self {
            TieredExport::Descending {
                query,
                hot_done,
                batches,
            } => {
                if !*hot_done {
                    let page = tiers.store.query_events(query).await?;
                    *hot_done = !page.has_more;
                    if let Some(last) = page.events.last() {
                        query.before = Some(Cursor(last.seq));
                    }
                    return Ok(Some(page.events.into_iter().map(TieredEvent::hot).collect()));
                }
                let Some(batch) = batches.pop() else { return Ok(None) };
                // The hot query's lower bound is not a filter of the archive.
                let filter = AuditQuery {
                    min_seq: None,
                    ..query.clone()
                };
                let mut events = tiers.batch_events(&batch, &filter).await?;
                events.reverse();
                Ok(Some(events.into_iter().map(TieredEvent::archived).collect()))
            }
            TieredExport::Ascending { batches, after, end } => {
                if let Some(batch) = batches.pop_front() {
                    let events = tiers.batch_events(&batch, &AuditQuery::default()).await?;
                    return Ok(Some(events.into_iter().map(TieredEvent::archived).collect()));
                }
                if after.is_some_and(|after| after + 1 >= *end) || *end == 0 {
                    return Ok(None);
                }
                let mut events = tiers
                    .store
                    .events_in_order(*after, dezky_core::Limit::export_page().get())
                    .await?;
                events.retain(|event| event.seq < *end);
                match events.last() {
                    Some(last) => *after = Some(last.seq),
                    None => return Ok(None),
                }
                Ok(Some(events.into_iter().map(TieredEvent::hot).collect()))
            }
        }
    }
}
