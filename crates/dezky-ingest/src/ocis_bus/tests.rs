use super::*;
use serde_json::json;

const ENVELOPE_ID: &str = "3c7e5c3a-2f0a-4a4e-9d51-8a7f6b2c1d90";

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T00:00:00Z").unwrap()
}

fn no_tenant(_: TenantHint<'_>) -> Option<Slug> {
    None
}

fn skip_reads() -> ActionFilter {
    let reads = crate::ocis_audit::DEFAULT_SKIPPED_ACTIONS
        .iter()
        .map(|action| action.to_string())
        .collect();
    ActionFilter::new(None, reads).unwrap()
}

/// A CS3 user id as Go's encoding/json writes the protobuf struct.
fn user(id: &str) -> Value {
    json!({ "idp": "https://cloud.acme.example", "opaque_id": id, "type": 1 })
}

fn resource(space: &str, opaque: &str) -> Value {
    json!({ "storage_id": "storage-users-1", "opaque_id": opaque, "space_id": space })
}

fn cs3_time() -> Value {
    json!({ "seconds": 1_773_480_413u64, "nanos": 500_000_000 })
}

/// The go-micro envelope reva's `events.Publish` sends: PascalCase keys, base64 payload.
fn envelope(event_type: &str, payload: &Value) -> Value {
    json!({
        "ID": ENVELOPE_ID,
        "Topic": "main-queue",
        "Timestamp": "2026-03-14T09:30:00.123456789Z",
        "Metadata": { "eventtype": format!("events.{event_type}"), "eventid": ENVELOPE_ID,
                      "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                      "initiatorid": "6e9b0c1a-web-client" },
        "Payload": base64::engine::general_purpose::STANDARD.encode(payload.to_string())
    })
}

fn parse(message: &Value) -> Result<BusOutcome, EnvelopeError> {
    parse_message(message.to_string().as_bytes(), &skip_reads(), now(), &no_tenant)
}

fn event(event_type: &str, payload: Value) -> NewAuditEvent {
    match parse(&envelope(event_type, &payload)) {
        Ok(BusOutcome::Event(event)) => *event,
        other => panic!("{event_type}: {other:?}"),
    }
}

fn field(result: Result<BusOutcome, EnvelopeError>) -> &'static str {
    match result {
        Err(EnvelopeError::Field { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn an_upload_is_a_file_create_by_the_executant() {
    let event = event(
        "FileUploaded",
        json!({ "SpaceOwner": user("owner-1"), "Executant": user("einstein-id"),
                "Ref": { "resource_id": resource("space-1", "file-9"), "path": "./Documents/Plan.odt" },
                "Owner": user("owner-1"), "Timestamp": cs3_time(), "ImpersonatingUser": null }),
    );
    assert_eq!(event.action.as_str(), "ocis.file_create");
    assert_eq!(event.source.as_str(), "ocis");
    assert_eq!(event.outcome, Outcome::Success);
    assert_eq!(event.actor_type, ActorType::User);
    assert_eq!(event.actor_id.as_deref(), Some("einstein-id"));
    assert_eq!(event.resource_type.as_deref(), Some("file"));
    assert_eq!(event.resource_id.as_deref(), Some("storage-users-1$space-1!file-9"));
    assert_eq!(event.resource_name.as_deref(), Some("./Documents/Plan.odt"));
    assert_eq!(event.at, Timestamp::parse_rfc3339("2026-03-14T09:26:53.500Z").unwrap());
    assert_eq!(
        event.external_id.as_deref(),
        Some(format!("ocis-bus:{ENVELOPE_ID}").as_str())
    );
    // The payload is kept, with the envelope beside it (the initiator id is a client id, kept
    // for tracing, never taken for the actor).
    assert_eq!(event.metadata["Owner"]["opaque_id"], "owner-1");
    assert_eq!(event.metadata["Envelope"]["Type"], "events.FileUploaded");
    assert_eq!(
        event.metadata["Envelope"]["Metadata"]["initiatorid"],
        "6e9b0c1a-web-client"
    );
    assert_eq!(event.metadata["Envelope"]["Timestamp"], "2026-03-14T09:30:00.123Z");
}

#[test]
fn shares_and_links_map_like_the_audit_service_and_never_keep_link_tokens() {
    let share = event(
        "ShareCreated",
        json!({ "Executant": user("einstein-id"), "Sharer": user("einstein-id"), "GranteeUserID": user("marie-id"),
                "GranteeGroupID": null, "ItemID": resource("space-1", "file-9"),
                "Permissions": { "permissions": { "stat": true } }, "CTime": cs3_time() }),
    );
    assert_eq!(share.action.as_str(), "ocis.file_shared");
    assert_eq!(share.resource_type.as_deref(), Some("share"));
    assert_eq!(share.resource_id.as_deref(), Some("storage-users-1$space-1!file-9"));
    assert_eq!(share.resource_name, None);
    assert_eq!(share.metadata["GranteeUserID"]["opaque_id"], "marie-id");

    let link = event(
        "LinkCreated",
        json!({ "Executant": user("einstein-id"), "ShareID": { "opaque_id": "link-7" }, "Sharer": user("einstein-id"),
                "ItemID": resource("space-1", "file-9"), "DisplayName": "for the press", "PasswordProtected": true,
                "Expiration": null, "CTime": cs3_time(), "Token": "qWeRtYuIoP" }),
    );
    assert_eq!(link.action.as_str(), "ocis.file_shared");
    assert_eq!(link.resource_id.as_deref(), Some("link-7"));
    assert_eq!(link.resource_name.as_deref(), Some("storage-users-1$space-1!file-9"));
    assert_eq!(link.metadata["Token"], "********");
    assert!(!serde_json::to_string(&link.metadata).unwrap().contains("qWeRtYuIoP"));

    let updates = [
        (
            "ShareUpdated",
            json!({ "Updated": "TYPE_PERMISSIONS" }),
            "share_permission_updated",
        ),
        (
            "ShareUpdated",
            json!({ "Updated": "displayname" }),
            "share_name_updated",
        ),
        (
            "LinkUpdated",
            json!({ "FieldUpdated": "TYPE_PASSWORD" }),
            "share_password_updated",
        ),
        (
            "LinkUpdated",
            json!({ "FieldUpdated": "TYPE_EXPIRATION" }),
            "share_expiration_updated",
        ),
        (
            "LinkUpdated",
            json!({ "FieldUpdated": "TYPE_SOMETHING_NEW" }),
            "share_updated",
        ),
        (
            "ReceivedShareUpdated",
            json!({ "State": "SHARE_STATE_ACCEPTED" }),
            "share_accepted",
        ),
        (
            "ReceivedShareUpdated",
            json!({ "State": "SHARE_STATE_DECLINED" }),
            "share_declined",
        ),
        (
            "ReceivedShareUpdated",
            json!({ "State": "SHARE_STATE_PENDING" }),
            "share_state_changed",
        ),
        (
            "ShareRemoved",
            json!({ "ShareID": { "opaque_id": "s1" } }),
            "file_unshared",
        ),
        ("LinkRemoved", json!({ "ShareToken": "qWeRtYuIoP" }), "file_unshared"),
    ];
    for (event_type, mut payload, verb) in updates {
        payload["Executant"] = user("einstein-id");
        let mapped = event(event_type, payload);
        assert_eq!(mapped.action.as_str(), format!("ocis.{verb}"), "{event_type}");
        assert_eq!(mapped.actor_id.as_deref(), Some("einstein-id"));
        assert!(!serde_json::to_string(&mapped.metadata).unwrap().contains("qWeRtYuIoP"));
    }

    let failed = event(
        "LinkAccessFailed",
        json!({ "Executant": null, "ShareID": { "opaque_id": "link-7" }, "Token": "guessed", "Status": 6,
                "Message": "wrong password" }),
    );
    assert_eq!(failed.action.as_str(), "ocis.public_link_accessed");
    assert_eq!(failed.outcome, Outcome::Failure);
    assert_eq!((failed.actor_type, failed.actor_id.clone()), (ActorType::Service, None));
    assert_eq!(failed.metadata["Token"], "********");
}

#[test]
fn every_event_type_of_the_table_has_its_verb() {
    let table = [
        ("ContainerCreated", "container_create"),
        ("FileUploaded", "file_create"),
        ("FileDownloaded", "file_read"),
        ("ItemMoved", "file_rename"),
        ("ItemTrashed", "file_delete"),
        ("ItemPurged", "file_trash_delete"),
        ("ItemRestored", "file_trash_restore"),
        ("FileVersionRestored", "file_version_restore"),
        ("TagsAdded", "file_tags_add"),
        ("TagsRemoved", "file_tags_remove"),
        ("LinkAccessed", "public_link_accessed"),
        ("SpaceCreated", "space_created"),
        ("SpaceRenamed", "space_renamed"),
        ("SpaceDisabled", "space_disabled"),
        ("SpaceEnabled", "space_enabled"),
        ("SpaceDeleted", "space_deleted"),
        ("SpaceShared", "space_shared"),
        ("SpaceUnshared", "space_unshared"),
        ("SpaceUpdated", "space_updated"),
        ("UserCreated", "user_created"),
        ("UserDeleted", "user_deleted"),
        ("UserFeatureChanged", "user_feature_changed"),
        ("GroupCreated", "group_created"),
        ("GroupDeleted", "group_deleted"),
        ("GroupMemberAdded", "group_member_added"),
        ("GroupMemberRemoved", "group_member_removed"),
        ("UserSignedIn", "user_signed_in"),
        ("BackchannelLogout", "backchannel_logout"),
        ("FileTouched", "file_touched"),
        ("PostprocessingStepFinished", "postprocessing_step_finished"),
        ("OCMCoreShareCreated", "ocm_core_share_created"),
        ("SpaceMembershipExpired", "space_membership_expired"),
    ];
    for (event_type, verb) in table {
        assert_eq!(
            verb_of(&format!("events.{event_type}"), &Map::new()),
            verb,
            "{event_type}"
        );
        // What the file says for the same action is what the bus says.
        let mapped = match parse_message(
            envelope(event_type, &json!({})).to_string().as_bytes(),
            &ActionFilter::allow_all(),
            now(),
            &no_tenant,
        ) {
            Ok(BusOutcome::Event(event)) => event,
            other => panic!("{other:?}"),
        };
        assert_eq!(mapped.action.as_str(), format!("ocis.{verb}"));
    }
    assert_eq!(verb_of("FileUploaded", &Map::new()), "file_create", "no package prefix");
    assert_eq!(verb_of("events.", &Map::new()), "unknown");
}

#[test]
fn a_sign_in_spaces_users_and_groups_are_their_own_resources() {
    let sign_in = event(
        "UserSignedIn",
        json!({ "Executant": user("marie-id"), "Timestamp": cs3_time() }),
    );
    assert_eq!(sign_in.action.as_str(), "ocis.user_signed_in");
    assert_eq!(sign_in.actor_id.as_deref(), Some("marie-id"));
    assert_eq!(sign_in.resource_type.as_deref(), Some("user"));
    assert_eq!(sign_in.resource_id.as_deref(), Some("marie-id"));

    let space = event(
        "SpaceCreated",
        json!({ "Executant": user("admin-id"), "ID": { "opaque_id": "storage-users-1$space-2" }, "Owner": user("admin-id"),
                "Root": resource("space-2", "space-2"), "Name": "acme", "Type": "project", "Quota": null,
                "MTime": cs3_time() }),
    );
    assert_eq!(space.resource_type.as_deref(), Some("space"));
    assert_eq!(space.resource_id.as_deref(), Some("storage-users-1$space-2"));
    assert_eq!(space.resource_name.as_deref(), Some("acme"));

    let created = event(
        "UserCreated",
        json!({ "Executant": user("admin-id"), "UserID": "u2", "Timestamp": cs3_time() }),
    );
    assert_eq!(created.resource_type.as_deref(), Some("user"));
    assert_eq!(created.resource_id.as_deref(), Some("u2"));
    assert_eq!(created.actor_id.as_deref(), Some("admin-id"));

    let member = event(
        "GroupMemberAdded",
        json!({ "Executant": user("admin-id"), "GroupID": "g1", "UserID": "u2", "Timestamp": cs3_time() }),
    );
    assert_eq!(member.resource_type.as_deref(), Some("group"));
    assert_eq!(member.resource_id.as_deref(), Some("g1"));
    assert_eq!(member.metadata["UserID"], "u2");

    // An event of an older version without an executant: oCIS itself.
    let disabled = event(
        "SpaceDisabled",
        json!({ "ID": { "opaque_id": "storage-users-1$space-2" } }),
    );
    assert_eq!(
        (disabled.actor_type, disabled.actor_id.clone()),
        (ActorType::Service, None)
    );
    // No time in the payload: the envelope's.
    assert_eq!(
        disabled.at,
        Timestamp::parse_rfc3339("2026-03-14T09:30:00.123Z").unwrap()
    );
}

#[test]
fn the_tenant_comes_from_the_space_name_then_the_user() {
    let resolver = |hint: TenantHint<'_>| match hint {
        TenantHint::SpaceName("acme") => Some(Slug::parse("acme").unwrap()),
        TenantHint::User("marie-id") => Some(Slug::parse("globex").unwrap()),
        _ => None,
    };
    let tenant = |event_type: &str, payload: Value| match parse_message(
        envelope(event_type, &payload).to_string().as_bytes(),
        &ActionFilter::allow_all(),
        now(),
        &resolver,
    ) {
        Ok(BusOutcome::Event(event)) => event.tenant_slug.map(|slug| slug.as_str().to_owned()),
        other => panic!("{other:?}"),
    };
    let space = json!({ "Executant": user("marie-id"), "ID": { "opaque_id": "s" }, "Name": "acme" });
    assert_eq!(tenant("SpaceCreated", space).as_deref(), Some("acme"));
    let updated = json!({ "Executant": user("nobody"), "ID": { "opaque_id": "s" }, "Space": { "name": "acme" } });
    assert_eq!(tenant("SpaceUpdated", updated).as_deref(), Some("acme"));
    let file = json!({ "Executant": user("marie-id"), "Ref": { "path": "./x" } });
    assert_eq!(tenant("FileUploaded", file).as_deref(), Some("globex"));
    let nobody = json!({ "Executant": user("pat-id") });
    assert_eq!(tenant("UserSignedIn", nobody), None);
}

#[test]
fn reads_are_skipped_like_in_the_file() {
    let download = envelope("FileDownloaded", &json!({ "Executant": user("u") }));
    assert_eq!(parse(&download), Ok(BusOutcome::Filtered));
    let accessed = envelope("LinkAccessed", &json!({ "Executant": user("u") }));
    assert_eq!(parse(&accessed), Ok(BusOutcome::Filtered));
    let sign_in = envelope("UserSignedIn", &json!({ "Executant": user("u") }));
    assert!(matches!(parse(&sign_in), Ok(BusOutcome::Event(_))));
    // A failed link access shares the verb but is a security signal: kept.
    let guessed = envelope(
        "LinkAccessFailed",
        &json!({ "ShareID": { "opaque_id": "l" }, "Token": "t" }),
    );
    assert!(matches!(parse(&guessed), Ok(BusOutcome::Event(_))));
}

#[test]
fn missing_optional_parts_are_tolerated() {
    let payload = base64::engine::general_purpose::STANDARD.encode(r#"{"Executant":{"opaque_id":"u"}}"#);
    // No ID but an eventid; no Topic, no Timestamp (so no time at all: the time of reading).
    let sparse = json!({ "Metadata": { "eventtype": "events.UserSignedIn", "eventid": "ev-1" }, "Payload": payload });
    let Ok(BusOutcome::Event(event)) = parse(&sparse) else {
        panic!()
    };
    assert_eq!(event.external_id.as_deref(), Some("ocis-bus:ev-1"));
    assert_eq!(event.at, now());
    assert_eq!(event.metadata["Envelope"].get("Topic"), None);
    // Go's zero time is no time; a null or empty payload is an empty event.
    for payload in [Value::Null, json!("")] {
        let zero = json!({ "ID": "x", "Timestamp": "0001-01-01T00:00:00Z", "Metadata": { "eventtype": "events.Odd" },
                           "Payload": payload });
        let decoded = decode_envelope(zero.to_string().as_bytes()).unwrap();
        assert_eq!(decoded.timestamp, None);
        assert!(decoded.payload.is_empty());
    }
    let no_payload = json!({ "ID": "x", "Metadata": { "eventtype": "events.Odd" } });
    assert!(
        decode_envelope(no_payload.to_string().as_bytes())
            .unwrap()
            .payload
            .is_empty()
    );
}

#[test]
fn malformed_envelopes_are_rejected_naming_the_field() {
    let good = envelope("UserSignedIn", &json!({ "Executant": user("u") }));
    let with = |key: &str, value: Value| {
        let mut message = good.clone();
        message[key] = value;
        parse(&message)
    };
    assert!(matches!(
        parse_message(b"not json", &ActionFilter::allow_all(), now(), &no_tenant),
        Err(EnvelopeError::NotJson(_))
    ));
    assert_eq!(field(parse(&json!("text"))), "(message)");
    assert_eq!(field(with("Metadata", json!({}))), "Metadata.eventtype");
    assert_eq!(
        field(with("Metadata", json!({ "eventtype": "  " }))),
        "Metadata.eventtype"
    );
    assert_eq!(field(with("Metadata", json!([]))), "Metadata");
    assert_eq!(
        field(with("Metadata", json!({ "eventtype": "events.X", "n": 1 }))),
        "Metadata"
    );
    let mut anonymous = good.clone();
    anonymous.as_object_mut().unwrap().remove("ID");
    anonymous["Metadata"].as_object_mut().unwrap().remove("eventid");
    assert_eq!(field(parse(&anonymous)), "ID");
    assert_eq!(field(with("ID", json!(17))), "ID");
    assert_eq!(field(with("Timestamp", json!("yesterday"))), "Timestamp");
    assert_eq!(field(with("Topic", json!(["main-queue"]))), "Topic");
    assert_eq!(field(with("Payload", json!("%%%"))), "Payload");
    assert_eq!(field(with("Payload", json!([1, 2]))), "Payload");
    let not_json = base64::engine::general_purpose::STANDARD.encode("{oops");
    assert_eq!(field(with("Payload", json!(not_json))), "Payload");
    let array = base64::engine::general_purpose::STANDARD.encode("[1]");
    assert_eq!(field(with("Payload", json!(array))), "Payload");
    let huge = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        parse_message(&huge, &ActionFilter::allow_all(), now(), &no_tenant),
        Err(EnvelopeError::TooLarge)
    );
}

#[test]
fn huge_payloads_and_ids_are_bounded() {
    let payload = json!({ "Executant": user("u"), "UserID": "u".repeat(1_000), "Features": "x".repeat(100_000) });
    let mapped = event("UserFeatureChanged", payload);
    assert_eq!(mapped.resource_id.as_deref().map(str::len), Some(limits::SHORT_TEXT));
    assert!(serde_json::to_string(&mapped.metadata).unwrap().len() <= limits::METADATA_BYTES);
    assert_eq!(mapped.metadata["Features"]["truncated"], true);
    assert_eq!(mapped.metadata["Envelope"]["ID"], ENVELOPE_ID);

    assert_eq!(external_id("abc"), "ocis-bus:abc");
    let long = external_id(&"i".repeat(400));
    assert!(long.starts_with("ocis-bus:sha256:"));
    assert!(long.len() <= limits::EXTERNAL_ID);
}

#[test]
fn a_jump_in_the_stream_sequence_is_a_gap() {
    assert_eq!(
        stream_gap(None, 17),
        None,
        "first message after start: nothing to compare"
    );
    assert_eq!(stream_gap(Some(16), 17), None);
    assert_eq!(stream_gap(Some(17), 17), None, "redelivery");
    assert_eq!(stream_gap(Some(20), 17), None, "redelivery of an older message");
    assert_eq!(stream_gap(Some(16), 20), Some((17, 19)));
    assert_eq!(stream_gap(Some(u64::MAX), 3), None);
    let details = stream_gap_details(STREAM, 17, 19, 2);
    assert_eq!(details["missingMessages"], 2);
    assert_eq!(details["firstMissingSequence"], 17);
    assert_eq!(details["lastMissingSequence"], 19);
    assert_eq!(details["stream"], "main-queue");
    let gap = crate::gap::gap_event(&Source::parse(SOURCE).unwrap(), now(), "stream-sequence-jump", details);
    assert_eq!(gap.action.as_str(), "ingest.gap_detected");
}

#[test]
fn an_allowlist_drops_everything_else_even_a_failed_link_access() {
    let only = ActionFilter::new(Some(vec!["file_create".into()]), vec![]).unwrap();
    let parse = |message: Value| parse_message(message.to_string().as_bytes(), &only, now(), &no_tenant);
    let upload = envelope("FileUploaded", &json!({ "Executant": user("u") }));
    assert!(matches!(parse(upload), Ok(BusOutcome::Event(_))));
    let sign_in = envelope("UserSignedIn", &json!({ "Executant": user("u") }));
    assert_eq!(parse(sign_in), Ok(BusOutcome::Filtered));
    let guessed = envelope("LinkAccessFailed", &json!({ "ShareID": { "opaque_id": "l" } }));
    assert_eq!(parse(guessed), Ok(BusOutcome::Filtered), "the allowlist is explicit");
    // An undecodable message is rejected, never filtered.
    assert!(parse(json!({ "ID": "x" })).is_err());
}
