//! Invitations: an operator names a person by e-mail before they ever sign in, together with
//! what they receive on their first sign-in — `platformAdmin`, one tenant membership with a
//! role, or both.
//!
//! An invitation is checked twice: when it is made (so the operator hears about an impossible
//! role at once) and when it is accepted (the tenant may have gained an owner or been deleted
//! in between). Acceptance never fails the sign-in: a membership the rules no longer allow is
//! refused and the refusal recorded, the rest is granted.

use crate::field::{self, FieldError};
use crate::roles::{self, RoleChange, RoleRuleError, TenantRole};
use crate::tenant::TenantStatus;
use crate::validate;
use dezky_core::Slug;
use serde_json::{Map, Value};

/// A validated invitation body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteDraft {
    pub email: String,
    pub name: Option<String>,
    pub platform_admin: bool,
    pub membership: Option<InvitedMembership>,
}

/// The tenant membership an invitation grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitedMembership {
    pub tenant: Slug,
    pub role: TenantRole,
}

impl InviteDraft {
    pub const FIELDS: [&'static str; 5] = ["email", "name", "platformAdmin", "tenant", "role"];

    pub fn parse(body: &Map<String, Value>) -> Result<InviteDraft, FieldError> {
        field::reject_unknown(body, &InviteDraft::FIELDS)?;
        let email = field::string("email", field::required(body, "email")?, validate::email)?;
        let name = field::optional(body, "name", |value| {
            field::string("name", value, validate::display_name)
        })?;
        let platform_admin =
            field::optional(body, "platformAdmin", |value| field::boolean("platformAdmin", value))?.unwrap_or(false);
        let tenant = field::optional(body, "tenant", |value| field::string("tenant", value, validate::slug))?;
        let role = field::optional(body, "role", |value| field::string("role", value, parse_role))?;
        let membership = match (tenant, role) {
            (Some(tenant), Some(role)) => Some(InvitedMembership { tenant, role }),
            (Some(_), None) => return Err(FieldError::new("role", "is required with tenant")),
            (None, Some(_)) => return Err(FieldError::new("tenant", "is required with role")),
            (None, None) => None,
        };
        if !platform_admin && membership.is_none() {
            return Err(FieldError::new(
                "platformAdmin",
                "an invitation grants platformAdmin, a tenant membership (tenant and role), or both",
            ));
        }
        Ok(InviteDraft {
            email,
            name,
            platform_admin,
            membership,
        })
    }
}

fn parse_role(text: &str) -> Result<TenantRole, String> {
    TenantRole::parse(text).ok_or_else(|| format!("'{text}' is not member, admin or owner"))
}

/// The key an address is matched by: the whole address lower-cased (the local part may be
/// case-sensitive in theory, but no provider treats two spellings as two people, and an
/// invitation must not miss its person over capitals).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether a membership with `role` can be promised to someone who is not yet a member of a
/// tenant with these `members`: only an owner invitation can be impossible (one owner at most).
pub fn check_invited_role(members: &[(String, TenantRole)], role: TenantRole) -> Result<(), RoleRuleError> {
    if role == TenantRole::Owner && members.iter().any(|(_, held)| *held == TenantRole::Owner) {
        Err(RoleRuleError::OwnerExists)
    } else {
        Ok(())
    }
}

/// The membership to store when `user_id` accepts an invitation into a tenant that is now in
/// `status` (`None`: it no longer exists) with these `members`, or why it cannot be granted.
pub fn membership_on_acceptance(
    status: Option<TenantStatus>,
    members: &[(String, TenantRole)],
    user_id: &str,
    role: TenantRole,
) -> Result<RoleChange, String> {
    let status = status.ok_or_else(|| "the tenant no longer exists".to_owned())?;
    status.check_update().map_err(|error| error.to_string())?;
    roles::check_change(members, user_id, Some(role), true).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<InviteDraft, FieldError> {
        InviteDraft::parse(value.as_object().unwrap())
    }

    fn field_of(value: Value) -> String {
        parse(value).unwrap_err().field
    }

    #[test]
    fn an_invitation_names_an_address_and_what_it_grants() {
        let operator = parse(json!({"email": " Ada@Example.COM ", "name": " Ada ", "platformAdmin": true})).unwrap();
        assert_eq!(operator.email, "Ada@example.com");
        assert_eq!(operator.name.as_deref(), Some("Ada"));
        assert!(operator.platform_admin);
        assert_eq!(operator.membership, None);

        let admin = parse(json!({"email": "bob@acme.example", "tenant": "acme", "role": "admin"})).unwrap();
        assert!(!admin.platform_admin);
        assert_eq!(
            admin.membership,
            Some(InvitedMembership {
                tenant: Slug::parse("acme").unwrap(),
                role: TenantRole::Admin
            })
        );
        let both = parse(
            json!({"email": "c@x.example", "platformAdmin": true, "tenant": "acme", "role": "owner",
                                "name": null}),
        )
        .unwrap();
        assert!(both.platform_admin && both.membership.is_some() && both.name.is_none());
        let explicit_false =
            parse(json!({"email": "d@x.example", "platformAdmin": false, "tenant": "a", "role": "member"}));
        assert!(explicit_false.is_ok());
    }

    #[test]
    fn every_bad_invitation_names_its_field() {
        assert_eq!(field_of(json!({})), "email");
        assert_eq!(
            field_of(json!({"email": "not-an-address", "platformAdmin": true})),
            "email"
        );
        assert_eq!(field_of(json!({"email": 5, "platformAdmin": true})), "email");
        assert_eq!(field_of(json!({"email": "a@x.example"})), "platformAdmin");
        assert_eq!(
            field_of(json!({"email": "a@x.example", "platformAdmin": false})),
            "platformAdmin"
        );
        assert_eq!(
            field_of(json!({"email": "a@x.example", "platformAdmin": "yes"})),
            "platformAdmin"
        );
        assert_eq!(field_of(json!({"email": "a@x.example", "tenant": "acme"})), "role");
        assert_eq!(field_of(json!({"email": "a@x.example", "role": "admin"})), "tenant");
        assert_eq!(
            field_of(json!({"email": "a@x.example", "tenant": "Acme!", "role": "admin"})),
            "tenant"
        );
        assert_eq!(
            field_of(json!({"email": "a@x.example", "tenant": "acme", "role": "boss"})),
            "role"
        );
        assert_eq!(
            field_of(json!({"email": "a@x.example", "tenant": "acme", "role": 1})),
            "role"
        );
        assert_eq!(
            field_of(json!({"email": "a@x.example", "platformAdmin": true, "name": " "})),
            "name"
        );
        assert_eq!(
            field_of(json!({"email": "a@x.example", "platformAdmin": true, "groups": []})),
            "groups"
        );
        let message = parse(json!({"email": "a@x.example", "tenant": "acme", "role": "boss"}))
            .unwrap_err()
            .to_string();
        assert!(message.contains("'boss'"), "{message}");
    }

    #[test]
    fn addresses_match_whatever_their_capitals() {
        assert_eq!(email_key(" Ada.Lovelace@Example.COM"), "ada.lovelace@example.com");
        assert_eq!(email_key("ada@example.com"), email_key("ADA@EXAMPLE.COM"));
    }

    #[test]
    fn only_an_owner_invitation_can_be_impossible_up_front() {
        let owned = vec![("usr_a".to_owned(), TenantRole::Owner)];
        assert_eq!(
            check_invited_role(&owned, TenantRole::Owner),
            Err(RoleRuleError::OwnerExists)
        );
        for role in [TenantRole::Member, TenantRole::Admin] {
            assert_eq!(check_invited_role(&owned, role), Ok(()));
        }
        for role in TenantRole::ALL {
            assert_eq!(check_invited_role(&[], role), Ok(()));
        }
    }

    #[test]
    fn acceptance_grants_what_the_tenant_allows_now() {
        let members = vec![("usr_a".to_owned(), TenantRole::Admin)];
        let change =
            membership_on_acceptance(Some(TenantStatus::Active), &members, "usr_new", TenantRole::Member).unwrap();
        assert_eq!(
            change,
            RoleChange {
                user_id: "usr_new".into(),
                from: None,
                to: Some(TenantRole::Member)
            }
        );
        // A suspended tenant still takes members (only a deleted one is frozen).
        assert!(
            membership_on_acceptance(Some(TenantStatus::Suspended), &members, "usr_new", TenantRole::Owner).is_ok()
        );
        assert!(membership_on_acceptance(Some(TenantStatus::Pending), &[], "usr_new", TenantRole::Owner).is_ok());

        let gone = membership_on_acceptance(None, &members, "usr_new", TenantRole::Member).unwrap_err();
        assert_eq!(gone, "the tenant no longer exists");
        let deleted =
            membership_on_acceptance(Some(TenantStatus::Deleted), &members, "usr_new", TenantRole::Member).unwrap_err();
        assert!(deleted.contains("deleted"), "{deleted}");
        let owned = vec![("usr_a".to_owned(), TenantRole::Owner)];
        let second_owner =
            membership_on_acceptance(Some(TenantStatus::Active), &owned, "usr_new", TenantRole::Owner).unwrap_err();
        assert!(second_owner.contains("already has an owner"), "{second_owner}");
        let already =
            membership_on_acceptance(Some(TenantStatus::Active), &owned, "usr_a", TenantRole::Member).unwrap_err();
        assert!(already.contains("already a member"), "{already}");
    }
}
