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

/// How long `/metrics` waits for the database to read the text index lag.
const LAG_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // SQLite's index file is filled behind the appends; its lag is read when scraped. A
    // database that does not answer in time leaves the gauge out rather than stalling or
    // failing the scrape.
    let lag = tokio::time::timeout(LAG_READ_TIMEOUT, state.store.text_index_lag()).await;
    let text_index_lag = match lag {
        Ok(Ok(Some(lag))) => crate::metrics::render_gauge(
            "dezky_text_index_lag_events",
            "appended events SQLite's search index has not reached yet (searches scan them)",
            lag,
        ),
        Ok(Ok(None)) => String::new(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "the text index lag could not be read for /metrics");
            String::new()
        }
        Err(_) => {
            tracing::warn!("the text index lag was not read within a second; /metrics leaves it out");
            String::new()
        }
    };
    let speculation = state.store.speculation_stats().map_or_else(String::new, |stats| {
        crate::metrics::render_counter(
            "dezky_speculative_group_commits_total",
            "group commits written beside the group before them (PostgreSQL)",
            stats.committed,
        ) + &crate::metrics::render_counter(
            "dezky_speculative_group_commits_given_up_total",
            "speculative group commits given up and written under the chain-head lock instead",
            stats.given_up,
        )
    });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render() + &state.ingest.status.render_metrics() + &text_index_lag + &speculation,
    )
}
