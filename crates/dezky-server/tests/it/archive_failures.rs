//! Cold storage that fails: the run stops cleanly, says why in the API response (`ok: false`,
//! `error`) and loses nothing; a later run carries on.
//!
//! The testable failures are a missing bucket and an unreachable endpoint (moto's S3 server
//! accepts any credentials, so wrong credentials cannot be provoked here; against a real S3
//! they fail the first PUT with AccessDenied / SignatureDoesNotMatch, which the error passes on
//! the same way). A folder that cannot be created stops `dezky serve` at start (see the
//! `dezky` command tests).

use crate::support::cold::{Cold, batches, checkpoint, fill, run, s3_endpoint, spawn_cold, verify};
use dezky_testkit::{TestDatabase, on_both_backends};
use serde_json::{Value, json};

async fn a_missing_bucket_fails_the_run_with_the_reason_and_loses_nothing(db: TestDatabase) {
    let endpoint = s3_endpoint();
    let bucket = format!("dz-missing-{:08x}", rand::random::<u32>());
    let missing_bucket = Cold::Bucket {
        endpoint: endpoint.clone(),
        bucket: bucket.clone(),
    };
    let app = spawn_cold(db, &missing_bucket, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "20")]).await;
    fill(&app, 50).await;
    let size = checkpoint(&app).await;
    let result = run(&app).await;
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(
        (result["batches"].as_u64(), result["events"].as_u64()),
        (Some(0), Some(0))
    );
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("audit/events/"), "{error}");
    assert!(error.contains("bucket (or folder) does not exist"), "{error}");
    assert!(
        error.contains("NoSuchBucket"),
        "the server's own reason is passed on: {error}"
    );
    assert!(!result.to_string().contains("dezky-test-secret"));
    assert!(batches(&app).await.is_empty());
    assert_eq!(app.store.oldest_hot_seq().await.unwrap(), Some(0));
    assert_eq!(verify(&app).await["ok"], true);

    // Once the bucket exists, the next run archives every event that was held back.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let result = run(&app).await;
    assert_eq!(result, json!({ "ok": true, "batches": 3, "events": size }));
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["highestArchivedSeq"], size - 1);
}

async fn an_unreachable_endpoint_fails_the_run_with_the_reason_and_loses_nothing(db: TestDatabase) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let down = Cold::Bucket {
        endpoint,
        bucket: "dezky".into(),
    };
    let app = spawn_cold(db, &down, &[]).await;
    fill(&app, 20).await;
    checkpoint(&app).await;
    let result = run(&app).await;
    assert_eq!(result["ok"], false, "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("audit/events/"), "{error}");
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert!(batches(&app).await.is_empty());
    assert_eq!(app.store.oldest_hot_seq().await.unwrap(), Some(0));
    let report = verify(&app).await;
    assert_eq!(report["ok"], true);
    assert_eq!(report["highestArchivedSeq"], Value::Null);
    assert_eq!(report["oldestHotSeq"], 0);
}

on_both_backends!(
    a_missing_bucket_fails_the_run_with_the_reason_and_loses_nothing,
    an_unreachable_endpoint_fails_the_run_with_the_reason_and_loses_nothing,
);
