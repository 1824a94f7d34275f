use super::*;
use crate::authentik::fixtures::{at, login, page, system_task};
use serde_json::json;

fn parse(body: &Value) -> Result<EventsPage, PageError> {
    parse_page(body.to_string().as_bytes())
}

fn field(error: Result<EventsPage, PageError>) -> String {
    match error {
        Err(PageError::Field { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_page_keeps_its_events_in_order_and_reads_integer_pagination() {
    let body = page(
        1,
        2,
        250,
        vec![login("e1", &at(53, 900_000)), system_task("e2", &at(53, 100))],
    );
    let parsed = parse(&body).unwrap();
    assert_eq!(parsed.next, Some(2));
    assert_eq!(parsed.previous, None, "previous: 0 means none");
    assert_eq!(parsed.count, Some(250));
    assert_eq!(parsed.events.len(), 2);
    assert_eq!(parsed.events[0].pk, "e1");
    assert_eq!(parsed.events[0].action, "login");
    assert_eq!(parsed.events[0].created.as_str(), "2026-03-14T09:26:53.900000Z");
    assert_eq!(parsed.events[1].action, "system_task_execution");
    // The whole event is kept for mapping, unknown fields included.
    assert_eq!(parsed.events[0].raw["brand"]["name"], "Default brand");
}

#[test]
fn zero_null_and_missing_page_numbers_mean_none_and_autocomplete_is_optional() {
    for next in [json!(0), Value::Null] {
        let body = json!({ "pagination": { "next": next, "previous": 0, "count": 0 }, "results": [] });
        let parsed = parse(&body).unwrap();
        assert_eq!((parsed.next, parsed.previous, parsed.events.len()), (None, None, 0));
    }
    let sparse = json!({ "pagination": {}, "results": [] });
    assert_eq!(parse(&sparse).unwrap().count, None);
    // The OpenAPI spec says `number`: integral floats are accepted as the integers they are.
    let floats = json!({ "pagination": { "next": 3.0, "previous": 1.0, "count": 300.0 }, "results": [] });
    let parsed = parse(&floats).unwrap();
    assert_eq!(
        (parsed.next, parsed.previous, parsed.count),
        (Some(3), Some(1), Some(300))
    );
}

#[test]
fn legacy_and_odd_event_shapes_are_accepted() {
    let mut legacy = login("e1", &at(1, 0));
    let object = legacy.as_object_mut().unwrap();
    let brand = object.remove("brand").unwrap();
    object.insert("tenant".into(), brand);
    let custom = json!({ "pk": "e2", "user": {}, "action": "custom_Invoice Paid!", "app": "", "context": {},
                         "client_ip": null, "created": at(2, 0) });
    let minimal = json!({ "pk": "e3", "action": "brand_new_action", "created": "2026-03-14T09:26:53Z" });
    let parsed = parse(&page(1, 0, 3, vec![legacy, custom, minimal])).unwrap();
    assert_eq!(parsed.events.len(), 3);
    assert_eq!(parsed.events[0].raw["tenant"]["name"], "Default brand");
    assert_eq!(parsed.events[1].action, "custom_Invoice Paid!");
    assert_eq!(parsed.events[2].created.micros(), 1_773_480_413_000_000);
}

#[test]
fn malformed_pages_are_rejected_naming_the_problem() {
    assert!(matches!(parse_page(b"<html>502</html>"), Err(PageError::NotJson(_))));
    assert_eq!(field(parse(&json!([1]))), "(body)");
    assert_eq!(field(parse(&json!({ "results": [] }))), "pagination");
    assert_eq!(field(parse(&json!({ "pagination": [], "results": [] }))), "pagination");
    assert_eq!(field(parse(&json!({ "pagination": {} }))), "results");
    assert_eq!(field(parse(&json!({ "pagination": {}, "results": {} }))), "results");
    for bad in [json!(-1), json!("2"), json!(1.5), json!("http://authentik/?page=2")] {
        let body = json!({ "pagination": { "next": bad }, "results": [] });
        assert_eq!(field(parse(&body)), "pagination.next");
    }
    let bad_count = json!({ "pagination": { "count": "many" }, "results": [] });
    assert_eq!(field(parse(&bad_count)), "pagination.count");

    let event = |patch: Value| {
        let mut event = login("e1", &at(1, 0));
        for (key, value) in patch.as_object().unwrap() {
            event[key] = value.clone();
        }
        page(1, 0, 2, vec![system_task("ok", &at(2, 0)), event])
    };
    assert_eq!(field(parse(&event(json!({ "pk": null })))), "results[1].pk");
    assert_eq!(field(parse(&event(json!({ "pk": "  " })))), "results[1].pk");
    assert_eq!(field(parse(&event(json!({ "pk": 17 })))), "results[1].pk");
    assert_eq!(field(parse(&event(json!({ "pk": "x".repeat(300) })))), "results[1].pk");
    assert_eq!(
        field(parse(&event(json!({ "created": "yesterday" })))),
        "results[1].created"
    );
    assert_eq!(
        field(parse(&event(json!({ "created": "2026-03-14T09:26:53.123456" })))),
        "results[1].created",
        "a time without an offset is ambiguous"
    );
    assert_eq!(field(parse(&event(json!({ "action": "" })))), "results[1].action");
    let not_object = page(1, 0, 1, vec![json!("e1")]);
    assert_eq!(field(parse(&not_object)), "results[0]");
}

#[test]
fn detail_bodies_say_what_authentik_answered() {
    assert_eq!(
        parse(&json!({ "detail": "Invalid page." })),
        Err(PageError::InvalidPage)
    );
    assert_eq!(
        parse(&json!({ "detail": "Token invalid/expired" })),
        Err(PageError::Upstream("Token invalid/expired".into()))
    );
    let long = "x".repeat(5_000);
    match parse(&json!({ "detail": long })) {
        Err(PageError::Upstream(detail)) => assert_eq!(detail.len(), 200),
        other => panic!("{other:?}"),
    }
}

#[test]
fn created_keeps_microseconds_and_compares_instants() {
    let a = Created::parse("2026-03-14T09:26:53.123456Z").unwrap();
    assert_eq!(a.micros(), 1_773_480_413_123_456);
    assert_eq!(
        a.timestamp(),
        Timestamp::parse_rfc3339("2026-03-14T09:26:53.123Z").unwrap()
    );
    assert_eq!(a.as_str(), "2026-03-14T09:26:53.123456Z");
    // The same instant spelled differently is equal; one microsecond later is later.
    let same = Created::parse("2026-03-14T10:26:53.123456+01:00").unwrap();
    assert_eq!(a, same);
    assert_eq!(same.as_str(), "2026-03-14T10:26:53.123456+01:00");
    let later = Created::parse("2026-03-14T09:26:53.123457Z").unwrap();
    assert!(later > a);
    // Fewer digits are padded, more are cut at the microsecond.
    assert_eq!(
        Created::parse("2026-03-14T09:26:53.5Z").unwrap().micros() % 1_000_000,
        500_000
    );
    assert_eq!(
        Created::parse("2026-03-14T09:26:53.123456789Z").unwrap().micros() % 1_000_000,
        123_456
    );
    assert_eq!(Created::parse("2026-03-14T09:26:53Z").unwrap().micros() % 1_000_000, 0);
    // Before 1970 the microseconds still count forwards from the floor millisecond.
    let old = Created::parse("1969-12-31T23:59:59.999999Z").unwrap();
    assert_eq!(old.micros(), -1);
    assert_eq!(old.timestamp(), Timestamp::from_millis(-1));
    assert!(Created::parse("not a time").is_none());
}
