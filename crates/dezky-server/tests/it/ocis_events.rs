//! The oCIS event-bus consumer against the real NATS JetStream server on this machine
//! (127.0.0.1:4222), with envelopes shaped as reva publishes them. Each test uses its own
//! stream and consumer names.

use base64::Engine;
use dezky_core::AuditEvent;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::ingest::Ingest;
use dezky_server::ingest::config::IngestConfig;
use dezky_server::ingest::ocis_events::OcisEvents;
use dezky_store::Store;
use dezky_testkit::{TestDatabase, on_both_backends};
use serde_json::{Value, json};
use std::sync::Arc;

const NATS: &str = "nats://127.0.0.1:4222";

fn envelope(id: &str, event_type: &str, file: &str) -> Vec<u8> {
    let payload = json!({
        "Executant": { "idp": "https://cloud.acme.example", "opaque_id": "einstein", "type": 1 },
        "Ref": { "resource_id": { "storage_id": "storage-users-1", "opaque_id": file, "space_id": "space-1" }, "path": format!("./{file}.odt") },
        "Owner": { "idp": "https://cloud.acme.example", "opaque_id": "einstein", "type": 1 },
        "Timestamp": { "seconds": 1_773_480_413u64, "nanos": 0 },
    });
    json!({ "ID": id, "Topic": "main-queue", "Timestamp": "2026-03-14T09:30:00.123456789Z",
            "Metadata": { "eventtype": format!("events.{event_type}"), "eventid": id },
            "Payload": base64::engine::general_purpose::STANDARD.encode(payload.to_string()) })
    .to_string()
    .into_bytes()
}

struct Fixture {
    store: Arc<dyn Store>,
    jetstream: async_nats::jetstream::Context,
    stream: String,
    consumer: OcisEvents,
    ingest: Arc<Ingest>,
    _db: TestDatabase,
}

impl Fixture {
    async fn new(db: TestDatabase) -> Fixture {
        Fixture::with(db, &[]).await
    }

