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
    finished: bool,
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

async fn export(state: AppState, mut query: AuditQuery, format: ExportFormat) -> Result<Response, ApiError> {
    let head = state.store.next_seq().await?;
    let start = query.before.map_or(head, |cursor| cursor.0.min(head));
    query.before = Some(Cursor(start));
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
            finished: false,
        },
        |mut cursoring| async move {
            if cursoring.finished {
                return None;
            }
            match cursoring.state.store.query_events(&cursoring.query).await {
                Ok(page) => {
                    cursoring.finished = !page.has_more;
                    if let Some(last) = page.events.last() {
                        cursoring.query.before = Some(Cursor(last.seq));
                    }
                    let chunk = encode_page(&page.events, cursoring.format);
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

fn parse_export(raw: &RawAuditQuery) -> Result<(AuditQuery, ExportFormat), ApiError> {
    let format = ExportFormat::parse(raw.format.as_deref())?;
    Ok((AuditQuery::parse(raw, QueryPurpose::Export)?, format))
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
    let (query, format) = parse_export(&raw)?;
    export(state, query, format).await
}

/// Every matching event of one tenant as CSV or JSON Lines (operators and tenant members).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit/export", tag = "audit",
    params(("slug" = String, Path, description = "Tenant slug"), crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "The tenant's matching events, streamed", content_type = "text/csv"),
        (status = 403, description = "No access to this tenant", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn export_tenant_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Response, ApiError> {
    let slug = parse_slug(&slug)?;
    caller.require_tenant(&slug)?;
    let (query, format) = parse_export(&raw)?;
    export(state, tenant_query(&slug, query)?, format).await
}
