//! The one implementation of [`InviteStore`](crate::invites::InviteStore) and of accepting an
//! invitation inside a sighting's transaction, expanded per backend next to `implement_store!`
//! and `implement_control_store!` (whose helpers it uses).
//!
//! Lock order, the same in every writer so two of them cannot deadlock: a tenant row, then
//! invitation rows, then the chain head (taken last, by `append_in`).

use crate::StoreError;
use crate::invites::Invite;
use dezky_control::invite::InvitedMembership;
use dezky_control::roles::TenantRole;
use dezky_core::{Slug, Timestamp};

pub(crate) const INVITE_COLUMNS: &str = "id, email, name, platform_admin, tenant_slug, role, created_at_ms, created_by";

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    id: String,
    email: String,
    name: Option<String>,
    platform_admin: bool,
    tenant_slug: Option<String>,
    role: Option<String>,
    created_at_ms: i64,
    created_by: Option<String>,
}

impl TryFrom<InviteRow> for Invite {
    type Error = StoreError;

    fn try_from(row: InviteRow) -> Result<Invite, StoreError> {
        let membership = match (row.tenant_slug, row.role) {
            (Some(tenant), Some(role)) => Some(InvitedMembership {
                tenant: Slug::parse(&tenant)
                    .map_err(|error| StoreError::Corrupt(format!("invitation tenant: {error}")))?,
                role: TenantRole::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("invitation role: {role}")))?,
            }),
            _ => None,
        };
        Ok(Invite {
            id: row.id,
            email: row.email,
            name: row.name,
            platform_admin: row.platform_admin,
            membership,
            created_at: Timestamp::from_millis(row.created_at_ms),
            created_by: row.created_by,
        })
    }
}

