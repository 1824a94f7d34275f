//! Restoring an archive batch into the database for fast querying, and dropping the copy
//! (operators; both audited in the transaction that does them).

use crate::AppState;
use crate::archive::read::read_batch_events;
use crate::archive::tiered::TieredError;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::routes::archive::configured_archiver;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_core::{Action, NewAuditEvent, Timestamp};
use dezky_store::{ArchiveBatch, DropRestoredOutcome, RestoreOutcome};
use serde::Serialize;
use serde_json::json;

/// The action recorded when a batch is restored.
pub const RESTORED_ACTION: &str = "audit.archive_restored";
/// The action recorded when a restored copy is dropped.
pub const RESTORE_DROPPED_ACTION: &str = "audit.archive_restore_dropped";

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreView {
    /// The archive batch.
    pub id: String,
    pub start_seq: u64,
    pub end_seq: u64,
    /// Events in the restored copy (restore) or removed with it (drop).
    pub events: u64,
    /// When the copy was made; null after a drop.
    pub restored_at: Option<String>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no archive batch has id '{id}'"))
}

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

fn batch_event(caller: &Caller, now: Timestamp, action: &str, batch: &ArchiveBatch) -> NewAuditEvent {
    let mut event = caller.actor().event(now, Action::parse(action).expect("valid verb"));
    event.resource_type = Some("archive_batch".to_owned());
    event.resource_id = Some(batch.id.clone());
    event.metadata.insert("startSeq".into(), json!(batch.start_seq));
    event.metadata.insert("endSeq".into(), json!(batch.end_seq));
    event.metadata.insert("eventCount".into(), json!(batch.event_count));
    event
}

async fn recorded_batch(state: &AppState, id: &str) -> Result<ArchiveBatch, ApiError> {
    state.store.get_archive_batch(id).await?.ok_or_else(|| not_found(id))
}

/// Copies an archive batch from cold storage into the read-only restored table, so reads with
/// `includeArchived=true` use SQL for it instead of fetching it (operators).
#[utoipa::path(post, path = "/api/v1/audit/archives/{id}/restore", tag = "cold storage",
    params(("id" = String, Path, description = "Archive batch id (arc_…)")),
    responses(
        (status = 200, body = RestoreView),
        (status = 404, description = "No batch has this id", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already restored (already_restored), or no cold storage configured (archive_not_configured)", body = crate::routes::openapi::ErrorBody),
        (status = 502, description = "The batch could not be read from cold storage or does not match its recorded SHA-256", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RestoreView>, ApiError> {
    caller.require_operator()?;
    let batch = recorded_batch(&state, &id).await?;
    let already = |id: &str| conflict("already_restored", format!("archive batch '{id}' is restored already"));
    // Checked before the download too, so a repeated request costs no transfer.
    if state
        .store
        .list_restored_batches()
        .await?
        .iter()
        .any(|restored| restored.batch_id == id)
    {
        return Err(already(&id));
    }
    let archiver = configured_archiver(&state)?;
    let events = read_batch_events(archiver.cold(), &batch)
        .await
        .map_err(|error| ApiError::from(TieredError::from(error)))?;
    let now = state.clock.now();
    let audit = batch_event(&caller, now, RESTORED_ACTION, &batch);
    match state.store.restore_archive_batch(&id, &events, audit, now).await? {
        RestoreOutcome::Restored => Ok(Json(RestoreView {
            id: batch.id,
            start_seq: batch.start_seq,
            end_seq: batch.end_seq,
            events: events.len() as u64,
            restored_at: Some(now.to_rfc3339()),
        })),
        RestoreOutcome::AlreadyRestored => Err(already(&id)),
        RestoreOutcome::UnknownBatch => Err(not_found(&id)),
    }
}

/// Drops a batch's restored copy; the archive in cold storage is untouched (operators).
#[utoipa::path(delete, path = "/api/v1/audit/archives/{id}/restore", tag = "cold storage",
    params(("id" = String, Path, description = "Archive batch id (arc_…)")),
    responses(
        (status = 200, body = RestoreView),
        (status = 404, description = "No batch has this id", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "The batch is not restored (not_restored)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn drop_restored(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RestoreView>, ApiError> {
    caller.require_operator()?;
    let batch = recorded_batch(&state, &id).await?;
    let now = state.clock.now();
    let audit = batch_event(&caller, now, RESTORE_DROPPED_ACTION, &batch);
    match state.store.drop_restored_batch(&id, audit, now).await? {
        DropRestoredOutcome::Dropped(removed) => Ok(Json(RestoreView {
            id: batch.id,
            start_seq: batch.start_seq,
            end_seq: batch.end_seq,
            events: removed,
            restored_at: None,
        })),
        DropRestoredOutcome::NotRestored => Err(conflict(
            "not_restored",
            format!("archive batch '{id}' has no restored copy"),
        )),
        DropRestoredOutcome::UnknownBatch => Err(not_found(&id)),
    }
}
