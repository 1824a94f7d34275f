//! Tenants over HTTP: create, list, get, PATCH (including attaching and detaching a partner),
//! suspend, resume, soft-delete and purge. Every change is audited in its own transaction; a
//! PATCH records `metadata.diff` with exactly the fields it changed. The lifecycle steps are in
//! `tenant_lifecycle`.

use crate::AppState;
use crate::auth::Caller;
use crate::control_plane::{
    Subject, body_object, conflict, deny, diff_metadata, event, invalid_field, parse_slug, user_access, visible_tenant,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_control::domains::check_domains;
use dezky_control::tenant::{TenantDraft, TenantFields, TenantPatch, TenantStatus, initial_provisioning};
use dezky_core::{NewAuditEvent, Slug};
use dezky_store::control::{NewTenant, Tenant, TenantChange, TenantFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub slug: String,
    pub name: String,
    /// pending, active, suspended or deleted.
    pub status: String,
    pub plan: Option<String>,
    pub seats: Option<u64>,
    pub domains: Vec<String>,
    /// The partner's slug.
    pub partner: Option<String>,
    pub is_platform_tenant: bool,
    pub industry: Option<String>,
    pub brand_color: Option<String>,
    /// company, vatId, country, contactEmail (each optional).
    #[schema(value_type = Object)]
    pub billing_info: Value,
    /// Per integration (authentik, stalwart, ocis): not_configured, pending, provisioned or failed.
    #[schema(value_type = Object)]
    pub provisioning_status: Value,
    /// Per integration: the errors of the last provisioning attempt.
    #[schema(value_type = Object)]
    pub provisioning_errors: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Tenant> for TenantView {
    fn from(tenant: &Tenant) -> TenantView {
        let fields = &tenant.fields;
        TenantView {
            slug: tenant.slug.to_string(),
            name: fields.name.clone(),
            status: tenant.status.as_str().to_owned(),
            plan: fields.plan.clone(),
            seats: fields.seats,
            domains: fields.domains.clone(),
            partner: fields.partner.as_ref().map(Slug::to_string),
            is_platform_tenant: fields.is_platform_tenant,
            industry: fields.industry.clone(),
            brand_color: fields.brand_color.clone(),
            billing_info: serde_json::to_value(&fields.billing_info).unwrap_or(Value::Null),
            provisioning_status: tenant
                .provisioning
                .iter()
                .map(|(name, state)| (name.clone(), serde_json::to_value(&state.status).unwrap_or(Value::Null)))
                .collect::<Map<_, _>>()
                .into(),
            provisioning_errors: tenant
                .provisioning
                .iter()
                .map(|(name, state)| (name.clone(), json!(state.errors)))
                .collect::<Map<_, _>>()
                .into(),
            created_at: tenant.created_at.to_rfc3339(),
            updated_at: tenant.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
    /// Tenants per status (and `total`) matching the search and partner, whatever the status filter.
    #[schema(value_type = Object)]
    pub counts: Value,
}

/// A create (all of slug and name required) or PATCH body (only the fields sent; `null` unsets).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TenantInput {
    /// Create only; immutable. A DNS label.
    slug: Option<String>,
    name: Option<String>,
    plan: Option<String>,
    seats: Option<u64>,
    domains: Option<Vec<String>>,
    /// A partner slug to attach, `null` to detach (operators only).
    partner: Option<String>,
    /// Operators only; setting it clears it on the previous holder.
    is_platform_tenant: Option<bool>,
    industry: Option<String>,
    /// #rgb or #rrggbb.
    brand_color: Option<String>,
    #[schema(value_type = Object)]
    billing_info: Option<Value>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantListQuery {
    /// Case-insensitive substring of the slug or name.
    pub q: Option<String>,
    /// pending, active, suspended or deleted.
    pub status: Option<String>,
    /// Only this partner's customers.
    pub partner: Option<String>,
}

pub(crate) fn tenant_subject(tenant: &Tenant) -> Subject<'_> {
    Subject {
        resource_type: "tenant",
        resource_id: tenant.slug.as_str(),
        resource_name: Some(&tenant.fields.name),
        tenant: Some(&tenant.slug),
        partner: tenant.fields.partner.as_ref(),
    }
}

pub(crate) async fn load_tenant(state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
    let slug = parse_slug("tenant", slug)?;
    state
        .store
        .get_tenant(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant '{slug}' does not exist")))
}

/// The partner a tenant is being attached to must exist and take customers.
async fn check_partner(state: &AppState, partner: &Slug) -> Result<(), ApiError> {
    let found = state
        .store
        .get_partner(partner)
        .await?
        .ok_or_else(|| ApiError::bad_request("invalid_field", format!("partner: '{partner}' does not exist")))?;
    found
        .fields
        .status
        .check_accepts_tenants()
        .map_err(|message| conflict("partner_inactive", format!("partner '{partner}': {message}")))
}

/// The platform-domain guard rails and the single platform tenant: returns the previous holder
/// of the flag (with the version read) when `fields` takes it over.
async fn check_platform_rules(
    state: &AppState,
    slug: &Slug,
    fields: &TenantFields,
) -> Result<Option<(Slug, i64)>, ApiError> {
    let apex = state.platform_tenant_domain.as_deref();
    check_domains(apex, &fields.domains, fields.is_platform_tenant)
        .map_err(|refusal| conflict("domain_reserved", refusal.to_string()))?;
    if !fields.is_platform_tenant {
        return Ok(None);
    }
    match state.store.platform_tenant().await? {
        Some(holder) if &holder.slug != slug => {
            if let Some(apex) = apex
                && holder.fields.domains.iter().any(|domain| domain == apex)
            {
                return Err(conflict(
                    "domain_reserved",
                    format!(
                        "tenant '{}' holds the platform domain {apex}; remove it there first",
                        holder.slug
                    ),
                ));
            }
            Ok(Some((holder.slug, holder.version)))
        }
        _ => Ok(None),
    }
}

/// `tenant.updated` for the tenant that lost the platform flag.
async fn platform_flag_loss_event(
    state: &AppState,
    caller: &Caller,
    previous: &Option<(Slug, i64)>,
) -> Result<Option<NewAuditEvent>, ApiError> {
    let Some((slug, _)) = previous else {
        return Ok(None);
    };
    let holder = load_tenant(state, slug.as_str()).await?;
    let diff = json!({"isPlatformTenant": {"from": true, "to": false}});
    let metadata = diff_metadata(diff.as_object().cloned().unwrap_or_default());
    Ok(Some(event(
        state,
        caller,
        "tenant.updated",
        &tenant_subject(&holder),
        metadata,
    )))
}

fn partner_event(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    tenant: &Tenant,
    partner: &Slug,
) -> NewAuditEvent {
    let subject = Subject {
        partner: Some(partner),
        ..tenant_subject(tenant)
    };
    event(state, caller, action, &subject, Map::new())
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = TenantInput,
    responses(
        (status = 201, description = "Created; provisioning starts pending or not_configured", body = TenantView),
        (status = 400, description = "A field is missing, unknown, of the wrong type or invalid", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Slug or domain taken, reserved domain, or inactive partner", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    if !caller.is_operator() {
        let slug = body.get("slug").and_then(Value::as_str).unwrap_or("");
        let subject = Subject {
            resource_type: "tenant",
            resource_id: slug,
            resource_name: None,
            tenant: None,
            partner: None,
        };
        let attempt = event(&state, &caller, "tenant.created", &subject, Map::new());
        return Err(deny(&state, attempt, "creating tenants requires an operator").await);
    }
    let draft = TenantDraft::parse(&body_object(body)?).map_err(invalid_field)?;
    if let Some(partner) = &draft.fields.partner {
        check_partner(&state, partner).await?;
    }
    let previous_holder = check_platform_rules(&state, &draft.slug, &draft.fields).await?;
    let tenant = Tenant {
        slug: draft.slug.clone(),
        status: TenantStatus::Active,
        fields: draft.fields.clone(),
        // No provisioning integration is wired yet (a later issue): each starts not_configured.
        provisioning: initial_provisioning(&[]),
        version: 0,
        created_at: state.clock.now(),
        updated_at: state.clock.now(),
    };
    let mut created = Map::new();
    created.insert("fields".into(), Value::Object(draft.fields.to_json()));
    let mut events = vec![event(
        &state,
        &caller,
        "tenant.created",
        &tenant_subject(&tenant),
        created,
    )];
    if let Some(partner) = &draft.fields.partner {
        events.push(partner_event(
            &state,
            &caller,
            "partner.tenant_attached",
            &tenant,
            partner,
        ));
    }
    events.extend(platform_flag_loss_event(&state, &caller, &previous_holder).await?);
    let new_tenant = NewTenant {
        slug: tenant.slug,
        status: tenant.status,
        fields: tenant.fields,
        provisioning: tenant.provisioning,
    };
    let stored = state
        .store
        .create_tenant(new_tenant, previous_holder, events, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(TenantView::from(&stored))))
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(TenantListQuery),
    responses(
        (status = 200, description = "Matching tenants by slug, with counts per status", body = TenantList),
        (status = 400, description = "Invalid status or partner", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Neither an operator nor partner staff", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TenantListQuery>,
) -> Result<Json<TenantList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|text| {
            TenantStatus::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("status '{text}' is not pending, active, suspended or deleted"),
                )
            })
        })
        .transpose()?;
    let partner = query
        .partner
        .as_deref()
        .map(|text| parse_slug("partner", text))
        .transpose()?;
    let search = query.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if search.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "q must be at most 200 characters",
        ));
    }
    // Operators see every tenant; a partner's staff only their customers.
    let partners: Vec<Option<Slug>> = if caller.is_operator() {
        vec![partner]
    } else {
        let access = user_access(&state, &caller).await?;
        match partner {
            Some(partner) if access.is_staff_of(&partner) => vec![Some(partner)],
            Some(partner) => return Err(ApiError::forbidden(format!("no access to partner '{partner}'"))),
            None if !access.partners.is_empty() => access.partners.into_iter().map(Some).collect(),
            None => {
                return Err(ApiError::forbidden(
                    "listing tenants requires an operator or partner staff",
                ));
            }
        }
    };
    let mut tenants = vec![];
    let mut counts: Map<String, Value> = TenantStatus::ALL
        .iter()
        .map(|status| (status.as_str().to_owned(), json!(0)))
        .collect();
    let mut total = 0;
    for partner in partners {
        let filter = TenantFilter {
            search: search.clone(),
            status,
            partner,
        };
        tenants.extend(state.store.list_tenants(&filter).await?);
        for (status, count) in state.store.count_tenants_by_status(&filter).await? {
            let entry = counts.entry(status.as_str()).or_insert(json!(0));
            *entry = json!(entry.as_u64().unwrap_or(0) + count);
            total += count;
        }
    }
    tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    counts.insert("total".into(), json!(total));
    Ok(Json(TenantList {
        tenants: tenants.iter().map(TenantView::from).collect(),
        counts: Value::Object(counts),
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 403, description = "No access to this tenant (also when it does not exist, unless you are an operator)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators only)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<TenantView>, ApiError> {
    let (tenant, _) = visible_tenant(&state, &caller, &slug, None).await?;
    Ok(Json(TenantView::from(&tenant)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}", tag = "tenants", request_body = TenantInput,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "Updated (or unchanged: nothing sent differed, nothing recorded)", body = TenantView),
        (status = 400, description = "Unknown, immutable, mistyped or invalid field", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not allowed to change this tenant or one of the fields, or no such tenant and not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such tenant (operators only)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Deleted tenant, domain taken or reserved, inactive partner, concurrent change", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<TenantView>, ApiError> {
    let (tenant, access) = visible_tenant(&state, &caller, &slug, Some("tenant.updated")).await?;
    let attempt = || event(&state, &caller, "tenant.updated", &tenant_subject(&tenant), Map::new());
    let Some(authority) = access.patch_authority() else {
        return Err(deny(&state, attempt(), format!("you may not change tenant '{slug}'")).await);
    };
    let patch = TenantPatch::parse(&body_object(body)?).map_err(invalid_field)?;
    if let Err(forbidden) = patch.check_authority(authority) {
        return Err(deny(&state, attempt(), forbidden.to_string()).await);
    }
    tenant
        .status
        .check_update()
        .map_err(|error| conflict("invalid_state", error.to_string()))?;
    let fields = patch.apply(&tenant.fields);
    let diff = dezky_control::diff(&tenant.fields.to_json(), &fields.to_json());
    if diff.is_empty() {
        return Ok(Json(TenantView::from(&tenant)));
    }
    if diff.contains_key("partner")
        && let Some(partner) = &fields.partner
    {
        check_partner(&state, partner).await?;
    }
    let previous_holder = check_platform_rules(&state, &tenant.slug, &fields).await?;
    let after = Tenant {
        fields: fields.clone(),
        ..tenant.clone()
    };
    let mut events = vec![event(
        &state,
        &caller,
        "tenant.updated",
        &tenant_subject(&after),
        diff_metadata(diff.clone()),
    )];
    if diff.contains_key("partner") {
        if let Some(old) = &tenant.fields.partner {
            events.push(partner_event(&state, &caller, "partner.tenant_detached", &after, old));
        }
        if let Some(new) = &fields.partner {
            events.push(partner_event(&state, &caller, "partner.tenant_attached", &after, new));
        }
    }
    events.extend(platform_flag_loss_event(&state, &caller, &previous_holder).await?);
    let change = TenantChange {
        slug: tenant.slug.clone(),
        expected_version: tenant.version,
        status: tenant.status,
        fields,
        clear_platform_flag_of: previous_holder,
    };
    let stored = state.store.update_tenant(change, events, state.clock.now()).await?;
    Ok(Json(TenantView::from(&stored)))
}
