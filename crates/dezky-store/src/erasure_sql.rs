//! Erasure across both tiers, expanded per backend next to `implement_store!` (whose
//! `append_in` and `DbConnection` it uses): the hot rows, the archive batches the caller
//! rewrote, the restored copies of those batches, and the `audit.erased` record, in one
//! transaction under the chain-head lock.

macro_rules! implement_erasure {
    (
        $head_lock_suffix:expr,
        $open_erasure_gate:expr,
        $close_erasure_gate:expr,
        $open_restore_gate:expr,
        $close_restore_gate:expr
    ) => {
        /// Runs an erasure inside `connection`'s transaction; the caller commits when a record
        /// was appended (nothing is written otherwise).
        async fn erase_in(
            connection: &mut DbConnection,
            cache: &$crate::frontier_cache::FrontierCache,
            subject: &ErasureSubject,
            cold: &$crate::records::ColdErasure,
            audit: &(dyn for<'s> Fn(&'s [u64]) -> NewAuditEvent + Sync),
            now: Timestamp,
        ) -> Result<ErasureOutcome, StoreError> {
            // Erasure records themselves are never erased: they account for earlier erasures
            // (and name the operator who performed them).
            let (condition, value) = match subject {
                ErasureSubject::ActorId(id) => ("actor_id = $1 AND action <> 'audit.erased'", id.clone()),
                ErasureSubject::ActorEmail(email) => (
                    "lower(actor_email) = lower($1) AND action <> 'audit.erased'",
                    email.clone(),
                ),
            };
            // Take the chain head first, so no append of this subject can commit between the
            // SELECT of the seqs and the UPDATE (it would be erased but not recorded), and no
            // archive run can move rows to a batch the caller did not look through.
            let head_sql = format!("{}{}", sql::SELECT_HEAD, $head_lock_suffix);
            sqlx::query(&head_sql).execute(&mut *connection).await?;
            let batches: Vec<(String, i64)> =
                sqlx::query_as("SELECT id, revision FROM archive_batches_current ORDER BY start_seq")
                    .fetch_all(&mut *connection)
                    .await?;
            let unchanged = batches.len() == cold.batches_seen.len()
                && batches
                    .iter()
                    .zip(&cold.batches_seen)
                    .all(|((id, revision), (seen_id, seen_revision))| {
                        id == seen_id && *revision as u64 == *seen_revision
                    });
            if !unchanged {
                return Err(StoreError::Conflict(
                    "the archive changed while the erasure was prepared; prepare it again".into(),
                ));
            }
            let hot: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT seq FROM audit_events WHERE {condition} AND personal_salt IS NOT NULL ORDER BY seq"
            ))
            .bind(&value)
            .fetch_all(&mut *connection)
            .await?;
            let mut seqs: std::collections::BTreeSet<u64> = hot.iter().map(|seq| *seq as u64).collect();
            seqs.extend(cold.erased_events.iter().map(|event| event.seq));
            if seqs.is_empty() {
                return Ok(ErasureOutcome {
                    erased_seqs: vec![],
                    record_seq: None,
                });
            }
            if !hot.is_empty() {
                sqlx::query($open_erasure_gate).execute(&mut *connection).await?;
                sqlx::query(&format!(
                    "UPDATE audit_events SET actor_id = NULL, actor_email = NULL, actor_ip = NULL, \
                     resource_name = NULL, metadata = NULL, personal_salt = NULL \
                     WHERE {condition} AND personal_salt IS NOT NULL"
                ))
                .bind(&value)
                .execute(&mut *connection)
                .await?;
                if !$close_erasure_gate.is_empty() {
                    sqlx::query($close_erasure_gate).execute(&mut *connection).await?;
                }
            }
            for revision in &cold.revisions {
                sqlx::query(
                    "INSERT INTO archive_batch_revisions (batch_id, revision, erased_events, bytes_compressed, \
                     bytes_uncompressed, data_sha256, manifest_sha256, data_key, manifest_key, revised_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&revision.batch_id)
                .bind(to_i64(revision.revision))
                .bind(to_i64(revision.erased_events))
                .bind(to_i64(revision.bytes_compressed))
                .bind(to_i64(revision.bytes_uncompressed))
                .bind(&revision.data_sha256)
                .bind(&revision.manifest_sha256)
                .bind(&revision.data_key)
                .bind(&revision.manifest_key)
                .bind(now.as_millis())
                .execute(&mut *connection)
                .await?;
            }
            if !cold.erased_events.is_empty() {
                rewrite_restored_in(connection, &cold.erased_events).await?;
            }
            let seqs: Vec<u64> = seqs.into_iter().collect();
            let event = audit(&seqs);
            let receipt = append_in(connection, cache, &[&event], now).await?;
            Ok(ErasureOutcome {
                erased_seqs: seqs,
                record_seq: receipt.first_seq(),
            })
        }

        /// Replaces the restored copies of these events (where their batch is restored) with
        /// the erased versions. Restored rows are never updated: the gate lets the store delete
        /// and insert them.
        async fn rewrite_restored_in(connection: &mut DbConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
            sqlx::query($open_restore_gate).execute(&mut *connection).await?;
            for event in events {
                let batch: Option<String> =
                    sqlx::query_scalar("DELETE FROM restored_events WHERE seq = $1 RETURNING batch_id")
                        .bind(to_i64(event.seq))
                        .fetch_optional(&mut *connection)
                        .await?;
                let Some(batch) = batch else { continue };
                let insert = format!(
                    "INSERT INTO restored_events (batch_id, {EVENT_COLUMNS}) VALUES ({})",
                    (1..=$crate::restore_sql::RESTORED_INSERT_ARITY)
                        .map(|n| format!("${n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let mut query = sqlx::query(&insert)
                    .bind(batch)
                    .bind(to_i64(event.seq))
                    .bind(event.at.as_millis())
                    .bind(event.recorded_at.as_millis());
                for text in $crate::restore_sql::restored_texts(event) {
                    query = query.bind(text);
                }
                query.execute(&mut *connection).await?;
            }
            if !$close_restore_gate.is_empty() {
                sqlx::query($close_restore_gate).execute(&mut *connection).await?;
            }
            Ok(())
        }
    };
}

pub(crate) use implement_erasure;
