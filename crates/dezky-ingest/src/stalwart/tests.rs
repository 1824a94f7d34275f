use super::*;
use serde_json::json;

fn no_tenant(_: &str) -> Option<Slug> {
    None
}

fn parse(body: &Value) -> Result<Vec<NewAuditEvent>, WebhookError> {
    parse_webhook(body.to_string().as_bytes(), &ActionFilter::allow_all(), &no_tenant).map(|batch| batch.events)
}

#[test]
fn the_signature_is_standard_base64_of_the_hmac_of_the_raw_body() {
    // RFC 4231-style vector, computed independently (Python's hmac module).
    let body = b"The quick brown fox jumps over the lazy dog";
    let header = "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=";
    assert!(signature_matches(b"key", body, header));
    assert!(signature_matches(b"key", body, &format!(" {header}\n")));
    assert!(!signature_matches(b"key2", body, header));
    assert!(!signature_matches(
        b"key",
        b"The quick brown fox jumps over the lazy cog",
        header
    ));
    // Hex, a sha256= prefix, unpadded or empty values are not Stalwart's format.
    assert!(!signature_matches(
        b"key",
        body,
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    ));
    assert!(!signature_matches(b"key", body, &format!("sha256={header}")));
    assert!(!signature_matches(b"key", body, header.trim_end_matches('=')));
    assert!(!signature_matches(b"key", body, ""));
}

#[test]
fn a_failed_login_names_the_account_the_ip_and_the_outcome() {
    let body = json!({ "events": [{
        "id": "1741944413-12", "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed",
        "data": { "listenerId": "imap", "localPort": 993, "remoteIp": "::ffff:198.51.100.9", "remotePort": 51234,
                  "accountName": "ceo@acme.example", "spanId": 18446744073709551000u64 }
    }]});
    let events = parse(&body).unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.action.as_str(), "stalwart.auth_failed");
    assert_eq!(event.outcome, Outcome::Failure);
    assert_eq!(event.actor_type, ActorType::User);
    assert_eq!(event.actor_id.as_deref(), Some("ceo@acme.example"));
    assert_eq!(event.actor_email.as_deref(), Some("ceo@acme.example"));
    assert_eq!(event.actor_ip.as_deref(), Some("198.51.100.9"));
    assert_eq!(event.resource_type.as_deref(), Some("account"));
    assert_eq!(event.at, Timestamp::parse_rfc3339("2026-03-14T09:26:53Z").unwrap());
    assert_eq!(event.source.as_str(), "stalwart");
    // 64-bit span ids survive exactly (never through f64), and the whole event is kept.
    assert_eq!(event.metadata["data"]["spanId"], json!(18446744073709551000u64));
    assert_eq!(event.metadata["id"], "1741944413-12");
}

#[test]
fn every_type_in_the_mapping_table_has_its_verb_and_outcome() {
    let table = [
        ("auth.success", "auth_success", Outcome::Success),
        ("auth.failed", "auth_failed", Outcome::Failure),
        ("auth.too-many-attempts", "auth_failed", Outcome::Failure),
        ("security.authentication-ban", "auth_banned", Outcome::Denied),
        ("security.ip-blocked", "auth_banned", Outcome::Denied),
        ("security.abuse-ban", "auth_banned", Outcome::Denied),
        ("security.scan-ban", "auth_banned", Outcome::Denied),
        ("security.loiter-ban", "auth_banned", Outcome::Denied),
        ("message-ingest.ham", "mail_received", Outcome::Success),
        ("queue.queue-message", "mail_received", Outcome::Success),
        ("queue.message-queued", "mail_received", Outcome::Success),
        ("delivery.delivered", "mail_delivered", Outcome::Success),
        ("delivery.completed", "mail_delivered", Outcome::Success),
        ("delivery.failed", "mail_failed", Outcome::Failure),
        ("delivery.rcpt-to-failed", "mail_failed", Outcome::Failure),
        ("delivery.dsn-perm-fail", "mail_failed", Outcome::Failure),
        ("smtp.relay-not-allowed", "mail_rejected", Outcome::Failure),
        ("smtp.mailbox-does-not-exist", "mail_rejected", Outcome::Failure),
        ("delivery.rcpt-to-rejected", "mail_rejected", Outcome::Failure),
        ("mta-hook.action-reject", "policy_rejection", Outcome::Failure),
        ("milter.action-reject", "policy_rejection", Outcome::Failure),
        ("sieve.action-reject", "policy_rejection", Outcome::Failure),
        ("smtp.rcpt-to-greylisted", "policy_rejection", Outcome::Failure),
        ("smtp.dkim-fail", "dkim_failure", Outcome::Failure),
        ("smtp.dmarc-fail", "dmarc_failure", Outcome::Failure),
        ("message-ingest.spam", "spam_detected", Outcome::Success),
        ("spam.classify", "spam_detected", Outcome::Success),
        // Not in the table: never dropped, named after the type.
        ("store.blob-written", "store_blob_written", Outcome::Success),
        ("smtp.spf-ehlo-fail", "smtp_spf_ehlo_fail", Outcome::Failure),
        ("tls.handshake-error", "tls_handshake_error", Outcome::Failure),
    ];
    let events: Vec<Value> = table
        .iter()
        .map(|(event_type, _, _)| json!({ "createdAt": "2026-03-14T09:26:53Z", "type": event_type, "data": {} }))
        .collect();
    let parsed = parse(&json!({ "events": events })).unwrap();
    for ((event_type, verb, outcome), event) in table.iter().zip(&parsed) {
        assert_eq!(event.action.as_str(), format!("stalwart.{verb}"), "{event_type}");
        assert_eq!(event.outcome, *outcome, "{event_type}");
        assert_eq!(
            event.actor_type,
            ActorType::Service,
            "no account: the mail server acted"
        );
    }
}

