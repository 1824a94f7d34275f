use crate::{event, open};
use dezky_core::{ApiTokenSecret, AuditQuery, Slug, Source, Timestamp, TokenScope};
use dezky_store::{InviteAcceptance, InviteContext, NewApiToken, UserSighting};
use dezky_testkit::{TestDatabase, on_both_backends};

fn new_token(id: &str, scope: TokenScope, secret: &ApiTokenSecret) -> NewApiToken {
    NewApiToken {
        id: id.to_owned(),
        name: format!("{id} name"),
        hash: secret.hash(),
        scope,
        created_by: "cli".to_owned(),
    }
}

async fn tokens_are_created_found_and_revoked_with_their_audit_events(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    let secrets: Vec<ApiTokenSecret> = (1..=3).map(|n| ApiTokenSecret::from_random_bytes([n; 32])).collect();
    let scopes = [
        TokenScope::Operator,
        TokenScope::Tenant(Slug::parse("acme").unwrap()),
        TokenScope::Ingest(Source::parse("portal").unwrap()),
    ];
    for (index, scope) in scopes.iter().enumerate() {
        let id = format!("tok_{index}");
        store
            .create_api_token(
                new_token(&id, scope.clone(), &secrets[index]),
                event("api_token.created", 1),
                now,
            )
            .await
            .unwrap();
    }
    for (index, scope) in scopes.iter().enumerate() {
        let found = store
            .find_active_api_token(&secrets[index].hash())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&found.scope, scope);
    }
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 3);
    assert_eq!(store.next_seq().await.unwrap(), 3, "one audit event per creation");

    let revoked = store
        .revoke_api_token("tok_1", event("api_token.revoked", 2), now)
        .await
        .unwrap();
    assert_eq!(revoked.unwrap().revoked_at, Some(now));
    assert!(store.find_active_api_token(&secrets[1].hash()).await.unwrap().is_none());
    assert!(
        store
            .revoke_api_token("tok_1", event("api_token.revoked", 3), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_api_token("nope", event("api_token.revoked", 3), now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.next_seq().await.unwrap(),
        4,
        "no audit event for a revocation that did nothing"
    );
}

async fn a_failed_mutation_leaves_no_audit_event(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    let secret = ApiTokenSecret::from_random_bytes([9; 32]);
    store
        .create_api_token(
            new_token("tok_a", TokenScope::Operator, &secret),
            event("api_token.created", 1),
            now,
        )
        .await
        .unwrap();
    // Same id again: the insert fails, so its audit event must not be committed either.
    let other = ApiTokenSecret::from_random_bytes([10; 32]);
    let result = store
        .create_api_token(
            new_token("tok_a", TokenScope::Operator, &other),
            event("api_token.created", 2),
            now,
        )
        .await;
    assert!(result.is_err());
    assert_eq!(store.next_seq().await.unwrap(), 1);
    let page = store.query_events(&AuditQuery::default()).await.unwrap();
    assert_eq!(page.events.len(), 1);
}

/// The decision for a sighting that must find no invitation.
fn no_invitation_expected(context: InviteContext<'_>) -> InviteAcceptance {
    panic!("no invitation was made, yet {} was offered", context.invite.id)
}

async fn users_are_created_once_and_refreshed(db: TestDatabase) {
    let store = open(&db).await;
    let sighting = |id: &str, email: &str, groups: Vec<&str>| UserSighting {
        new_user_id: id.to_owned(),
        issuer: "https://auth.example/application/o/dezky/".to_owned(),
        subject: "sub-1".to_owned(),
        email: Some(email.to_owned()),
        email_verified: true,
        name: Some("Alice".to_owned()),
        groups: groups.into_iter().map(String::from).collect(),
    };
    let first = store
        .see_oidc_user(
            sighting("usr_1", "alice@acme.example", vec!["acme"]),
            event("user.created", 1),
            &no_invitation_expected,
            Timestamp::from_millis(1_000),
        )
        .await
        .unwrap();
    assert_eq!(first.id, "usr_1");
    assert!(!first.platform_admin);
    let again = store
        .see_oidc_user(
            sighting("usr_2", "alice@new.example", vec!["acme", "globex"]),
            event("user.created", 2),
            &no_invitation_expected,
            Timestamp::from_millis(2_000),
        )
        .await
        .unwrap();
    assert_eq!(again.id, "usr_1", "the subject keeps its user");
    assert_eq!(again.email.as_deref(), Some("alice@new.example"));
    assert_eq!(again.groups, vec!["acme", "globex"]);
    assert_eq!(store.next_seq().await.unwrap(), 1, "only the creation is audited");

    let found = store.find_users_by_email("ALICE@new.example").await.unwrap();
    assert_eq!(found.len(), 1);
    let promoted = store
        .set_platform_admin(
            "usr_1",
            true,
            event("user.platform_admin_granted", 3),
            Timestamp::from_millis(3_000),
        )
        .await
        .unwrap();
    assert!(promoted.unwrap().platform_admin);
    assert!(
        store
            .set_platform_admin(
                "missing",
                true,
                event("user.platform_admin_granted", 3),
                Timestamp::from_millis(3_000)
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.next_seq().await.unwrap(), 2);
}

on_both_backends!(
    tokens_are_created_found_and_revoked_with_their_audit_events,
    a_failed_mutation_leaves_no_audit_event,
    users_are_created_once_and_refreshed,
);
