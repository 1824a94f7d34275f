//! What the control-plane routes share: who may act on a tenant or partner (from the
//! memberships tables), how store refusals become HTTP errors, and how their audit events are
//! built and denied attempts recorded.

use crate::AppState;
use crate::auth::{Caller, Principal};
use crate::error::ApiError;
use axum::http::StatusCode;
use dezky_control::FieldError;
use dezky_control::roles::{MemberAuthority, TenantRole};
use dezky_control::tenant::PatchAuthority;
use dezky_core::{Action, NewAuditEvent, Outcome, Slug, TokenScope};
use dezky_store::control::{ControlError, Partner, Tenant, UserAccess};
use serde_json::Value;

/// What the caller is to one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantAccess {
    pub operator: bool,
    /// Staff of the partner whose customer the tenant is.
    pub partner_staff: bool,
    /// The caller's own role in the tenant.
    pub role: Option<TenantRole>,
    /// A tenant-scoped API token of this tenant (read-only).
    pub tenant_token: bool,
}

impl TenantAccess {
    pub fn can_read(&self) -> bool {
        self.operator || self.partner_staff || self.role.is_some() || self.tenant_token
    }

    /// Suspend and resume: operators and the tenant's partner.
    pub fn can_change_status(&self) -> bool {
        self.operator || self.partner_staff
    }

    pub fn patch_authority(&self) -> Option<PatchAuthority> {
        if self.operator {
            Some(PatchAuthority::Operator)
        } else if self.partner_staff {
            Some(PatchAuthority::PartnerStaff)
        } else if self.role.is_some_and(TenantRole::administers) {
            Some(PatchAuthority::TenantAdmin)
        } else {
            None
        }
    }

    pub fn member_authority(&self) -> Option<MemberAuthority> {
        match (self.operator, self.role) {
            (true, _) => Some(MemberAuthority::Operator),
            (false, Some(TenantRole::Owner)) => Some(MemberAuthority::Owner),
            (false, Some(TenantRole::Admin)) => Some(MemberAuthority::Admin),
            _ => None,
        }
    }
}

/// The memberships of a signed-in user (empty for API tokens).
pub async fn user_access(state: &AppState, caller: &Caller) -> Result<UserAccess, ApiError> {
    match &caller.principal {
        Principal::User { user, .. } => Ok(state.store.user_access(&user.id).await?),
        Principal::ApiToken(_) => Ok(UserAccess::default()),
    }
}

pub async fn tenant_access(state: &AppState, caller: &Caller, tenant: &Tenant) -> Result<TenantAccess, ApiError> {
    let tenant_token = matches!(&caller.principal,
        Principal::ApiToken(token) if token.scope == TokenScope::Tenant(tenant.slug.clone()));
    let access = user_access(state, caller).await?;
    Ok(TenantAccess {
        operator: caller.is_operator(),
        partner_staff: tenant
            .fields
            .partner
            .as_ref()
            .is_some_and(|partner| access.is_staff_of(partner)),
        role: access.role_in(&tenant.slug),
        tenant_token,
    })
}

/// The tenant at `slug` and the caller's access to it, for a caller who may at least read it.
///
/// Anyone else gets the same 403 whether the tenant exists or not, so tenant slugs cannot be
/// probed; only operators (who may read every tenant) learn that one does not exist (404). For
/// a mutation, `attempted` names its action and the refusal is recorded as denied either way.
pub async fn visible_tenant(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    attempted: Option<&'static str>,
) -> Result<(Tenant, TenantAccess), ApiError> {
    let slug = parse_slug("tenant", slug)?;
    let tenant = state.store.get_tenant(&slug).await?;
    let access = match &tenant {
        Some(tenant) => tenant_access(state, caller, tenant).await?,
        None => TenantAccess {
            operator: caller.is_operator(),
            ..TenantAccess::default()
        },
    };
    let tenant = match tenant {
        Some(tenant) if access.can_read() => return Ok((tenant, access)),
        None if access.operator => return Err(ApiError::not_found(format!("tenant '{slug}' does not exist"))),
        other => other,
    };
    let message = format!("no access to tenant '{slug}'");
    let Some(action) = attempted else {
        return Err(ApiError::forbidden(message));
    };
    // Only operators read the log, so the event may name the tenant's partner when it exists.
    let subject = Subject {
        resource_type: "tenant",
        resource_id: slug.as_str(),
        resource_name: tenant.as_ref().map(|tenant| tenant.fields.name.as_str()),
        tenant: Some(&slug),
        partner: tenant.as_ref().and_then(|tenant| tenant.fields.partner.as_ref()),
    };
    Err(deny(
        state,
        event(state, caller, action, &subject, serde_json::Map::new()),
        message,
    )
    .await)
}

