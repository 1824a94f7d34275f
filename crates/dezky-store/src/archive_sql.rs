//! The one implementation of [`crate::archive::ArchiveStore`], expanded per backend next to
//! `implement_store!` (whose `append_in` and `DbConnection` it uses, so the `audit.archived`
//! event commits with the delete).

macro_rules! implement_archive_store {
    ($store:ty, $head_lock_suffix:expr, $open_archive_gate:expr, $close_archive_gate:expr) => {
        mod archive_impl {
            use super::*;
            use $crate::archive::{ArchiveBatch, ArchiveBatchRow, ArchivedEventBuilder, RecordBatchOutcome, ARCHIVE_BATCH_COLUMNS, ARCHIVE_BATCH_SELECT};

            async fn batch_in(connection: &mut DbConnection, id: &str) -> Result<Option<ArchiveBatch>, StoreError> {
                let select = format!("SELECT {ARCHIVE_BATCH_SELECT} FROM archive_batches_current WHERE id = $1");
                Ok(sqlx::query_as::<_, ArchiveBatchRow>(&select).bind(id).fetch_optional(&mut *connection).await?.map(Into::into))
            }

            #[async_trait::async_trait]
            impl $crate::archive::ArchiveStore for $store {
                async fn list_archive_batches(&self) -> Result<Vec<ArchiveBatch>, StoreError> {
                    let select = format!("SELECT {ARCHIVE_BATCH_SELECT} FROM archive_batches_current ORDER BY start_seq");
                    Ok(sqlx::query_as::<_, ArchiveBatchRow>(&select)
                        .fetch_all(self.db.pool())
                        .await?
                        .into_iter()
                        .map(Into::into)
                        .collect())
                }

                async fn get_archive_batch(&self, id: &str) -> Result<Option<ArchiveBatch>, StoreError> {
                    let mut connection = self.db.pool().acquire().await?;
                    batch_in(&mut connection, id).await
                }

                async fn oldest_hot_seq(&self) -> Result<Option<u64>, StoreError> {
                    let seq: Option<i64> =
                        sqlx::query_scalar("SELECT MIN(seq) FROM audit_events").fetch_one(self.db.pool()).await?;
                    Ok(seq.map(|seq| seq as u64))
                }

                async fn first_seq_recorded_since(&self, since: Timestamp) -> Result<Option<u64>, StoreError> {
                    let seq: Option<i64> = sqlx::query_scalar(
                        "SELECT seq FROM audit_events WHERE recorded_at_ms >= $1 ORDER BY recorded_at_ms, seq LIMIT 1",
                    )
                    .bind(since.as_millis())
                    .fetch_optional(self.db.pool())
                    .await?;
                    Ok(seq.map(|seq| seq as u64))
                }

                async fn record_archive_batch(&self, batch: ArchiveBatch) -> Result<RecordBatchOutcome, StoreError> {
                    let mut write = self.db.begin_write().await?;
                    // The chain head serialises recorders (and deleters) across instances.
                    let head_sql = format!("{}{}", sql::SELECT_HEAD, $head_lock_suffix);
                    sqlx::query(&head_sql).execute(&mut *write.transaction).await?;
                    let select = format!("SELECT {ARCHIVE_BATCH_SELECT} FROM archive_batches_current WHERE start_seq = $1");
                    let existing = sqlx::query_as::<_, ArchiveBatchRow>(&select)
                        .bind(to_i64(batch.start_seq))
                        .fetch_optional(&mut *write.transaction)
                        .await?;
                    if let Some(existing) = existing {
                        return Ok(RecordBatchOutcome::AlreadyRecorded(Box::new(existing.into())));
                    }
                    let last_end: Option<i64> = sqlx::query_scalar("SELECT MAX(end_seq) FROM archive_batches")
                        .fetch_one(&mut *write.transaction)
                        .await?;
                    let expected_start = last_end.map_or(0, |end| end as u64 + 1);
                    if batch.start_seq != expected_start {
                        return Err(StoreError::Conflict(format!(
                            "an archive batch must start at seq {expected_start}, not {}",
                            batch.start_seq
                        )));
                    }
                    let next_seq: i64 = sqlx::query_scalar(sql::SELECT_NEXT_SEQ).fetch_one(&mut *write.transaction).await?;
                    if batch.end_seq < batch.start_seq || to_i64(batch.end_seq) >= next_seq {
                        return Err(StoreError::Conflict(format!(
                            "seqs {}..={} are not a range of the log",
                            batch.start_seq, batch.end_seq
                        )));
                    }
                    sqlx::query(&format!(
                        "INSERT INTO archive_batches ({ARCHIVE_BATCH_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    ))
                    .bind(&batch.id)
                    .bind(to_i64(batch.start_seq))
                    .bind(to_i64(batch.end_seq))
                    .bind(to_i64(batch.event_count))
                    .bind(to_i64(batch.erased_events))
                    .bind(to_i64(batch.bytes_compressed))
                    .bind(to_i64(batch.bytes_uncompressed))
                    .bind(&batch.data_sha256)
                    .bind(&batch.manifest_sha256)
                    .bind(&batch.data_key)
                    .bind(&batch.manifest_key)
                    .bind(batch.archived_at.as_millis())
                    .execute(&mut *write.transaction)
                    .await?;
                    write.transaction.commit().await?;
                    Ok(RecordBatchOutcome::Recorded)
                }

                async fn delete_archived_events(
                    &self,
                    batch_id: &str,
                    audit: &ArchivedEventBuilder,
                    now: Timestamp,
                ) -> Result<u64, StoreError> {
                    let mut write = self.db.begin_write().await?;
                    let head_sql = format!("{}{}", sql::SELECT_HEAD, $head_lock_suffix);
                    sqlx::query(&head_sql).execute(&mut *write.transaction).await?;
                    let batch = batch_in(&mut write.transaction, batch_id)
                        .await?
                        .ok_or_else(|| StoreError::Conflict(format!("no archive batch {batch_id} is recorded")))?;
                    let (start, end) = (to_i64(batch.start_seq), to_i64(batch.end_seq));
                    let (hot, erased): (i64, i64) = sqlx::query_as(
                        "SELECT COUNT(*), COUNT(*) - COUNT(personal_salt) FROM audit_events WHERE seq BETWEEN $1 AND $2",
                    )
                    .bind(start)
                    .bind(end)
                    .fetch_one(&mut *write.transaction)
                    .await?;
                    if hot == 0 {
                        return Ok(0);
                    }
                    if hot as u64 != batch.event_count {
                        return Err(StoreError::Conflict(format!(
                            "only {hot} of the {} events of archive batch {batch_id} are hot",
                            batch.event_count
                        )));
                    }
                    if erased as u64 != batch.erased_events {
                        return Err(StoreError::Conflict(format!(
                            "events of archive batch {batch_id} were erased after it was archived; \
                             its archived data still holds their personal fields"
                        )));
                    }
                    sqlx::query(
                        "INSERT INTO merkle_nodes (level, idx, hash) SELECT 0, seq, leaf_hash FROM audit_events \
                         WHERE seq BETWEEN $1 AND $2 ON CONFLICT (level, idx) DO NOTHING",
                    )
                    .bind(start)
                    .bind(end)
                    .execute(&mut *write.transaction)
                    .await?;
                    sqlx::query($open_archive_gate).execute(&mut *write.transaction).await?;
                    let deleted = sqlx::query("DELETE FROM audit_events WHERE seq BETWEEN $1 AND $2")
                        .bind(start)
                        .bind(end)
                        .execute(&mut *write.transaction)
                        .await?
                        .rows_affected();
                    if !$close_archive_gate.is_empty() {
                        sqlx::query($close_archive_gate).execute(&mut *write.transaction).await?;
                    }
                    let event = audit(&batch, deleted);
                    append_in(&mut write.transaction, &self.db.frontier_cache, &[&event], now).await?;
                    write.transaction.commit().await?;
                    Ok(deleted)
                }

                async fn superseded_object_keys(&self) -> Result<Vec<String>, StoreError> {
                    // Every key ever recorded for a batch, minus its current ones.
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT data_key, manifest_key FROM archive_batches \
                         WHERE manifest_sha256 NOT IN (SELECT manifest_sha256 FROM archive_batches_current) \
                         UNION ALL SELECT r.data_key, r.manifest_key FROM archive_batch_revisions r \
                         WHERE r.manifest_sha256 NOT IN (SELECT manifest_sha256 FROM archive_batches_current)",
                    )
                    .fetch_all(self.db.pool())
                    .await?;
                    Ok(rows.into_iter().flat_map(|(data, manifest)| [data, manifest]).collect())
                }
            }
        }
    };
}

pub(crate) use implement_archive_store;
