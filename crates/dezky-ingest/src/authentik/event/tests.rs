use super::*;
use crate::authentik::fixtures::{at, login, page, system_task};
use crate::authentik::page::parse_page;
use crate::authentik::secrets::MASK;
use dezky_core::Timestamp;
use dezky_core::event::limits;
use serde_json::json;
use std::cell::RefCell;

fn no_tenant(_: TenantHint<'_>) -> Option<Slug> {
    None
}

fn event_of(value: Value) -> AuthentikEvent {
    let body = page(1, 0, 1, vec![value]);
    parse_page(body.to_string().as_bytes()).unwrap().events.remove(0)
}

fn map(value: Value) -> NewAuditEvent {
    map_event(&event_of(value), &no_tenant)
}

#[test]
fn a_login_names_the_user_the_address_and_the_time() {
    let event = map(login("6a1c0f5e-7d0b-4a8e-9f3c-2b1d0e9f8a7c", &at(53, 123_456)));
    assert_eq!(event.action.as_str(), "authentik.login");
    assert_eq!(event.source.as_str(), "authentik");
    assert_eq!(event.outcome, Outcome::Success);
    assert_eq!(event.actor_type, ActorType::User);
    assert_eq!(event.actor_id.as_deref(), Some("ceo"));
    assert_eq!(event.actor_email.as_deref(), Some("ceo@acme.example"));
    assert_eq!(event.actor_ip.as_deref(), Some("192.0.2.44"));
    assert_eq!(event.at, Timestamp::parse_rfc3339("2026-03-14T09:26:53.123Z").unwrap());
    assert_eq!(
        event.external_id.as_deref(),
        Some("authentik:6a1c0f5e-7d0b-4a8e-9f3c-2b1d0e9f8a7c")
    );
    assert_eq!(event.resource_type, None);
    // The whole event is kept, with microseconds, geo and brand.
    assert_eq!(event.metadata["created"], "2026-03-14T09:26:53.123456Z");
    assert_eq!(event.metadata["context"]["geo"]["city"], "Hamburg");
    assert_eq!(event.metadata["brand"]["name"], "Default brand");
    assert_eq!(event.metadata["user"]["pk"], 7);
}

#[test]
fn a_failed_login_is_a_failure_by_the_claimed_username_with_the_password_still_masked() {
    let event = map(json!({
        "pk": "e1", "user": { "pk": 2, "username": "AnonymousUser", "email": "" }, "action": "login_failed",
        "app": "authentik.events.signals",
        "context": { "stage": { "pk": "5e9f…", "app": "authentik_stages_password", "name": "default-authentication-password",
                                "model_name": "passwordstage" },
                     "password": MASK, "username": "ceo@acme.example",
                     "http_request": { "args": {}, "path": "/api/v3/flows/executor/default-authentication-flow/",
                                       "method": "POST" } },
        "client_ip": "2001:DB8::7", "created": at(1, 0)
    }));
    assert_eq!(event.action.as_str(), "authentik.login_failed");
    assert_eq!(event.outcome, Outcome::Failure);
    assert_eq!(event.actor_type, ActorType::User);
    assert_eq!(event.actor_id.as_deref(), Some("ceo@acme.example"));
    assert_eq!(event.actor_email, None);
    assert_eq!(event.actor_ip.as_deref(), Some("2001:db8::7"));
    assert_eq!(event.metadata["context"]["password"], MASK);
    // An anonymous request without a claimed name is a user nobody knows.
    let anonymous = map(
        json!({ "pk": "e2", "user": { "pk": 2, "username": "AnonymousUser" }, "action": "logout",
                                "created": at(1, 0) }),
    );
    assert_eq!((anonymous.actor_type, anonymous.actor_id), (ActorType::User, None));
}

