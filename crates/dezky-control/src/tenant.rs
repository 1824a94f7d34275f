//! Tenants: their status lifecycle, their editable fields, and how create and PATCH bodies
//! become those fields.

use crate::field::{self, FieldError, Patch};
use crate::validate;
use dezky_core::Slug;
use serde::Serialize;
use serde_json::{Map, Value};

/// Where a tenant is in its life. `deleted` is a soft delete: the row and slug stay until a
/// purge removes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Pending,
    Active,
    Suspended,
    Deleted,
}

/// A lifecycle step that the tenant's current status does not allow; names both.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {step} a tenant that is {from}")]
pub struct TransitionError {
    pub step: &'static str,
    pub from: &'static str,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 4] = [
        TenantStatus::Pending,
        TenantStatus::Active,
        TenantStatus::Suspended,
        TenantStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Pending => "pending",
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<TenantStatus> {
        TenantStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    fn refuse(self, step: &'static str) -> TransitionError {
        TransitionError {
            step,
            from: self.as_str(),
        }
    }

    /// pending or active → suspended.
    pub fn suspend(self) -> Result<TenantStatus, TransitionError> {
        match self {
            TenantStatus::Pending | TenantStatus::Active => Ok(TenantStatus::Suspended),
            other => Err(other.refuse("suspend")),
        }
    }

    /// suspended → active. Resuming an active tenant is a conflict, not a no-op, so a client
    /// acting on stale state learns about it.
    pub fn resume(self) -> Result<TenantStatus, TransitionError> {
        match self {
            TenantStatus::Suspended => Ok(TenantStatus::Active),
            other => Err(other.refuse("resume")),
        }
    }

    /// Anything not yet deleted → deleted (soft).
    pub fn soft_delete(self) -> Result<TenantStatus, TransitionError> {
        match self {
            TenantStatus::Deleted => Err(self.refuse("delete")),
            _ => Ok(TenantStatus::Deleted),
        }
    }

    /// Purging is the second step of two: only a soft-deleted tenant may be purged.
    pub fn check_purge(self) -> Result<(), TransitionError> {
        match self {
            TenantStatus::Deleted => Ok(()),
            other => Err(other.refuse("purge")),
        }
    }

    /// Fields of a deleted tenant are frozen (it may only be purged).
    pub fn check_update(self) -> Result<(), TransitionError> {
        match self {
            TenantStatus::Deleted => Err(self.refuse("update")),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for TenantStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Billing details. Every part is optional; a blank e-mail is stored as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

impl BillingInfo {
    pub const FIELDS: [&'static str; 4] = ["company", "vatId", "country", "contactEmail"];

    /// Parses `billingInfo` (or a partner's `billingInfo`); errors name `<prefix>.<part>`.
    pub fn parse(prefix: &str, value: &Value) -> Result<BillingInfo, FieldError> {
        let object = field::object(prefix, value)?;
        let name = |part: &str| format!("{prefix}.{part}");
        if let Some(unknown) = object.keys().find(|key| !BillingInfo::FIELDS.contains(&key.as_str())) {
            return Err(FieldError::new(
                name(unknown),
                format!("unknown field; expected one of {}", BillingInfo::FIELDS.join(", ")),
            ));
        }
        let text = |part: &str, check: fn(&str) -> Result<String, String>| {
            let field_name = name(part);
            field::optional(object, part, |value| field::string(&field_name, value, check))
        };
        let contact_name = name("contactEmail");
        Ok(BillingInfo {
            company: text("company", validate::display_name)?,
            vat_id: text("vatId", validate::short_text)?,
            country: text("country", validate::country)?,
            contact_email: field::optional(object, "contactEmail", |value| {
                field::string(&contact_name, value, validate::optional_email)
            })?
            .flatten(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self == &BillingInfo::default()
    }
}

/// Where provisioning into one integration stands. It starts `pending` when the integration is
/// configured and `not_configured` otherwise; the provisioning issue moves it on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningState {
    NotConfigured,
    Pending,
    Provisioned,
    Failed,
}

pub const INTEGRATIONS: [&str; 3] = ["authentik", "stalwart", "ocis"];

/// Every field of a tenant an update may change (status has its own steps).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantFields {
    pub name: String,
    pub plan: Option<String>,
    pub seats: Option<u64>,
    pub domains: Vec<String>,
    pub partner: Option<Slug>,
    pub is_platform_tenant: bool,
    pub industry: Option<String>,
    pub brand_color: Option<String>,
    pub billing_info: BillingInfo,
}

impl TenantFields {
    /// The fields as a JSON object, the shape diffs are computed on.
    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// Largest seat count a tenant may have; anything bigger is surely a typo.
pub const MAX_SEATS: u64 = 1_000_000;
/// At most this many domains per tenant.
pub const MAX_DOMAINS: usize = 50;

fn parse_domains(value: &Value) -> Result<Vec<String>, FieldError> {
    let items = field::array("domains", value)?;
    if items.len() > MAX_DOMAINS {
        return Err(FieldError::new("domains", format!("at most {MAX_DOMAINS} domains")));
    }
    let mut domains: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let domain = field::string(&format!("domains[{index}]"), item, validate::domain)?;
        if domains.contains(&domain) {
            return Err(FieldError::new(
                format!("domains[{index}]"),
                format!("'{domain}' is listed twice"),
            ));
        }
        domains.push(domain);
    }
    Ok(domains)
}

fn parse_partner(value: &Value) -> Result<Slug, FieldError> {
    field::string("partner", value, validate::slug)
}

fn text_field(
    field_name: &'static str,
    check: fn(&str) -> Result<String, String>,
) -> impl Fn(&Value) -> Result<String, FieldError> {
    move |value| field::string(field_name, value, check)
}

/// A validated create-tenant body.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantDraft {
    pub slug: Slug,
    pub fields: TenantFields,
}

impl TenantDraft {
    pub const FIELDS: [&'static str; 10] = [
        "slug",
        "name",
        "plan",
        "seats",
        "domains",
        "partner",
        "isPlatformTenant",
        "industry",
        "brandColor",
        "billingInfo",
    ];

    pub fn parse(body: &Map<String, Value>) -> Result<TenantDraft, FieldError> {
        field::reject_unknown(body, &TenantDraft::FIELDS)?;
        let slug = field::string("slug", field::required(body, "slug")?, validate::slug)?;
        let name = text_field("name", validate::display_name)(field::required(body, "name")?)?;
        Ok(TenantDraft {
            slug,
            fields: TenantFields {
                name,
                plan: field::optional(body, "plan", text_field("plan", validate::short_text))?,
                seats: field::optional(body, "seats", |value| field::whole_number("seats", value, 0, MAX_SEATS))?,
                domains: field::optional(body, "domains", parse_domains)?.unwrap_or_default(),
                partner: field::optional(body, "partner", parse_partner)?,
                is_platform_tenant: field::optional(body, "isPlatformTenant", |value| {
                    field::boolean("isPlatformTenant", value)
                })?
                .unwrap_or(false),
                industry: field::optional(body, "industry", text_field("industry", validate::short_text))?,
                brand_color: field::optional(body, "brandColor", text_field("brandColor", validate::brand_color))?,
                billing_info: field::optional(body, "billingInfo", |value| BillingInfo::parse("billingInfo", value))?
                    .unwrap_or_default(),
            },
        })
    }
}

/// A validated PATCH body: each field kept, unset (`null`) or set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub plan: Patch<String>,
    pub seats: Patch<u64>,
    pub domains: Option<Vec<String>>,
    pub partner: Patch<Slug>,
    pub is_platform_tenant: Option<bool>,
    pub industry: Patch<String>,
    pub brand_color: Patch<String>,
    pub billing_info: Patch<BillingInfo>,
}

/// Who is patching: operators may change everything; a partner's staff everything but the
/// partner and the platform flag; a tenant's own admins only its profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchAuthority {
    Operator,
    PartnerStaff,
    TenantAdmin,
}

impl PatchAuthority {
    fn allows(self, field_name: &str) -> bool {
        match self {
            PatchAuthority::Operator => true,
            PatchAuthority::PartnerStaff => !matches!(field_name, "partner" | "isPlatformTenant"),
            PatchAuthority::TenantAdmin => {
                matches!(field_name, "name" | "industry" | "brandColor" | "billingInfo")
            }
        }
    }
}

/// A field the caller is not allowed to change (a 403, recorded as denied).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("you may not change {field}")]
pub struct ForbiddenField {
    pub field: String,
}

impl TenantPatch {
    pub const FIELDS: [&'static str; 9] = [
        "name",
        "plan",
        "seats",
        "domains",
        "partner",
        "isPlatformTenant",
        "industry",
        "brandColor",
        "billingInfo",
    ];

    pub fn parse(body: &Map<String, Value>) -> Result<TenantPatch, FieldError> {
        if body.contains_key("slug") {
            return Err(FieldError::new("slug", "is immutable"));
        }
        if body.contains_key("status") {
            return Err(FieldError::new(
                "status",
                "changes through suspend, resume and DELETE, not PATCH",
            ));
        }
        field::reject_unknown(body, &TenantPatch::FIELDS)?;
        let not_null = |field_name: &str| match body.get(field_name) {
            Some(Value::Null) => Err(FieldError::new(field_name, "cannot be unset")),
            _ => Ok(()),
        };
        for required in ["name", "domains", "isPlatformTenant"] {
            not_null(required)?;
        }
        Ok(TenantPatch {
            name: field::optional(body, "name", text_field("name", validate::display_name))?,
            plan: field::patch(body, "plan", text_field("plan", validate::short_text))?,
            seats: field::patch(body, "seats", |value| field::whole_number("seats", value, 0, MAX_SEATS))?,
            domains: field::optional(body, "domains", parse_domains)?,
            partner: field::patch(body, "partner", parse_partner)?,
            is_platform_tenant: field::optional(body, "isPlatformTenant", |value| {
                field::boolean("isPlatformTenant", value)
            })?,
            industry: field::patch(body, "industry", text_field("industry", validate::short_text))?,
            brand_color: field::patch(body, "brandColor", text_field("brandColor", validate::brand_color))?,
            billing_info: field::patch(body, "billingInfo", |value| BillingInfo::parse("billingInfo", value))?,
        })
    }

    /// The names of the fields this patch sends, in the order of [`TenantPatch::FIELDS`].
    pub fn sent_fields(&self) -> Vec<&'static str> {
        let sent = [
            self.name.is_some(),
            self.plan.is_sent(),
            self.seats.is_sent(),
            self.domains.is_some(),
            self.partner.is_sent(),
            self.is_platform_tenant.is_some(),
            self.industry.is_sent(),
            self.brand_color.is_sent(),
            self.billing_info.is_sent(),
        ];
        TenantPatch::FIELDS
            .into_iter()
            .zip(sent)
            .filter_map(|(name, sent)| sent.then_some(name))
            .collect()
    }

    /// Refuses the patch if it sends a field `authority` may not change.
    pub fn check_authority(&self, authority: PatchAuthority) -> Result<(), ForbiddenField> {
        match self.sent_fields().into_iter().find(|name| !authority.allows(name)) {
            Some(name) => Err(ForbiddenField { field: name.to_owned() }),
            None => Ok(()),
        }
    }

    /// The fields after the patch.
    pub fn apply(self, current: &TenantFields) -> TenantFields {
        let current = current.clone();
        TenantFields {
            name: self.name.unwrap_or(current.name),
            plan: self.plan.apply(current.plan),
            seats: self.seats.apply(current.seats),
            domains: self.domains.unwrap_or(current.domains),
            partner: self.partner.apply(current.partner),
            is_platform_tenant: self.is_platform_tenant.unwrap_or(current.is_platform_tenant),
            industry: self.industry.apply(current.industry),
            brand_color: self.brand_color.apply(current.brand_color),
            billing_info: self.billing_info.apply(Some(current.billing_info)).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
#[path = "tenant_tests.rs"]
mod tests;

/// Provisioning of one integration: its state and the errors of the last attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationProvisioning {
    pub status: ProvisioningState,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Provisioning per integration (`authentik`, `stalwart`, `ocis`).
pub type Provisioning = std::collections::BTreeMap<String, IntegrationProvisioning>;

/// The provisioning a new tenant starts with: `pending` for configured integrations,
/// `not_configured` for the others.
pub fn initial_provisioning(configured: &[&str]) -> Provisioning {
    INTEGRATIONS
        .iter()
        .map(|integration| {
            let status = if configured.contains(integration) {
                ProvisioningState::Pending
            } else {
                ProvisioningState::NotConfigured
            };
            (
                integration.to_string(),
                IntegrationProvisioning { status, errors: vec![] },
            )
        })
        .collect()
}
