//! The Authentik poller against a local server that speaks the events API as formats.md
//! records it: newest first, `next: 0` on the last page, 404 "Invalid page.", 403 on a bad token.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dezky_core::AuditEvent;
use dezky_ingest::authentik::WalkLimits;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::ingest::Ingest;
use dezky_server::ingest::authentik_poll::AuthentikPoller;
use dezky_server::ingest::config::IngestConfig;
use dezky_store::Store;
use dezky_testkit::{TestDatabase, on_both_backends};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the fake Authentik serves: its events, newest first, or a failure.
#[derive(Default)]
struct Upstream {
    events: Vec<Value>,
    failure: Option<(StatusCode, String)>,
}

type Shared = Arc<Mutex<Upstream>>;

async fn events_api(State(upstream): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Response {
    let upstream = upstream.lock().unwrap();
    if let Some((status, body)) = &upstream.failure {
        return (*status, body.clone()).into_response();
    }
    assert_eq!(query.get("ordering").map(String::as_str), Some("-created"));
    let page: usize = query.get("page").and_then(|page| page.parse().ok()).unwrap_or(1);
    let size: usize = query.get("page_size").and_then(|size| size.parse().ok()).unwrap_or(20);
    let pages = upstream.events.len().div_ceil(size).max(1);
    if page > pages {
        return (StatusCode::NOT_FOUND, json!({ "detail": "Invalid page." }).to_string()).into_response();
    }
    let results: Vec<Value> = upstream
        .events
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .cloned()
        .collect();
    let body = json!({
        "pagination": { "next": if page < pages { page + 1 } else { 0 }, "previous": page.saturating_sub(1),
                        "count": upstream.events.len(), "current": page, "total_pages": pages,
                        "start_index": (page - 1) * size + 1, "end_index": (page - 1) * size + results.len() },
        "results": results,
    });
    (StatusCode::OK, body.to_string()).into_response()
}

fn login(index: u32) -> Value {
    json!({ "pk": format!("00000000-0000-4000-8000-{index:012}"), "user": { "pk": 7, "username": "marie", "email": "marie@acme.example" },
            "action": "login", "app": "authentik.events.signals",
            "context": { "auth_method": "password", "http_request": { "path": "/flows/", "method": "GET" } },
            "client_ip": "192.0.2.7", "created": format!("2026-03-14T09:{:02}:{:02}.123456Z", index / 60, index % 60),
            "expires": "2027-03-14T09:00:00Z", "brand": { "pk": "b1", "app": "authentik_brands", "name": "Default", "model_name": "brand" } })
}

struct Fixture {
    store: Arc<dyn Store>,
    upstream: Shared,
    ingest: Arc<Ingest>,
    _db: TestDatabase,
}

impl Fixture {
    async fn new(db: TestDatabase) -> Fixture {
        Fixture::with(db, &[]).await
    }

    /// With more variables (a filter).
    async fn with(db: TestDatabase, extra: &[(&str, &str)]) -> Fixture {
        let upstream: Shared = Arc::default();
        let app = axum::Router::new()
            .route("/api/v3/events/events/", axum::routing::get(events_api))
            .with_state(upstream.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let store = dezky_store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut variables = vec![
            ("AUTHENTIK_URL".to_owned(), url),
            ("AUTHENTIK_TOKEN".to_owned(), "ak-token".to_owned()),
        ];
        variables.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        let config = IngestConfig::from_lookup(&|name| {
            variables
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        Fixture {
            store,
            upstream,
            ingest: Arc::new(Ingest::new(config)),
            _db: db,
        }
    }

    /// A fresh poller (as after a restart), with a small page size and cap.
    fn poller(&self, page_size: u32, max_pages: u32) -> AuthentikPoller {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        AuthentikPoller::new(
            self.store.clone(),
            clock,
            self.ingest.clone(),
            self.ingest.config.authentik.clone().unwrap(),
        )
        .with_limits(WalkLimits { max_pages, page_size })
    }

    /// Adds events `range` as the newest (the API lists newest first).
    fn publish(&self, range: std::ops::Range<u32>) {
        let mut upstream = self.upstream.lock().unwrap();
        for index in range {
            upstream.events.insert(0, login(index));
        }
    }

    async fn recorded(&self) -> Vec<AuditEvent> {
        self.store.events_in_order(None, 10_000).await.unwrap()
    }

    async fn login_pks(&self) -> Vec<String> {
        self.recorded()
            .await
            .into_iter()
            .filter(|event| event.action.as_str() == "authentik.login")
            .filter_map(|event| event.external_id)
            .collect()
    }
}

fn pks(range: std::ops::Range<u32>) -> Vec<String> {
    range
        .map(|index| format!("authentik:00000000-0000-4000-8000-{index:012}"))
        .collect()
}

async fn new_events_are_recorded_oldest_first_exactly_once(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    assert_eq!(
        fixture.poller(5, 10).tick().await.unwrap().recorded,
        0,
        "Authentik has no events yet"
    );
    fixture.publish(0..12);
    let report = fixture.poller(5, 10).tick().await.unwrap();
    assert_eq!(report.recorded, 12);
    assert_eq!(report.pages, 3);
    fixture.publish(12..15);
    assert_eq!(fixture.poller(5, 10).tick().await.unwrap().recorded, 3);
    assert_eq!(
        fixture.poller(5, 10).tick().await.unwrap().recorded,
        0,
        "a restart resumes at the mark"
    );
    assert_eq!(fixture.login_pks().await, pks(0..15));

    let first = &fixture.recorded().await[0];
    assert_eq!(first.actor_id.as_deref(), Some("marie"));
    assert_eq!(first.actor_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(first.at.to_rfc3339(), "2026-03-14T09:00:00.123Z");
    let status = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == "authentik")
        .unwrap();
    assert_eq!(status.events_ingested, 15);
}

async fn the_page_cap_records_a_gap_instead_of_silently_skipping(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    fixture.publish(0..3);
    assert_eq!(fixture.poller(2, 2).tick().await.unwrap().recorded, 3);
    // Seven new events, but a tick may read only 2 pages of 2.
    fixture.publish(3..10);
    let report = fixture.poller(2, 2).tick().await.unwrap();
    assert_eq!(report.gaps, 1);
    let gaps: Vec<AuditEvent> = fixture
        .recorded()
        .await
        .into_iter()
        .filter(|event| event.action.as_str() == "ingest.gap_detected")
        .collect();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].metadata["reason"], "page-cap-reached");
    assert_eq!(gaps[0].source.as_str(), "authentik");
    // The newest events were recorded and the next tick starts above them.
    fixture.publish(10..11);
    assert_eq!(fixture.poller(2, 2).tick().await.unwrap().recorded, 1);
    let recorded = fixture.login_pks().await;
    assert!(recorded.ends_with(&pks(10..11)));
    assert_eq!(
        recorded.iter().collect::<std::collections::HashSet<_>>().len(),
        recorded.len()
    );
}

async fn upstream_errors_change_nothing_and_the_next_tick_recovers(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    fixture.publish(0..4);
    let failures = [
        (
            StatusCode::FORBIDDEN,
            json!({ "detail": "Token invalid/expired" }).to_string(),
            "AUTHENTIK_TOKEN",
        ),
        (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>".to_owned(), "502"),
        (StatusCode::OK, "{\"pagination\": ".to_owned(), "unexpected page"),
        (
            StatusCode::OK,
            json!({ "pagination": { "next": 0 }, "results": [{ "pk": "x" }] }).to_string(),
            "unexpected page",
        ),
    ];
    for (status, body, expected) in failures {
        fixture.upstream.lock().unwrap().failure = Some((status, body));
        let error = fixture.poller(5, 10).tick().await.expect_err("a failed tick");
        assert!(format!("{error:#}").contains(expected), "{error:#}");
        assert!(fixture.recorded().await.is_empty(), "nothing half-recorded");
        assert_eq!(
            fixture.store.cursor("authentik").await.unwrap(),
            None,
            "cursor unchanged"
        );
    }
    fixture.upstream.lock().unwrap().failure = None;
    assert_eq!(fixture.poller(5, 10).tick().await.unwrap().recorded, 4);
}

async fn every_event_shape_of_every_version_is_recorded(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    let shapes = vec![
        // Pre-2024.2: `tenant` instead of `brand`; a system event with `user: {}` and no IP.
        json!({ "pk": "11111111-0000-4000-8000-000000000001", "user": {}, "action": "system_task_exception",
                "app": "authentik.events", "context": { "message": "boom" }, "client_ip": null,
                "created": "2026-03-14T10:00:00.000001Z", "expires": "2027-01-01T00:00:00Z",
                "tenant": { "pk": "t1", "app": "authentik_tenants", "name": "Default", "model_name": "tenant" } }),
        json!({ "pk": "11111111-0000-4000-8000-000000000002", "user": { "pk": 0, "username": "AnonymousUser" },
                "action": "login_failed", "app": "authentik.events.signals",
                "context": { "username": "ceo@acme.example", "password": "********************", "stage": { "pk": "s" } },
                "client_ip": "203.0.113.9", "created": "2026-03-14T10:00:01.5Z", "expires": "2027-01-01T00:00:00Z", "brand": {} }),
        json!({ "pk": "11111111-0000-4000-8000-000000000003",
                "user": { "pk": 1, "username": "akadmin", "on_behalf_of": { "pk": 7, "username": "marie" } },
                "action": "custom_invoice_exported", "app": "custom", "context": {}, "client_ip": "192.0.2.1",
                "created": "2026-03-14T10:00:02Z", "expires": "2027-01-01T00:00:00Z", "brand": {} }),
    ];
    fixture.upstream.lock().unwrap().events = shapes.into_iter().rev().collect();
    assert_eq!(fixture.poller(20, 10).tick().await.unwrap().recorded, 3);
    let events = fixture.recorded().await;
    let actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "authentik.system_task_exception",
            "authentik.login_failed",
            "authentik.custom_invoice_exported"
        ]
    );
    assert_eq!(events[0].outcome.as_str(), "failure");
    assert_eq!(events[0].actor_ip, None);
    assert_eq!(events[1].outcome.as_str(), "failure");
    assert_eq!(events[1].metadata["context"]["password"], "********************");
    assert_eq!(
        events[2].actor_id.as_deref(),
        Some("akadmin"),
        "the impersonating admin acts"
    );
}

async fn filtered_actions_are_counted_not_recorded_and_the_mark_moves_past_them(db: TestDatabase) {
    let fixture = Fixture::with(
        db,
        &[
            ("AUTHENTIK_ACTIONS_ONLY", "login,custom_*,secret_view"),
            ("AUTHENTIK_ACTIONS_SKIP", "custom_heartbeat*"),
        ],
    )
    .await;
    let event = |index: u32, action: &str| {
        let mut event = login(index);
        event["action"] = json!(action);
        event
    };
    let published = [
        event(0, "login"),
        event(1, "logout"),
        event(2, "custom_heartbeat_ping"),
        event(3, "custom_invoice_paid"),
        event(4, "secret_view"),
        event(5, "model_updated"),
    ];
    fixture.upstream.lock().unwrap().events = published.into_iter().rev().collect();
    let report = fixture.poller(2, 10).tick().await.unwrap();
    assert_eq!(report.recorded, 3);
    assert_eq!(report.filtered, 3);
    let actions: Vec<String> = fixture
        .recorded()
        .await
        .into_iter()
        .map(|event| event.action.as_str().to_owned())
        .collect();
    assert_eq!(
        actions,
        vec![
            "authentik.login",
            "authentik.custom_invoice_paid",
            "authentik.secret_view"
        ]
    );
    // The filtered events are behind the mark: a restart does not look at them again.
    let again = fixture.poller(2, 10).tick().await.unwrap();
    assert_eq!((again.recorded, again.filtered), (0, 0));
    let status = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == "authentik")
        .unwrap();
    assert_eq!(status.filtered, 3);
    assert_eq!(status.events_ingested, 3);
    assert!(
        fixture
            .ingest
            .status
            .render_metrics()
            .contains("dezky_ingest_filtered_total{source=\"authentik\"} 3\n")
    );
}

on_both_backends!(
    filtered_actions_are_counted_not_recorded_and_the_mark_moves_past_them,
    new_events_are_recorded_oldest_first_exactly_once,
    the_page_cap_records_a_gap_instead_of_silently_skipping,
    upstream_errors_change_nothing_and_the_next_tick_recovers,
    every_event_shape_of_every_version_is_recorded
);
