//! Streaming export of a filtered audit log as CSV or JSON Lines.
//!
//! The export reads the log in keyset pages through the same store query the API pages use,
//! and writes each page to the response as it arrives, so memory stays constant however many
//! events match. It is a snapshot: events appended after the export started are not included
//! (the first page is bounded by the `seq` the log had reached), so the file is consistent.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::audit::{parse_slug, tenant_query};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dezky_core::query::{ExportFormat, QueryPurpose, RawAuditQuery};
use dezky_core::{AuditQuery, Cursor, Limit, csv};
use futures::{StreamExt, stream};

struct Cursoring {
    state: AppState,
    query: AuditQuery,
    format: ExportFormat,
    order: ExportOrder,
    /// Ascending exports stop before this seq (the log's size when the export began).
    end: u64,
    finished: bool,
}

/// `desc` (default): newest first, with filters. `asc`: the whole log oldest first, the order
/// `dezky verify --jsonl` reads, and no filters (a filtered log cannot be verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportOrder {
    Descending,
    Ascending,
}

impl Cursoring {
    async fn next_page(&mut self) -> Result<Vec<dezky_core::AuditEvent>, dezky_store::StoreError> {
        match self.order {
            ExportOrder::Descending => {
                let page = self.state.store.query_events(&self.query).await?;
                self.finished = !page.has_more;
                if let Some(last) = page.events.last() {
                    self.query.before = Some(Cursor(last.seq));
                }
                Ok(page.events)
            }
            ExportOrder::Ascending => {
                let after = self.query.before.map(|cursor| cursor.0);
                let mut events = self
                    .state
                    .store
                    .events_in_order(after, Limit::export_page().get())
                    .await?;
                events.retain(|event| event.seq < self.end);
                self.finished = events.last().is_none_or(|last| last.seq + 1 >= self.end);
                if let Some(last) = events.last() {
                    self.query.before = Some(Cursor(last.seq));
                }
                Ok(events)
            }
        }
    }
}

fn encode_page(events: &[dezky_core::AuditEvent], format: ExportFormat) -> Bytes {
    let mut buffer = String::with_capacity(events.len() * 512);
    for event in events {
        match format {
            ExportFormat::Csv => buffer.push_str(&csv::event_line(event)),
            ExportFormat::Jsonl => {
                buffer.push_str(&serde_json::to_string(event).unwrap_or_default());
                buffer.push('\n');
            }
        }
    }
    Bytes::from(buffer)
}

async fn export(
    state: AppState,
    mut query: AuditQuery,
    format: ExportFormat,
    order: ExportOrder,
) -> Result<Response, ApiError> {
    let head = state.store.next_seq().await?;
    let start = query.before.map_or(head, |cursor| cursor.0.min(head));
    // For ascending exports `before` serves as the "after" position, starting before seq 0.
    query.before = match order {
        ExportOrder::Descending => Some(Cursor(start)),
        ExportOrder::Ascending => None,
    };
    query.limit = Limit::export_page();
    let header_chunk = match format {
        ExportFormat::Csv => Bytes::from(csv::header_line()),
        ExportFormat::Jsonl => Bytes::new(),
    };
    let pages = stream::unfold(
        Cursoring {
            state,
            query,
            format,
            order,
            end: head,
            finished: false,
        },
        |mut cursoring| async move {
            if cursoring.finished {
                return None;
            }
            match cursoring.next_page().await {
                Ok(events) => {
                    let chunk = encode_page(&events, cursoring.format);
                    Some((Ok::<Bytes, std::io::Error>(chunk), cursoring))
                }
                Err(error) => {
                    // The status line is already sent; ending the stream with an error aborts the
                    // transfer, so the client sees an incomplete download rather than a short file
                    // that looks whole.
                    tracing::error!(error = %error, "export failed mid-stream");
                    cursoring.finished = true;
                    Some((Err(std::io::Error::other("export failed")), cursoring))
                }
            }
        },
    );
    let body = Body::from_stream(stream::once(async move { Ok(header_chunk) }).chain(pages));
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let disposition = format!("attachment; filename=\"dezky-audit-{start}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

fn parse_export(raw: &RawAuditQuery) -> Result<(AuditQuery, ExportFormat, ExportOrder), ApiError> {
    let format = ExportFormat::parse(raw.format.as_deref())?;
    let query = AuditQuery::parse(raw, QueryPurpose::Export)?;
    let order = match raw.order.as_deref().filter(|text| !text.is_empty()) {
        None | Some("desc") => ExportOrder::Descending,
        Some("asc") if query == AuditQuery::default() => ExportOrder::Ascending,
        Some("asc") => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "query parameter 'order': asc exports the whole log for verification and takes no filters",
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter 'order': '{other}' is not asc or desc"),
            ));
        }
    };
    Ok((query, format, order))
}

/// Every matching event as CSV or JSON Lines (operators).
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    params(crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "The matching events, streamed", content_type = "text/csv"),
        (status = 400, description = "Invalid filter or format", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn export_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let (query, format, order) = parse_export(&raw)?;
    export(state, query, format, order).await
}

/// Every matching event of one tenant as CSV or JSON Lines (operators, the tenant's token, its
/// owner and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit/export", tag = "audit",
    params(("slug" = String, Path, description = "Tenant slug"), crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "The tenant's matching events, streamed", content_type = "text/csv"),
        (status = 403, description = "Neither an operator, the tenant's token, nor its owner or an admin (whether or not the tenant exists)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn export_tenant_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Response, ApiError> {
    let slug = parse_slug(&slug)?;
    crate::control_plane::require_tenant_audit(&state, &caller, &slug).await?;
    let (query, format, order) = parse_export(&raw)?;
    if order == ExportOrder::Ascending {
        return Err(ApiError::bad_request(
            "invalid_query",
            "query parameter 'order': asc is for whole-log exports (operators)",
        ));
    }
    export(state, tenant_query(&slug, query)?, format, order).await
}