/// The partner at `slug`, for operators and its own staff; everyone else gets the same 403
/// whether it exists or not (recorded as denied for a mutation, named by `attempted`).
pub async fn visible_partner(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    attempted: Option<&'static str>,
) -> Result<Partner, ApiError> {
    let slug = parse_slug("partner", slug)?;
    let operator = caller.is_operator();
    if operator || user_access(state, caller).await?.is_staff_of(&slug) {
        // Staff of a partner that vanished cannot exist (staff rows reference it): a 404 here
        // tells only an operator something.
        return state
            .store
            .get_partner(&slug)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("partner '{slug}' does not exist")));
    }
    let message = format!("no access to partner '{slug}'");
    let Some(action) = attempted else {
        return Err(ApiError::forbidden(message));
    };
    let subject = Subject {
        resource_type: "partner",
        resource_id: slug.as_str(),
        resource_name: None,
        tenant: None,
        partner: Some(&slug),
    };
    Err(deny(
        state,
        event(state, caller, action, &subject, serde_json::Map::new()),
        message,
    )
    .await)
}

/// Who may read one tenant's slice of the audit log (`/tenants/{slug}/audit…`): operators, a
/// tenant token of that tenant, and the tenant's owner and admins by their membership. Plain
/// members and partner staff may not: the slice holds every member's sign-ins, addresses and
/// file activity. The tenant need not exist any more (its trail outlives a purge), and the
/// answer to everyone else is the same 403 whether it exists or not.
pub async fn require_tenant_audit(state: &AppState, caller: &Caller, slug: &Slug) -> Result<(), ApiError> {
    let allowed = caller.is_operator()
        || match &caller.principal {
            Principal::ApiToken(token) => token.scope == TokenScope::Tenant(slug.clone()),
            Principal::User { user, .. } => state
                .store
                .user_access(&user.id)
                .await?
                .role_in(slug)
                .is_some_and(TenantRole::administers),
        };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "no access to the audit log of tenant '{slug}'"
        )))
    }
}

/// The signed-in user's id, if the caller is a person.
pub fn caller_user_id(caller: &Caller) -> Option<&str> {
    match &caller.principal {
        Principal::User { user, .. } => Some(&user.id),
        Principal::ApiToken(_) => None,
    }
}

/// Who a control-plane event is about.
pub struct Subject<'a> {
    pub resource_type: &'static str,
    pub resource_id: &'a str,
    pub resource_name: Option<&'a str>,
    pub tenant: Option<&'a Slug>,
    pub partner: Option<&'a Slug>,
}

/// An event by the caller about `subject`, with `metadata`.
pub fn event(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    subject: &Subject<'_>,
    metadata: serde_json::Map<String, Value>,
) -> NewAuditEvent {
    let mut event = caller.actor().event(
        state.clock.now(),
        Action::parse(action).expect("control-plane actions are valid verbs"),
    );
    event.resource_type = Some(subject.resource_type.to_owned());
    event.resource_id = Some(subject.resource_id.to_owned());
    event.resource_name = subject.resource_name.map(str::to_owned);
    event.tenant_slug = subject.tenant.cloned();
    event.partner_slug = subject.partner.cloned();
    event.metadata = metadata;
    event
}

/// `{"diff": diff}` as event metadata.
pub fn diff_metadata(diff: dezky_control::Diff) -> serde_json::Map<String, Value> {
    let mut metadata = serde_json::Map::new();
    metadata.insert("diff".into(), Value::Object(diff));
    metadata
}

/// Records a refused attempt (outcome `denied`) and returns the 403 to send.
pub async fn deny(state: &AppState, mut event: NewAuditEvent, message: impl Into<String>) -> ApiError {
    let message = message.into();
    event.outcome = Outcome::Denied;
    event.metadata.insert("reason".into(), Value::String(message.clone()));
    if let Err(error) = state.audit.record(vec![event]).await {
        return ApiError::from(error);
    }
    ApiError::forbidden(message)
}

pub fn invalid_field(error: FieldError) -> ApiError {
    ApiError::bad_request("invalid_field", error.to_string())
}

pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> ApiError {
        let message = error.to_string();
        match error {
            ControlError::NotFound(_) => ApiError::not_found(message),
            ControlError::Stale => conflict("stale", message),
            ControlError::SlugTaken(_) => conflict("slug_taken", message),
            ControlError::DomainTaken { .. } => conflict("domain_taken", message),
            ControlError::LastPlatformAdmin => conflict("last_platform_admin", message),
            ControlError::Conflict(_) => conflict("conflict", message),
            ControlError::InviteExists(_) => conflict("invite_exists", message),
            ControlError::UserExists(_) => conflict("user_exists", message),
            ControlError::Store(store) => ApiError::from(store),
        }
    }
}

/// A request body that must be a JSON object.
pub fn body_object(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request(
            "invalid_json",
            "the request body must be a JSON object",
        )),
    }
}

pub fn parse_slug(kind: &str, text: &str) -> Result<Slug, ApiError> {
    Slug::parse(text).map_err(|error| ApiError::bad_request("invalid_path", format!("{kind} slug '{text}' {error}")))
}
