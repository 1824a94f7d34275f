//! Invitations in the store: refused duplicates write nothing, and a first sighting with the
//! verified address consumes the invitation in the transaction that creates the user.

use crate::control::new_tenant;
use crate::{event, open};
use dezky_control::invite::InvitedMembership;
use dezky_control::roles::{RoleChange, TenantRole};
use dezky_core::{Slug, Timestamp};
use dezky_store::control::ControlError;
use dezky_store::{Invite, InviteAcceptance, InviteContext, Store, UserSighting};
use dezky_testkit::{TestDatabase, on_both_backends};
use std::sync::Mutex;

fn invite(id: &str, email: &str, platform_admin: bool, membership: Option<(&str, TenantRole)>) -> Invite {
    Invite {
        id: id.to_owned(),
        email: email.to_owned(),
        name: Some("Invited".to_owned()),
        platform_admin,
        membership: membership.map(|(tenant, role)| InvitedMembership {
            tenant: Slug::parse(tenant).unwrap(),
            role,
        }),
        created_at: Timestamp::from_millis(0),
        created_by: Some("tok_operator".to_owned()),
    }
}

fn sighting(id: &str, subject: &str, email: &str, email_verified: bool) -> UserSighting {
    UserSighting {
        new_user_id: id.to_owned(),
        issuer: "https://auth.example/application/o/dezky/".to_owned(),
        subject: subject.to_owned(),
        email: Some(email.to_owned()),
        email_verified,
        name: Some(subject.to_owned()),
        groups: vec![],
    }
}

async fn create_acme(store: &dyn Store) {
    store
        .create_tenant(
            new_tenant("acme", &[]),
            None,
            vec![event("tenant.created", 1)],
            Timestamp::from_millis(1),
        )
        .await
        .unwrap();
}

async fn duplicate_and_impossible_invitations_write_nothing(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    create_acme(store.as_ref()).await;
    let made = store
        .create_invite(
            invite("inv_1", "Ada@Example.com", false, Some(("acme", TenantRole::Owner))),
            vec![event("user.invited", 2)],
            now,
        )
        .await
        .unwrap();
    assert_eq!(made.created_at, now, "the store stamps the time it stored");
    assert_eq!(made.created_by.as_deref(), Some("tok_operator"));
    assert_eq!(store.get_invite("inv_1").await.unwrap(), Some(made.clone()));
    let before = store.next_seq().await.unwrap();

    let same_address = store
        .create_invite(
            invite("inv_2", "ada@EXAMPLE.com", true, None),
            vec![event("user.invited", 3)],
            now,
        )
        .await;
    assert!(
        matches!(same_address, Err(ControlError::InviteExists(_))),
        "{same_address:?}"
    );
    let second_owner = store
        .create_invite(
            invite("inv_3", "bob@example.com", false, Some(("acme", TenantRole::Owner))),
            vec![event("user.invited", 4)],
            now,
        )
        .await;
    assert!(
        matches!(second_owner, Err(ControlError::InviteExists(_))),
        "{second_owner:?}"
    );
    let no_tenant = store
        .create_invite(
            invite("inv_4", "carl@example.com", false, Some(("globex", TenantRole::Member))),
            vec![event("user.invited", 5)],
            now,
        )
        .await;
    assert!(matches!(no_tenant, Err(ControlError::NotFound(_))), "{no_tenant:?}");

    store
        .see_oidc_user(
            sighting("usr_dora", "dora", "dora@example.com", false),
            event("user.created", 6),
            &no_invitation,
            now,
        )
        .await
        .unwrap();
    let existing_user = store
        .create_invite(
            invite("inv_5", "DORA@example.com", true, None),
            vec![event("user.invited", 7)],
            now,
        )
        .await;
    assert!(
        matches!(existing_user, Err(ControlError::UserExists(_))),
        "{existing_user:?}"
    );

    assert_eq!(
        store.next_seq().await.unwrap(),
        before + 1,
        "only dora's creation was recorded"
    );
    let listed: Vec<String> = store.list_invites().await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed, vec!["inv_1"]);

    store
        .revoke_invite("inv_1", vec![event("user.invite_revoked", 8)], now)
        .await
        .unwrap();
    let again = store
        .revoke_invite("inv_1", vec![event("user.invite_revoked", 9)], now)
        .await;
    assert!(matches!(again, Err(ControlError::NotFound(_))), "{again:?}");
    assert!(store.list_invites().await.unwrap().is_empty());
    assert_eq!(store.next_seq().await.unwrap(), before + 2);
}

fn no_invitation(context: InviteContext<'_>) -> InviteAcceptance {
    panic!("no invitation should be offered, got {}", context.invite.id)
}

/// What one call of the decision saw.
#[derive(Debug, PartialEq)]
struct Offer {
    invite_id: String,
    user_id: String,
    tenant_version: Option<i64>,
    members: Vec<(String, TenantRole)>,
}