#[test]
fn impersonation_is_done_by_the_admin_and_names_the_impersonated_user() {
    let admin = json!({ "pk": 1, "username": "akadmin", "email": "admin@platform.example" });
    let mut user = admin.clone();
    user["on_behalf_of"] = json!({ "pk": 42, "username": "marie", "email": "marie@acme.example" });
    let started = map(
        json!({ "pk": "e1", "user": user, "action": "impersonation_started", "app": "authentik.core.api.users",
                              "context": { "reason": "support ticket 1234" }, "client_ip": "192.0.2.1", "created": at(2, 0) }),
    );
    assert_eq!(started.actor_id.as_deref(), Some("akadmin"));
    assert_eq!(started.actor_email.as_deref(), Some("admin@platform.example"));
    assert_eq!(started.metadata["impersonatedUser"]["username"], "marie");
    assert_eq!(started.resource_type.as_deref(), Some("user"));
    assert_eq!(started.resource_id.as_deref(), Some("42"));
    assert_eq!(started.resource_name.as_deref(), Some("marie"));
    // What the admin does while impersonating is still the admin's, on marie's behalf.
    let write = map(
        json!({ "pk": "e2", "user": user, "action": "model_updated", "created": at(3, 0),
        "context": { "model": { "app": "authentik_core", "model_name": "user", "pk": 42, "name": "Marie Curie" } } }),
    );
    assert_eq!(write.actor_id.as_deref(), Some("akadmin"));
    assert_eq!(write.metadata["impersonatedUser"]["pk"], 42);
    assert_eq!(write.metadata["user"]["on_behalf_of"]["username"], "marie");
}

#[test]
fn a_flow_event_keeps_the_session_user_it_was_authenticated_as() {
    let event = map(json!({ "pk": "e1", "action": "password_set", "created": at(4, 0),
        "user": { "pk": 42, "username": "marie", "email": "marie@acme.example",
                  "authenticated_as": { "pk": 2, "username": "AnonymousUser", "email": "" } },
        "context": { "http_request": { "path": "/if/flow/default-recovery-flow/", "method": "POST",
                                       "args": { "flow_token": "ZmxvdzEyMw" } } } }));
    assert_eq!(event.action.as_str(), "authentik.password_set");
    assert_eq!(event.actor_id.as_deref(), Some("marie"));
    assert_eq!(event.metadata["authenticatedAs"]["username"], "AnonymousUser");
    // `password_set` is about the user whose password changed.
    assert_eq!(event.resource_type.as_deref(), Some("user"));
    assert_eq!(event.resource_id.as_deref(), Some("42"));
    assert_eq!(event.metadata["context"]["http_request"]["args"]["flow_token"], MASK);
}

