//! The publisher API: other services append events to the one timeline with an ingest token.
//!
//! The batch is validated as a whole before anything is written: one bad event means a 400
//! naming its index and field, and nothing from the batch is stored. The token fixes `source`;
//! actions must be in the source's own namespace (`<source>.<verb>`), so a publisher can never
//! write events that look like dezky's own (`tenant.created`) or another system's.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use dezky_core::event::limits;
use dezky_core::{Action, ActorType, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::IpAddr;

pub const MAX_BATCH: usize = 1_000;
/// How far in the future `at` may lie (clock skew between hosts), in milliseconds.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1_000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestBatch {
    /// Up to 1,000 events; each is checked against `IngestEvent`.
    #[schema(value_type = Vec<IngestEvent>)]
    pub events: Vec<Value>,
}

/// One published event. Only `externalId` and `action` are required.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngestEvent {
    /// The publisher's own id for the event: redelivering it is harmless.
    pub external_id: String,
    /// `<source>.<verb>`, e.g. `booking.created` for an ingest token of source `booking`.
    pub action: String,
    /// RFC 3339; defaults to the time of receipt.
    pub at: Option<String>,
    /// `success` (default), `failure` or `denied`.
    pub outcome: Option<String>,
    /// `user`, `service` (default) or `system`.
    pub actor_type: Option<String>,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_ip: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub tenant_slug: Option<String>,
    pub partner_slug: Option<String>,
    /// If sent, must equal the token's source.
    pub source: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    pub received: usize,
    pub duplicates: usize,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

struct Invalid {
    field: &'static str,
    message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn short_text(field: &'static str, value: Option<String>) -> Result<Option<String>, Invalid> {
    match value {
        Some(text) if text.chars().count() > limits::SHORT_TEXT => Err(invalid(
            field,
            format!("is longer than {} characters", limits::SHORT_TEXT),
        )),
        other => Ok(other.filter(|text| !text.is_empty())),
    }
}

fn slug(field: &'static str, value: Option<String>) -> Result<Option<Slug>, Invalid> {
    value
        .filter(|text| !text.is_empty())
        .map(|text| Slug::parse(&text).map_err(|error| invalid(field, format!("'{text}' {error}"))))
        .transpose()
}

fn validate(raw: IngestEvent, source: &Source, now: Timestamp) -> Result<NewAuditEvent, Invalid> {
    if raw.external_id.is_empty() || raw.external_id.len() > limits::EXTERNAL_ID {
        return Err(invalid(
            "externalId",
            format!("must be 1 to {} bytes", limits::EXTERNAL_ID),
        ));
    }
    let action = Action::parse(&raw.action).map_err(|error| invalid("action", format!("'{}' {error}", raw.action)))?;
    if !action.as_str().starts_with(&format!("{source}.")) {
        return Err(invalid(
            "action",
            format!("'{action}' must start with '{source}.' (the token's source)"),
        ));
    }
    if let Some(claimed) = &raw.source
        && claimed != source.as_str()
    {
        return Err(invalid(
            "source",
            format!("'{claimed}' is not this token's source '{source}'"),
        ));
    }
    let at = match raw.at.as_deref().filter(|text| !text.is_empty()) {
        None => now,
        Some(text) => Timestamp::parse_rfc3339(text).map_err(|error| invalid("at", error.to_string()))?,
    };
    if at > now.saturating_add_millis(MAX_FUTURE_SKEW_MS) {
        return Err(invalid("at", "lies more than 5 minutes in the future"));
    }
    let outcome = match raw.outcome.as_deref() {
        None => Outcome::Success,
        Some(text) => Outcome::parse(text)
            .ok_or_else(|| invalid("outcome", format!("'{text}' is not success, failure or denied")))?,
    };
    let actor_type = match raw.actor_type.as_deref() {
        None => ActorType::Service,
        Some(text) => ActorType::parse(text)
            .ok_or_else(|| invalid("actorType", format!("'{text}' is not user, service or system")))?,
    };
    let actor_ip = short_text("actorIp", raw.actor_ip)?;
    if let Some(ip) = &actor_ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(invalid("actorIp", format!("'{ip}' is not an IP address")));
    }
    let metadata = raw.metadata.unwrap_or_default();
    if serde_json::to_string(&metadata).map_or(0, |text| text.len()) > limits::METADATA_BYTES {
        return Err(invalid(
            "metadata",
            format!("is larger than {} bytes", limits::METADATA_BYTES),
        ));
    }
    Ok(NewAuditEvent {
        at,
        actor_type,
        actor_id: short_text("actorId", raw.actor_id)?,
        actor_email: short_text("actorEmail", raw.actor_email)?,
        actor_ip,
        action,
        outcome,
        resource_type: short_text("resourceType", raw.resource_type)?,
        resource_id: short_text("resourceId", raw.resource_id)?,
        resource_name: short_text("resourceName", raw.resource_name)?,
        tenant_slug: slug("tenantSlug", raw.tenant_slug)?,
        partner_slug: slug("partnerSlug", raw.partner_slug)?,
        source: source.clone(),
        external_id: Some(raw.external_id),
        metadata,
    })
}

/// Validates every event of a batch; the first invalid one is reported with its index.
pub fn validate_batch(values: Vec<Value>, source: &Source, now: Timestamp) -> Result<Vec<NewAuditEvent>, ApiError> {
    if values.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "invalid_event",
            format!("a batch holds at most {MAX_BATCH} events, got {}", values.len()),
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let raw: IngestEvent = serde_json::from_value(value)
                .map_err(|error| ApiError::bad_request("invalid_event", format!("events[{index}]: {error}")))?;
            validate(raw, source, now).map_err(|problem| {
                ApiError::bad_request(
                    "invalid_event",
                    format!("events[{index}].{}: {}", problem.field, problem.message),
                )
            })
        })
        .collect()
}

/// Appends a batch of events as the ingest token's source (ingest tokens only).
#[utoipa::path(post, path = "/api/v1/ingest/events", tag = "ingest",
    request_body = IngestBatch,
    responses(
        (status = 200, description = "Stored (duplicates skipped)", body = IngestResponse),
        (status = 400, description = "An invalid event; nothing was stored", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an ingest token", body = crate::routes::openapi::ErrorBody),
        (status = 413, description = "Body over DEZKY_MAX_BODY_BYTES", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ingest_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(batch): ApiJson<IngestBatch>,
) -> Result<Json<IngestResponse>, ApiError> {
    let source = caller.require_ingest()?.clone();
    let received = batch.events.len();
    let events = validate_batch(batch.events, &source, state.clock.now())?;
    let receipt = state.audit.record(events).await?;
    Ok(Json(IngestResponse {
        received,
        duplicates: receipt.duplicates(),
        first_seq: receipt.first_seq(),
        last_seq: receipt.last_seq(),
    }))
}
