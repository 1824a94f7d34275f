//! Invitations over HTTP (operators only): invite a person by e-mail with `platformAdmin`
//! and/or a tenant membership, list the pending invitations, revoke one. The invitation is
//! consumed when the person first signs in with that address verified (`auth::invite_acceptance`).

use crate::AppState;
use crate::auth::Caller;
use crate::control_plane::{Subject, body_object, conflict, deny, event, invalid_field};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::ids;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_control::FieldError;
use dezky_control::invite::{InviteDraft, check_invited_role};
use dezky_core::Slug;
use dezky_store::Invite;
use dezky_store::control::Tenant;
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub platform_admin: bool,
    /// The tenant the membership is in (with `role`), if the invitation grants one.
    pub tenant: Option<String>,
    /// member, admin or owner.
    pub role: Option<String>,
    pub created_at: String,
    /// The inviting actor's id.
    pub invited_by: Option<String>,
}

impl From<&Invite> for InviteView {
    fn from(invite: &Invite) -> InviteView {
        InviteView {
            id: invite.id.clone(),
            email: invite.email.clone(),
            name: invite.name.clone(),
            platform_admin: invite.platform_admin,
            tenant: invite
                .membership
                .as_ref()
                .map(|membership| membership.tenant.to_string()),
            role: invite
                .membership
                .as_ref()
                .map(|membership| membership.role.as_str().to_owned()),
            created_at: invite.created_at.to_rfc3339(),
            invited_by: invite.created_by.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InviteList {
    pub invites: Vec<InviteView>,
}

/// `{"email", "name"?, "platformAdmin"?, "tenant"?, "role"?}`: `platformAdmin: true`, or
/// `tenant` with `role`, or both.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct InviteInput {
    email: String,
    name: Option<String>,
    platform_admin: Option<bool>,
    /// A tenant slug; requires `role`.
    tenant: Option<String>,
    /// member, admin or owner (owner only while the tenant has none).
    role: Option<String>,
}

/// The invitation as event subject; its tenant (and that tenant's partner) when it has one.
fn invite_subject<'a>(invite_id: &'a str, tenant: Option<&'a Tenant>, slug: Option<&'a Slug>) -> Subject<'a> {
    Subject {
        resource_type: "invite",
        resource_id: invite_id,
        resource_name: None,
        tenant: slug,
        partner: tenant.and_then(|tenant| tenant.fields.partner.as_ref()),
    }
}

/// What an invitation says, for its events (personal data: the metadata is erasable).
fn invite_metadata(invite: &InviteView) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert(
        "invite".into(),
        json!({"email": invite.email, "name": invite.name, "platformAdmin": invite.platform_admin,
               "tenant": invite.tenant, "role": invite.role}),
    );
    metadata
}

#[utoipa::path(post, path = "/api/v1/users/invites", tag = "users", request_body = InviteInput,
    responses(
        (status = 201, description = "Invited: consumed when the person first signs in with this e-mail verified", body = InviteView),
        (status = 400, description = "A field is missing, unknown, of the wrong type or invalid (bad e-mail, unknown tenant or role)", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "A pending invitation for the address (invite_exists), a user with it (user_exists), an owner invitation into an owned tenant (role_rule), a deleted tenant", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_invite(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<InviteView>), ApiError> {
    if !caller.is_operator() {
        let mut attempt = event(
            &state,
            &caller,
            "user.invited",
            &invite_subject("", None, None),
            Map::new(),
        );
        attempt.resource_id = None;
        return Err(deny(&state, attempt, "inviting users requires an operator").await);
    }
    let draft = InviteDraft::parse(&body_object(body)?).map_err(invalid_field)?;
    let tenant = match &draft.membership {
        Some(membership) => {
            let tenant = state.store.get_tenant(&membership.tenant).await?.ok_or_else(|| {
                invalid_field(FieldError::new(
                    "tenant",
                    format!("'{}' does not exist", membership.tenant),
                ))
            })?;
            tenant
                .status
                .check_update()
                .map_err(|error| conflict("invalid_state", format!("tenant '{}': {error}", tenant.slug)))?;
            let members: Vec<_> = state
                .store
                .tenant_members(&tenant.slug)
                .await?
                .into_iter()
                .map(|member| (member.account.id, member.role))
                .collect();
            check_invited_role(&members, membership.role)
                .map_err(|error| conflict("role_rule", format!("tenant '{}': {error}", tenant.slug)))?;
            Some(tenant)
        }
        None => None,
    };
    let invite = Invite {
        id: ids::invite_id(),
        email: draft.email,
        name: draft.name,
        platform_admin: draft.platform_admin,
        membership: draft.membership,
        created_at: state.clock.now(),
        created_by: caller.actor().id,
    };
    let slug = invite.membership.as_ref().map(|membership| &membership.tenant);
    let subject = invite_subject(&invite.id, tenant.as_ref(), slug);
    let events = vec![event(
        &state,
        &caller,
        "user.invited",
        &subject,
        invite_metadata(&InviteView::from(&invite)),
    )];
    let stored = state.store.create_invite(invite, events, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(InviteView::from(&stored))))
}

#[utoipa::path(get, path = "/api/v1/users/invites", tag = "users",
    responses(
        (status = 200, description = "Pending invitations, oldest first", body = InviteList),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_invites(State(state): State<AppState>, caller: Caller) -> Result<Json<InviteList>, ApiError> {
    caller.require_operator()?;
    let invites = state.store.list_invites().await?;
    Ok(Json(InviteList {
        invites: invites.iter().map(InviteView::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/users/invites/{invite_id}", tag = "users",
    params(("invite_id" = String, Path, description = "Invitation id (inv_…)")),
    responses(
        (status = 200, description = "Revoked; the revoked invitation", body = InviteView),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No pending invitation has this id (accepted, revoked or never made)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(invite_id): ApiPath<String>,
) -> Result<Json<InviteView>, ApiError> {
    if !caller.is_operator() {
        let attempt = event(
            &state,
            &caller,
            "user.invite_revoked",
            &invite_subject(&invite_id, None, None),
            Map::new(),
        );
        return Err(deny(&state, attempt, "revoking invitations requires an operator").await);
    }
    let invite = state
        .store
        .get_invite(&invite_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no pending invitation has id '{invite_id}'")))?;
    let slug = invite.membership.as_ref().map(|membership| &membership.tenant);
    let tenant = match slug {
        Some(slug) => state.store.get_tenant(slug).await?,
        None => None,
    };
    let view = InviteView::from(&invite);
    let events = vec![event(
        &state,
        &caller,
        "user.invite_revoked",
        &invite_subject(&invite.id, tenant.as_ref(), slug),
        invite_metadata(&view),
    )];
    state.store.revoke_invite(&invite.id, events, state.clock.now()).await?;
    Ok(Json(view))
}
