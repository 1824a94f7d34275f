//! [`crate::workers::WorkerStore`] for both backends, expanded next to `implement_store!` so it
//! shares that expansion's `append_in` (and so the chain-head lock and hashing).

pub(crate) const UPSERT_CURSOR: &str = "INSERT INTO ingest_cursors (name, cursor, updated_at_ms) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at_ms = excluded.updated_at_ms";
pub(crate) const SELECT_CURSOR: &str = "SELECT cursor FROM ingest_cursors WHERE name = $1";
pub(crate) const TAKE_LEASE: &str = "INSERT INTO worker_leases (name, holder, expires_at_ms) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
    WHERE worker_leases.holder = excluded.holder OR worker_leases.expires_at_ms <= $4 \
    RETURNING holder";
pub(crate) const RELEASE_LEASE: &str = "DELETE FROM worker_leases WHERE name = $1 AND holder = $2";

macro_rules! implement_worker_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::workers::WorkerStore for $store {
            async fn append_with_cursor(
                &self,
                events: Vec<NewAuditEvent>,
                cursor: $crate::workers::CursorWrite,
                now: Timestamp,
            ) -> Result<AppendReceipt, StoreError> {
                let mut write = self.db.begin_write().await?;
                let events: Vec<&NewAuditEvent> = events.iter().collect();
                let receipt = append_in(&mut write.transaction, &self.db.frontier_cache, &events, now).await?;
                sqlx::query($crate::workers_sql::UPSERT_CURSOR)
                    .bind(&cursor.name)
                    .bind(&cursor.value)
                    .bind(now.as_millis())
                    .execute(&mut *write.transaction)
                    .await?;
                write.transaction.commit().await?;
                self.db.after_append_commit(receipt.appended_seqs().count());
                Ok(receipt)
            }

            async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar($crate::workers_sql::SELECT_CURSOR)
                    .bind(name)
                    .fetch_optional(self.db.pool())
                    .await?)
            }

            async fn try_lease(
                &self,
                name: &str,
                holder: &str,
                ttl_ms: i64,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let holder_after: Option<String> = sqlx::query_scalar($crate::workers_sql::TAKE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind(now.as_millis().saturating_add(ttl_ms))
                    .bind(now.as_millis())
                    .fetch_optional(self.db.pool())
                    .await?;
                Ok(holder_after.as_deref() == Some(holder))
            }

            async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
                sqlx::query($crate::workers_sql::RELEASE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use implement_worker_store;
