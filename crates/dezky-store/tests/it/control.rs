//! The control-plane store: version-checked writes refuse stale data, and nothing is written
//! (no row, no event) when a write is refused.

use crate::{event, open};
use dezky_control::tenant::{BillingInfo, TenantFields, TenantStatus, initial_provisioning};
use dezky_core::{Slug, Timestamp};
use dezky_store::control::{ControlError, NewTenant, TenantChange};
use dezky_testkit::{TestDatabase, on_both_backends};

fn fields(name: &str, domains: &[&str]) -> TenantFields {
    TenantFields {
        name: name.to_owned(),
        plan: None,
        seats: None,
        domains: domains.iter().map(|domain| domain.to_string()).collect(),
        partner: None,
        is_platform_tenant: false,
        industry: None,
        brand_color: None,
        billing_info: BillingInfo::default(),
    }
}

pub fn new_tenant(slug: &str, domains: &[&str]) -> NewTenant {
    NewTenant {
        slug: Slug::parse(slug).unwrap(),
        status: TenantStatus::Active,
        fields: fields(slug, domains),
        provisioning: initial_provisioning(&[]),
    }
}

async fn stale_and_conflicting_writes_change_nothing(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(1_000);
    let acme = store
        .create_tenant(
            new_tenant("acme", &["acme.com"]),
            None,
            vec![event("tenant.created", 1)],
            now,
        )
        .await
        .unwrap();
    assert_eq!(acme.version, 1);
    let taken = store
        .create_tenant(new_tenant("acme", &[]), None, vec![event("tenant.created", 2)], now)
        .await;
    assert!(matches!(taken, Err(ControlError::SlugTaken(_))));
    let shared = store
        .create_tenant(
            new_tenant("globex", &["acme.com"]),
            None,
            vec![event("tenant.created", 3)],
            now,
        )
        .await;
    assert!(matches!(shared, Err(ControlError::DomainTaken { .. })), "{shared:?}");
    assert!(
        store
            .get_tenant(&Slug::parse("globex").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.next_seq().await.unwrap(), 1, "refused writes record nothing");

    let change = |version, name: &str| TenantChange {
        slug: acme.slug.clone(),
        expected_version: version,
        status: TenantStatus::Active,
        fields: fields(name, &["acme.com", "acme.de"]),
        clear_platform_flag_of: None,
    };
    let updated = store
        .update_tenant(change(1, "Acme 2"), vec![event("tenant.updated", 4)], now)
        .await
        .unwrap();
    assert_eq!((updated.version, updated.fields.domains.len()), (2, 2));
    // A second writer that read version 1 is refused instead of overwriting.
    let stale = store
        .update_tenant(change(1, "Acme 3"), vec![event("tenant.updated", 5)], now)
        .await;
    assert!(matches!(stale, Err(ControlError::Stale)));
    let stored = store.get_tenant(&acme.slug).await.unwrap().unwrap();
    assert_eq!(stored.fields.name, "Acme 2");
    assert_eq!(store.next_seq().await.unwrap(), 2);

    let stale_purge = store
        .purge_tenant(&acme.slug, 1, vec![event("tenant.purged", 6)], now)
        .await;
    assert!(matches!(stale_purge, Err(ControlError::Stale)));
    store
        .purge_tenant(&acme.slug, 2, vec![event("tenant.purged", 7)], now)
        .await
        .unwrap();
    assert!(store.get_tenant(&acme.slug).await.unwrap().is_none());
    // Its domains went with it.
    store
        .create_tenant(
            new_tenant("globex", &["acme.com"]),
            None,
            vec![event("tenant.created", 8)],
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.next_seq().await.unwrap(), 4);
}

on_both_backends!(stale_and_conflicting_writes_change_nothing);
