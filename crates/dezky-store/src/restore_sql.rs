//! The one implementation of [`crate::restore::RestoreStore`], expanded per backend next to
//! `implement_store!` (whose `append_in` and `DbConnection` it uses, so each restore or drop
//! commits with its audit event).

/// Columns of restored_events in insert order: the batch, then the event's columns.
pub(crate) const RESTORED_INSERT_ARITY: usize = 23;
/// Rows per multi-row INSERT: 23 × 400 parameters stays under both databases' limits.
pub(crate) const RESTORED_ROWS_PER_INSERT: usize = 400;

/// The event's column values in `EVENT_COLUMNS` order after seq, at and recordedAt.
pub(crate) fn restored_texts(event: &dezky_core::AuditEvent) -> [Option<String>; 19] {
    let slug = |value: &Option<dezky_core::Slug>| value.as_ref().map(|slug| slug.as_str().to_owned());
    [
        Some(event.actor_type.as_str().to_owned()),
        event.actor_id.clone(),
        event.actor_email.clone(),
        event.actor_ip.clone(),
        Some(event.action.as_str().to_owned()),
        Some(event.outcome.as_str().to_owned()),
        event.resource_type.clone(),
        event.resource_id.clone(),
        event.resource_name.clone(),
        slug(&event.tenant_slug),
        slug(&event.partner_slug),
        Some(event.source.as_str().to_owned()),
        event.external_id.clone(),
        // Stored like the hot table: NULL once erased.
        event
            .personal_salt
            .as_ref()
            .map(|_| serde_json::to_string(&event.metadata).unwrap_or_default()),
        event.prev_hash.clone(),
        event.hash.clone(),
        event.leaf_hash.clone(),
        event.personal_commitment.clone(),
        event.personal_salt.clone(),
    ]
}

