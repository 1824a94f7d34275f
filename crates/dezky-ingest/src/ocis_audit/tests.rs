use super::*;
use serde_json::json;

fn skip_reads() -> Vec<String> {
    DEFAULT_SKIPPED_ACTIONS
        .iter()
        .map(|action| action.to_string())
        .collect()
}

fn no_tenant(_: TenantHint<'_>) -> Option<Slug> {
    None
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T00:00:00Z").unwrap()
}

fn event(line: &Value) -> NewAuditEvent {
    match parse_line(
        line.to_string().as_bytes(),
        &skip_reads(),
        "fp:0".into(),
        now(),
        &no_tenant,
    ) {
        LineOutcome::Event(event) => *event,
        other => panic!("{line}: {other:?}"),
    }
}

/// A file event as released oCIS writes it: `User` empty, the actor only inside `Message`.
fn file_created() -> Value {
    json!({ "RemoteAddr": "", "User": "", "URL": "", "Method": "", "UserAgent": "", "Time": "2026-03-14T09:26:53.5+01:00",
            "App": "admin_audit", "Message": "user 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c' created file 'c2Rz$5Ng=='",
            "Action": "file_create", "CLI": false, "Level": 1,
            "Path": "/Documents/Plan.odt", "Owner": "f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c", "FileID": "c2Rz$5Ng==" })
}

#[test]
fn a_file_event_takes_its_actor_from_the_message() {
    let event = event(&file_created());
    assert_eq!(event.action.as_str(), "ocis.file_create");
    assert_eq!(event.actor_type, ActorType::User);
    assert_eq!(event.actor_id.as_deref(), Some("f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c"));
    assert_eq!(event.resource_type.as_deref(), Some("file"));
    assert_eq!(event.resource_id.as_deref(), Some("c2Rz$5Ng=="));
    assert_eq!(event.resource_name.as_deref(), Some("/Documents/Plan.odt"));
    assert_eq!(event.at, Timestamp::parse_rfc3339("2026-03-14T08:26:53.500Z").unwrap());
    assert_eq!(event.external_id.as_deref(), Some("fp:0"));
    assert_eq!(event.metadata["App"], "admin_audit");
    assert_eq!(event.actor_ip, None);
}

#[test]
fn a_share_keeps_its_fields_but_never_the_link_token() {
    let line = json!({ "RemoteAddr": "192.0.2.10:51000", "User": "einstein", "Time": "2026-03-14T09:26:53Z",
        "Message": "user 'einstein' shared file 'x' with 'marie'", "Action": "file_shared",
        "FileID": "f1", "Owner": "einstein", "Path": "/Plan.odt", "ShareID": "s1", "ItemType": "file",
        "SharePass": true, "ShareType": "link", "ShareWith": "", "ShareOwner": "einstein", "ShareToken": "AbCdEfGh" });
    let event = event(&line);
    assert_eq!(event.actor_id.as_deref(), Some("einstein"));
    assert_eq!(event.actor_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(event.resource_type.as_deref(), Some("share"));
    assert_eq!(event.resource_id.as_deref(), Some("s1"));
    assert_eq!(event.metadata["ShareToken"], "********");
    assert!(!event.metadata.values().any(|value| value == "AbCdEfGh"));
    assert_eq!(event.metadata["SharePass"], true);
}

#[test]
fn spaces_users_and_groups_are_their_own_resources() {
    let space = event(
        &json!({ "Time": "2026-03-14T09:26:53Z", "Action": "space_created", "User": "",
        "Message": "user 'admin-id' created a space 'sp1' with name 'acme'", "SpaceID": "sp1", "Owner": "admin-id",
        "RootItem": "r", "Name": "acme", "Type": "project" }),
    );
    assert_eq!(space.resource_type.as_deref(), Some("space"));
    assert_eq!(space.resource_id.as_deref(), Some("sp1"));
    assert_eq!(space.resource_name.as_deref(), Some("acme"));
    let user = event(
        &json!({ "Time": "2026-03-14T09:26:53Z", "Action": "user_created", "User": "",
        "Message": "user 'admin-id' created user 'u2'", "UserID": "u2" }),
    );
    assert_eq!(user.resource_type.as_deref(), Some("user"));
    assert_eq!(user.resource_id.as_deref(), Some("u2"));
    let group = event(
        &json!({ "Time": "2026-03-14T09:26:53Z", "Action": "group_member_added", "User": "",
        "Message": "user 'admin-id' added user 'u2' to group 'g1'", "GroupID": "g1", "UserID": "u2" }),
    );
    assert_eq!(group.resource_type.as_deref(), Some("group"));
    assert_eq!(group.resource_id.as_deref(), Some("g1"));
    assert_eq!(group.actor_id.as_deref(), Some("admin-id"));
}

#[test]
fn the_tenant_comes_from_the_space_name_then_the_user() {
    let resolver = |hint: TenantHint<'_>| match hint {
        TenantHint::SpaceName("acme") => Some(Slug::parse("acme").unwrap()),
        TenantHint::User("marie") => Some(Slug::parse("globex").unwrap()),
        _ => None,
    };
    let parse = |line: Value| match parse_line(line.to_string().as_bytes(), &[], "x".into(), now(), &resolver) {
        LineOutcome::Event(event) => event.tenant_slug.map(|slug| slug.as_str().to_owned()),
        other => panic!("{other:?}"),
    };
    let space = json!({ "Action": "space_created", "User": "marie", "SpaceID": "s", "Name": "acme" });
    assert_eq!(parse(space).as_deref(), Some("acme"));
    let file = json!({ "Action": "file_create", "User": "marie", "FileID": "f" });
    assert_eq!(parse(file).as_deref(), Some("globex"));
    let nobody = json!({ "Action": "file_create", "User": "pat", "FileID": "f" });
    assert_eq!(parse(nobody), None);
}

