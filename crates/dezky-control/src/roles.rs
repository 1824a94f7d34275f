//! Tenant roles and the rules that keep every tenant administrable: one owner at most, the
//! owner leaves only by transferring ownership, and the last owner-or-admin is never removed or
//! demoted.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantRole {
    Member,
    Admin,
    Owner,
}

impl TenantRole {
    pub const ALL: [TenantRole; 3] = [TenantRole::Member, TenantRole::Admin, TenantRole::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            TenantRole::Member => "member",
            TenantRole::Admin => "admin",
            TenantRole::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<TenantRole> {
        TenantRole::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Admins and owners administer the tenant.
    pub fn administers(self) -> bool {
        self >= TenantRole::Admin
    }
}

/// Why a membership change is refused (409, except `NotAMember`: 404).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleRuleError {
    #[error("the user is not a member of this tenant")]
    NotAMember,
    #[error("the user is already a member of this tenant")]
    AlreadyMember,
    #[error("the tenant already has an owner; transfer ownership instead")]
    OwnerExists,
    #[error("the owner cannot be removed or demoted; transfer ownership first")]
    OwnerMustTransfer,
    #[error("this would leave the tenant without an owner or admin")]
    LastAdministrator,
    #[error("the user already owns this tenant")]
    AlreadyOwner,
}

/// One member's role change: `from`/`to` are `None` when the member is added/removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChange {
    pub user_id: String,
    pub from: Option<TenantRole>,
    pub to: Option<TenantRole>,
}

fn role_of(members: &[(String, TenantRole)], user_id: &str) -> Option<TenantRole> {
    members.iter().find(|(id, _)| id == user_id).map(|(_, role)| *role)
}

fn administrators_after(members: &[(String, TenantRole)], change: &RoleChange) -> usize {
    let others = members
        .iter()
        .filter(|(id, role)| id != &change.user_id && role.administers())
        .count();
    others + usize::from(change.to.is_some_and(TenantRole::administers))
}

/// Checks adding (`from` absent), changing or removing (`to = None`) one member against the
/// current members. Returns the change to store.
pub fn check_change(
    members: &[(String, TenantRole)],
    user_id: &str,
    to: Option<TenantRole>,
    adding: bool,
) -> Result<RoleChange, RoleRuleError> {
    let from = role_of(members, user_id);
    match (adding, from) {
        (true, Some(_)) => return Err(RoleRuleError::AlreadyMember),
        (false, None) => return Err(RoleRuleError::NotAMember),
        _ => {}
    }
    let change = RoleChange {
        user_id: user_id.to_owned(),
        from,
        to,
    };
    if from == Some(TenantRole::Owner) && to != Some(TenantRole::Owner) {
        return Err(RoleRuleError::OwnerMustTransfer);
    }
    let has_other_owner = members
        .iter()
        .any(|(id, role)| id != user_id && *role == TenantRole::Owner);
    if to == Some(TenantRole::Owner) && from != Some(TenantRole::Owner) && has_other_owner {
        return Err(RoleRuleError::OwnerExists);
    }
    let administrators_before = members.iter().filter(|(_, role)| role.administers()).count();
    if administrators_before > 0 && administrators_after(members, &change) == 0 {
        return Err(RoleRuleError::LastAdministrator);
    }
    Ok(change)
}

/// Ownership transfer: the target (a member) becomes owner, the previous owner becomes admin.
pub fn transfer_ownership(
    members: &[(String, TenantRole)],
    to_user_id: &str,
) -> Result<Vec<RoleChange>, RoleRuleError> {
    let target = role_of(members, to_user_id).ok_or(RoleRuleError::NotAMember)?;
    if target == TenantRole::Owner {
        return Err(RoleRuleError::AlreadyOwner);
    }
    let mut changes: Vec<RoleChange> = members
        .iter()
        .filter(|(_, role)| *role == TenantRole::Owner)
        .map(|(id, _)| RoleChange {
            user_id: id.clone(),
            from: Some(TenantRole::Owner),
            to: Some(TenantRole::Admin),
        })
        .collect();
    changes.push(RoleChange {
        user_id: to_user_id.to_owned(),
        from: Some(target),
        to: Some(TenantRole::Owner),
    });
    Ok(changes)
}

/// Who manages a tenant's members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberAuthority {
    Operator,
    Owner,
    Admin,
}

/// Admins manage members and admins; only the owner and operators touch ownership.
pub fn check_authority(authority: MemberAuthority, change: &RoleChange) -> Result<(), String> {
    let touches_owner = change.from == Some(TenantRole::Owner) || change.to == Some(TenantRole::Owner);
    match authority {
        MemberAuthority::Operator | MemberAuthority::Owner => Ok(()),
        MemberAuthority::Admin if touches_owner => Err("only the owner or an operator can change ownership".into()),
        MemberAuthority::Admin => Ok(()),
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