macro_rules! implement_restore_store {
    ($store:ty, $dialect:expr, $head_lock_suffix:expr, $open_restore_gate:expr, $close_restore_gate:expr) => {
        mod restore_impl {
            use super::*;
            use $crate::filter_sql::{self, EventTable};
            use $crate::restore::{DropRestoredOutcome, RestoreOutcome, RestoredBatch};
            use $crate::restore_sql::{RESTORED_INSERT_ARITY, RESTORED_ROWS_PER_INSERT, restored_texts};

            /// The recorded batch's range and whether it has a restored copy, under the chain-head
            /// lock (taken first, as every writer of the evidence tables does).
            async fn batch_state(
                connection: &mut DbConnection,
                batch_id: &str,
            ) -> Result<Option<((i64, i64), bool)>, StoreError> {
                let head_sql = format!("{}{}", sql::SELECT_HEAD, $head_lock_suffix);
                sqlx::query(&head_sql).execute(&mut *connection).await?;
                let range: Option<(i64, i64)> =
                    sqlx::query_as("SELECT start_seq, end_seq FROM archive_batches WHERE id = $1")
                        .bind(batch_id)
                        .fetch_optional(&mut *connection)
                        .await?;
                let Some(range) = range else { return Ok(None) };
                let restored: Option<String> =
                    sqlx::query_scalar("SELECT batch_id FROM restored_batches WHERE batch_id = $1")
                        .bind(batch_id)
                        .fetch_optional(&mut *connection)
                        .await?;
                Ok(Some((range, restored.is_some())))
            }

            #[async_trait::async_trait]
            impl $crate::restore::RestoreStore for $store {
                async fn list_restored_batches(&self) -> Result<Vec<RestoredBatch>, StoreError> {
                    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                        "SELECT batch_id, restored_at_ms, event_count FROM restored_batches ORDER BY batch_id",
                    )
                    .fetch_all(self.db.pool())
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(batch_id, at, count)| RestoredBatch {
                            batch_id,
                            restored_at: Timestamp::from_millis(at),
                            event_count: count as u64,
                        })
                        .collect())
                }

                async fn restore_archive_batch(
                    &self,
                    batch_id: &str,
                    events: &[AuditEvent],
                    audit: NewAuditEvent,
                    now: Timestamp,
                ) -> Result<RestoreOutcome, StoreError> {
                    let mut write = self.db.begin_write().await?;
                    let Some(((start, end), restored)) = batch_state(&mut write.transaction, batch_id).await? else {
                        return Ok(RestoreOutcome::UnknownBatch);
                    };
                    if restored {
                        return Ok(RestoreOutcome::AlreadyRestored);
                    }
                    let exact = events.len() as i64 == end - start + 1
                        && events
                            .iter()
                            .zip(start..)
                            .all(|(event, seq)| to_i64(event.seq) == seq);
                    if !exact {
                        return Err(StoreError::Conflict(format!(
                            "the events to restore are not exactly seqs {start}..={end} of batch {batch_id}"
                        )));
                    }
                    sqlx::query($open_restore_gate)
                        .execute(&mut *write.transaction)
                        .await?;
                    sqlx::query(
                        "INSERT INTO restored_batches (batch_id, restored_at_ms, event_count) VALUES ($1, $2, $3)",
                    )
                    .bind(batch_id)
                    .bind(now.as_millis())
                    .bind(events.len() as i64)
                    .execute(&mut *write.transaction)
                    .await?;
                    for chunk in events.chunks(RESTORED_ROWS_PER_INSERT) {
                        let insert = format!(
                            "INSERT INTO restored_events (batch_id, {EVENT_COLUMNS}) VALUES {}",
                            sql::placeholders(chunk.len(), RESTORED_INSERT_ARITY, $dialect)
                        );
                        let mut query = sqlx::query(&insert);
                        for event in chunk {
                            query = query
                                .bind(batch_id)
                                .bind(to_i64(event.seq))
                                .bind(event.at.as_millis())
                                .bind(event.recorded_at.as_millis());
                            for text in restored_texts(event) {
                                query = query.bind(text);
                            }
                        }
                        query.execute(&mut *write.transaction).await?;
                    }
                    if !$close_restore_gate.is_empty() {
                        sqlx::query($close_restore_gate)
                            .execute(&mut *write.transaction)
                            .await?;
                    }
                    append_in(&mut write.transaction, &self.db.frontier_cache, &[&audit], now).await?;
                    write.transaction.commit().await?;
                    Ok(RestoreOutcome::Restored)
                }

                async fn drop_restored_batch(
                    &self,
                    batch_id: &str,
                    audit: NewAuditEvent,
                    now: Timestamp,
                ) -> Result<DropRestoredOutcome, StoreError> {
                    let mut write = self.db.begin_write().await?;
                    let Some((_, restored)) = batch_state(&mut write.transaction, batch_id).await? else {
                        return Ok(DropRestoredOutcome::UnknownBatch);
                    };
                    if !restored {
                        return Ok(DropRestoredOutcome::NotRestored);
                    }
                    sqlx::query($open_restore_gate)
                        .execute(&mut *write.transaction)
                        .await?;
                    let removed = sqlx::query("DELETE FROM restored_events WHERE batch_id = $1")
                        .bind(batch_id)
                        .execute(&mut *write.transaction)
                        .await?
                        .rows_affected();
                    sqlx::query("DELETE FROM restored_batches WHERE batch_id = $1")
                        .bind(batch_id)
                        .execute(&mut *write.transaction)
                        .await?;
                    if !$close_restore_gate.is_empty() {
                        sqlx::query($close_restore_gate)
                            .execute(&mut *write.transaction)
                            .await?;
                    }
                    append_in(&mut write.transaction, &self.db.frontier_cache, &[&audit], now).await?;
                    write.transaction.commit().await?;
                    Ok(DropRestoredOutcome::Dropped(removed))
                }

                async fn query_restored_events(
                    &self,
                    query: &AuditQuery,
                    limit: u32,
                ) -> Result<Vec<AuditEvent>, StoreError> {
                    let filter = filter_sql::build_for(query, $dialect, EventTable::Restored, None);
                    let select = format!(
                        "SELECT {EVENT_COLUMNS} FROM restored_events{} ORDER BY seq DESC LIMIT {limit}",
                        filter.where_clause()
                    );
                    let mut statement = sqlx::query_as::<_, EventRow>(&select);
                    for param in filter.params {
                        statement = match param {
                            filter_sql::Param::Int(value) => statement.bind(value),
                            filter_sql::Param::Text(value) => statement.bind(value),
                        };
                    }
                    statement
                        .fetch_all(self.db.pool())
                        .await?
                        .into_iter()
                        .map(AuditEvent::try_from)
                        .collect()
                }
            }
        }
    };
}

pub(crate) use implement_restore_store;
