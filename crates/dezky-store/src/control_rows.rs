//! Rows of the control-plane tables and their conversion into records.

use crate::StoreError;
use crate::control::{Account, Member, Partner, Tenant};
use dezky_control::partner::{PartnerFields, PartnerStatus};
use dezky_control::roles::TenantRole;
use dezky_control::tenant::{TenantFields, TenantStatus};
use dezky_core::{Slug, Timestamp};

pub(crate) const TENANT_COLUMNS: &str = "slug, name, status, plan, seats, partner_slug, is_platform_tenant, \
    industry, brand_color, billing_json, provisioning_json, version, created_at_ms, updated_at_ms";
pub(crate) const PARTNER_COLUMNS: &str = "p.slug, p.name, p.domain, p.status, p.margin_pct, p.contact_json, \
    p.billing_json, p.version, p.created_at_ms, p.updated_at_ms, \
    (SELECT COUNT(*) FROM tenants t WHERE t.partner_slug = p.slug) AS customers";
pub(crate) const ACCOUNT_COLUMNS: &str =
    "u.id, u.email, u.name, u.platform_admin, u.created_at_ms, u.last_seen_at_ms, u.deactivated_at_ms";

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn slug(text: &str) -> Result<Slug, StoreError> {
    Slug::parse(text).map_err(|error| corrupt("stored slug", error))
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

pub(crate) fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("control-plane values serialise")
}

#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    slug: String,
    name: String,
    status: String,
    plan: Option<String>,
    seats: Option<i64>,
    partner_slug: Option<String>,
    is_platform_tenant: bool,
    industry: Option<String>,
    brand_color: Option<String>,
    billing_json: String,
    provisioning_json: String,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TenantRow {
    pub(crate) fn slug(&self) -> &str {
        &self.slug
    }

    pub(crate) fn into_tenant(self, domains: Vec<String>) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            slug: slug(&self.slug)?,
            status: TenantStatus::parse(&self.status).ok_or_else(|| corrupt("tenant status", &self.status))?,
            fields: TenantFields {
                name: self.name,
                plan: self.plan,
                seats: self.seats.map(|seats| seats.max(0) as u64),
                domains,
                partner: self.partner_slug.as_deref().map(slug).transpose()?,
                is_platform_tenant: self.is_platform_tenant,
                industry: self.industry,
                brand_color: self.brand_color,
                billing_info: json(&self.billing_json, "tenant billing")?,
            },
            provisioning: json(&self.provisioning_json, "tenant provisioning")?,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at_ms),
            updated_at: Timestamp::from_millis(self.updated_at_ms),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PartnerRow {
    slug: String,
    name: String,
    domain: Option<String>,
    status: String,
    margin_pct: f64,
    contact_json: String,
    billing_json: String,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    customers: i64,
}

impl TryFrom<PartnerRow> for Partner {
    type Error = StoreError;

    fn try_from(row: PartnerRow) -> Result<Partner, StoreError> {
        Ok(Partner {
            slug: slug(&row.slug)?,
            fields: PartnerFields {
                name: row.name,
                domain: row.domain,
                status: PartnerStatus::parse(&row.status).ok_or_else(|| corrupt("partner status", &row.status))?,
                margin_pct: row.margin_pct,
                contact_info: json(&row.contact_json, "partner contact")?,
                billing_info: json(&row.billing_json, "partner billing")?,
            },
            customers: row.customers.max(0) as u64,
            version: row.version,
            created_at: Timestamp::from_millis(row.created_at_ms),
            updated_at: Timestamp::from_millis(row.updated_at_ms),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    email: Option<String>,
    name: Option<String>,
    platform_admin: bool,
    created_at_ms: i64,
    last_seen_at_ms: i64,
    deactivated_at_ms: Option<i64>,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Account {
        Account {
            id: row.id,
            email: row.email,
            name: row.name,
            platform_admin: row.platform_admin,
            created_at: Timestamp::from_millis(row.created_at_ms),
            last_seen_at: Timestamp::from_millis(row.last_seen_at_ms),
            deactivated_at: row.deactivated_at_ms.map(Timestamp::from_millis),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    #[sqlx(flatten)]
    account: AccountRow,
    role: String,
    member_since_ms: i64,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(row: MemberRow) -> Result<Member, StoreError> {
        Ok(Member {
            role: TenantRole::parse(&row.role).ok_or_else(|| corrupt("tenant role", &row.role))?,
            since: Timestamp::from_millis(row.member_since_ms),
            account: row.account.into(),
        })
    }
}

pub(crate) fn role(text: &str) -> Result<TenantRole, StoreError> {
    TenantRole::parse(text).ok_or_else(|| corrupt("tenant role", text))
}

pub(crate) fn stored_slug(text: &str) -> Result<Slug, StoreError> {
    slug(text)
}
