//! Users over HTTP: tenant members and their roles, platform admins, deactivation.
//!
//! The role shown for a member is the role in *that* tenant. Role rules (one owner, ownership
//! only by transfer, never lose the last owner-or-admin) come from dezky-control.

use crate::AppState;
use crate::auth::Caller;
use crate::control_plane::{
    Subject, TenantAccess, body_object, caller_user_id, conflict, deny, diff_metadata, event, visible_tenant,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_control::field::{self, FieldError};
use dezky_control::roles::{self, RoleChange, RoleRuleError, TenantRole};
use dezky_core::Slug;
use dezky_store::control::{Account, Member, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub platform_admin: bool,
    pub created_at: String,
    pub last_login: String,
    pub deactivated_at: Option<String>,
}

impl From<&Account> for UserView {
    fn from(account: &Account) -> UserView {
        UserView {
            id: account.id.clone(),
            email: account.email.clone(),
            name: account.name.clone(),
            platform_admin: account.platform_admin,
            created_at: account.created_at.to_rfc3339(),
            last_login: account.last_seen_at.to_rfc3339(),
            deactivated_at: account.deactivated_at.map(|at| at.to_rfc3339()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    #[serde(flatten)]
    pub user: UserView,
    /// member, admin or owner: the role in this tenant.
    pub role: String,
    pub member_since: String,
}

impl From<&Member> for MemberView {
    fn from(member: &Member) -> MemberView {
        MemberView {
            user: UserView::from(&member.account),
            role: member.role.as_str().to_owned(),
            member_since: member.since.to_rfc3339(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub users: Vec<MemberView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// `{"userId": "usr_…", "role": "member" | "admin" | "owner"}` (role only when changing).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MemberInput {
    user_id: Option<String>,
    role: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlatformAdminInput {
    pub platform_admin: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct UserListQuery {
    /// Only platform admins (the operator team).
    pub platform_admin: Option<bool>,
}

fn rule_error(error: RoleRuleError) -> ApiError {
    match error {
        RoleRuleError::NotAMember => ApiError::not_found(error.to_string()),
        other => conflict("role_rule", other.to_string()),
    }
}

fn parse_role(value: &Value) -> Result<TenantRole, FieldError> {
    field::string("role", value, |text| {
        TenantRole::parse(text).ok_or_else(|| format!("'{text}' is not member, admin or owner"))
    })
}

fn member_subject<'a>(tenant: &'a Tenant, user_id: &'a str) -> Subject<'a> {
    Subject {
        resource_type: "user",
        resource_id: user_id,
        resource_name: None,
        tenant: Some(&tenant.slug),
        partner: tenant.fields.partner.as_ref(),
    }
}

fn user_subject(user_id: &str) -> Subject<'_> {
    Subject {
        resource_type: "user",
        resource_id: user_id,
        resource_name: None,
        tenant: None,
        partner: None,
    }
}

fn role_diff(change: &RoleChange) -> Map<String, Value> {
    let role = |role: Option<TenantRole>| role.map(TenantRole::as_str);
    let diff = json!({"role": {"from": role(change.from), "to": role(change.to)}});
    diff_metadata(diff.as_object().cloned().unwrap_or_default())
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users", tag = "users",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Members with their role in this tenant", body = MemberList),
        (status = 403, description = "No access to this tenant", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<MemberList>, ApiError> {
    let (tenant, _) = visible_tenant(&state, &caller, &slug, None).await?;
    let members = state.store.tenant_members(&tenant.slug).await?;
    Ok(Json(MemberList {
        users: members.iter().map(MemberView::from).collect(),
    }))
}

/// Checks authority and rules for one membership change, then stores it with its event.
async fn apply_member_change(
    state: &AppState,
    caller: &Caller,
    (tenant, access): &(Tenant, TenantAccess),
    action: &'static str,
    user_id: &str,
    to: Option<TenantRole>,
    adding: bool,
) -> Result<(), ApiError> {
    let attempt = || event(state, caller, action, &member_subject(tenant, user_id), Map::new());
    let Some(authority) = access.member_authority() else {
        return Err(deny(
            state,
            attempt(),
            format!("you may not manage the members of '{}'", tenant.slug),
        )
        .await);
    };
    tenant
        .status
        .check_update()
        .map_err(|error| conflict("invalid_state", error.to_string()))?;
    let members: Vec<(String, TenantRole)> = state
        .store
        .tenant_members(&tenant.slug)
        .await?
        .into_iter()
        .map(|member| (member.account.id, member.role))
        .collect();
    let change = roles::check_change(&members, user_id, to, adding).map_err(rule_error)?;
    if let Err(message) = roles::check_authority(authority, &change) {
        return Err(deny(state, attempt(), message).await);
    }
    if adding {
        let account = state
            .store
            .get_account(user_id)
            .await?
            .ok_or_else(|| ApiError::bad_request("invalid_field", format!("userId: no user has id '{user_id}'")))?;
        if account.deactivated_at.is_some() {
            return Err(conflict("deactivated", "the user is deactivated"));
        }
    }
    let events = vec![event(
        state,
        caller,
        action,
        &member_subject(tenant, user_id),
        role_diff(&change),
    )];
    state
        .store
        .change_members(&tenant.slug, tenant.version, &[change], events, state.clock.now())
        .await?;
    Ok(())
}

async fn member_list(state: &AppState, slug: &Slug) -> Result<Json<MemberList>, ApiError> {
    let members = state.store.tenant_members(slug).await?;
    Ok(Json(MemberList {
        users: members.iter().map(MemberView::from).collect(),
    }))
}

fn read_user_id(body: &Map<String, Value>) -> Result<String, ApiError> {
    field::string("userId", field::required(body, "userId").map_err(invalid)?, |text| {
        if text.is_empty() || text.len() > 100 {
            Err("must be a user id".to_owned())
        } else {
            Ok(text.to_owned())
        }
    })
    .map_err(invalid)
}

fn invalid(error: FieldError) -> ApiError {
    crate::control_plane::invalid_field(error)
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/users", tag = "users", request_body = MemberInput,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 201, description = "Added; the tenant's members", body = MemberList),
        (status = 400, description = "Bad userId or role", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator, owner or admin of the tenant (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already a member, or the tenant already has an owner", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<MemberList>), ApiError> {
    let visible = visible_tenant(&state, &caller, &slug, Some("user.member_added")).await?;
    let body = body_object(body)?;
    field::reject_unknown(&body, &["userId", "role"]).map_err(invalid)?;
    let user_id = read_user_id(&body)?;
    let role = parse_role(field::required(&body, "role").map_err(invalid)?).map_err(invalid)?;
    apply_member_change(
        &state,
        &caller,
        &visible,
        "user.member_added",
        &user_id,
        Some(role),
        true,
    )
    .await?;
    Ok((StatusCode::CREATED, member_list(&state, &visible.0.slug).await?))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users", request_body = MemberInput,
    params(("slug" = String, Path, description = "Tenant slug"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Role changed; the tenant's members", body = MemberList),
        (status = 400, description = "Bad role", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not allowed (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403) or member", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Would demote the owner or the last admin", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn change_member_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((slug, user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MemberList>, ApiError> {
    let visible = visible_tenant(&state, &caller, &slug, Some("user.role_changed")).await?;
    let body = body_object(body)?;
    field::reject_unknown(&body, &["role"]).map_err(invalid)?;
    let role = parse_role(field::required(&body, "role").map_err(invalid)?).map_err(invalid)?;
    apply_member_change(
        &state,
        &caller,
        &visible,
        "user.role_changed",
        &user_id,
        Some(role),
        false,
    )
    .await?;
    member_list(&state, &visible.0.slug).await
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users",
    params(("slug" = String, Path, description = "Tenant slug"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Removed; the tenant's members", body = MemberList),
        (status = 403, description = "Not allowed (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403) or member", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Would remove the owner or the last admin", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((slug, user_id)): ApiPath<(String, String)>,
) -> Result<Json<MemberList>, ApiError> {
    let visible = visible_tenant(&state, &caller, &slug, Some("user.member_removed")).await?;
    apply_member_change(&state, &caller, &visible, "user.member_removed", &user_id, None, false).await?;
    member_list(&state, &visible.0.slug).await
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/transfer-ownership", tag = "users", request_body = MemberInput,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "The target owns the tenant; the previous owner is an admin", body = MemberList),
        (status = 403, description = "Not the owner or an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators; others get 403) or member", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "The target already owns it", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MemberList>, ApiError> {
    let action = "user.ownership_transferred";
    let (tenant, access) = visible_tenant(&state, &caller, &slug, Some(action)).await?;
    let body = body_object(body)?;
    field::reject_unknown(&body, &["userId"]).map_err(invalid)?;
    let user_id = read_user_id(&body)?;
    if !matches!(
        access.member_authority(),
        Some(roles::MemberAuthority::Operator | roles::MemberAuthority::Owner)
    ) {
        let attempt = event(&state, &caller, action, &member_subject(&tenant, &user_id), Map::new());
        return Err(deny(&state, attempt, "only the owner or an operator can transfer ownership").await);
    }
    tenant
        .status
        .check_update()
        .map_err(|error| conflict("invalid_state", error.to_string()))?;
    let members: Vec<(String, TenantRole)> = state
        .store
        .tenant_members(&tenant.slug)
        .await?
        .into_iter()
        .map(|member| (member.account.id, member.role))
        .collect();
    let changes = roles::transfer_ownership(&members, &user_id).map_err(rule_error)?;
    let previous: Vec<&str> = changes
        .iter()
        .filter(|change| change.from == Some(TenantRole::Owner))
        .map(|change| change.user_id.as_str())
        .collect();
    let mut metadata = Map::new();
    metadata.insert("previousOwner".into(), json!(previous.first()));
    metadata.insert("newOwner".into(), json!(user_id));
    let events = vec![event(
        &state,
        &caller,
        action,
        &member_subject(&tenant, &user_id),
        metadata,
    )];
    state
        .store
        .change_members(&tenant.slug, tenant.version, &changes, events, state.clock.now())
        .await?;
    member_list(&state, &tenant.slug).await
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListQuery),
    responses(
        (status = 200, description = "Users by e-mail; platformAdmin=true lists the operators", body = UserList),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Json<UserList>, ApiError> {
    caller.require_operator()?;
    let accounts = state.store.list_accounts(query.platform_admin.unwrap_or(false)).await?;
    let users = accounts
        .iter()
        .filter(|account| {
            query
                .platform_admin
                .is_none_or(|wanted| account.platform_admin == wanted)
        })
        .map(UserView::from)
        .collect();
    Ok(Json(UserList { users }))
}

#[utoipa::path(put, path = "/api/v1/users/{user_id}/platform-admin", tag = "users", request_body = PlatformAdminInput,
    params(("user_id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Granted or revoked", body = UserView),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such user", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "On yourself, unchanged, or the last platform admin", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_platform_admin(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(input): ApiJson<PlatformAdminInput>,
) -> Result<Json<UserView>, ApiError> {
    let action = if input.platform_admin {
        "user.platform_admin_granted"
    } else {
        "user.platform_admin_revoked"
    };
    if !caller.is_operator() {
        let attempt = event(&state, &caller, action, &user_subject(&user_id), Map::new());
        return Err(deny(&state, attempt, "this endpoint requires an operator").await);
    }
    if caller_user_id(&caller) == Some(user_id.as_str()) {
        return Err(conflict("self_change", "you cannot change your own platformAdmin"));
    }
    let diff = json!({"platformAdmin": {"from": !input.platform_admin, "to": input.platform_admin}});
    let events = vec![event(
        &state,
        &caller,
        action,
        &user_subject(&user_id),
        diff_metadata(diff.as_object().cloned().unwrap_or_default()),
    )];
    let account = state
        .store
        .change_platform_admin(&user_id, input.platform_admin, events, state.clock.now())
        .await?;
    Ok(Json(UserView::from(&account)))
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/deactivate", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Deactivated: the user can no longer sign in", body = UserView),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such user", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Yourself, already deactivated, or the last platform admin", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<UserView>, ApiError> {
    let action = "user.deactivated";
    if !caller.is_operator() {
        let attempt = event(&state, &caller, action, &user_subject(&user_id), Map::new());
        return Err(deny(&state, attempt, "this endpoint requires an operator").await);
    }
    if caller_user_id(&caller) == Some(user_id.as_str()) {
        return Err(conflict("self_change", "you cannot deactivate yourself"));
    }
    let events = vec![event(&state, &caller, action, &user_subject(&user_id), Map::new())];
    let account = state.store.deactivate_user(&user_id, events, state.clock.now()).await?;
    Ok(Json(UserView::from(&account)))
}
