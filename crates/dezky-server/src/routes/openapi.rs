//! The OpenAPI document, generated from the handlers' annotations.
//!
//! The event and error shapes live in dezky-core, which knows nothing of OpenAPI; the `*Doc`
//! types below describe them for the document only. A test checks that `AuditEventDoc` lists
//! exactly the fields a serialised event has, so the two cannot drift apart.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable, e.g. `invalid_query`, `unauthorized`, `forbidden`, `not_found`.
    code: String,
    /// Human-readable; for 4xx it says what to fix.
    message: String,
}

/// One audit event.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AuditEventDoc {
    /// Position in the log, gapless from 0.
    seq: u64,
    /// When it happened at the source (RFC 3339 UTC, milliseconds).
    at: String,
    /// When dezky recorded it; never decreases along seq.
    recorded_at: String,
    /// user, service or system.
    actor_type: String,
    actor_id: Option<String>,
    actor_email: Option<String>,
    actor_ip: Option<String>,
    /// Dotted verb, e.g. tenant.created, authentik.login_failed.
    action: String,
    /// success, failure or denied.
    outcome: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    tenant_slug: Option<String>,
    partner_slug: Option<String>,
    /// platform, authentik, stalwart, ocis, or an ingest token's source.
    source: String,
    external_id: Option<String>,
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
    /// Lowercase hex SHA-256 of the previous event's `hash` (zeros for seq 0).
    prev_hash: Option<String>,
    /// SHA-256(prevHash ‖ leafHash).
    hash: Option<String>,
    /// RFC 9162 leaf hash: SHA-256(0x00 ‖ canonical header ‖ personalCommitment).
    leaf_hash: Option<String>,
    /// SHA-256(personalSalt ‖ canonical personal fields).
    personal_commitment: Option<String>,
    /// Null once erased.
    personal_salt: Option<String>,
    /// The personal fields were erased (they read back as null).
    erased: bool,
    /// Present (and true) only with `includeArchived=true`, on events read from an archive batch.
    archived: Option<bool>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct EventPageDoc {
    /// Newest (highest seq) first.
    events: Vec<AuditEventDoc>,
    /// Pass as `before` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// Filters shared by the list and export endpoints. Unknown parameters are rejected.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AuditQueryParams {
    /// Events with `at` at or after this instant (RFC 3339).
    since: Option<String>,
    /// Events with `at` before this instant (RFC 3339).
    until: Option<String>,
    /// Cursor from `nextCursor`: events older than it.
    before: Option<String>,
    /// Exact verb, or a prefix ending in `.` or `*` (e.g. `tenant.`).
    action: Option<String>,
    tenant_slug: Option<String>,
    partner_slug: Option<String>,
    /// Case-insensitive exact match.
    actor_email: Option<String>,
    /// success, failure or denied.
    outcome: Option<String>,
    source: Option<String>,
    /// Free text (3–200 characters) over action, resource name, actor e-mail and tenant.
    q: Option<String>,
    /// Page size, 1–500 (default 100). Not accepted by export.
    limit: Option<u32>,
    /// Export only: csv or jsonl (default jsonl).
    format: Option<String>,
    /// Export only: desc (default) or asc (the whole log oldest first, no filters: for `dezky verify --jsonl`).
    order: Option<String>,
    /// Operators only. `true`: continue into archived batches (events flagged `"archived": true`;
    /// CSV exports gain an `archived` column). Off by default: a batch is fetched from cold
    /// storage and decompressed whole for the request (seconds per 50,000-event batch), unless
    /// it was restored (`POST /api/v1/audit/archives/{id}/restore`).
    include_archived: Option<bool>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A dezky API token (dzk_…) or an OIDC token from Authentik"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dezky", description = "Control plane and unified, tamper-evident audit log for self-hosted workspaces."),
    paths(
        crate::routes::health::health,
        crate::routes::health::ready,
        crate::routes::health::metrics,
        crate::routes::audit::list_events,
        crate::routes::audit::get_event,
        crate::routes::audit::list_tenant_events,
        crate::routes::export::export_events,
        crate::routes::export::export_tenant_events,
        crate::routes::ingest::ingest_events,
        crate::routes::ingest_status::ingest_status,
        crate::routes::stalwart::webhook,
        crate::routes::tokens::create_token,
        crate::routes::tokens::list_tokens,
        crate::routes::tokens::revoke_token,
        crate::routes::proofs::verify,
        crate::routes::proofs::inclusion,
        crate::routes::proofs::consistency,
        crate::routes::checkpoint::latest,
        crate::routes::checkpoint::key,
        crate::routes::checkpoint::force,
        crate::routes::erasure::erase,
        crate::routes::tenants::create_tenant,
        crate::routes::tenants::list_tenants,
        crate::routes::tenants::get_tenant,
        crate::routes::tenants::update_tenant,
        crate::routes::tenant_lifecycle::suspend_tenant,
        crate::routes::tenant_lifecycle::resume_tenant,
        crate::routes::tenant_lifecycle::delete_tenant,
        crate::routes::tenant_lifecycle::purge_tenant,
        crate::routes::users::list_members,
        crate::routes::users::add_member,
        crate::routes::users::change_member_role,
        crate::routes::users::remove_member,
        crate::routes::users::transfer_ownership,
        crate::routes::users::list_users,
        crate::routes::users::set_platform_admin,
        crate::routes::users::deactivate_user,
        crate::routes::invites::create_invite,
        crate::routes::invites::list_invites,
        crate::routes::invites::revoke_invite,
        crate::routes::partners::create_partner,
        crate::routes::partners::list_partners,
        crate::routes::partners::get_partner,
        crate::routes::partners::update_partner,
        crate::routes::partners::terminate_partner,
        crate::routes::partners::list_partner_tenants,
        crate::routes::partners::list_staff,
        crate::routes::partners::add_staff,
        crate::routes::partners::remove_staff,
        crate::routes::archive::run,
        crate::routes::archive::list,
        crate::routes::restore::restore,
        crate::routes::restore::drop_restored,
    ),
    components(schemas(ErrorBody, ErrorDetail, AuditEventDoc, EventPageDoc)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

pub async fn openapi_document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_schema_lists_exactly_the_serialised_fields() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let properties = document["components"]["schemas"]["AuditEventDoc"]["properties"]
            .as_object()
            .unwrap();
        let mut documented: Vec<&String> = properties.keys().collect();
        documented.sort();
        let event = dezky_core::csv::HEADER;
        let mut serialised: Vec<String> = event.iter().map(|name| name.to_string()).collect();
        // The flag a tiered read adds to archived events.
        serialised.push("archived".to_owned());
        serialised.sort();
        assert_eq!(documented, serialised.iter().collect::<Vec<_>>());
    }
}
