//! Partners (resellers) over HTTP: create, list with customer counts, get, PATCH with a diff,
//! terminate (soft, never a hard delete), their tenants, and their staff.

use crate::AppState;
use crate::auth::Caller;
use crate::control_plane::{
    Subject, body_object, conflict, deny, diff_metadata, event, invalid_field, visible_partner,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::tenants::{TenantList, TenantView};
use crate::routes::users::{UserList, UserView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_control::field;
use dezky_control::partner::{PartnerDraft, PartnerFields, PartnerPatch};
use dezky_store::control::{Partner, PartnerChange, TenantFilter};
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerView {
    pub slug: String,
    pub name: String,
    pub domain: Option<String>,
    /// active, suspended or terminated.
    pub status: String,
    pub margin_pct: f64,
    /// name, email, phone (each optional).
    #[schema(value_type = Object)]
    pub contact_info: Value,
    #[schema(value_type = Object)]
    pub billing_info: Value,
    /// Tenants whose partner this is (soft-deleted ones included until purged).
    pub customers: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Partner> for PartnerView {
    fn from(partner: &Partner) -> PartnerView {
        let fields = &partner.fields;
        PartnerView {
            slug: partner.slug.to_string(),
            name: fields.name.clone(),
            domain: fields.domain.clone(),
            status: fields.status.as_str().to_owned(),
            margin_pct: fields.margin_pct,
            contact_info: serde_json::to_value(&fields.contact_info).unwrap_or(Value::Null),
            billing_info: serde_json::to_value(&fields.billing_info).unwrap_or(Value::Null),
            customers: partner.customers,
            created_at: partner.created_at.to_rfc3339(),
            updated_at: partner.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PartnerList {
    pub partners: Vec<PartnerView>,
}

/// A create (slug and name required) or PATCH body (only the fields sent; `null` unsets).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PartnerInput {
    /// Create only; immutable.
    slug: Option<String>,
    name: Option<String>,
    domain: Option<String>,
    /// PATCH only: active or suspended (terminate with DELETE).
    status: Option<String>,
    /// 0 to 100.
    margin_pct: Option<f64>,
    #[schema(value_type = Object)]
    contact_info: Option<Value>,
    #[schema(value_type = Object)]
    billing_info: Option<Value>,
}

/// `{"userId": "usr_…"}`.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct StaffInput {
    user_id: String,
}

fn partner_subject(partner: &Partner) -> Subject<'_> {
    Subject {
        resource_type: "partner",
        resource_id: partner.slug.as_str(),
        resource_name: Some(&partner.fields.name),
        tenant: None,
        partner: Some(&partner.slug),
    }
}

#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = PartnerInput,
    responses(
        (status = 201, description = "Created, active", body = PartnerView),
        (status = 400, description = "A field is missing, unknown, of the wrong type or invalid", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Slug taken", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<PartnerView>), ApiError> {
    if !caller.is_operator() {
        let slug = body.get("slug").and_then(Value::as_str).unwrap_or("");
        let subject = Subject {
            resource_type: "partner",
            resource_id: slug,
            resource_name: None,
            tenant: None,
            partner: None,
        };
        let attempt = event(&state, &caller, "partner.created", &subject, Map::new());
        return Err(deny(&state, attempt, "creating partners requires an operator").await);
    }
    let draft = PartnerDraft::parse(&body_object(body)?).map_err(invalid_field)?;
    let preview = Partner {
        slug: draft.slug.clone(),
        fields: draft.fields.clone(),
        customers: 0,
        version: 0,
        created_at: state.clock.now(),
        updated_at: state.clock.now(),
    };
    let mut metadata = Map::new();
    metadata.insert("fields".into(), Value::Object(draft.fields.to_json()));
    let events = vec![event(
        &state,
        &caller,
        "partner.created",
        &partner_subject(&preview),
        metadata,
    )];
    let stored = state
        .store
        .create_partner(draft.slug, draft.fields, events, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(PartnerView::from(&stored))))
}

#[utoipa::path(get, path = "/api/v1/partners", tag = "partners",
    responses(
        (status = 200, description = "Every partner with its customer count", body = PartnerList),
        (status = 403, description = "Not an operator", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_partners(State(state): State<AppState>, caller: Caller) -> Result<Json<PartnerList>, ApiError> {
    caller.require_operator()?;
    let partners = state.store.list_partners().await?;
    Ok(Json(PartnerList {
        partners: partners.iter().map(PartnerView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/partners/{slug}", tag = "partners",
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "The partner", body = PartnerView),
        (status = 403, description = "Neither an operator nor its staff", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_partner(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<PartnerView>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, None).await?;
    Ok(Json(PartnerView::from(&partner)))
}

async fn write_partner(
    state: &AppState,
    caller: &Caller,
    partner: &Partner,
    fields: PartnerFields,
    action: &'static str,
) -> Result<Partner, ApiError> {
    let diff = dezky_control::diff(&partner.fields.to_json(), &fields.to_json());
    if diff.is_empty() {
        return Ok(partner.clone());
    }
    let events = vec![event(
        state,
        caller,
        action,
        &partner_subject(partner),
        diff_metadata(diff),
    )];
    let change = PartnerChange {
        slug: partner.slug.clone(),
        expected_version: partner.version,
        fields,
    };
    Ok(state.store.update_partner(change, events, state.clock.now()).await?)
}

#[utoipa::path(patch, path = "/api/v1/partners/{slug}", tag = "partners", request_body = PartnerInput,
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "Updated (or unchanged: nothing recorded)", body = PartnerView),
        (status = 400, description = "Unknown, immutable, mistyped or invalid field", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "A terminated partner cannot be reactivated; concurrent change", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn update_partner(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PartnerView>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, Some("partner.updated")).await?;
    if !caller.is_operator() {
        let attempt = event(
            &state,
            &caller,
            "partner.updated",
            &partner_subject(&partner),
            Map::new(),
        );
        return Err(deny(&state, attempt, "changing partners requires an operator").await);
    }
    let patch = PartnerPatch::parse(&body_object(body)?).map_err(invalid_field)?;
    let fields = patch
        .apply(&partner.fields)
        .map_err(|message| conflict("invalid_state", message))?;
    let stored = write_partner(&state, &caller, &partner, fields, "partner.updated").await?;
    Ok(Json(PartnerView::from(&stored)))
}

#[utoipa::path(delete, path = "/api/v1/partners/{slug}", tag = "partners",
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "Terminated (soft: its tenants keep their reference)", body = PartnerView),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already terminated", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn terminate_partner(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<PartnerView>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, Some("partner.terminated")).await?;
    if !caller.is_operator() {
        let attempt = event(
            &state,
            &caller,
            "partner.terminated",
            &partner_subject(&partner),
            Map::new(),
        );
        return Err(deny(&state, attempt, "terminating partners requires an operator").await);
    }
    let status = partner
        .fields
        .status
        .terminate()
        .map_err(|message| conflict("invalid_state", message))?;
    let fields = PartnerFields {
        status,
        ..partner.fields.clone()
    };
    let stored = write_partner(&state, &caller, &partner, fields, "partner.terminated").await?;
    Ok(Json(PartnerView::from(&stored)))
}

#[utoipa::path(get, path = "/api/v1/partners/{slug}/tenants", tag = "partners",
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "The partner's customers", body = TenantList),
        (status = 403, description = "Neither an operator nor its staff", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_partner_tenants(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<TenantList>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, None).await?;
    let filter = TenantFilter {
        partner: Some(partner.slug.clone()),
        ..TenantFilter::default()
    };
    let tenants = state.store.list_tenants(&filter).await?;
    let mut counts: Map<String, Value> = Map::new();
    let mut total = 0;
    for (status, count) in state.store.count_tenants_by_status(&filter).await? {
        counts.insert(status.as_str().to_owned(), json!(count));
        total += count;
    }
    counts.insert("total".into(), json!(total));
    Ok(Json(TenantList {
        tenants: tenants.iter().map(TenantView::from).collect(),
        counts: Value::Object(counts),
    }))
}

#[utoipa::path(get, path = "/api/v1/partners/{slug}/staff", tag = "partners",
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "The partner's staff", body = UserList),
        (status = 403, description = "Neither an operator nor its staff", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<UserList>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, None).await?;
    let staff = state.store.partner_staff(&partner.slug).await?;
    Ok(Json(UserList {
        users: staff.iter().map(UserView::from).collect(),
    }))
}

async fn change_staff(
    state: &AppState,
    caller: &Caller,
    partner: &Partner,
    user_id: &str,
    staff: bool,
) -> Result<Json<UserList>, ApiError> {
    let action = if staff {
        "partner.staff_added"
    } else {
        "partner.staff_removed"
    };
    let subject = Subject {
        resource_type: "user",
        resource_id: user_id,
        resource_name: None,
        tenant: None,
        partner: Some(&partner.slug),
    };
    if !caller.is_operator() {
        let attempt = event(state, caller, action, &subject, Map::new());
        return Err(deny(state, attempt, "managing partner staff requires an operator").await);
    }
    if staff && state.store.get_account(user_id).await?.is_none() {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("userId: no user has id '{user_id}'"),
        ));
    }
    let events = vec![event(state, caller, action, &subject, Map::new())];
    state
        .store
        .set_partner_staff(&partner.slug, user_id, staff, events, state.clock.now())
        .await?;
    let staff = state.store.partner_staff(&partner.slug).await?;
    Ok(Json(UserList {
        users: staff.iter().map(UserView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/partners/{slug}/staff", tag = "partners", request_body = StaffInput,
    params(("slug" = String, Path, description = "Partner slug")),
    responses(
        (status = 200, description = "Added; the partner's staff", body = UserList),
        (status = 400, description = "Bad or unknown userId", body = crate::routes::openapi::ErrorBody),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Already staff", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn add_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<UserList>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, Some("partner.staff_added")).await?;
    let body = body_object(body)?;
    field::reject_unknown(&body, &["userId"]).map_err(invalid_field)?;
    let user_id = field::string(
        "userId",
        field::required(&body, "userId").map_err(invalid_field)?,
        |text| Ok::<_, String>(text.to_owned()),
    )
    .map_err(invalid_field)?;
    change_staff(&state, &caller, &partner, &user_id, true).await
}

#[utoipa::path(delete, path = "/api/v1/partners/{slug}/staff/{user_id}", tag = "partners",
    params(("slug" = String, Path, description = "Partner slug"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Removed; the partner's staff", body = UserList),
        (status = 403, description = "Not an operator (recorded as denied)", body = crate::routes::openapi::ErrorBody),
        (status = 404, description = "No such partner (operators; others get 403)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Not staff", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn remove_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((slug, user_id)): ApiPath<(String, String)>,
) -> Result<Json<UserList>, ApiError> {
    let partner = visible_partner(&state, &caller, &slug, Some("partner.staff_removed")).await?;
    change_staff(&state, &caller, &partner, &user_id, false).await
}
