//! Liveness, readiness and metrics.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// Liveness: the process answers. Public, and touches nothing else.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "The process is alive")))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "service": "dezky", "version": env!("CARGO_PKG_VERSION") }))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/ready", tag = "service", responses(
    (status = 200, description = "The database answers"),
    (status = 503, description = "The database is unavailable", body = crate::routes::openapi::ErrorBody),
))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let next_seq = state.store.next_seq().await?;
    let backend = match state.store.backend() {
        dezky_store::Backend::Sqlite => "sqlite",
        dezky_store::Backend::Postgres => "postgres",
    };
    Ok(Json(
        json!({ "status": "ready", "database": backend, "events": next_seq }),
    ))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // SQLite's index file is filled behind the appends; its lag is read when scraped. A
    // database that does not answer leaves the gauge out rather than failing the scrape.
    let text_index_lag = match state.store.text_index_lag().await {
        Ok(Some(lag)) => crate::metrics::render_gauge(
            "dezky_text_index_lag_events",
            "appended events SQLite's search index has not reached yet (searches scan them)",
            lag,
        ),
        Ok(None) => String::new(),
        Err(error) => {
            tracing::warn!(%error, "the text index lag could not be read for /metrics");
            String::new()
        }
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render() + &state.ingest.status.render_metrics() + &text_index_lag,
    )
}