#[derive(Default)]
struct Seen {
    offered: Vec<Offer>,
}

async fn the_first_verified_sighting_consumes_the_invitation(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    create_acme(store.as_ref()).await;
    let acme = Slug::parse("acme").unwrap();
    store
        .see_oidc_user(
            sighting("usr_owner", "owner", "owner@example.com", true),
            event("user.created", 2),
            &no_invitation,
            now,
        )
        .await
        .unwrap();
    store
        .change_members(
            &acme,
            1,
            &[RoleChange {
                user_id: "usr_owner".into(),
                from: None,
                to: Some(TenantRole::Owner),
            }],
            vec![event("user.member_added", 3)],
            now,
        )
        .await
        .unwrap();
    store
        .create_invite(
            invite("inv_ada", "ada@example.com", true, Some(("acme", TenantRole::Admin))),
            vec![event("user.invited", 4)],
            now,
        )
        .await
        .unwrap();

    // Unverified: the user is created, the invitation stays.
    store
        .see_oidc_user(
            sighting("usr_fake", "impostor", "ADA@example.com", false),
            event("user.created", 5),
            &no_invitation,
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.list_invites().await.unwrap().len(), 1);

    let seen = Mutex::new(Seen::default());
    let decide = |context: InviteContext<'_>| {
        seen.lock().unwrap().offered.push(Offer {
            invite_id: context.invite.id.clone(),
            user_id: context.user.id.clone(),
            tenant_version: context.tenant.map(|tenant| tenant.version),
            members: context.members.to_vec(),
        });
        let mut accepted = event("user.invite_accepted", 7);
        accepted.resource_id = Some(context.user.id.clone());
        InviteAcceptance {
            platform_admin: context.invite.platform_admin,
            tenant_role: Some(TenantRole::Admin),
            audit: vec![accepted],
        }
    };
    let before = store.next_seq().await.unwrap();
    let ada = store
        .see_oidc_user(
            sighting("usr_ada", "ada", "Ada@Example.com", true),
            event("user.created", 6),
            &decide,
            now,
        )
        .await
        .unwrap();
    assert!(ada.platform_admin, "the returned user carries the grant");
    let offered = std::mem::take(&mut seen.lock().unwrap().offered);
    assert_eq!(
        offered,
        vec![Offer {
            invite_id: "inv_ada".to_owned(),
            user_id: "usr_ada".to_owned(),
            tenant_version: Some(2),
            members: vec![("usr_owner".to_owned(), TenantRole::Owner)],
        }]
    );
    let members = store.tenant_members(&acme).await.unwrap();
    let role = members.iter().find(|m| m.account.id == "usr_ada").map(|m| m.role);
    assert_eq!(role, Some(TenantRole::Admin));
    assert_eq!(
        store.get_tenant(&acme).await.unwrap().unwrap().version,
        3,
        "a member change bumps the version"
    );
    assert!(store.list_invites().await.unwrap().is_empty(), "consumed");
    assert_eq!(
        store.next_seq().await.unwrap(),
        before + 2,
        "user.created and the acceptance"
    );
    let recorded = store.get_event(before + 1).await.unwrap().unwrap();
    assert_eq!(recorded.action.as_str(), "user.invite_accepted");

    // A later sighting of the same subject is not a first sight: nothing more is offered.
    store
        .see_oidc_user(
            sighting("usr_other", "ada", "ada@example.com", true),
            event("user.created", 8),
            &decide,
            Timestamp::from_millis(500_000),
        )
        .await
        .unwrap();
    assert!(seen.lock().unwrap().offered.is_empty());
}

async fn purging_a_tenant_removes_the_invitations_into_it(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    create_acme(store.as_ref()).await;
    let acme = Slug::parse("acme").unwrap();
    for (id, email) in [("inv_a", "a@example.com"), ("inv_b", "b@example.com")] {
        store
            .create_invite(
                invite(id, email, id == "inv_b", Some(("acme", TenantRole::Member))),
                vec![event("user.invited", 2)],
                now,
            )
            .await
            .unwrap();
    }
    store
        .create_invite(
            invite("inv_c", "c@example.com", true, None),
            vec![event("user.invited", 3)],
            now,
        )
        .await
        .unwrap();
    let tenant = store.get_tenant(&acme).await.unwrap().unwrap();
    store
        .purge_tenant(&acme, tenant.version, vec![event("tenant.purged", 4)], now)
        .await
        .unwrap();
    let left: Vec<String> = store.list_invites().await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(
        left,
        vec!["inv_c"],
        "a new tenant reusing the slug must not receive the old invitees"
    );
}

on_both_backends!(
    duplicate_and_impossible_invitations_write_nothing,
    the_first_verified_sighting_consumes_the_invitation,
    purging_a_tenant_removes_the_invitations_into_it,
);
