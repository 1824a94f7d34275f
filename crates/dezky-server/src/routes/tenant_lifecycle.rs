//! A tenant's lifecycle over HTTP: suspend, resume, soft-delete (DELETE) and purge, each an
//! audited status step that names the state when it is not allowed.

use crate::AppState;
use crate::auth::Caller;
use crate::control_plane::{conflict, deny, diff_metadata, event, visible_tenant};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::routes::tenants::{TenantView, tenant_subject};
use axum::Json;
use axum::extract::State;
use dezky_core::TokenScope;
use dezky_store::control::TenantChange;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Which lifecycle step a status route takes.
#[derive(Clone, Copy)]
enum Step {
    Suspend,
    Resume,
    Delete,
}

async fn change_status(
    state: AppState,
    caller: Caller,
    slug: String,
    step: Step,
) -> Result<Json<TenantView>, ApiError> {
    let action = match step {
        Step::Suspend => "tenant.suspended",
        Step::Resume => "tenant.resumed",
        Step::Delete => "tenant.deleted",
    };
    let (tenant, access) = visible_tenant(&state, &caller, &slug, Some(action)).await?;
    let (allowed, next) = match step {
        Step::Suspend => (access.can_change_status(), tenant.status.suspend()),
        Step::Resume => (access.can_change_status(), tenant.status.resume()),
        Step::Delete => (access.operator, tenant.status.soft_delete()),
    };
    if !allowed {
        let attempt = event(&state, &caller, action, &tenant_subject(&tenant), Map::new());
        return Err(deny(
            &state,
            attempt,
            format!("you may not change the status of tenant '{slug}'"),
        )
        .await);
    }
    let next = next.map_err(|error| conflict("invalid_state", error.to_string()))?;
    let diff = json!({"status": {"from": tenant.status.as_str(), "to": next.as_str()}});
    let metadata = diff_metadata(diff.as_object().cloned().unwrap_or_default());
    let events = vec![event(&state, &caller, action, &tenant_subject(&tenant), metadata)];
    let change = TenantChange {
        slug: tenant.slug.clone(),
        expected_version: tenant.version,
        status: next,
        fields: tenant.fields.clone(),
        clear_platform_flag_of: None,
    };
    let stored = state.store.update_tenant(change, events, state.clock.now()).await?;
    Ok(Json(TenantView::from(&stored)))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/suspend", tag = "tenants",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Suspended", body = TenantView),
        (status = 403, description = "Neither an operator nor the tenant's partner (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already suspended or deleted", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn suspend_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<TenantView>, ApiError> {
    change_status(state, caller, slug, Step::Suspend).await
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/resume", tag = "tenants",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Active again", body = TenantView),
        (status = 403, description = "Neither an operator nor the tenant's partner (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Not suspended", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn resume_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<TenantView>, ApiError> {
    change_status(state, caller, slug, Step::Resume).await
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Soft-deleted: the slug stays taken until purged", body = TenantView),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already deleted", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<TenantView>, ApiError> {
    change_status(state, caller, slug, Step::Delete).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Purged {
    pub purged: String,
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/purge", tag = "tenants",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Removed with its domains, memberships and the invitations into it; the audit trail stays", body = Purged),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Not soft-deleted first", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn purge_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Purged>, ApiError> {
    let (tenant, access) = visible_tenant(&state, &caller, &slug, Some("tenant.purged")).await?;
    if !access.operator {
        let attempt = event(&state, &caller, "tenant.purged", &tenant_subject(&tenant), Map::new());
        return Err(deny(&state, attempt, "purging requires an operator").await);
    }
    tenant
        .status
        .check_purge()
        .map_err(|error| conflict("invalid_state", format!("{error}; delete it first")))?;
    let members = state.store.tenant_members(&tenant.slug).await?.len();
    // Invitations into the tenant go with it, so a later tenant with the slug cannot get them.
    let invites = state
        .store
        .list_invites()
        .await?
        .iter()
        .filter(|invite| invite.membership.as_ref().is_some_and(|m| m.tenant == tenant.slug))
        .count();
    // So are its API tokens (revoked in the purge's transaction).
    let tokens = state
        .store
        .list_api_tokens()
        .await?
        .iter()
        .filter(|token| token.revoked_at.is_none() && token.scope == TokenScope::Tenant(tenant.slug.clone()))
        .count();
    let mut metadata = Map::new();
    metadata.insert("fields".into(), Value::Object(tenant.fields.to_json()));
    metadata.insert("membersRemoved".into(), json!(members));
    metadata.insert("invitesRevoked".into(), json!(invites));
    metadata.insert("tokensRevoked".into(), json!(tokens));
    let events = vec![event(
        &state,
        &caller,
        "tenant.purged",
        &tenant_subject(&tenant),
        metadata,
    )];
    state
        .store
        .purge_tenant(&tenant.slug, tenant.version, events, state.clock.now())
        .await?;
    Ok(Json(Purged {
        purged: tenant.slug.to_string(),
    }))
}
