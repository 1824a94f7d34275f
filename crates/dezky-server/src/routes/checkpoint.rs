//! Signed checkpoints over HTTP: the latest note, the public key, and forcing one.

use crate::AppState;
use crate::auth::Caller;
use crate::checkpoints::{CheckpointOutcome, Reason};
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointView {
    pub tree_size: u64,
    pub root_hash: String,
    pub note: String,
    pub reason: String,
    pub at: String,
    /// False when nothing was new since the latest checkpoint (which is returned instead).
    pub created: bool,
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

/// The latest signed checkpoint as a C2SP signed note (any authenticated caller).
#[utoipa::path(get, path = "/api/v1/audit/checkpoint/latest", tag = "tamper evidence",
    responses((status = 200, description = "C2SP signed note", content_type = "text/plain"), (status = 404, body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn latest(State(state): State<AppState>, _caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let latest = state.store.latest_checkpoint().await?;
    latest
        .map(|record| text(record.note))
        .ok_or_else(|| ApiError::not_found("no checkpoint has been made yet"))
}

/// The public verifier key in C2SP vkey format `name+keyid+base64` (public).
#[utoipa::path(get, path = "/api/v1/audit/checkpoint/key", tag = "tamper evidence",
    responses((status = 200, description = "C2SP verifier key", content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    text(format!("{}\n", state.checkpointer.signer().verifier().to_vkey()))
}

/// Makes a checkpoint now (operators); returns the latest one when nothing is new.
#[utoipa::path(post, path = "/api/v1/audit/checkpoint", tag = "tamper evidence",
    responses((status = 200, body = CheckpointView), (status = 404, description = "The log is empty", body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn force(State(state): State<AppState>, caller: Caller) -> Result<Json<CheckpointView>, ApiError> {
    caller.require_operator()?;
    let (record, created) = match state.checkpointer.make(Reason::Manual).await? {
        CheckpointOutcome::Made(record) => (record, true),
        CheckpointOutcome::NothingNew(Some(record)) => (record, false),
        CheckpointOutcome::NothingNew(None) => return Err(ApiError::not_found("the log is empty: nothing to sign")),
    };
    Ok(Json(CheckpointView {
        tree_size: record.tree_size,
        root_hash: record.root_hash,
        note: record.note,
        reason: record.reason,
        at: record.at.to_rfc3339(),
        created,
    }))
}