#[test]
fn reads_are_skipped_by_default_and_the_list_is_configurable() {
    let read = json!({ "Action": "file_read", "User": "u", "FileID": "f", "Time": "2026-03-14T09:26:53Z" });
    let bytes = read.to_string();
    assert_eq!(
        parse_line(bytes.as_bytes(), &skip_reads(), "x".into(), now(), &no_tenant),
        LineOutcome::Filtered
    );
    assert!(matches!(
        parse_line(bytes.as_bytes(), &[], "x".into(), now(), &no_tenant),
        LineOutcome::Event(_)
    ));
}

#[test]
fn unknown_actions_are_kept_and_a_missing_time_is_the_time_of_reading() {
    let event = event(&json!({ "Action": "file_tags_add", "User": "u", "FileID": "f", "Tags": "x" }));
    assert_eq!(event.action.as_str(), "ocis.file_tags_add");
    assert_eq!(event.at, now());
    let odd = event_of_action("Science-Mesh Invite!");
    assert_eq!(odd.action.as_str(), "ocis.science_mesh_invite");
}

fn event_of_action(action: &str) -> NewAuditEvent {
    event(&json!({ "Action": action }))
}

#[test]
fn bad_lines_are_rejected_with_a_reason() {
    let reject = |line: &[u8]| parse_line(line, &[], "x".into(), now(), &no_tenant);
    assert_eq!(reject(b"not json"), LineOutcome::Rejected(Rejection::NotJson));
    assert_eq!(reject(b"[1,2]"), LineOutcome::Rejected(Rejection::NotJson));
    assert_eq!(reject(b"{\"Action\":"), LineOutcome::Rejected(Rejection::NotJson));
    assert_eq!(reject(b"{\"User\":\"u\"}"), LineOutcome::Rejected(Rejection::NoAction));
    assert_eq!(reject(b"file_create)"), LineOutcome::Rejected(Rejection::MinimalFormat));
    assert_eq!(
        reject(b"   user 'u' created file 'x'"),
        LineOutcome::Rejected(Rejection::MinimalFormat)
    );
    let huge = format!(
        "{{\"Action\":\"file_create\",\"x\":\"{}\"}}",
        "a".repeat(MAX_LINE_BYTES)
    );
    assert_eq!(reject(huge.as_bytes()), LineOutcome::Rejected(Rejection::TooLong));
}

#[test]
fn ports_are_stripped_from_remote_addresses() {
    assert_eq!(strip_port("192.0.2.7:443"), "192.0.2.7");
    assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
    assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    assert_eq!(strip_port("host"), "host");
}

#[test]
fn the_configured_filter_applies_and_ids_are_made_only_for_events() {
    let filter = ActionFilter::new(
        Some(vec!["file_*".into(), "share_created".into()]),
        vec!["file_read".into()],
    )
    .unwrap();
    let parse =
        |line: Value| parse_filtered_line(line.to_string().as_bytes(), &filter, || "id".into(), now(), &no_tenant);
    let created = parse(json!({ "Action": "file_create", "User": "u", "FileID": "f" }));
    assert!(matches!(created, LineOutcome::Event(event) if event.external_id.as_deref() == Some("id")));
    assert_eq!(
        parse(json!({ "Action": "file_read", "User": "u" })),
        LineOutcome::Filtered
    );
    assert_eq!(
        parse(json!({ "Action": "space_created", "User": "u" })),
        LineOutcome::Filtered
    );
    assert!(matches!(
        parse(json!({ "Action": "share_created" })),
        LineOutcome::Event(_)
    ));
    // Rejections are never filtered: they are counted as rejected whatever the lists say.
    assert_eq!(
        parse_filtered_line(b"not json", &filter, || unreachable!(), now(), &no_tenant),
        LineOutcome::Rejected(Rejection::NotJson)
    );
    assert_eq!(
        parse_filtered_line(b"file_read)", &filter, || unreachable!(), now(), &no_tenant),
        LineOutcome::Rejected(Rejection::MinimalFormat)
    );
    assert_eq!(
        parse_filtered_line(b"{\"User\":\"u\"}", &filter, || unreachable!(), now(), &no_tenant),
        LineOutcome::Rejected(Rejection::NoAction)
    );
    let filtered_id =
        |line: &[u8]| parse_filtered_line(line, &filter, || panic!("an id for a filtered line"), now(), &no_tenant);
    assert_eq!(filtered_id(br#"{"Action":"file_read"}"#), LineOutcome::Filtered);
}
