//! Which tenant an ingested event belongs to: a snapshot of the tenants (slugs, mail domains,
//! partners) taken once per batch, so the pure mappers can ask synchronously. Soft-deleted
//! tenants still own their history until purged, so they are included.

use dezky_core::{NewAuditEvent, Slug};
use dezky_store::Store;
use dezky_store::control::TenantFilter;
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct TenantDirectory {
    /// Tenant slug → its partner, if any.
    tenants: HashMap<String, Option<Slug>>,
    /// Mail domain (lower case) → the tenant that claimed it.
    domains: HashMap<String, Slug>,
}

impl TenantDirectory {
    pub async fn load(store: &dyn Store) -> Result<TenantDirectory, dezky_store::StoreError> {
        let mut directory = TenantDirectory::default();
        for tenant in store.list_tenants(&TenantFilter::default()).await? {
            for domain in &tenant.fields.domains {
                directory
                    .domains
                    .insert(domain.to_ascii_lowercase(), tenant.slug.clone());
            }
            directory
                .tenants
                .insert(tenant.slug.as_str().to_owned(), tenant.fields.partner.clone());
        }
        Ok(directory)
    }

    /// The tenant whose slug is `name` (Authentik groups and oCIS spaces are named after it).
    pub fn tenant_named(&self, name: &str) -> Option<Slug> {
        let name = name.trim().to_ascii_lowercase();
        self.tenants
            .contains_key(&name)
            .then(|| Slug::parse(&name).ok())
            .flatten()
    }

    /// The tenant owning a mail domain.
    pub fn tenant_of_domain(&self, domain: &str) -> Option<Slug> {
        self.domains.get(&domain.to_ascii_lowercase()).cloned()
    }

    /// Fills in the partner of the event's tenant, when the event names a tenant and no partner.
    pub fn add_partner(&self, event: &mut NewAuditEvent) {
        if event.partner_slug.is_none()
            && let Some(tenant) = &event.tenant_slug
        {
            event.partner_slug = self.tenants.get(tenant.as_str()).cloned().flatten();
        }
    }
}

/// Resolvers for each source's hints.
impl TenantDirectory {
    pub fn for_ocis(&self, hint: dezky_ingest::ocis_audit::TenantHint<'_>) -> Option<Slug> {
        match hint {
            dezky_ingest::ocis_audit::TenantHint::SpaceName(name) => self.tenant_named(name),
            // Nothing we store names an oCIS user: `users` holds dezky's own sign-ins by OIDC
            // issuer + subject (Authentik's uid, not oCIS's user id), and memberships point at
            // those rows. Until provisioning records each member's oCIS id, an oCIS user
            // resolves to no tenant (see ARCHITECTURE.md, Ingest).
            dezky_ingest::ocis_audit::TenantHint::User(_) => None,
        }
    }

    pub fn for_authentik(&self, hint: dezky_ingest::authentik::TenantHint<'_>) -> Option<Slug> {
        match hint {
            dezky_ingest::authentik::TenantHint::Group(group) => {
                dezky_ingest::authentik::tenant_from_groups([group], &|name| self.tenant_named(name))
            }
            // Authentik users are not mirrored yet (provisioning will): no lookup by user.
            dezky_ingest::authentik::TenantHint::UserPk(_) | dezky_ingest::authentik::TenantHint::Username(_) => None,
        }
    }
}