#[test]
fn recipients_and_queue_ids_name_the_message() {
    let body = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "delivery.delivered",
          "data": { "queueId": 9007199254740993u64, "from": "a@x.example", "to": ["b@acme.example", "c@y.example"] } },
        { "createdAt": "2026-03-14T09:26:54Z", "type": "smtp.mailbox-does-not-exist",
          "data": { "remoteIp": "203.0.113.5", "to": "nobody@acme.example" } },
    ]});
    let acme = |domain: &str| (domain == "acme.example").then(|| Slug::parse("acme").unwrap());
    let events = parse_webhook(body.to_string().as_bytes(), &ActionFilter::allow_all(), &acme)
        .unwrap()
        .events;
    assert_eq!(events[0].resource_type.as_deref(), Some("message"));
    assert_eq!(events[0].resource_id.as_deref(), Some("9007199254740993"));
    assert_eq!(events[0].resource_name.as_deref(), Some("b@acme.example, c@y.example"));
    assert_eq!(events[0].tenant_slug.as_ref().map(Slug::as_str), Some("acme"));
    assert_eq!(events[1].resource_type.as_deref(), Some("recipient"));
    assert_eq!(events[1].actor_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(events[1].tenant_slug.as_ref().map(Slug::as_str), Some("acme"));
}

#[test]
fn the_dedup_key_ignores_the_id_and_separates_spans() {
    let event = |id: &str, span: u64| {
        json!({ "events": [{ "id": id, "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed",
                             "data": { "accountName": "x", "spanId": span } }] })
    };
    let first = parse(&event("1741944413-12", 1)).unwrap();
    let retried = parse(&event("a-new-id-on-retry", 1)).unwrap();
    let other_span = parse(&event("1741944413-12", 2)).unwrap();
    assert_eq!(first[0].external_id, retried[0].external_id);
    assert_ne!(first[0].external_id, other_span[0].external_id);
    // Key order in data does not matter: the digest is over canonical JSON.
    let reordered = br#"{"events":[{"createdAt":"2026-03-14T09:26:53Z","type":"auth.failed","data":{"spanId":1,"accountName":"x"}}]}"#;
    assert_eq!(
        parse_webhook(reordered, &ActionFilter::allow_all(), &no_tenant)
            .unwrap()
            .events[0]
            .external_id,
        first[0].external_id
    );
    assert_eq!(first[0].external_id.as_ref().unwrap().len(), "stalwart:".len() + 64);
}

#[test]
fn nested_reasons_unknown_fields_and_missing_data_are_kept() {
    let body = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "delivery.failed", "future": true,
          "data": { "causedBy": { "type": "delivery.connect-error", "data": { "elapsed": 30000 } } } },
        { "createdAt": "2026-03-14T09:26:53+01:00", "type": "server.startup" },
    ]});
    let events = parse(&body).unwrap();
    assert_eq!(events[0].metadata["future"], true);
    assert_eq!(events[0].metadata["data"]["causedBy"]["type"], "delivery.connect-error");
    assert_eq!(events[1].action.as_str(), "stalwart.server_startup");
    assert_eq!(events[1].at, Timestamp::parse_rfc3339("2026-03-14T08:26:53Z").unwrap());
}

#[test]
fn bad_bodies_name_the_problem_and_yield_nothing() {
    assert!(matches!(
        parse_webhook(b"{not json", &ActionFilter::allow_all(), &no_tenant),
        Err(WebhookError::NotJson(_))
    ));
    let cases = [
        (json!({}), "events"),
        (json!({ "events": {} }), "events"),
        (json!({ "events": [1] }), "events[0]"),
        (
            json!({ "events": [{ "createdAt": "2026-03-14T09:26:53Z" }] }),
            "events[0].type",
        ),
        (json!({ "events": [{ "type": "auth.failed" }] }), "events[0].createdAt"),
        (
            json!({ "events": [{ "type": "auth.success", "createdAt": "2026-03-14T09:26:53Z" },
                               { "type": "auth.failed", "createdAt": "yesterday" }] }),
            "events[1].createdAt",
        ),
    ];
    for (body, expected_field) in cases {
        match parse(&body) {
            Err(WebhookError::Field { field, .. }) => assert_eq!(field, expected_field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert_eq!(parse(&json!({ "events": [] })).unwrap(), vec![]);
}

#[test]
fn the_filter_drops_types_after_the_whole_batch_is_checked() {
    let filter = ActionFilter::new(None, vec!["auth.success".into(), "queue.*".into()]).unwrap();
    let body = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.success", "data": { "accountName": "a" } },
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed", "data": { "accountName": "a" } },
        { "createdAt": "2026-03-14T09:26:53Z", "type": "queue.queue-message", "data": {} },
    ]});
    let batch = parse_webhook(body.to_string().as_bytes(), &filter, &no_tenant).unwrap();
    assert_eq!(batch.filtered, 2);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].action.as_str(), "stalwart.auth_failed");
    // A malformed event fails the batch even when its type would be filtered.
    let bad = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed" },
        { "createdAt": "yesterday", "type": "auth.success" },
    ]});
    assert!(matches!(
        parse_webhook(bad.to_string().as_bytes(), &filter, &no_tenant),
        Err(WebhookError::Field { .. })
    ));
}
