//! Reading the audit log: pages of events, newest first, and single events.

use crate::AppState;
use crate::archive::tiered::{TieredError, TieredEvent, Tiers};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_core::query::{QueryPurpose, RawAuditQuery, parse_include_archived};
use dezky_core::{AuditEvent, AuditQuery, Cursor, Slug};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPageResponse {
    pub events: Vec<TieredEvent>,
    /// Pass as `before` to get the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

async fn page(
    state: &AppState,
    query: AuditQuery,
    include_archived: bool,
) -> Result<Json<EventPageResponse>, ApiError> {
    let (events, has_more) = if include_archived {
        let page = tiers_for(state, true)?.page(&query).await?;
        (page.events, page.has_more)
    } else {
        let page = state.store.query_events(&query).await?;
        (page.events.into_iter().map(TieredEvent::hot).collect(), page.has_more)
    };
    let next_cursor = match (has_more, events.last()) {
        (true, Some(last)) => Some(Cursor(last.event.seq).encode()),
        _ => None,
    };
    Ok(Json(EventPageResponse { events, next_cursor }))
}

/// The tiers a read uses: with `include_archived`, cold storage when one is configured (a read
/// that reaches a batch without it is refused with 409).
pub fn tiers_for(state: &AppState, include_archived: bool) -> Result<Tiers, ApiError> {
    let cold = match (&state.archiver, include_archived) {
        (Ok(Some(archiver)), true) => Some(archiver.cold().clone()),
        _ => None,
    };
    Ok(Tiers {
        store: state.store.clone(),
        cold,
    })
}

/// Reading archived events downloads whole batches: an operator's decision, not a tenant's.
pub fn archived_is_for_operators() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "query parameter 'includeArchived': archived events are read by operators only",
    )
}

impl From<TieredError> for ApiError {
    fn from(error: TieredError) -> ApiError {
        match error {
            TieredError::Store(error) => error.into(),
            TieredError::NoColdStorage => {
                ApiError::new(StatusCode::CONFLICT, "archive_not_configured", error.to_string())
            }
            TieredError::Archive(error) => {
                tracing::error!(%error, "archived events could not be read");
                ApiError::new(StatusCode::BAD_GATEWAY, "archive_unreadable", error.to_string())
            }
        }
    }
}

/// Restricts a tenant-scoped query to that tenant. Asking for another tenant's events through
/// the `tenantSlug` filter is refused rather than silently overridden.
pub fn tenant_query(slug: &Slug, mut query: AuditQuery) -> Result<AuditQuery, ApiError> {
    match &query.tenant_slug {
        Some(asked) if asked != slug => Err(ApiError::forbidden(format!(
            "tenantSlug '{asked}' is not the tenant in the path ('{slug}')"
        ))),
        _ => {
            query.tenant_slug = Some(slug.clone());
            Ok(query)
        }
    }
}

pub fn parse_slug(text: &str) -> Result<Slug, ApiError> {
    Slug::parse(text).map_err(|error| ApiError::bad_request("invalid_path", format!("tenant slug '{text}' {error}")))
}

/// All events, newest first (operators). With `includeArchived=true` the page continues from
/// the hot events into the archive batches (each archived event has `"archived": true`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "A page of events", body = crate::routes::openapi::EventPageDoc),
        (status = 400, description = "Invalid filter", body = crate::routes::openapi::ErrorBody),
        (status = 401, description = "No valid credentials", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "includeArchived=true reaches archived batches but no cold storage is configured", body = crate::routes::openapi::ErrorBody),
        (status = 502, description = "An archived batch could not be read from cold storage (or does not match its recorded SHA-256)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Json<EventPageResponse>, ApiError> {
    caller.require_operator()?;
    let include_archived = parse_include_archived(&raw)?;
    page(&state, AuditQuery::parse(&raw, QueryPurpose::Page)?, include_archived).await
}

/// One tenant's events, newest first (operators, the tenant's token, its owner and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit", tag = "audit",
    params(("slug" = String, Path, description = "Tenant slug"), crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "A page of the tenant's events", body = crate::routes::openapi::EventPageDoc),
        (status = 400, description = "Invalid filter", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Neither an operator, the tenant's token, nor its owner or an admin (whether or not the tenant exists)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_tenant_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Json<EventPageResponse>, ApiError> {
    let slug = parse_slug(&slug)?;
    crate::control_plane::require_tenant_audit(&state, &caller, &slug).await?;
    if parse_include_archived(&raw)? {
        return Err(archived_is_for_operators());
    }
    let query = tenant_query(&slug, AuditQuery::parse(&raw, QueryPurpose::Page)?)?;
    page(&state, query, false).await
}

/// One event by its sequence number (operators).
#[utoipa::path(get, path = "/api/v1/audit/{seq}", tag = "audit",
    params(("seq" = u64, Path, description = "Sequence number")),
    responses(
        (status = 200, description = "The event", body = crate::routes::openapi::AuditEventDoc),
        (status = 404, description = "No event has this seq", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(seq): ApiPath<u64>,
) -> Result<Json<AuditEvent>, ApiError> {
    caller.require_operator()?;
    state
        .store
        .get_event(seq)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no audit event has seq {seq}")))
}
