//! Streaming export of a filtered audit log as CSV or JSON Lines.
//!
//! The export reads the log in keyset pages through the same store query the API pages use,
//! and writes each page to the response as it arrives, so memory stays constant however many
//! events match (with `includeArchived=true`, plus one archive batch at a time). It is a
//! snapshot: events appended after the export started are not included (the first page is
//! bounded by the `seq` the log had reached), so the file is consistent.

use crate::AppState;
use crate::archive::tiered::{ExportOrder, TieredEvent, TieredExport, Tiers};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::audit::{parse_slug, tenant_query, tiers_for};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dezky_core::query::{ExportFormat, QueryPurpose, RawAuditQuery, parse_include_archived};
use dezky_core::{AuditQuery, Cursor, Limit, csv};
use futures::{StreamExt, stream};

struct Exporting {
    tiers: Tiers,
    position: TieredExport,
    format: ExportFormat,
    include_archived: bool,
    finished: bool,
}

fn encode_page(events: &[TieredEvent], format: ExportFormat, include_archived: bool) -> Bytes {
    let mut buffer = String::with_capacity(events.len() * 512);
    for tiered in events {
        match format {
            ExportFormat::Csv => {
                let line = csv::event_line(&tiered.event);
                if include_archived {
                    // The extra last column of a tiered export.
                    buffer.push_str(line.trim_end_matches("\r\n"));
                    buffer.push_str(if tiered.archived { ",true\r\n" } else { ",false\r\n" });
                } else {
                    buffer.push_str(&line);
                }
            }
            ExportFormat::Jsonl => {
                buffer.push_str(&serde_json::to_string(tiered).unwrap_or_default());
                buffer.push('\n');
            }
        }
    }
    Bytes::from(buffer)
}

fn header_chunk(format: ExportFormat, include_archived: bool) -> Bytes {
    match (format, include_archived) {
        (ExportFormat::Csv, false) => Bytes::from(csv::header_line()),
        (ExportFormat::Csv, true) => {
            Bytes::from(csv::header_line().trim_end_matches("\r\n").to_owned() + ",archived\r\n")
        }
        (ExportFormat::Jsonl, _) => Bytes::new(),
    }
}

async fn export(
    state: AppState,
    mut query: AuditQuery,
    format: ExportFormat,
    order: ExportOrder,
    include_archived: bool,
) -> Result<Response, ApiError> {
    let head = state.store.next_seq().await?;
    let start = query.before.map_or(head, |cursor| cursor.0.min(head));
    query.before = match order {
        ExportOrder::Descending => Some(Cursor(start)),
        ExportOrder::Ascending => None,
    };
    query.limit = Limit::export_page();
    let tiers = tiers_for(&state, include_archived)?;
    let position = TieredExport::start(&tiers, query, order, include_archived, head)
        .await
        .map_err(ApiError::from)?;
    let pages = stream::unfold(
        Exporting {
            tiers,
            position,
            format,
            include_archived,
            finished: false,
        },
        |mut exporting| async move {
            if exporting.finished {
                return None;
            }
            match exporting.position.next_chunk(&exporting.tiers).await {
                Ok(Some(events)) => {
                    let chunk = encode_page(&events, exporting.format, exporting.include_archived);
                    Some((Ok::<Bytes, std::io::Error>(chunk), exporting))
                }
                Ok(None) => None,
                Err(error) => {
                    // The status line is already sent; ending the stream with an error aborts the
                    // transfer, so the client sees an incomplete download rather than a short file
                    // that looks whole.
                    tracing::error!(error = %error, "export failed mid-stream");
                    exporting.finished = true;
                    Some((Err(std::io::Error::other("export failed")), exporting))
                }
            }
        },
    );
    let first = header_chunk(format, include_archived);
    let body = Body::from_stream(stream::once(async move { Ok(first) }).chain(pages));
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

fn parse_export(raw: &RawAuditQuery) -> Result<(AuditQuery, ExportFormat, ExportOrder, bool), ApiError> {
    let format = ExportFormat::parse(raw.format.as_deref())?;
    let query = AuditQuery::parse(raw, QueryPurpose::Export)?;
    let include_archived = parse_include_archived(raw)?;
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
    Ok((query, format, order, include_archived))
}

/// Every matching event as CSV or JSON Lines (operators). With `includeArchived=true` the
/// export spans cold storage too (archived events carry `"archived": true`; CSV gains an
/// `archived` column), and `order=asc` then exports the whole log from seq 0.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    params(crate::routes::openapi::AuditQueryParams),
    responses(
        (status = 200, description = "The matching events, streamed", content_type = "text/csv"),
        (status = 400, description = "Invalid filter or format", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "includeArchived=true but no cold storage is configured", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn export_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(raw): ApiQuery<RawAuditQuery>,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let (query, format, order, include_archived) = parse_export(&raw)?;
    export(state, query, format, order, include_archived).await
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
    let (query, format, order, include_archived) = parse_export(&raw)?;
    if order == ExportOrder::Ascending {
        return Err(ApiError::bad_request(
            "invalid_query",
            "query parameter 'order': asc is for whole-log exports (operators)",
        ));
    }
    if include_archived {
        return Err(crate::routes::audit::archived_is_for_operators());
    }
    export(state, tenant_query(&slug, query)?, format, order, false).await
}
