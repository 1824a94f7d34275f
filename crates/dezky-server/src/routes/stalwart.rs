//! `POST /ingest/stalwart/webhook`: Stalwart's telemetry webhook. Public (Stalwart cannot carry
//! a JWT) but authenticated by `X-Signature`, checked over the raw bytes before anything is
//! parsed. The batch is recorded whole, through the sequencer, before the 2xx: Stalwart
//! re-sends on anything else, and the digest-based externalIds absorb the re-send.

use crate::AppState;
use crate::error::ApiError;
use crate::ingest::status::STALWART;
use crate::ingest::tenants::TenantDirectory;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use dezky_ingest::stalwart::{WebhookError, parse_webhook, signature_matches};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookResponse {
    /// Events in the body (recorded, duplicates and filtered alike).
    pub received: usize,
    pub duplicates: usize,
    /// Events dropped by `STALWART_EVENTS_ONLY` / `STALWART_EVENTS_SKIP`.
    pub filtered: usize,
}

fn unauthorized(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", message)
}

/// Equal without telling, through timing, how much of a guess was right.
fn same_secret(expected: &str, given: &str) -> bool {
    Sha256::digest(expected.as_bytes()) == Sha256::digest(given.as_bytes())
}

/// Stalwart telemetry events (signed with the configured signature key).
#[utoipa::path(post, path = "/ingest/stalwart/webhook", tag = "ingest",
    request_body(content = Object, description = "Stalwart webhook body: {\"events\":[{id, createdAt, type, data}]}"),
    params(("X-Signature" = String, Header, description = "base64(HMAC-SHA-256(secret, raw body))")),
    responses((status = 200, body = WebhookResponse), (status = 400), (status = 401), (status = 413), (status = 503)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebhookResponse>, ApiError> {
    let ingest = &state.ingest;
    let config = match (&ingest.config.stalwart, ingest.config.enabled) {
        (_, false) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ingest_disabled",
                "ingest is disabled (AUDIT_INGEST_ENABLED=false)",
            ));
        }
        (None, true) => {
            tracing::warn!("a Stalwart webhook arrived but STALWART_WEBHOOK_SECRET is not set: refused");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                "the Stalwart webhook is not configured (STALWART_WEBHOOK_SECRET)",
            ));
        }
        (Some(config), true) => config,
    };
    let now = state.clock.now();
    let reject = |error: ApiError| {
        ingest.status.record_rejected(STALWART, 1);
        ingest.status.record_error(STALWART, now, &error.message);
        error
    };
    let bytes = axum::body::to_bytes(body, ingest.config.stalwart_max_bytes)
        .await
        .map_err(|_| {
            reject(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the body exceeds STALWART_WEBHOOK_MAX_BYTES ({} bytes)",
                    ingest.config.stalwart_max_bytes
                ),
            ))
        })?;
    if let Some(expected) = &config.authorization {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !same_secret(expected.expose_secret(), given.trim()) {
            return Err(reject(unauthorized("the Authorization header does not match")));
        }
    }
    let signature = headers
        .get("x-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| reject(unauthorized("X-Signature is missing")))?;
    if !signature_matches(config.secret.expose_secret().as_bytes(), &bytes, signature) {
        return Err(reject(unauthorized("X-Signature does not match the body")));
    }
    let directory = TenantDirectory::load(state.store.as_ref()).await?;
    let tenant_of_domain = |domain: &str| directory.tenant_of_domain(domain);
    let batch = parse_webhook(&bytes, &config.filter, &tenant_of_domain).map_err(|error| {
        let code = match error {
            WebhookError::NotJson(_) => "malformed_json",
            WebhookError::Field { .. } => "invalid_event",
        };
        reject(ApiError::bad_request(code, error.to_string()))
    })?;
    let (mut events, filtered) = (batch.events, batch.filtered);
    events.iter_mut().for_each(|event| directory.add_partner(event));
    let newest_at = events.iter().map(|event| event.at).max();
    let submitted = events.len();
    let receipt = state.audit.record(events).await.inspect_err(|error| {
        ingest.status.record_error(STALWART, now, error);
    })?;
    let duplicates = receipt.duplicates();
    ingest.status.record_filtered(STALWART, filtered as u64);
    ingest.status.record_success(
        STALWART,
        state.clock.now(),
        (submitted - duplicates) as u64,
        duplicates as u64,
        newest_at,
    );
    Ok(Json(WebhookResponse {
        received: submitted + filtered,
        duplicates,
        filtered,
    }))
}
