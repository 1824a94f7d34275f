use super::*;
use TenantRole::*;

fn members(list: &[(&str, TenantRole)]) -> Vec<(String, TenantRole)> {
    list.iter().map(|(id, role)| (id.to_string(), *role)).collect()
}

#[test]
fn roles_parse_and_order() {
    for role in TenantRole::ALL {
        assert_eq!(TenantRole::parse(role.as_str()), Some(role));
    }
    assert_eq!(TenantRole::parse("Owner"), None);
    assert!(Owner.administers() && Admin.administers() && !Member.administers());
}

#[test]
fn adding_members() {
    let team = members(&[("o", Owner), ("m", Member)]);
    let added = check_change(&team, "n", Some(Admin), true).unwrap();
    assert_eq!(
        added,
        RoleChange {
            user_id: "n".into(),
            from: None,
            to: Some(Admin)
        }
    );
    assert_eq!(
        check_change(&team, "m", Some(Admin), true),
        Err(RoleRuleError::AlreadyMember)
    );
    assert_eq!(
        check_change(&team, "n", Some(Owner), true),
        Err(RoleRuleError::OwnerExists)
    );
    // The first member of an empty tenant may be anything, including owner or plain member.
    assert!(check_change(&[], "first", Some(Owner), true).is_ok());
    assert!(check_change(&[], "first", Some(Member), true).is_ok());
}

#[test]
fn changing_and_removing() {
    let team = members(&[("o", Owner), ("a", Admin), ("m", Member)]);
    assert!(check_change(&team, "a", Some(Member), false).is_ok());
    assert!(check_change(&team, "m", Some(Admin), false).is_ok());
    assert!(check_change(&team, "m", None, false).is_ok());
    assert!(check_change(&team, "a", None, false).is_ok());
    assert_eq!(check_change(&team, "x", None, false), Err(RoleRuleError::NotAMember));
    assert_eq!(
        check_change(&team, "m", Some(Owner), false),
        Err(RoleRuleError::OwnerExists)
    );
    assert_eq!(
        check_change(&team, "o", Some(Admin), false),
        Err(RoleRuleError::OwnerMustTransfer)
    );
    assert_eq!(
        check_change(&team, "o", None, false),
        Err(RoleRuleError::OwnerMustTransfer)
    );
    assert!(check_change(&team, "o", Some(Owner), false).is_ok());
}

#[test]
fn the_last_administrator_stays() {
    let team = members(&[("a", Admin), ("m", Member)]);
    assert_eq!(
        check_change(&team, "a", Some(Member), false),
        Err(RoleRuleError::LastAdministrator)
    );
    assert_eq!(
        check_change(&team, "a", None, false),
        Err(RoleRuleError::LastAdministrator)
    );
    assert!(check_change(&team, "m", None, false).is_ok());
    // With no owner, an admin may become owner.
    assert!(check_change(&team, "a", Some(Owner), false).is_ok());
    let two = members(&[("a", Admin), ("b", Admin)]);
    assert!(check_change(&two, "a", None, false).is_ok());
    // A tenant of plain members has no administrator to lose.
    let plain = members(&[("m", Member), ("n", Member)]);
    assert!(check_change(&plain, "m", None, false).is_ok());
}

#[test]
fn ownership_transfers_demote_the_previous_owner() {
    let team = members(&[("o", Owner), ("a", Admin), ("m", Member)]);
    let changes = transfer_ownership(&team, "m").unwrap();
    assert_eq!(
        changes,
        vec![
            RoleChange {
                user_id: "o".into(),
                from: Some(Owner),
                to: Some(Admin)
            },
            RoleChange {
                user_id: "m".into(),
                from: Some(Member),
                to: Some(Owner)
            },
        ]
    );
    assert_eq!(transfer_ownership(&team, "o"), Err(RoleRuleError::AlreadyOwner));
    assert_eq!(transfer_ownership(&team, "x"), Err(RoleRuleError::NotAMember));
    let ownerless = members(&[("a", Admin)]);
    assert_eq!(transfer_ownership(&ownerless, "a").unwrap().len(), 1);
}

#[test]
fn admins_cannot_touch_ownership() {
    let promote = RoleChange {
        user_id: "m".into(),
        from: Some(Member),
        to: Some(Admin),
    };
    let crown = RoleChange {
        user_id: "m".into(),
        from: Some(Member),
        to: Some(Owner),
    };
    for authority in [
        MemberAuthority::Operator,
        MemberAuthority::Owner,
        MemberAuthority::Admin,
    ] {
        assert!(check_authority(authority, &promote).is_ok());
    }
    assert!(check_authority(MemberAuthority::Admin, &crown).is_err());
    assert!(check_authority(MemberAuthority::Owner, &crown).is_ok());
}
