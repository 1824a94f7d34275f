//! The control plane's storage: tenants, partners, memberships and user accounts.
//!
//! Like the rest of the store, every mutation takes the audit events that describe it and
//! commits them in the same transaction. The rules (lifecycle, role rules, guard rails) are
//! decided by the caller with dezky-control; this trait only guarantees that they were decided
//! on current data: tenant and partner writes name the `version` they read and are refused as
//! [`ControlError::Stale`] if another write came first.

use crate::StoreError;
use async_trait::async_trait;
use dezky_control::partner::PartnerFields;
use dezky_control::roles::{RoleChange, TenantRole};
use dezky_control::tenant::{Provisioning, TenantFields, TenantStatus};
use dezky_core::{NewAuditEvent, Slug, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub slug: Slug,
    pub status: TenantStatus,
    pub fields: TenantFields,
    pub provisioning: Provisioning,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewTenant {
    pub slug: Slug,
    pub status: TenantStatus,
    pub fields: TenantFields,
    pub provisioning: Provisioning,
}

/// A tenant write: the new status and fields, made only if the tenant is still at
/// `expected_version`. `clear_platform_flag_of` names the tenant (and the version read) that
/// loses the platform flag in the same transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantChange {
    pub slug: Slug,
    pub expected_version: i64,
    pub status: TenantStatus,
    pub fields: TenantFields,
    pub clear_platform_flag_of: Option<(Slug, i64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Case-insensitive substring of the slug or the name.
    pub search: Option<String>,
    pub status: Option<TenantStatus>,
    pub partner: Option<Slug>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Partner {
    pub slug: Slug,
    pub fields: PartnerFields,
    /// Tenants (not purged) whose partner this is.
    pub customers: u64,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PartnerChange {
    pub slug: Slug,
    pub expected_version: i64,
    pub fields: PartnerFields,
}

/// A user as the control plane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub platform_admin: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub deactivated_at: Option<Timestamp>,
}

/// A tenant member with the role *in that tenant*.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub account: Account,
    pub role: TenantRole,
    pub since: Timestamp,
}

/// What a user may reach through memberships.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAccess {
    pub deactivated: bool,
    pub tenant_roles: Vec<(Slug, TenantRole)>,
    /// Partners the user is staff of, except terminated ones (their staff lose access).
    pub partners: Vec<Slug>,
}

impl UserAccess {
    pub fn role_in(&self, tenant: &Slug) -> Option<TenantRole> {
        self.tenant_roles
            .iter()
            .find(|(slug, _)| slug == tenant)
            .map(|(_, role)| *role)
    }

    pub fn is_staff_of(&self, partner: &Slug) -> bool {
        self.partners.contains(partner)
    }
}

/// Why a control-plane write did not happen. Everything but `Store` is the client's business
/// (404/409); nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("changed by someone else since it was read; reload and retry")]
    Stale,
    #[error("the slug '{0}' is taken (soft-deleted tenants keep their slug until purged)")]
    SlugTaken(String),
    #[error("the domain '{domain}' is used by tenant '{tenant}'")]
    DomainTaken { domain: String, tenant: String },
    #[error("the last platform admin cannot lose platformAdmin or be deactivated")]
    LastPlatformAdmin,
    #[error("{0}")]
    Conflict(String),
    /// A pending invitation stands in the way (same address, or a second owner invitation).
    #[error("{0}")]
    InviteExists(String),
    /// A user already has the address an invitation names: grant them directly instead.
    #[error("{0}")]
    UserExists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ControlError {
    fn from(error: sqlx::Error) -> ControlError {
        match &error {
            // The checks inside each transaction find these first; a unique violation means a
            // concurrent writer on another connection won the race.
            sqlx::Error::Database(database) if database.is_unique_violation() => ControlError::Conflict(
                "a concurrent change took the same slug, domain or platform flag; retry".to_owned(),
            ),
            _ => ControlError::Store(StoreError::Database(error)),
        }
    }
}

#[async_trait]
pub trait ControlStore: Send + Sync {
    /// Creates a tenant with its domains. Refuses a slug any tenant row holds (including a
    /// soft-deleted one) and a domain another tenant holds. With `is_platform_tenant` set, the
    /// flag is cleared on the previous holder named by `clear_platform_flag_of`.
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        clear_platform_flag_of: Option<(Slug, i64)>,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Tenant, ControlError>;

    async fn get_tenant(&self, slug: &Slug) -> Result<Option<Tenant>, StoreError>;

    /// Tenants matching the filter, by slug.
    async fn list_tenants(&self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError>;

    /// How many tenants match the filter's search and partner, per status (the filter's own
    /// status is ignored, so the counts can label status tabs).
    async fn count_tenants_by_status(&self, filter: &TenantFilter) -> Result<Vec<(TenantStatus, u64)>, StoreError>;

    async fn platform_tenant(&self) -> Result<Option<Tenant>, StoreError>;

    async fn update_tenant(
        &self,
        change: TenantChange,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Tenant, ControlError>;

    /// Removes a tenant, its domains and memberships. The audit trail stays.
    async fn purge_tenant(
        &self,
        slug: &Slug,
        expected_version: i64,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<(), ControlError>;

    async fn create_partner(
        &self,
        slug: Slug,
        fields: PartnerFields,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Partner, ControlError>;

    async fn get_partner(&self, slug: &Slug) -> Result<Option<Partner>, StoreError>;

    async fn list_partners(&self) -> Result<Vec<Partner>, StoreError>;

    async fn update_partner(
        &self,
        change: PartnerChange,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Partner, ControlError>;

    /// Members of a tenant, owners first, then admins, then members, each by e-mail.
    async fn tenant_members(&self, slug: &Slug) -> Result<Vec<Member>, StoreError>;

    /// Applies membership changes (add: `from` none; remove: `to` none) if the tenant is still
    /// at `expected_version`.
    async fn change_members(
        &self,
        slug: &Slug,
        expected_version: i64,
        changes: &[RoleChange],
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<(), ControlError>;

    async fn user_access(&self, user_id: &str) -> Result<UserAccess, StoreError>;

    async fn get_account(&self, user_id: &str) -> Result<Option<Account>, StoreError>;

    /// Every user, or only the platform admins, by e-mail.
    async fn list_accounts(&self, platform_admins_only: bool) -> Result<Vec<Account>, StoreError>;

    /// Grants or revokes platformAdmin; revoking the last active platform admin is refused.
    async fn change_platform_admin(
        &self,
        user_id: &str,
        platform_admin: bool,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Account, ControlError>;

    /// Deactivates a user (they can no longer authenticate); refused for the last active
    /// platform admin and for an already deactivated user.
    async fn deactivate_user(
        &self,
        user_id: &str,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Account, ControlError>;

    /// Adds (`staff = true`) or removes a partner staff membership.
    async fn set_partner_staff(
        &self,
        partner: &Slug,
        user_id: &str,
        staff: bool,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<(), ControlError>;

    async fn partner_staff(&self, partner: &Slug) -> Result<Vec<Account>, StoreError>;
}
