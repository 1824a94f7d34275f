//! The one implementation of [`ControlStore`](crate::control::ControlStore), expanded per
//! backend next to `implement_store!` so that its writes append their audit events with the
//! same `append_in`, inside the same transaction.

macro_rules! implement_control_store {
    ($store:ty, $row_lock_suffix:expr) => {
        use $crate::control::{
            Account, ControlError, ControlStore, Member, NewTenant, Partner, PartnerChange, Tenant, TenantChange,
            TenantFilter, UserAccess,
        };
        use $crate::control_rows::{
            role, stored_slug, to_json_text, AccountRow, MemberRow, PartnerRow, TenantRow, ACCOUNT_COLUMNS,
            PARTNER_COLUMNS, TENANT_COLUMNS,
        };
        use dezky_control::partner::PartnerFields;
        use dezky_control::roles::RoleChange;
        use dezky_control::tenant::TenantStatus;
        use dezky_core::Slug;

        async fn tenant_domains_in(connection: &mut DbConnection, slug: Option<&str>) -> Result<Vec<(String, String)>, StoreError> {
            let rows: Vec<(String, String)> = match slug {
                Some(slug) => sqlx::query_as(
                    "SELECT tenant_slug, domain FROM tenant_domains WHERE tenant_slug = $1 ORDER BY position",
                )
                .bind(slug)
                .fetch_all(&mut *connection)
                .await?,
                None => sqlx::query_as("SELECT tenant_slug, domain FROM tenant_domains ORDER BY tenant_slug, position")
                    .fetch_all(&mut *connection)
                    .await?,
            };
            Ok(rows)
        }

        async fn tenants_with_domains(connection: &mut DbConnection, rows: Vec<TenantRow>, slug: Option<&str>) -> Result<Vec<Tenant>, StoreError> {
            let mut by_tenant: std::collections::HashMap<String, Vec<String>> = Default::default();
            if !rows.is_empty() {
                for (tenant, domain) in tenant_domains_in(connection, slug).await? {
                    by_tenant.entry(tenant).or_default().push(domain);
                }
            }
            rows.into_iter()
                .map(|row| {
                    let domains = by_tenant.remove(row.slug()).unwrap_or_default();
                    row.into_tenant(domains)
                })
                .collect()
        }

        async fn tenant_in(connection: &mut DbConnection, slug: &str) -> Result<Option<Tenant>, StoreError> {
            let select = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1");
            let rows = sqlx::query_as::<_, TenantRow>(&select).bind(slug).fetch_all(&mut *connection).await?;
            Ok(tenants_with_domains(connection, rows, Some(slug)).await?.pop())
        }

        async fn partner_in(connection: &mut DbConnection, slug: &str) -> Result<Option<Partner>, StoreError> {
            let select = format!("SELECT {PARTNER_COLUMNS} FROM partners p WHERE p.slug = $1");
            sqlx::query_as::<_, PartnerRow>(&select)
                .bind(slug)
                .fetch_optional(&mut *connection)
                .await?
                .map(Partner::try_from)
                .transpose()
        }

        async fn account_in(connection: &mut DbConnection, user_id: &str) -> Result<Option<Account>, StoreError> {
            let select = format!("SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1");
            Ok(sqlx::query_as::<_, AccountRow>(&select)
                .bind(user_id)
                .fetch_optional(&mut *connection)
                .await?
                .map(Account::from))
        }

        /// Replaces a tenant's domains after checking no other tenant holds any of them.
        async fn write_domains(connection: &mut DbConnection, slug: &str, domains: &[String]) -> Result<(), ControlError> {
            for domain in domains {
                let holder: Option<String> =
                    sqlx::query_scalar("SELECT tenant_slug FROM tenant_domains WHERE domain = $1 AND tenant_slug <> $2")
                        .bind(domain)
                        .bind(slug)
                        .fetch_optional(&mut *connection)
                        .await?;
                if let Some(tenant) = holder {
                    return Err(ControlError::DomainTaken { domain: domain.clone(), tenant });
                }
            }
            sqlx::query("DELETE FROM tenant_domains WHERE tenant_slug = $1").bind(slug).execute(&mut *connection).await?;
            for (position, domain) in domains.iter().enumerate() {
                sqlx::query("INSERT INTO tenant_domains (domain, tenant_slug, position) VALUES ($1, $2, $3)")
                    .bind(domain)
                    .bind(slug)
                    .bind(position as i64)
                    .execute(&mut *connection)
                    .await?;
            }
            Ok(())
        }

        /// Moves a row from `expected_version` to the next; `Stale` if it is not there.
        async fn bump_version(
            connection: &mut DbConnection,
            table: &str,
            slug: &str,
            expected_version: i64,
            now: Timestamp,
        ) -> Result<(), ControlError> {
            let update = format!("UPDATE {table} SET version = version + 1, updated_at_ms = $1 WHERE slug = $2 AND version = $3");
            let changed = sqlx::query(&update)
                .bind(now.as_millis())
                .bind(slug)
                .bind(expected_version)
                .execute(&mut *connection)
                .await?
                .rows_affected();
            if changed == 1 { Ok(()) } else { Err(ControlError::Stale) }
        }

        async fn clear_platform_flag(
            connection: &mut DbConnection,
            holder: &Option<(Slug, i64)>,
            now: Timestamp,
        ) -> Result<(), ControlError> {
            if let Some((slug, version)) = holder {
                bump_version(connection, "tenants", slug.as_str(), *version, now).await?;
                sqlx::query("UPDATE tenants SET is_platform_tenant = FALSE WHERE slug = $1")
                    .bind(slug.as_str())
                    .execute(&mut *connection)
                    .await?;
            }
            Ok(())
        }

        async fn append_all(
            connection: &mut DbConnection,
            cache: &$crate::frontier_cache::FrontierCache,
            audit: &[NewAuditEvent],
            now: Timestamp,
        ) -> Result<(), StoreError> {
            let events: Vec<&NewAuditEvent> = audit.iter().collect();
            append_in(connection, cache, &events, now).await.map(|_| ())
        }

        async fn platform_admins_locked(connection: &mut DbConnection) -> Result<Vec<String>, StoreError> {
            let select = format!(
                "SELECT id FROM users WHERE platform_admin AND deactivated_at_ms IS NULL ORDER BY id{}",
                $row_lock_suffix
            );
            Ok(sqlx::query_scalar(&select).fetch_all(&mut *connection).await?)
        }

        #[async_trait::async_trait]
        impl ControlStore for $store {
            async fn create_tenant(
                &self,
                tenant: NewTenant,
                clear_platform_flag_of: Option<(Slug, i64)>,
                audit: Vec<NewAuditEvent>,
                now: Timestamp,
            ) -> Result<Tenant, ControlError> {
                let mut write = self.db.begin_write().await?;
                let slug = tenant.slug.as_str();
                let taken: Option<String> = sqlx::query_scalar("SELECT slug FROM tenants WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(&mut *write.transaction)
                    .await?;
                if taken.is_some() {
                    return Err(ControlError::SlugTaken(slug.to_owned()));
                }
                clear_platform_flag(&mut write.transaction, &clear_platform_flag_of, now).await?;
                let insert = "INSERT INTO tenants (slug, status, provisioning_json, version, created_at_ms, updated_at_ms, \
                    name, plan, seats, partner_slug, is_platform_tenant, industry, brand_color, billing_json) \
                    VALUES ($1, $2, $3, 1, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
                sqlx::query(insert)
                    .bind(slug)
                    .bind(tenant.status.as_str())
                    .bind(to_json_text(&tenant.provisioning))
                    .bind(now.as_millis())
                    .bind(&tenant.fields.name)
                    .bind(&tenant.fields.plan)
                    .bind(tenant.fields.seats.map(|seats| seats as i64))
                    .bind(tenant.fields.partner.as_ref().map(|partner| partner.as_str()))
                    .bind(tenant.fields.is_platform_tenant)
                    .bind(&tenant.fields.industry)
                    .bind(&tenant.fields.brand_color)
                    .bind(to_json_text(&tenant.fields.billing_info))
                    .execute(&mut *write.transaction)
                    .await?;
                write_domains(&mut write.transaction, slug, &tenant.fields.domains).await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = tenant_in(&mut write.transaction, slug).await?.ok_or_else(|| ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn get_tenant(&self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
                let mut connection = self.db.pool().acquire().await?;
                tenant_in(&mut connection, slug.as_str()).await
            }

            async fn list_tenants(&self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError> {
                let (where_clause, params) = $crate::control_sql::tenant_filter(filter, true);
                let select = format!("SELECT {TENANT_COLUMNS} FROM tenants{where_clause} ORDER BY slug");
                let mut query = sqlx::query_as::<_, TenantRow>(&select);
                for param in params {
                    query = query.bind(param);
                }
                let mut connection = self.db.pool().acquire().await?;
                let rows = query.fetch_all(&mut *connection).await?;
                tenants_with_domains(&mut connection, rows, None).await
            }

            async fn count_tenants_by_status(&self, filter: &TenantFilter) -> Result<Vec<(TenantStatus, u64)>, StoreError> {
                let (where_clause, params) = $crate::control_sql::tenant_filter(filter, false);
                let select = format!("SELECT status, COUNT(*) FROM tenants{where_clause} GROUP BY status");
                let mut query = sqlx::query_as::<_, (String, i64)>(&select);
                for param in params {
                    query = query.bind(param);
                }
                let counted: std::collections::HashMap<String, i64> =
                    query.fetch_all(self.db.pool()).await?.into_iter().collect();
                Ok(TenantStatus::ALL
                    .into_iter()
                    .map(|status| (status, counted.get(status.as_str()).copied().unwrap_or(0).max(0) as u64))
                    .collect())
            }

            async fn platform_tenant(&self) -> Result<Option<Tenant>, StoreError> {
                let slug: Option<String> = sqlx::query_scalar("SELECT slug FROM tenants WHERE is_platform_tenant")
                    .fetch_optional(self.db.pool())
                    .await?;
                match slug {
                    Some(slug) => {
                        let mut connection = self.db.pool().acquire().await?;
                        tenant_in(&mut connection, &slug).await
                    }
                    None => Ok(None),
                }
            }

            async fn update_tenant(&self, change: TenantChange, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<Tenant, ControlError> {
                let mut write = self.db.begin_write().await?;
                let slug = change.slug.as_str();
                clear_platform_flag(&mut write.transaction, &change.clear_platform_flag_of, now).await?;
                bump_version(&mut write.transaction, "tenants", slug, change.expected_version, now).await?;
                let update = "UPDATE tenants SET status = $1, name = $2, plan = $3, seats = $4, partner_slug = $5, \
                    is_platform_tenant = $6, industry = $7, brand_color = $8, billing_json = $9 WHERE slug = $10";
                sqlx::query(update)
                    .bind(change.status.as_str())
                    .bind(&change.fields.name)
                    .bind(&change.fields.plan)
                    .bind(change.fields.seats.map(|seats| seats as i64))
                    .bind(change.fields.partner.as_ref().map(|partner| partner.as_str()))
                    .bind(change.fields.is_platform_tenant)
                    .bind(&change.fields.industry)
                    .bind(&change.fields.brand_color)
                    .bind(to_json_text(&change.fields.billing_info))
                    .bind(slug)
                    .execute(&mut *write.transaction)
                    .await?;
                write_domains(&mut write.transaction, slug, &change.fields.domains).await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = tenant_in(&mut write.transaction, slug).await?.ok_or_else(|| ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn purge_tenant(&self, slug: &Slug, expected_version: i64, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<(), ControlError> {
                let mut write = self.db.begin_write().await?;
                bump_version(&mut write.transaction, "tenants", slug.as_str(), expected_version, now).await?;
                for table in ["tenant_domains", "tenant_memberships", "user_invites", "tenants"] {
                    let column = if table == "tenants" { "slug" } else { "tenant_slug" };
                    sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
                        .bind(slug.as_str())
                        .execute(&mut *write.transaction)
                        .await?;
                }
                // Its API tokens die with it: a later tenant given the freed slug must not
                // inherit them.
                sqlx::query("UPDATE api_tokens SET revoked_at_ms = $1 WHERE scope = 'tenant' AND tenant_slug = $2 AND revoked_at_ms IS NULL")
                    .bind(now.as_millis())
                    .bind(slug.as_str())
                    .execute(&mut *write.transaction)
                    .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                write.transaction.commit().await?;
                Ok(())
            }

            async fn create_partner(&self, slug: Slug, fields: PartnerFields, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<Partner, ControlError> {
                let mut write = self.db.begin_write().await?;
                if partner_in(&mut write.transaction, slug.as_str()).await?.is_some() {
                    return Err(ControlError::SlugTaken(slug.to_string()));
                }
                sqlx::query(
                    "INSERT INTO partners (slug, name, domain, status, margin_pct, contact_json, billing_json, version, \
                     created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
                )
                .bind(slug.as_str())
                .bind(&fields.name)
                .bind(&fields.domain)
                .bind(fields.status.as_str())
                .bind(fields.margin_pct)
                .bind(to_json_text(&fields.contact_info))
                .bind(to_json_text(&fields.billing_info))
                .bind(now.as_millis())
                .execute(&mut *write.transaction)
                .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = partner_in(&mut write.transaction, slug.as_str()).await?.ok_or(ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn get_partner(&self, slug: &Slug) -> Result<Option<Partner>, StoreError> {
                let mut connection = self.db.pool().acquire().await?;
                partner_in(&mut connection, slug.as_str()).await
            }

            async fn list_partners(&self) -> Result<Vec<Partner>, StoreError> {
                let select = format!("SELECT {PARTNER_COLUMNS} FROM partners p ORDER BY p.slug");
                sqlx::query_as::<_, PartnerRow>(&select)
                    .fetch_all(self.db.pool())
                    .await?
                    .into_iter()
                    .map(Partner::try_from)
                    .collect()
            }

            async fn update_partner(&self, change: PartnerChange, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<Partner, ControlError> {
                let mut write = self.db.begin_write().await?;
                let slug = change.slug.as_str();
                bump_version(&mut write.transaction, "partners", slug, change.expected_version, now).await?;
                let fields = &change.fields;
                sqlx::query(
                    "UPDATE partners SET name = $1, domain = $2, status = $3, margin_pct = $4, contact_json = $5, \
                     billing_json = $6 WHERE slug = $7",
                )
                .bind(&fields.name)
                .bind(&fields.domain)
                .bind(fields.status.as_str())
                .bind(fields.margin_pct)
                .bind(to_json_text(&fields.contact_info))
                .bind(to_json_text(&fields.billing_info))
                .bind(slug)
                .execute(&mut *write.transaction)
                .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = partner_in(&mut write.transaction, slug).await?.ok_or(ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn tenant_members(&self, slug: &Slug) -> Result<Vec<Member>, StoreError> {
                let select = format!(
                    "SELECT {ACCOUNT_COLUMNS}, m.role, m.created_at_ms AS member_since_ms \
                     FROM tenant_memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_slug = $1 \
                     ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(u.email), u.id"
                );
                sqlx::query_as::<_, MemberRow>(&select)
                    .bind(slug.as_str())
                    .fetch_all(self.db.pool())
                    .await?
                    .into_iter()
                    .map(Member::try_from)
                    .collect()
            }

            async fn change_members(
                &self,
                slug: &Slug,
                expected_version: i64,
                changes: &[RoleChange],
                audit: Vec<NewAuditEvent>,
                now: Timestamp,
            ) -> Result<(), ControlError> {
                let mut write = self.db.begin_write().await?;
                bump_version(&mut write.transaction, "tenants", slug.as_str(), expected_version, now).await?;
                for change in changes {
                    let query = match (change.from, change.to) {
                        (None, Some(to)) => sqlx::query(
                            "INSERT INTO tenant_memberships (tenant_slug, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(slug.as_str())
                        .bind(&change.user_id)
                        .bind(to.as_str())
                        .bind(now.as_millis()),
                        (Some(_), Some(to)) => sqlx::query(
                            "UPDATE tenant_memberships SET role = $3 WHERE tenant_slug = $1 AND user_id = $2",
                        )
                        .bind(slug.as_str())
                        .bind(&change.user_id)
                        .bind(to.as_str()),
                        (Some(_), None) => {
                            sqlx::query("DELETE FROM tenant_memberships WHERE tenant_slug = $1 AND user_id = $2")
                                .bind(slug.as_str())
                                .bind(&change.user_id)
                        }
                        (None, None) => continue,
                    };
                    query.execute(&mut *write.transaction).await?;
                }
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                write.transaction.commit().await?;
                Ok(())
            }

            async fn user_access(&self, user_id: &str) -> Result<UserAccess, StoreError> {
                let mut connection = self.db.pool().acquire().await?;
                let deactivated: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT deactivated_at_ms FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *connection)
                        .await?;
                let roles: Vec<(String, String)> = sqlx::query_as(
                    "SELECT tenant_slug, role FROM tenant_memberships WHERE user_id = $1 ORDER BY tenant_slug",
                )
                .bind(user_id)
                .fetch_all(&mut *connection)
                .await?;
                let partners: Vec<String> =
                    sqlx::query_scalar(
                        "SELECT s.partner_slug FROM partner_staff s JOIN partners p ON p.slug = s.partner_slug \
                         WHERE s.user_id = $1 AND p.status <> 'terminated' ORDER BY s.partner_slug",
                    )
                        .bind(user_id)
                        .fetch_all(&mut *connection)
                        .await?;
                Ok(UserAccess {
                    deactivated: deactivated.flatten().is_some(),
                    tenant_roles: roles
                        .iter()
                        .map(|(slug, text)| Ok((stored_slug(slug)?, role(text)?)))
                        .collect::<Result<_, StoreError>>()?,
                    partners: partners.iter().map(|slug| stored_slug(slug)).collect::<Result<_, _>>()?,
                })
            }

            async fn get_account(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
                let mut connection = self.db.pool().acquire().await?;
                account_in(&mut connection, user_id).await
            }

            async fn list_accounts(&self, platform_admins_only: bool) -> Result<Vec<Account>, StoreError> {
                let filter = if platform_admins_only { " WHERE u.platform_admin" } else { "" };
                let select = format!("SELECT {ACCOUNT_COLUMNS} FROM users u{filter} ORDER BY lower(u.email), u.id");
                Ok(sqlx::query_as::<_, AccountRow>(&select)
                    .fetch_all(self.db.pool())
                    .await?
                    .into_iter()
                    .map(Account::from)
                    .collect())
            }

            async fn change_platform_admin(
                &self,
                user_id: &str,
                platform_admin: bool,
                audit: Vec<NewAuditEvent>,
                now: Timestamp,
            ) -> Result<Account, ControlError> {
                let mut write = self.db.begin_write().await?;
                let admins = platform_admins_locked(&mut write.transaction).await?;
                let current = account_in(&mut write.transaction, user_id)
                    .await?
                    .ok_or_else(|| ControlError::NotFound(format!("user '{user_id}'")))?;
                if current.platform_admin == platform_admin {
                    return Err(ControlError::Conflict(format!(
                        "the user {} platformAdmin",
                        if platform_admin { "already has" } else { "does not have" }
                    )));
                }
                if !platform_admin && admins.len() <= 1 && admins.iter().any(|id| id == user_id) {
                    return Err(ControlError::LastPlatformAdmin);
                }
                sqlx::query("UPDATE users SET platform_admin = $1 WHERE id = $2")
                    .bind(platform_admin)
                    .bind(user_id)
                    .execute(&mut *write.transaction)
                    .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = account_in(&mut write.transaction, user_id).await?.ok_or(ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn deactivate_user(&self, user_id: &str, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<Account, ControlError> {
                let mut write = self.db.begin_write().await?;
                let admins = platform_admins_locked(&mut write.transaction).await?;
                let current = account_in(&mut write.transaction, user_id)
                    .await?
                    .ok_or_else(|| ControlError::NotFound(format!("user '{user_id}'")))?;
                if current.deactivated_at.is_some() {
                    return Err(ControlError::Conflict("the user is already deactivated".into()));
                }
                if admins.len() <= 1 && admins.iter().any(|id| id == user_id) {
                    return Err(ControlError::LastPlatformAdmin);
                }
                sqlx::query("UPDATE users SET deactivated_at_ms = $1 WHERE id = $2")
                    .bind(now.as_millis())
                    .bind(user_id)
                    .execute(&mut *write.transaction)
                    .await?;
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                let stored = account_in(&mut write.transaction, user_id).await?.ok_or(ControlError::Stale)?;
                write.transaction.commit().await?;
                Ok(stored)
            }

            async fn set_partner_staff(
                &self,
                partner: &Slug,
                user_id: &str,
                staff: bool,
                audit: Vec<NewAuditEvent>,
                now: Timestamp,
            ) -> Result<(), ControlError> {
                let mut write = self.db.begin_write().await?;
                let changed = if staff {
                    sqlx::query(
                        "INSERT INTO partner_staff (partner_slug, user_id, created_at_ms) VALUES ($1, $2, $3) \
                         ON CONFLICT (partner_slug, user_id) DO NOTHING",
                    )
                    .bind(partner.as_str())
                    .bind(user_id)
                    .bind(now.as_millis())
                    .execute(&mut *write.transaction)
                    .await?
                } else {
                    sqlx::query("DELETE FROM partner_staff WHERE partner_slug = $1 AND user_id = $2")
                        .bind(partner.as_str())
                        .bind(user_id)
                        .execute(&mut *write.transaction)
                        .await?
                };
                if changed.rows_affected() == 0 {
                    return Err(ControlError::Conflict(format!(
                        "the user {} staff of partner '{partner}'",
                        if staff { "is already" } else { "is not" }
                    )));
                }
                append_all(&mut write.transaction, &self.db.frontier_cache, &audit, now).await?;
                write.transaction.commit().await?;
                Ok(())
            }

            async fn partner_staff(&self, partner: &Slug) -> Result<Vec<Account>, StoreError> {
                let select = format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM partner_staff s JOIN users u ON u.id = s.user_id \
                     WHERE s.partner_slug = $1 ORDER BY lower(u.email), u.id"
                );
                Ok(sqlx::query_as::<_, AccountRow>(&select)
                    .bind(partner.as_str())
                    .fetch_all(self.db.pool())
                    .await?
                    .into_iter()
                    .map(Account::from)
                    .collect())
            }
        }
    };
}

pub(crate) use implement_control_store;

use crate::control::TenantFilter;

/// `WHERE …` for a tenant filter, with its text parameters in order. `with_status` is false for
/// the per-status counts.
pub(crate) fn tenant_filter(filter: &TenantFilter, with_status: bool) -> (String, Vec<String>) {
    let mut conditions = vec![];
    let mut params = vec![];
    if let Some(search) = &filter.search {
        let escaped: String = search
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                other => vec![other],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        conditions.push(format!(
            "(lower(slug) LIKE ${} ESCAPE '\\' OR lower(name) LIKE ${} ESCAPE '\\')",
            params.len() + 1,
            params.len() + 2
        ));
        params.push(pattern.clone());
        params.push(pattern);
    }
    if let (true, Some(status)) = (with_status, filter.status) {
        conditions.push(format!("status = ${}", params.len() + 1));
        params.push(status.as_str().to_owned());
    }
    if let Some(partner) = &filter.partner {
        conditions.push(format!("partner_slug = ${}", params.len() + 1));
        params.push(partner.to_string());
    }
    if conditions.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", conditions.join(" AND ")), params)
    }
}
