//! Reading the audit log: pages of events, newest first, and single events.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use dezky_core::query::{QueryPurpose, RawAuditQuery};
use dezky_core::{AuditEvent, AuditQuery, Cursor, Slug};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPageResponse {
    pub events: Vec<AuditEvent>,
    /// Pass as `before` to get the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

async fn page(state: &AppState, query: AuditQuery) -> Result<Json<EventPageResponse>, ApiError> {
    let page = state.store.query_events(&query).await?;
    let next_cursor = match (page.has_more, page.events.last()) {
        (true, Some(last)) => Some(Cursor(last.seq).encode()),
        _ => None,
    };
    Ok(Json(EventPageResponse {
        events: page.events,
        next_cursor,
    }))
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

/// All events, newest first (operators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "A page of events", body = crate::routes::openapi::EventPageDoc),
        (status = 400, description = "Invalid filter", body = crate::routes::openapi::ErrorBody),
        (status = 401, description = "No valid credentials", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Json<EventPageResponse>, ApiError> {
    caller.require_operator()?;
    page(&state, AuditQuery::parse(&raw, QueryPurpose::Page)?).await
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
    let query = tenant_query(&slug, AuditQuery::parse(&raw, QueryPurpose::Page)?)?;
    page(&state, query).await
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