    /// With more variables (a filter).
    async fn with(db: TestDatabase, extra: &[(&str, &str)]) -> Fixture {
        let unique = format!("dezky-test-{}", hex::encode(rand::random::<[u8; 6]>()));
        let client = async_nats::connect(NATS)
            .await
            .expect("the NATS server on 127.0.0.1:4222");
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .create_stream(async_nats::jetstream::stream::Config {
                name: unique.clone(),
                subjects: vec![unique.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        let store = dezky_store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut variables = vec![
            ("OCIS_EVENTS_ENDPOINT".to_owned(), NATS.to_owned()),
            ("OCIS_EVENTS_CONSUMER".to_owned(), unique.clone()),
        ];
        variables.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        let mut config = IngestConfig::from_lookup(&|name| {
            variables
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        let mut events_config = config.ocis_events.clone().unwrap();
        events_config.stream = unique.clone();
        config.ocis_events = Some(events_config.clone());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let ingest = Arc::new(Ingest::new(config));
        let consumer = OcisEvents::new(store.clone(), clock, ingest.clone(), events_config);
        Fixture {
            store,
            jetstream,
            stream: unique,
            consumer,
            ingest,
            _db: db,
        }
    }

    async fn publish(&self, body: Vec<u8>) -> u64 {
        let ack = self
            .jetstream
            .publish(self.stream.clone(), body.into())
            .await
            .unwrap()
            .await
            .unwrap();
        ack.sequence
    }

    async fn events(&self) -> Vec<AuditEvent> {
        self.store.events_in_order(None, 10_000).await.unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let (jetstream, stream) = (self.jetstream.clone(), self.stream.clone());
        tokio::spawn(async move {
            let _ = jetstream.delete_stream(stream).await;
        });
    }
}

async fn bus_events_are_recorded_then_acknowledged_once(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    fixture.publish(envelope("id-1", "FileUploaded", "f1")).await;
    fixture.publish(envelope("id-2", "ShareCreated", "f2")).await;
    fixture.publish(envelope("id-3", "FileDownloaded", "f3")).await; // a read: skipped by default
    fixture.publish(b"{not an envelope".to_vec()).await;
    fixture.publish(envelope("id-1", "FileUploaded", "f1")).await; // a redelivered envelope

    let report = fixture.consumer.tick().await.unwrap();
    assert_eq!(report.recorded, 2);
    assert_eq!(report.filtered, 1);
    assert_eq!(report.rejected, 1);
    assert_eq!(report.duplicates, 1);
    let events = fixture.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].source.as_str(), "ocis");
    assert_eq!(events[0].external_id.as_deref(), Some("ocis-bus:id-1"));
    assert!(
        events[0].action.as_str().starts_with("ocis."),
        "{}",
        events[0].action.as_str()
    );
    assert_eq!(events[0].actor_id.as_deref(), Some("einstein"));
    assert_eq!(fixture.store.cursor("ocis-events").await.unwrap().as_deref(), Some("5"));

    // Everything was acknowledged: nothing comes back, not even the rejected message.
    let again = fixture.consumer.tick().await.unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(fixture.events().await.len(), 2);
}

async fn messages_removed_before_we_read_them_are_a_recorded_gap(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    fixture.publish(envelope("g-1", "FileUploaded", "a")).await;
    assert_eq!(fixture.consumer.tick().await.unwrap().recorded, 1);
    fixture.publish(envelope("g-2", "FileUploaded", "b")).await;
    let lost = fixture.publish(envelope("g-3", "FileUploaded", "c")).await;
    fixture.publish(envelope("g-4", "FileUploaded", "d")).await;
    let mut stream = fixture.jetstream.get_stream(&fixture.stream).await.unwrap();
    assert!(stream.delete_message(lost).await.unwrap());
    let _ = stream.info().await;

    let report = fixture.consumer.tick().await.unwrap();
    assert_eq!(report.recorded, 2);
    assert_eq!(report.gaps, 1);
    let gaps: Vec<Value> = fixture
        .events()
        .await
        .into_iter()
        .filter(|event| event.action.as_str() == "ingest.gap_detected")
        .map(|event| Value::Object(event.metadata))
        .collect();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["firstMissingSequence"], lost);
    assert_eq!(gaps[0]["lastMissingSequence"], lost);
}

async fn an_unreachable_bus_is_an_error_not_a_hang(db: TestDatabase) {
    let store = dezky_store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let config =
        IngestConfig::from_lookup(&|name| (name == "OCIS_EVENTS_ENDPOINT").then(|| "nats://127.0.0.1:1".to_owned()))
            .unwrap();
    let events_config = config.ocis_events.clone().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let consumer = OcisEvents::new(store, clock, Arc::new(Ingest::new(config)), events_config);
    let error = tokio::time::timeout(std::time::Duration::from_secs(15), consumer.tick())
        .await
        .expect("gives up in time")
        .expect_err("cannot connect");
    assert!(format!("{error:#}").contains("OCIS_EVENTS_ENDPOINT"), "{error:#}");
}

async fn filtered_event_types_are_counted_acked_and_not_recorded(db: TestDatabase) {
    let fixture = Fixture::with(
        db,
        &[
            ("OCIS_AUDIT_ACTIONS_ONLY", "file_create,file_read,file_delete,user_*"),
            ("OCIS_AUDIT_ACTIONS_SKIP", "file_read,file_delete"),
        ],
    )
    .await;
    fixture.publish(envelope("f-1", "FileUploaded", "a")).await; // file_create: kept
    fixture.publish(envelope("f-2", "FileDownloaded", "b")).await; // file_read: skipped
    fixture.publish(envelope("f-3", "ItemTrashed", "c")).await; // file_delete: skipped
    fixture.publish(envelope("f-4", "ShareCreated", "d")).await; // file_shared: not allowed
    fixture.publish(envelope("f-5", "UserSignedIn", "e")).await; // user_signed_in: kept
    let report = fixture.consumer.tick().await.unwrap();
    assert_eq!(report.recorded, 2);
    assert_eq!(report.filtered, 3);
    let actions: Vec<String> = fixture
        .events()
        .await
        .into_iter()
        .map(|event| event.action.as_str().to_owned())
        .collect();
    assert_eq!(actions, vec!["ocis.file_create", "ocis.user_signed_in"]);
    let status = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == "ocis-events")
        .unwrap();
    assert_eq!((status.filtered, status.events_ingested), (3, 2));
    // The filtered messages were acknowledged too: nothing comes back.
    assert_eq!(fixture.consumer.tick().await.unwrap(), Default::default());
}

async fn messages_held_by_a_dead_incarnation_are_no_gap(db: TestDatabase) {
    let fixture = Fixture::new(db).await;
    fixture.publish(envelope("h-1", "FileUploaded", "a")).await;
    assert_eq!(fixture.consumer.tick().await.unwrap().recorded, 1);
    for (id, file) in [("h-2", "b"), ("h-3", "c"), ("h-4", "d")] {
        fixture.publish(envelope(id, "FileUploaded", file)).await;
    }
    // An earlier process fetched two messages from our durable consumer and died before it
    // recorded or acknowledged them: the next fetch starts after them.
    let durable: async_nats::jetstream::consumer::PullConsumer = fixture
        .jetstream
        .get_stream(&fixture.stream)
        .await
        .unwrap()
        .get_consumer(&fixture.stream)
        .await
        .unwrap();
    let mut held = vec![];
    let mut batch = durable.fetch().max_messages(2).messages().await.unwrap();
    while let Some(message) = futures::StreamExt::next(&mut batch).await {
        held.push(message.unwrap());
    }
    assert_eq!(held.len(), 2);

    let report = fixture.consumer.tick().await.unwrap();
    assert_eq!((report.recorded, report.gaps), (1, 0), "still in the stream: not lost");
    // They come back (here at once; after a real crash when the ack wait runs out).
    for message in held {
        message
            .ack_with(async_nats::jetstream::AckKind::Nak(None))
            .await
            .unwrap();
    }
    // The server redelivers them asynchronously: one fetch may see one, the next the other.
    let (mut recorded, mut gaps) = (0, 0);
    for _ in 0..20 {
        let report = fixture.consumer.tick().await.unwrap();
        recorded += report.recorded;
        gaps += report.gaps;
        if recorded >= 2 {
            break;
        }
    }
    assert_eq!((recorded, gaps), (2, 0));
    let ids: Vec<String> = fixture
        .events()
        .await
        .into_iter()
        .filter_map(|event| event.external_id)
        .collect();
    assert_eq!(
        ids,
        vec!["ocis-bus:h-1", "ocis-bus:h-4", "ocis-bus:h-2", "ocis-bus:h-3"]
    );
}

on_both_backends!(
    filtered_event_types_are_counted_acked_and_not_recorded,
    messages_held_by_a_dead_incarnation_are_no_gap,
    bus_events_are_recorded_then_acknowledged_once,
    messages_removed_before_we_read_them_are_a_recorded_gap,
    an_unreachable_bus_is_an_error_not_a_hang
);
