//! Cold storage over HTTP: force an archive run, list the recorded batches (operators).

use crate::AppState;
use crate::archive::run::Archiver;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveRunView {
    /// False when the run stopped on an error; the batches before it are complete, and every
    /// event not archived is still in hot storage.
    pub ok: bool,
    /// Batches moved out of hot storage by this run.
    pub batches: u64,
    /// Events moved out of hot storage by this run.
    pub events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveBatchView {
    pub id: String,
    pub archived_at: String,
    pub start_seq: u64,
    pub end_seq: u64,
    pub event_count: u64,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
    pub manifest_sha256: String,
    pub data_key: String,
    pub manifest_key: String,
    /// When the batch was restored into the database for fast querying; null when it is not.
    pub restored_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArchiveListView {
    pub batches: Vec<ArchiveBatchView>,
}

/// The archiver, or the reason there is none (409: a configuration matter, not a failure).
pub fn configured_archiver(state: &AppState) -> Result<Arc<Archiver>, ApiError> {
    match &state.archiver {
        Ok(Some(archiver)) => Ok(archiver.clone()),
        Ok(None) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "archive_not_configured",
            "no cold storage is configured: set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT",
        )),
        Err(reason) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "archive_not_configured",
            format!("cold storage could not be opened: {reason}"),
        )),
    }
}

/// Archives every event older than the hot retention now, whatever the daily schedule says.
#[utoipa::path(post, path = "/api/v1/audit/archive/run", tag = "cold storage",
    responses((status = 200, body = ArchiveRunView), (status = 409, description = "No cold storage configured", body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn run(State(state): State<AppState>, caller: Caller) -> Result<Json<ArchiveRunView>, ApiError> {
    caller.require_operator()?;
    let archiver = configured_archiver(&state)?;
    // The run continues in its own task: a request timeout or a client that hangs up must not
    // stop it between two steps (that would be safe, but it would report nothing).
    let outcome = tokio::spawn(async move { archiver.run().await })
        .await
        .map_err(ApiError::internal)?;
    let view = match outcome {
        Ok(summary) => ArchiveRunView {
            ok: true,
            batches: summary.batches,
            events: summary.events,
            error: None,
        },
        Err(failure) => {
            tracing::error!(error = %failure.error, batches = failure.summary.batches, "archive run failed");
            ArchiveRunView {
                ok: false,
                batches: failure.summary.batches,
                events: failure.summary.events,
                error: Some(failure.error.to_string()),
            }
        }
    };
    Ok(Json(view))
}

/// Every recorded archive batch, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/archives", tag = "cold storage",
    responses((status = 200, body = ArchiveListView)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ArchiveListView>, ApiError> {
    caller.require_operator()?;
    let restored: std::collections::HashMap<String, dezky_core::Timestamp> = state
        .store
        .list_restored_batches()
        .await?
        .into_iter()
        .map(|restored| (restored.batch_id, restored.restored_at))
        .collect();
    let batches = state
        .store
        .list_archive_batches()
        .await?
        .into_iter()
        .map(|batch| ArchiveBatchView {
            restored_at: restored.get(&batch.id).map(|at| at.to_rfc3339()),
            id: batch.id,
            archived_at: batch.archived_at.to_rfc3339(),
            start_seq: batch.start_seq,
            end_seq: batch.end_seq,
            event_count: batch.event_count,
            bytes_compressed: batch.bytes_compressed,
            bytes_uncompressed: batch.bytes_uncompressed,
            manifest_sha256: batch.manifest_sha256,
            data_key: batch.data_key,
            manifest_key: batch.manifest_key,
        })
        .collect();
    Ok(Json(ArchiveListView { batches }))
}