#[test]
fn model_events_name_their_resource() {
    let event = map(json!({ "pk": "e1", "action": "model_created", "created": at(5, 0),
        "user": { "pk": 1, "username": "akadmin", "email": "admin@platform.example" },
        "context": { "model": { "app": "authentik_providers_oauth2", "model_name": "oauth2provider",
                                "pk": 12, "name": "Nextcloud" },
                     "diff": { "client_secret": { "previous_value": null, "new_value": "s3cr3t-value" },
                               "name": { "previous_value": null, "new_value": "Nextcloud" } } } }));
    assert_eq!(event.action.as_str(), "authentik.model_created");
    assert_eq!(event.resource_type.as_deref(), Some("oauth2provider"));
    assert_eq!(event.resource_id.as_deref(), Some("12"));
    assert_eq!(event.resource_name.as_deref(), Some("Nextcloud"));
    // An Enterprise diff of a secret field is masked, the rest kept.
    assert_eq!(
        event.metadata["context"]["diff"]["client_secret"]["new_value"], MASK,
        "{:?}",
        event.metadata
    );
    assert_eq!(event.metadata["context"]["diff"]["name"]["new_value"], "Nextcloud");
    assert!(!serde_json::to_string(&event.metadata).unwrap().contains("s3cr3t-value"));

    let application = map(
        json!({ "pk": "e2", "action": "authorize_application", "created": at(5, 1),
        "user": { "pk": 7, "username": "ceo", "email": "ceo@acme.example" },
        "context": { "authorized_application": { "app": "authentik_core", "model_name": "application",
                                                 "pk": "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "name": "Webmail" },
                     "scopes": "openid profile email" } }),
    );
    assert_eq!(application.resource_type.as_deref(), Some("application"));
    assert_eq!(
        application.resource_id.as_deref(),
        Some("0a1b2c3d4e5f40718293a4b5c6d7e8f9")
    );
    assert_eq!(application.resource_name.as_deref(), Some("Webmail"));
}

#[test]
fn outcomes_follow_the_action() {
    let outcome = |action: &str, context: Value| {
        map(json!({ "pk": "e", "action": action, "created": at(6, 0), "user": {}, "context": context })).outcome
    };
    for action in [
        "login_failed",
        "policy_exception",
        "property_mapping_exception",
        "system_task_exception",
        "system_exception",
        "configuration_error",
        "custom_sync_failed",
        "custom_Export Error",
    ] {
        assert_eq!(outcome(action, json!({})), Outcome::Failure, "{action}");
    }
    assert_eq!(outcome("suspicious_request", json!({})), Outcome::Denied);
    assert_eq!(
        outcome(
            "policy_execution",
            json!({ "result": { "passing": false, "messages": [] } })
        ),
        Outcome::Denied
    );
    assert_eq!(
        outcome("policy_execution", json!({ "result": { "passing": true } })),
        Outcome::Success
    );
    assert_eq!(outcome("custom_access_denied", json!({})), Outcome::Denied);
    for action in [
        "login",
        "logout",
        "configuration_warning",
        "secret_view",
        "model_deleted",
        "review_completed",
    ] {
        assert_eq!(outcome(action, json!({})), Outcome::Success, "{action}");
    }
}

#[test]
fn custom_and_unknown_actions_are_kept_normalised() {
    let custom = map(
        json!({ "pk": "e1", "action": "custom_Invoice Paid!", "created": at(7, 0), "user": {},
                             "context": { "amount": 12, "api_key": "live_abc" } }),
    );
    assert_eq!(custom.action.as_str(), "authentik.custom_invoice_paid");
    assert_eq!(custom.metadata["action"], "custom_Invoice Paid!");
    assert_eq!(custom.metadata["context"]["api_key"], MASK);
    let future = map(json!({ "pk": "e2", "action": "access_request_approved", "created": at(7, 1), "user": {} }));
    assert_eq!(future.action.as_str(), "authentik.access_request_approved");
}

#[test]
fn system_events_have_no_user_and_no_address() {
    let event = map(system_task("e1", &at(8, 0)));
    assert_eq!(event.action.as_str(), "authentik.system_task_execution");
    assert_eq!((event.actor_type, event.actor_id.clone()), (ActorType::Service, None));
    assert_eq!(event.actor_ip, None);
    // The unknown-address fallback of old versions is no address either.
    let mut old = login("e2", &at(8, 1));
    old["client_ip"] = json!("255.255.255.255");
    assert_eq!(map(old).actor_ip, None);
    let mut odd = login("e3", &at(8, 2));
    odd["client_ip"] = json!("not-an-ip");
    assert_eq!(map(odd).actor_ip, None);
}

#[test]
fn huge_and_odd_values_are_bounded() {
    let mut event = login("e1", &at(9, 0));
    event["user"]["username"] = json!("u".repeat(1_000));
    event["user"]["email"] = json!(17);
    event["context"]["blob"] = json!("x".repeat(100_000));
    event["context"]["list"] = json!((0..50).collect::<Vec<_>>());
    let mapped = map(event);
    assert_eq!(mapped.actor_id.as_deref().map(str::len), Some(limits::SHORT_TEXT));
    assert_eq!(mapped.actor_email, None);
    let size = serde_json::to_string(&mapped.metadata).unwrap().len();
    assert!(size <= limits::METADATA_BYTES, "{size}");
    assert_eq!(mapped.metadata["context"]["truncated"], true);
    assert_eq!(mapped.metadata["pk"], "e1");
    // `user` and `context` that are not objects are treated as absent.
    let strange = map(json!({ "pk": "e2", "action": "login", "created": at(9, 1), "user": "ceo", "context": [1] }));
    assert_eq!((strange.actor_type, strange.actor_id), (ActorType::Service, None));
}

#[test]
fn the_tenant_comes_from_groups_then_the_subject_user_then_the_actor() {
    let asked = RefCell::new(Vec::new());
    let resolver = |hint: TenantHint<'_>| {
        asked.borrow_mut().push(format!("{hint:?}"));
        match hint {
            TenantHint::Group("acme") => Some(Slug::parse("acme").unwrap()),
            TenantHint::UserPk(42) => Some(Slug::parse("globex").unwrap()),
            TenantHint::Username("marie") => Some(Slug::parse("initech").unwrap()),
            _ => None,
        }
    };
    let tenant = |value: Value| {
        asked.borrow_mut().clear();
        map_event(&event_of(value), &resolver)
            .tenant_slug
            .map(|slug| slug.as_str().to_owned())
    };
    // Groups on the event: admin groups are never offered.
    let grouped = json!({ "pk": "e1", "action": "login", "created": at(10, 0),
        "user": { "pk": 7, "username": "ceo", "groups": ["authentik Admins", "platform-admins", { "name": "acme" }] } });
    assert_eq!(tenant(grouped).as_deref(), Some("acme"));
    assert_eq!(*asked.borrow(), vec![r#"Group("acme")"#]);
    // A group created by an admin belongs to the tenant it is named after.
    let group = json!({ "pk": "e2", "action": "model_created", "created": at(10, 1), "user": { "username": "akadmin" },
        "context": { "model": { "app": "authentik_core", "model_name": "group", "pk": "9f8e", "name": "acme" } } });
    assert_eq!(tenant(group).as_deref(), Some("acme"));
    // A user changed by an admin belongs to that user's tenant, not the admin's.
    let user = json!({ "pk": "e3", "action": "model_updated", "created": at(10, 2), "user": { "username": "akadmin" },
        "context": { "model": { "app": "authentik_core", "model_name": "user", "pk": 42, "name": "Bob" } } });
    assert_eq!(tenant(user).as_deref(), Some("globex"));
    // Impersonation: the impersonated user's tenant comes before the admin's.
    let impersonated = json!({ "pk": "e4", "action": "user_write", "created": at(10, 3),
        "user": { "username": "akadmin", "on_behalf_of": { "username": "marie" } } });
    assert_eq!(tenant(impersonated).as_deref(), Some("initech"));
    assert_eq!(*asked.borrow(), vec![r#"Username("marie")"#]);
    // A failed login: the claimed username; the anonymous user is never asked about.
    let failed = json!({ "pk": "e5", "action": "login_failed", "created": at(10, 4),
        "user": { "username": "AnonymousUser" }, "context": { "username": "marie" } });
    assert_eq!(tenant(failed).as_deref(), Some("initech"));
    assert_eq!(*asked.borrow(), vec![r#"Username("marie")"#]);
    // Nobody known: global timeline.
    assert_eq!(tenant(system_task("e6", &at(10, 5))), None);
    assert!(asked.borrow().is_empty());
}

#[test]
fn groups_resolve_to_the_first_real_tenant_skipping_admin_groups() {
    let tenants = |name: &str| ["acme", "globex"].contains(&name).then(|| Slug::parse(name).unwrap());
    let pick =
        |groups: &[&str]| tenant_from_groups(groups.iter().copied(), &tenants).map(|slug| slug.as_str().to_owned());
    assert_eq!(pick(&["staff", "globex", "acme"]).as_deref(), Some("globex"));
    assert_eq!(pick(&["authentik Admins", " acme "]).as_deref(), Some("acme"));
    assert_eq!(pick(&["staff"]), None);
    assert_eq!(pick(&[]), None);
    assert!(is_admin_group("authentik Admins"));
    assert!(is_admin_group("platform-admins"));
    assert!(is_admin_group("Admin"));
    assert!(!is_admin_group("administration-dept"));
    assert!(!is_admin_group("acme"));
}