macro_rules! implement_invite_store {
    ($store:ty, $row_lock_suffix:expr) => {
        use $crate::invites::{AcceptInvite, Invite, InviteContext, InviteStore};
        use $crate::invites_sql::{InviteRow, INVITE_COLUMNS};
        use dezky_control::invite::email_key;
        use dezky_control::roles::TenantRole;

        async fn invite_in(
            connection: &mut DbConnection,
            condition: &str,
            value: &str,
            lock: bool,
        ) -> Result<Option<Invite>, StoreError> {
            let suffix = if lock { $row_lock_suffix } else { "" };
            let select = format!("SELECT {INVITE_COLUMNS} FROM user_invites WHERE {condition} = $1{suffix}");
            sqlx::query_as::<_, InviteRow>(&select)
                .bind(value)
                .fetch_optional(&mut *connection)
                .await?
                .map(Invite::try_from)
                .transpose()
        }

        async fn member_roles_in(
            connection: &mut DbConnection,
            slug: &str,
        ) -> Result<Vec<(String, TenantRole)>, StoreError> {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT user_id, role FROM tenant_memberships WHERE tenant_slug = $1 ORDER BY user_id")
                    .bind(slug)
                    .fetch_all(&mut *connection)
                    .await?;
            rows.into_iter()
                .map(|(user_id, text)| Ok((user_id, $crate::control_rows::role(&text)?)))
                .collect()
        }

        /// Consumes the pending invitation for `email`, if any, for the user just created:
        /// applies what `decide` grants and returns the events that record it.
        async fn accept_invite_in(
            connection: &mut DbConnection,
            user: &User,
            email: &str,
            decide: AcceptInvite<'_>,
            now: Timestamp,
        ) -> Result<Vec<NewAuditEvent>, StoreError> {
            let Some(seen) = invite_in(connection, "email_key", &email_key(email), false).await? else {
                return Ok(vec![]);
            };
            // Tenant first (see the lock order above): member changes bump the tenant's version,
            // so they wait for this transaction or fail as stale after it.
            let mut tenant = None;
            let mut members = vec![];
            if let Some(membership) = &seen.membership {
                let slug = membership.tenant.as_str();
                let lock = format!("SELECT version FROM tenants WHERE slug = $1{}", $row_lock_suffix);
                let locked: Option<i64> = sqlx::query_scalar(&lock).bind(slug).fetch_optional(&mut *connection).await?;
                if locked.is_some() {
                    tenant = tenant_in(connection, slug).await?;
                    members = member_roles_in(connection, slug).await?;
                }
            }
            // Revoked meanwhile: nothing to accept.
            let Some(invite) = invite_in(connection, "id", &seen.id, true).await? else {
                return Ok(vec![]);
            };
            let acceptance = decide(InviteContext {
                invite: &invite,
                user,
                tenant: tenant.as_ref(),
                members: &members,
            });
            if acceptance.platform_admin {
                sqlx::query("UPDATE users SET platform_admin = TRUE WHERE id = $1")
                    .bind(&user.id)
                    .execute(&mut *connection)
                    .await?;
            }
            if let (Some(role), Some(tenant)) = (acceptance.tenant_role, &tenant) {
                sqlx::query("UPDATE tenants SET version = version + 1, updated_at_ms = $1 WHERE slug = $2")
                    .bind(now.as_millis())
                    .bind(tenant.slug.as_str())
                    .execute(&mut *connection)
                    .await?;
                sqlx::query(
                    "INSERT INTO tenant_memberships (tenant_slug, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant.slug.as_str())
                .bind(&user.id)
                .bind(role.as_str())
                .bind(now.as_millis())
                .execute(&mut *connection)
                .await?;
            }
            sqlx::query("DELETE FROM user_invites WHERE id = $1")
                .bind(&invite.id)
                .execute(&mut *connection)
                .await?;
            Ok(acceptance.audit)
        }

        #[async_trait::async_trait]
        impl InviteStore for $store {
            async fn create_invite(
                &self,
                invite: Invite,
                audit: Vec<NewAuditEvent>,
                now: Timestamp,
            ) -> Result<Invite, ControlError> {
                let mut write = self.db.begin_write().await?;
                let key = email_key(&invite.email);
                if let Some(pending) = invite_in(&mut write.transaction, "email_key", &key, false).await? {
                    return Err(ControlError::InviteExists(format!(
                        "invitation '{}' for {} is pending; revoke it first",
                        pending.id, pending.email
                    )));
                }
                let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1 LIMIT 1")
                    .bind(&key)
                    .fetch_optional(&mut *write.transaction)
                    .await?;
                if let Some(user) = user {
                    return Err(ControlError::UserExists(format!(
                        "user '{user}' already has the address {}; grant platformAdmin or add the membership directly",
                        invite.email
                    )));
                }
                if let Some(membership) = &invite.membership {
                    let slug = membership.tenant.as_str();
                    let exists: Option<String> = sqlx::query_scalar("SELECT slug FROM tenants WHERE slug = $1")
                        .bind(slug)
                        .fetch_optional(&mut *write.transaction)
                        .await?;
                    if exists.is_none() {
                        return Err(ControlError::NotFound(format!("tenant '{slug}'")));
                    }
                    if membership.role == TenantRole::Owner {
                        let owner_invite: Option<String> =
                            sqlx::query_scalar("SELECT id FROM user_invites WHERE tenant_slug = $1 AND role = 'owner'")
                                .bind(slug)
                                .fetch_optional(&mut *write.transaction)
                                .await?;
                        if let Some(pending) = owner_invite {
                            return Err(ControlError::InviteExists(format!(
                                "tenant '{slug}' already has a pending owner invitation ('{pending}')"
                            )));
                        }
                    }
                }
                sqlx::query(
                    "INSERT INTO user_invites (id, email, email_key, name, platform_admin, tenant_slug, role, \
                     created_at_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&invite.id)
                .bind(&invite.email)
                .bind(&key)
                .bind(&invite.name)
                .bind(invite.platform_admin)
                .bind(invite.membership.as_ref().map(|membership| membership.tenant.as_str()))
                .bind(invite.membership.as_ref().map(|membership| membership.role.as_str()))
                .bind(now.as_millis())
                .bind(&invite.created_by)
                .execute(&mut *write.transaction)
                .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = invite_in(&mut write.transaction, "id", &invite.id, false)
                    .await?
                    .ok_or(ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn list_invites(&self) -> Result<Vec<Invite>, StoreError> {
                let select = format!("SELECT {INVITE_COLUMNS} FROM user_invites ORDER BY created_at_ms, id");
                sqlx::query_as::<_, InviteRow>(&select)
                    .fetch_all(self.db.pool())
                    .await?
                    .into_iter()
                    .map(Invite::try_from)
                    .collect()
            }

            async fn get_invite(&self, id: &str) -> Result<Option<Invite>, StoreError> {
                let mut connection = self.db.pool().acquire().await?;
                invite_in(&mut connection, "id", id, false).await
            }

            async fn revoke_invite(&self, id: &str, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<(), ControlError> {
                let mut write = self.db.begin_write().await?;
                let removed = sqlx::query("DELETE FROM user_invites WHERE id = $1")
                    .bind(id)
                    .execute(&mut *write.transaction)
                    .await?
                    .rows_affected();
                if removed == 0 {
                    return Err(ControlError::NotFound(format!(
                        "invitation '{id}' (it was accepted or revoked)"
                    )));
                }
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                write.transaction.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use implement_invite_store;
