//! SIGKILL the service again and again while the oCIS tail and the Stalwart webhook deliver
//! events; afterwards every source event is in the log exactly once and the chain verifies.

use crate::support::{Server, run};
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
    let environment = [
        ("DATABASE_URL", db.url.as_str()),
        ("OCIS_AUDIT_LOG_PATH", log_text.as_str()),
        ("OCIS_AUDIT_POLL_SECONDS", "1"),
        ("STALWART_WEBHOOK_SECRET", SECRET),
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

    for kill in 0..KILLS {
        let server = Server::start_on(&environment, &data_dir, &listen);
        tokio::time::sleep(Duration::from_millis(700 + 300 * kill as u64)).await;
        server.kill();
    }
    let server = Server::start_on(&environment, &data_dir, &listen);
    writer.join().unwrap();
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
    let expected_total = OCIS_LINES + WEBHOOK_BATCHES * EVENTS_PER_BATCH;
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

    let ocis: Vec<String> = events
        .iter()
        .filter(|event| event.action.as_str() == "ocis.file_create")
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
    assert_eq!(gaps, 0, "no rotation happened, so no gap may be reported");

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
