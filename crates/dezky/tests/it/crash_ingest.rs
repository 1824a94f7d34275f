//! SIGKILL the service again and again while every source delivers events at once: the oCIS
//! tail, the Stalwart webhook, the Authentik poller (a local stand-in whose event list grows
//! while the test runs) and the oCIS event bus (the real NATS JetStream server, on a stream of
//! this run's own). Afterwards every source event is in the log exactly once and the chain
//! verifies.

use crate::support::{Server, run};
use crate::upstreams::{Authentik, Bus, NATS, authentik_pk, bus_id};
use base64::Engine;
use dezky_testkit::{TestDatabase, on_both_backends, temp_folder};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "crash-test-webhook-secret";
const OCIS_LINES: usize = 4_000;
const WEBHOOK_BATCHES: usize = 60;
const EVENTS_PER_BATCH: usize = 50;
const AUTHENTIK_EVENTS: usize = 1_200;
const BUS_MESSAGES: usize = 2_000;
const KILLS: usize = 5;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ocis_line(index: usize) -> String {
    json!({ "Time": "2026-03-14T09:26:53Z", "User": "", "Message": "user 'u1' created file 'x'",
            "Action": "file_create", "FileID": format!("file-{index}"), "Path": format!("/f{index}") })
    .to_string()
        + "\n"
}

