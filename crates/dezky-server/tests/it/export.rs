//! Export over HTTP: CSV and JSON Lines of the filtered log, as a consistent snapshot.
//! (Export of 100k+ events in bounded memory is checked against the real binary in
//! crates/dezky/tests, where the server's own resident memory can be measured.)

use crate::support::app::spawn;
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn csv_and_jsonl_hold_exactly_the_filtered_events(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let events: Vec<Value> = (0..2_500)
        .map(|i| {
            json!({
                "externalId": format!("e-{i}"),
                "action": if i % 2 == 0 { "portal.even" } else { "portal.odd" },
                "resourceName": format!("name, with \"quotes\"\nand a newline {i}"),
                "metadata": { "i": i },
            })
        })
        .collect();
    for chunk in events.chunks(1_000) {
        let (status, _) = app
            .post("/api/v1/ingest/events", &token, &json!({ "events": chunk }))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = app
        .http
        .get(app.url("/api/v1/audit/export?format=jsonl&action=portal.even"))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = response.text().await.unwrap();
    let parsed: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(parsed.len(), 1_250);
    assert!(parsed.iter().all(|event| event["action"] == "portal.even"));
    assert!(
        parsed
            .windows(2)
            .all(|pair| pair[0]["seq"].as_u64() > pair[1]["seq"].as_u64())
    );

    let response = app
        .http
        .get(app.url("/api/v1/audit/export?format=csv&source=portal"))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("seq,at,recordedAt,actorType,"));
    // Every record ends with CRLF; embedded newlines are bare LF inside quotes.
    assert_eq!(text.matches("\r\n").count(), 2_501, "header + one line per event");
    assert!(text.contains("\"name, with \"\"quotes\"\"\nand a newline 2499\""));
    assert!(text.contains("\"{\"\"i\"\":0}\""), "metadata is a JSON column");
}

on_both_backends!(csv_and_jsonl_hold_exactly_the_filtered_events);
