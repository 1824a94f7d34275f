//! Reading across tiers (`includeArchived=true`): hot events above the archive, then archived
//! batches, newest first, each archived event flagged.
//!
//! The archive is a prefix of the log (batches `0..=highestArchivedSeq`), so a newest-first read
//! takes hot rows above the archive first (a batch recorded but not yet deleted from hot storage
//! is read from the archive, never twice) and continues into the batches from the newest one.
//! A restored batch (`POST /api/v1/audit/archives/{id}/restore`) is read with SQL from its
//! restored copy. Any other batch is read whole from cold storage (checked against its recorded
//! SHA-256, decompressed, filtered in memory with the same filters as SQL), which costs seconds
//! for a full batch, so reading archived events is opt-in.

use crate::archive::cold::ColdStorage;
use crate::archive::read::{ArchiveReadError, read_batch_events};
use dezky_core::{AuditEvent, AuditQuery, Cursor};
use dezky_store::{ArchiveBatch, Store, StoreError};
use serde::Serialize;
use std::collections::HashSet;
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

/// The recorded batches and which of them have a restored copy.
struct Archive {
    batches: Vec<ArchiveBatch>,
    restored: HashSet<String>,
}

impl Tiers {
    async fn archive(&self) -> Result<Archive, TieredError> {
        let batches = self.store.list_archive_batches().await?;
        let restored = match batches.is_empty() {
            true => HashSet::new(),
            false => self
                .store
                .list_restored_batches()
                .await?
                .into_iter()
                .map(|restored| restored.batch_id)
                .collect(),
        };
        Ok(Archive { batches, restored })
    }

    /// The events of one batch that match `query` (filters, cursor), newest first, at most
    /// `limit`: from the restored copy when there is one, else from cold storage.
    async fn batch_events(
        &self,
        batch: &ArchiveBatch,
        restored: bool,
        query: &AuditQuery,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, TieredError> {
        let within = AuditQuery {
            min_seq: Some(batch.start_seq),
            before: Some(Cursor(
                query
                    .before
                    .map_or(batch.end_seq + 1, |cursor| cursor.0.min(batch.end_seq + 1)),
            )),
            ..query.clone()
        };
        if restored {
            let limit = u32::try_from(limit).unwrap_or(u32::MAX);
            return Ok(self.store.query_restored_events(&within, limit).await?);
        }
        let cold = self.cold.as_ref().ok_or(TieredError::NoColdStorage)?;
        let mut events = read_batch_events(cold, batch).await?;
        events.retain(|event| within.matches(event));
        events.reverse();
        events.truncate(limit);
        Ok(events)
    }

    /// Newest first, at most `query.limit` events below `query.before` from both tiers, and
    /// whether more match.
    pub async fn page(&self, query: &AuditQuery) -> Result<TieredPage, TieredError> {
        let limit = query.limit.get() as usize;
        let Archive { batches, restored } = self.archive().await?;
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
            // One event beyond the page says whether there are more.
            let wanted = limit + 1 - events.len();
            let found = self
                .batch_events(batch, restored.contains(&batch.id), query, wanted)
                .await?;
            events.extend(found.into_iter().map(TieredEvent::archived));
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
        batches: Vec<(ArchiveBatch, bool)>,
    },
    /// The whole log oldest first: the batches, then the hot rows above them.
    Ascending {
        batches: std::collections::VecDeque<(ArchiveBatch, bool)>,
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
        let archive = match include_archived {
            true => tiers.archive().await?,
            false => Archive {
                batches: vec![],
                restored: HashSet::new(),
            },
        };
        let highest = archive.batches.last().map(|batch| batch.end_seq);
        let batches: Vec<(ArchiveBatch, bool)> = archive
            .batches
            .into_iter()
            .map(|batch| {
                let restored = archive.restored.contains(&batch.id);
                (batch, restored)
            })
            .collect();
        // Refused before the response starts, not half-way through it.
        if tiers.cold.is_none() && batches.iter().any(|(_, restored)| !restored) {
            return Err(TieredError::NoColdStorage);
        }
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
                batches: batches
                    .into_iter()
                    .filter(|(batch, _)| batch.start_seq < before)
                    .collect(),
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
                let Some((batch, restored)) = batches.pop() else {
                    return Ok(None);
                };
                let events = tiers.batch_events(&batch, restored, query, usize::MAX).await?;
                Ok(Some(events.into_iter().map(TieredEvent::archived).collect()))
            }
            TieredExport::Ascending { batches, after, end } => {
                if let Some((batch, restored)) = batches.pop_front() {
                    let mut events = tiers
                        .batch_events(&batch, restored, &AuditQuery::default(), usize::MAX)
                        .await?;
                    events.reverse();
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
