//! `GET /api/v1/ingest/status`: each ingest source's health on this instance.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ingest::status::SourceHealth;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct IngestStatusView {
    /// False when AUDIT_INGEST_ENABLED=false.
    pub enabled: bool,
    pub sources: Vec<SourceHealth>,
}

#[utoipa::path(get, path = "/api/v1/ingest/status", tag = "ingest",
    responses((status = 200, body = IngestStatusView), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn ingest_status(State(state): State<AppState>, caller: Caller) -> Result<Json<IngestStatusView>, ApiError> {
    caller.require_operator()?;
    Ok(Json(IngestStatusView {
        enabled: state.ingest.config.enabled,
        sources: state.ingest.status.snapshot(),
    }))
}
