//! Restoring an archive batch into the read-only restored table and dropping it again, on both
//! databases, with a folder and with the real S3 server.

use crate::archive_read::{all_pages, export, page, seqs, two_tiers};
use crate::support::app::{TestApp, error_code};
use crate::support::cold::{Cold, batches, execute};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn restore(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/audit/archives/{id}/restore"),
        &app.operator_token,
        &json!({}),
    )
    .await
}

async fn drop_copy(app: &TestApp, id: &str, token: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .delete(app.url(&format!("/api/v1/audit/archives/{id}/restore")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn recorded(app: &TestApp, action: &str) -> Vec<Value> {
    page(app, &format!("action={action}&limit=500")).await["events"]
        .as_array()
        .unwrap()
        .clone()
}

async fn restore_and_drop(db: TestDatabase, cold: Cold) {
    let app = two_tiers(db, &cold).await;
    let listed = batches(&app).await;
    assert!(listed.iter().all(|batch| batch["restoredAt"] == Value::Null));
    let (id, data_key) = (
        listed[1]["id"].as_str().unwrap().to_owned(),
        listed[1]["dataKey"].as_str().unwrap().to_owned(),
    );

    let (status, body) = restore(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(
        (body["startSeq"].as_u64(), body["endSeq"].as_u64()),
        (Some(100), Some(199))
    );
    assert_eq!(body["events"], 100);
    assert!(body["restoredAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(batches(&app).await[1]["restoredAt"], body["restoredAt"]);
    let records = recorded(&app, "audit.archive_restored").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["resourceId"], id.as_str());
    assert_eq!(records[0]["metadata"]["startSeq"], 100);

    // Restored rows are read without the cold store: the batch's data object can be gone.
    cold.remove(&data_key).await;
    let restored_page = page(&app, "includeArchived=true&before=200&limit=50").await;
    let events = restored_page["events"].as_array().unwrap();
    assert_eq!(seqs(events), (150..200).rev().collect::<Vec<_>>());
    assert!(events.iter().all(|event| event["archived"] == true));
    // The same filters over restored rows, cold batches and hot rows.
    let text = page(&app, "limit=500&includeArchived=true&q=PAGE%2012").await;
    let mut found = seqs(text["events"].as_array().unwrap());
    found.sort();
    assert_eq!(found, vec![12, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129]);
    let filtered = all_pages(
        &app,
        "limit=9&includeArchived=true&actorEmail=user3@ACME.example&action=portal.",
    )
    .await;
    let expected: Vec<u64> = (1..400)
        .rev()
        .filter(|i| i % 7 == 3)
        .map(|i| if i >= 350 { i + 4 } else { i })
        .collect();
    assert_eq!(seqs(&filtered), expected);
    let jsonl = export(&app, "format=jsonl&includeArchived=true&before=250").await;
    let exported: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(seqs(&exported), (0..250).rev().collect::<Vec<_>>());

    // The restored table is read-only outside the store's two methods.
    for statement in [
        "UPDATE restored_events SET outcome = 'denied' WHERE seq = 150",
        "DELETE FROM restored_events WHERE seq = 150",
        "DELETE FROM restored_batches",
        "INSERT INTO restored_batches (batch_id, restored_at_ms, event_count) VALUES ('x', 0, 0)",
    ] {
        let refused = execute(&app, &[statement]).await.unwrap_err();
        assert!(refused.contains("read-only"), "{statement}: {refused}");
    }

    // Conflicts, unknown batches, access.
    let (status, body) = restore(&app, &id).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "already_restored");
    let (status, body) = restore(&app, "arc_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = drop_copy(&app, "arc_nope", &app.operator_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let first = listed[0]["id"].as_str().unwrap();
    let (status, body) = drop_copy(&app, first, &app.operator_token).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "not_restored");
    let tenant = app.tenant_token("acme").await;
    let (status, _) = drop_copy(&app, &id, &tenant).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(&format!("/api/v1/audit/archives/{id}/restore"), &tenant, &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Dropping the copy: reads of that batch go back to cold storage, where it is gone now.
    let (status, body) = drop_copy(&app, &id, &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["events"], 100);
    assert_eq!(body["restoredAt"], Value::Null);
    assert_eq!(batches(&app).await[1]["restoredAt"], Value::Null);
    assert_eq!(recorded(&app, "audit.archive_restore_dropped").await.len(), 1);
    let (status, body) = app
        .get(
            "/api/v1/audit?includeArchived=true&before=200&limit=50",
            &app.operator_token,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(error_code(&body), "archive_unreadable");
    // A batch that cannot be read is not restored, and nothing is recorded.
    let (status, body) = restore(&app, &id).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(batches(&app).await[1]["restoredAt"], Value::Null);
    assert_eq!(recorded(&app, "audit.archive_restored").await.len(), 1);
}

async fn a_batch_restores_from_a_folder_and_drops(db: TestDatabase) {
    restore_and_drop(db, Cold::folder()).await;
}

async fn a_batch_restores_from_s3_and_drops(db: TestDatabase) {
    restore_and_drop(db, Cold::bucket().await).await;
}

on_both_backends!(
    a_batch_restores_from_a_folder_and_drops,
    a_batch_restores_from_s3_and_drops
);
