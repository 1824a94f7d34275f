//! Stand-ins for the upstream systems the crash test ingests from, speaking their real formats
//! (shared/docs/formats.md): Authentik's events API served over local HTTP, and oCIS's event bus
//! on the real NATS JetStream server of this machine (a stream of this run's own).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const NATS: &str = "nats://127.0.0.1:4222";

/// Authentik's `GET /api/v3/events/events/`: newest first, numbered pages, `next: 0` on the
/// last page and 404 "Invalid page." past it. Events can be added while it serves.
#[derive(Clone)]
pub struct Authentik {
    /// Newest first, as the API lists them.
    events: Arc<Mutex<Vec<Value>>>,
    pub url: String,
}

impl Authentik {
    pub async fn start() -> Authentik {
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let app = axum::Router::new()
            .route("/api/v3/events/events/", axum::routing::get(events_api))
            .with_state(events.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Authentik { events, url }
    }

    /// Adds `authentik_login(index)` for each index as the newest events.
    pub fn publish(&self, indexes: std::ops::Range<usize>) {
        let mut events = self.events.lock().unwrap();
        for index in indexes {
            events.insert(0, login(index));
        }
    }
}

/// The pk of the `index`th login; recorded as `authentik:<pk>`.
pub fn authentik_pk(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

/// A login as Authentik 2024+ records it; each one a millisecond after the previous.
fn login(index: usize) -> Value {
    let (seconds, millis) = (index / 1_000, index % 1_000);
    json!({ "pk": authentik_pk(index), "user": { "pk": 7, "username": "marie", "email": "marie@acme.example" },
            "action": "login", "app": "authentik.events.signals",
            "context": { "auth_method": "password", "http_request": { "path": "/flows/", "method": "GET" } },
            "client_ip": "192.0.2.7",
            "created": format!("2026-03-14T09:{:02}:{:02}.{millis:03}000Z", seconds / 60, seconds % 60),
            "expires": "2027-03-14T09:00:00Z",
            "brand": { "pk": "b1", "app": "authentik_brands", "name": "Default", "model_name": "brand" } })
}

async fn events_api(
    State(events): State<Arc<Mutex<Vec<Value>>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let events = events.lock().unwrap();
    let page: usize = query.get("page").and_then(|page| page.parse().ok()).unwrap_or(1);
    let size: usize = query.get("page_size").and_then(|size| size.parse().ok()).unwrap_or(20);
    let pages = events.len().div_ceil(size).max(1);
    if page == 0 || page > pages {
        return (StatusCode::NOT_FOUND, json!({ "detail": "Invalid page." }).to_string()).into_response();
    }
    let results: Vec<Value> = events.iter().skip((page - 1) * size).take(size).cloned().collect();
    let body = json!({
        "pagination": { "next": if page < pages { page + 1 } else { 0 }, "previous": page - 1,
                        "count": events.len(), "current": page, "total_pages": pages,
                        "start_index": (page - 1) * size + 1, "end_index": (page - 1) * size + results.len() },
        "results": results,
    });
    (StatusCode::OK, body.to_string()).into_response()
}

/// A JetStream stream of this run's own (stream, subject and consumer share its unique name),
/// deleted again by [`Bus::delete`].
pub struct Bus {
    jetstream: async_nats::jetstream::Context,
    pub name: String,
}

impl Bus {
    pub async fn create() -> Bus {
        let name = format!("dezky-crash-{}", hex_id());
        let client = async_nats::connect(NATS)
            .await
            .expect("the NATS server on 127.0.0.1:4222");
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .create_stream(async_nats::jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![name.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        Bus { jetstream, name }
    }

    /// Publishes a `FileUploaded` envelope with ID `bus_id(index)` and waits for the stream's ack.
    pub async fn publish(&self, index: usize) {
        self.jetstream
            .publish(self.name.clone(), file_uploaded(index).into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Messages our consumer (named like the stream) has been handed and not acknowledged; 0
    /// before dezky created it.
    pub async fn ack_pending(&self) -> usize {
        let Ok(stream) = self.jetstream.get_stream(&self.name).await else {
            return 0;
        };
        stream
            .consumer_info(&self.name)
            .await
            .map_or(0, |info| info.num_ack_pending)
    }

    /// Every delivery our consumer made, redeliveries included.
    pub async fn deliveries(&self) -> u64 {
        let stream = self.jetstream.get_stream(&self.name).await.unwrap();
        stream
            .consumer_info(&self.name)
            .await
            .unwrap()
            .delivered
            .consumer_sequence
    }

    pub async fn delete(self) {
        let _ = self.jetstream.delete_stream(&self.name).await;
    }
}

/// The envelope ID of the `index`th bus message; recorded as `ocis-bus:<id>`.
pub fn bus_id(index: usize) -> String {
    format!("6f1c0000-0000-4000-8000-{index:012}")
}

/// The go-micro envelope reva's `events.Publish` sends for an upload.
fn file_uploaded(index: usize) -> Vec<u8> {
    let payload = json!({
        "Executant": { "idp": "https://cloud.acme.example", "opaque_id": "einstein", "type": 1 },
        "Ref": { "resource_id": { "storage_id": "storage-users-1", "opaque_id": format!("upload-{index}"),
                                  "space_id": "space-1" }, "path": format!("./upload-{index}.odt") },
        "Owner": { "idp": "https://cloud.acme.example", "opaque_id": "einstein", "type": 1 },
        "Timestamp": { "seconds": 1_773_480_413u64, "nanos": 0 },
    });
    json!({ "ID": bus_id(index), "Topic": "main-queue", "Timestamp": "2026-03-14T09:30:00.123456789Z",
            "Metadata": { "eventtype": "events.FileUploaded", "eventid": bus_id(index) },
            "Payload": base64::engine::general_purpose::STANDARD.encode(payload.to_string()) })
    .to_string()
    .into_bytes()
}

fn hex_id() -> String {
    let bytes: [u8; 6] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