fn webhook_body(batch: usize) -> Vec<u8> {
    let events: Vec<_> = (0..EVENTS_PER_BATCH)
        .map(|index| {
            json!({ "id": "not-unique", "createdAt": "2026-03-14T09:26:53Z", "type": "auth.success",
                    "data": { "accountName": format!("user{batch}-{index}@acme.example"),
                              "spanId": (batch * EVENTS_PER_BATCH + index) as u64 } })
        })
        .collect();
    json!({ "events": events }).to_string().into_bytes()
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn every_source_event_survives_repeated_sigkill_exactly_once(db: TestDatabase) {
    let data_dir = temp_folder("crash-ingest");
    let log_path = data_dir.join("ocis-audit.log");
    let log_text = log_path.to_str().unwrap().to_owned();
    let authentik = Authentik::start().await;
    let bus = Arc::new(Bus::create().await);
    let bus_name = bus.name.clone();
    let environment = [
        ("DATABASE_URL", db.url.as_str()),
        ("OCIS_AUDIT_LOG_PATH", log_text.as_str()),
        ("OCIS_AUDIT_POLL_SECONDS", "1"),
        ("STALWART_WEBHOOK_SECRET", SECRET),
        ("AUTHENTIK_URL", authentik.url.as_str()),
        ("AUTHENTIK_TOKEN", "ak-crash-test"),
        ("AUTHENTIK_POLL_SECONDS", "1"),
        ("OCIS_EVENTS_ENDPOINT", NATS),
        ("OCIS_EVENTS_STREAM", bus_name.as_str()),
        ("OCIS_EVENTS_CONSUMER", bus_name.as_str()),
        ("RUST_LOG", "error"),
    ];
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");

    // oCIS writes its log on its own schedule, whatever happens to dezky.
    let writer = std::thread::spawn({
        let log_path = log_path.clone();
        move || {
            for burst in 0..OCIS_LINES / 100 {
                let text: String = (burst * 100..(burst + 1) * 100).map(ocis_line).collect();
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .unwrap();
                // Two writes per burst, so the tail also meets lines cut in half.
                let middle = text.len() / 2;
                file.write_all(&text.as_bytes()[..middle]).unwrap();
                file.flush().unwrap();
                std::thread::sleep(Duration::from_millis(5));
                file.write_all(&text.as_bytes()[middle..]).unwrap();
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    });
    // Stalwart re-sends a batch until it gets a 2xx, as its webhook sender does.
    let sender_done = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let sender = tokio::spawn({
        let (base, done, refused) = (base.clone(), sender_done.clone(), refused.clone());
        async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            for batch in 0..WEBHOOK_BATCHES {
                let body = webhook_body(batch);
                loop {
                    let response = client
                        .post(format!("{base}/ingest/stalwart/webhook"))
                        .header("X-Signature", sign(&body))
                        .body(body.clone())
                        .send()
                        .await;
                    if response.is_ok_and(|response| response.status().is_success()) {
                        break;
                    }
                    refused.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
            done.store(true, Ordering::SeqCst);
        }
    });

    // Authentik records logins whenever people log in; its list grows under the poller (pages
    // shift while they are read), at a pace one tick's page cap keeps up with.
    let authentik_writer = tokio::spawn({
        let authentik = authentik.clone();
        async move {
            for burst in 0..AUTHENTIK_EVENTS / 40 {
                authentik.publish(burst * 40..(burst + 1) * 40);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    // oCIS publishes to its bus whatever happens to dezky.
    let bus_writer = tokio::spawn({
        let bus = bus.clone();
        async move {
            for burst in 0..BUS_MESSAGES / 50 {
                for index in burst * 50..(burst + 1) * 50 {
                    bus.publish(index).await;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    });

    // Each kill comes at a different moment for the tail and the webhook, and, when it can be
    // seen, while the bus consumer holds messages it has not yet acknowledged.
    let mut kills_during_a_bus_batch = 0;
    for kill in 0..KILLS {
        let server = Server::start_on(&environment, &data_dir, &listen);
        let started = Instant::now();
        let earliest = Duration::from_millis(500 + 250 * kill as u64);
        loop {
            let pending = bus.ack_pending().await;
            if started.elapsed() >= earliest && pending > 0 {
                kills_during_a_bus_batch += 1;
                break;
            }
            if started.elapsed() >= earliest + Duration::from_secs(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.kill();
    }
    let server = Server::start_on(&environment, &data_dir, &listen);
    while !writer.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    writer.join().unwrap();
    authentik_writer.await.unwrap();
    bus_writer.await.unwrap();
    // Messages a killed process fetched but never acknowledged come back after the ack wait
    // (30 s), so the deadline leaves room for that.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !sender_done.load(Ordering::SeqCst) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sender.await.unwrap();
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "the kills interrupted the webhook deliveries"
    );

    let store = dezky_store::open(&db.url).await.unwrap();
    let expected_total = OCIS_LINES + WEBHOOK_BATCHES * EVENTS_PER_BATCH + AUTHENTIK_EVENTS + BUS_MESSAGES;
    let mut events = vec![];
    while Instant::now() < deadline {
        events = store.events_in_order(None, 1_000_000).await.unwrap();
        let from_sources = events
            .iter()
            .filter(|event| event.source.as_str() != "platform")
            .count();
        if from_sources >= expected_total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(server);
    assert!(
        kills_during_a_bus_batch > 0,
        "a kill came while bus messages were unacknowledged"
    );
    let deliveries = bus.deliveries().await;
    Arc::into_inner(bus).expect("the publisher is done").delete().await;

    let external_ids = |prefix: &str| -> Vec<String> {
        events
            .iter()
            .filter_map(|event| event.external_id.clone())
            .filter(|id| id.starts_with(prefix))
            .collect()
    };
    let authentik_ids = external_ids("authentik:");
    assert_eq!(
        authentik_ids.iter().collect::<HashSet<_>>().len(),
        authentik_ids.len(),
        "an Authentik event twice"
    );
    let expected: HashSet<String> = (0..AUTHENTIK_EVENTS)
        .map(|index| format!("authentik:{}", authentik_pk(index)))
        .collect();
    assert_eq!(
        authentik_ids.into_iter().collect::<HashSet<_>>(),
        expected,
        "every Authentik event is recorded"
    );
    assert!(
        deliveries > BUS_MESSAGES as u64,
        "killed mid-batch, some messages were delivered again ({deliveries} deliveries)"
    );
    let bus_ids = external_ids("ocis-bus:");
    assert_eq!(
        bus_ids.iter().collect::<HashSet<_>>().len(),
        bus_ids.len(),
        "a bus message twice"
    );
    let expected: HashSet<String> = (0..BUS_MESSAGES)
        .map(|index| format!("ocis-bus:{}", bus_id(index)))
        .collect();
    assert_eq!(
        bus_ids.into_iter().collect::<HashSet<_>>(),
        expected,
        "every bus message is recorded"
    );

    let ocis: Vec<String> = events
        .iter()
        .filter(|event| event.action.as_str() == "ocis.file_create")
        .filter(|event| !event.external_id.as_deref().unwrap_or("").starts_with("ocis-bus:"))
        .filter_map(|event| event.resource_id.clone())
        .collect();
    let unique: HashSet<&String> = ocis.iter().collect();
    assert_eq!(unique.len(), ocis.len(), "an oCIS line was recorded twice");
    assert_eq!(ocis.len(), OCIS_LINES, "every oCIS line is recorded");
    let stalwart: Vec<&str> = events
        .iter()
        .filter(|event| event.source.as_str() == "stalwart")
        .filter_map(|event| event.actor_id.as_deref())
        .collect();
    assert_eq!(
        stalwart.iter().collect::<HashSet<_>>().len(),
        stalwart.len(),
        "a webhook event twice"
    );
    assert_eq!(
        stalwart.len(),
        WEBHOOK_BATCHES * EVENTS_PER_BATCH,
        "every webhook event is recorded"
    );
    let gaps = events
        .iter()
        .filter(|event| event.action.as_str() == "ingest.gap_detected")
        .count();
    assert_eq!(
        gaps, 0,
        "nothing was rotated, capped or removed, so no gap may be reported"
    );

    let data_dir_text = data_dir.to_str().unwrap().to_owned();
    let mut verify_environment = environment.to_vec();
    verify_environment.push(("DEZKY_DATA_DIR", data_dir_text.as_str()));
    let output = run(&verify_environment, &["verify"]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("\"ok\": true") || report.contains("\"ok\":true"),
        "{report}"
    );
}

on_both_backends!(every_source_event_survives_repeated_sigkill_exactly_once);
