use super::*;
use serde_json::json;

fn body(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn fields() -> TenantFields {
    TenantDraft::parse(&body(json!({"slug": "acme", "name": "Acme", "plan": "pro", "seats": 5,
        "domains": ["acme.com"], "partner": "resell", "industry": "retail", "brandColor": "#abcdef",
        "billingInfo": {"company": "Acme GmbH", "contactEmail": "billing@acme.com"}})))
    .unwrap()
    .fields
}

#[test]
fn lifecycle_steps() {
    use TenantStatus::*;
    assert_eq!(Active.suspend(), Ok(Suspended));
    assert_eq!(Pending.suspend(), Ok(Suspended));
    assert!(Suspended.suspend().is_err());
    assert!(Deleted.suspend().is_err());
    assert_eq!(Suspended.resume(), Ok(Active));
    for status in [Pending, Active, Deleted] {
        assert!(status.resume().is_err(), "{status}");
    }
    for status in [Pending, Active, Suspended] {
        assert_eq!(status.soft_delete(), Ok(Deleted));
        assert!(status.check_purge().is_err());
        assert!(status.check_update().is_ok());
    }
    assert!(Deleted.soft_delete().is_err());
    assert!(Deleted.check_purge().is_ok());
    assert!(Deleted.check_update().is_err());
    let error = Active.resume().unwrap_err();
    assert_eq!(error.to_string(), "cannot resume a tenant that is active");
}

#[test]
fn statuses_round_trip() {
    for status in TenantStatus::ALL {
        assert_eq!(TenantStatus::parse(status.as_str()), Some(status));
        assert_eq!(serde_json::to_value(status).unwrap(), json!(status.as_str()));
    }
    assert_eq!(TenantStatus::parse("Active"), None);
}

#[test]
fn drafts_need_slug_and_name_and_default_the_rest() {
    let draft = TenantDraft::parse(&body(json!({"slug": "acme", "name": " Acme "}))).unwrap();
    assert_eq!(draft.slug.as_str(), "acme");
    assert_eq!(draft.fields.name, "Acme");
    assert!(draft.fields.domains.is_empty());
    assert!(!draft.fields.is_platform_tenant);
    assert!(draft.fields.billing_info.is_empty());
    assert_eq!(
        TenantDraft::parse(&body(json!({"name": "A"}))).unwrap_err().field,
        "slug"
    );
    assert_eq!(
        TenantDraft::parse(&body(json!({"slug": "a"}))).unwrap_err().field,
        "name"
    );
}

#[test]
fn drafts_name_the_bad_field() {
    for (input, field) in [
        (json!({"slug": "Bad Slug", "name": "A"}), "slug"),
        (json!({"slug": "a", "name": "A", "seats": "ten"}), "seats"),
        (json!({"slug": "a", "name": "A", "seats": -1}), "seats"),
        (json!({"slug": "a", "name": "A", "domains": "a.com"}), "domains"),
        (
            json!({"slug": "a", "name": "A", "domains": ["a.com", "nope"]}),
            "domains[1]",
        ),
        (
            json!({"slug": "a", "name": "A", "domains": ["a.com", "A.com"]}),
            "domains[1]",
        ),
        (json!({"slug": "a", "name": "A", "brandColor": "blue"}), "brandColor"),
        (
            json!({"slug": "a", "name": "A", "isPlatformTenant": "yes"}),
            "isPlatformTenant",
        ),
        (
            json!({"slug": "a", "name": "A", "billingInfo": {"contactEmail": "nope"}}),
            "billingInfo.contactEmail",
        ),
        (
            json!({"slug": "a", "name": "A", "billingInfo": {"iban": "x"}}),
            "billingInfo.iban",
        ),
        (
            json!({"slug": "a", "name": "A", "billingInfo": {"country": "Germany"}}),
            "billingInfo.country",
        ),
        (json!({"slug": "a", "name": "A", "billingInfo": "x"}), "billingInfo"),
        (json!({"slug": "a", "name": "A", "partner": "Not A Slug"}), "partner"),
        (json!({"slug": "a", "name": "A", "colour": "x"}), "colour"),
    ] {
        let error = TenantDraft::parse(&body(input.clone())).unwrap_err();
        assert_eq!(error.field, field, "{input}");
    }
}

#[test]
fn a_blank_billing_email_is_absent() {
    let draft = TenantDraft::parse(&body(
        json!({"slug": "a", "name": "A", "billingInfo": {"company": "A", "contactEmail": "  "}}),
    ))
    .unwrap();
    assert_eq!(draft.fields.billing_info.contact_email, None);
    assert_eq!(draft.fields.billing_info.company.as_deref(), Some("A"));
}

#[test]
fn patches_keep_unset_and_set() {
    let current = fields();
    let patch = TenantPatch::parse(&body(json!({"plan": null, "seats": 9, "partner": null}))).unwrap();
    assert_eq!(patch.sent_fields(), vec!["plan", "seats", "partner"]);
    let after = patch.apply(&current);
    assert_eq!(after.plan, None);
    assert_eq!(after.seats, Some(9));
    assert_eq!(after.partner, None);
    assert_eq!(after.name, current.name);
    assert_eq!(after.domains, current.domains);
    let changes = crate::diff(&current.to_json(), &after.to_json());
    let mut changed: Vec<&String> = changes.keys().collect();
    changed.sort();
    assert_eq!(changed, vec!["partner", "plan", "seats"]);
    assert_eq!(changes["seats"], json!({"from": 5, "to": 9}));
}

#[test]
fn resending_stored_values_changes_nothing() {
    let current = fields();
    let patch = TenantPatch::parse(&body(json!({"name": "Acme", "seats": 5, "domains": ["acme.com"]}))).unwrap();
    let after = patch.apply(&current);
    assert!(crate::diff(&current.to_json(), &after.to_json()).is_empty());
}

#[test]
fn billing_info_is_replaced_as_a_whole_or_cleared() {
    let current = fields();
    let after = TenantPatch::parse(&body(json!({"billingInfo": {"vatId": "DE1"}})))
        .unwrap()
        .apply(&current);
    assert_eq!(after.billing_info.vat_id.as_deref(), Some("DE1"));
    assert_eq!(after.billing_info.company, None);
    let cleared = TenantPatch::parse(&body(json!({"billingInfo": null})))
        .unwrap()
        .apply(&current);
    assert!(cleared.billing_info.is_empty());
}

#[test]
fn patches_refuse_immutable_and_unknown_fields() {
    for (input, field) in [
        (json!({"slug": "other"}), "slug"),
        (json!({"status": "active"}), "status"),
        (json!({"nme": "x"}), "nme"),
        (json!({"name": null}), "name"),
        (json!({"domains": null}), "domains"),
        (json!({"isPlatformTenant": null}), "isPlatformTenant"),
        (json!({"seats": 1.5}), "seats"),
        (json!({"name": ""}), "name"),
    ] {
        assert_eq!(
            TenantPatch::parse(&body(input.clone())).unwrap_err().field,
            field,
            "{input}"
        );
    }
    assert_eq!(TenantPatch::parse(&body(json!({}))).unwrap(), TenantPatch::default());
}

#[test]
fn authority_limits_the_fields() {
    let profile = TenantPatch::parse(&body(json!({"name": "X", "brandColor": "#000"}))).unwrap();
    let plan = TenantPatch::parse(&body(json!({"name": "X", "seats": 3}))).unwrap();
    let flag = TenantPatch::parse(&body(json!({"isPlatformTenant": true}))).unwrap();
    let attach = TenantPatch::parse(&body(json!({"partner": null}))).unwrap();
    for patch in [&profile, &plan, &flag, &attach] {
        assert!(patch.check_authority(PatchAuthority::Operator).is_ok());
    }
    assert!(profile.check_authority(PatchAuthority::TenantAdmin).is_ok());
    assert_eq!(
        plan.check_authority(PatchAuthority::TenantAdmin).unwrap_err().field,
        "seats"
    );
    assert!(flag.check_authority(PatchAuthority::TenantAdmin).is_err());
    assert!(plan.check_authority(PatchAuthority::PartnerStaff).is_ok());
    assert_eq!(
        flag.check_authority(PatchAuthority::PartnerStaff).unwrap_err().field,
        "isPlatformTenant"
    );
    assert_eq!(
        attach.check_authority(PatchAuthority::PartnerStaff).unwrap_err().field,
        "partner"
    );
}

#[test]
fn provisioning_starts_pending_only_where_configured() {
    let provisioning = initial_provisioning(&["authentik"]);
    assert_eq!(provisioning.len(), 3);
    assert_eq!(provisioning["authentik"].status, ProvisioningState::Pending);
    assert_eq!(provisioning["stalwart"].status, ProvisioningState::NotConfigured);
    assert_eq!(
        serde_json::to_value(&provisioning["ocis"]).unwrap(),
        json!({"status": "not_configured", "errors": []})
    );
}
