//! Cold storage that fails: the run stops cleanly, says why in the API response (`ok: false`,
//! `error`) and the log, and loses nothing; a later run carries on.
//!
//! The failures: a missing bucket, an unreachable endpoint, and credentials the server refuses
//! (moto's S3 server accepts any credentials, so a local stand-in in front of it answers as
//! S3 does for a bad key or a wrong secret, see `support::s3_gate`). A folder that cannot be
//! created stops `dezky serve` at start (see the `dezky` command tests).

use crate::support::app::TestApp;
use crate::support::cold::{Cold, batches, checkpoint, fill, run, s3_endpoint, spawn_cold, verify};
use crate::support::logs;
use crate::support::s3_gate::{Refusal, S3Gate};
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

/// Every event is still hot and nothing is recorded as archived.
async fn assert_all_hot(app: &TestApp) {
    assert!(batches(app).await.is_empty());
    let hot = app.store.events_in_order(None, u32::MAX).await.unwrap();
    assert_eq!(hot.len() as u64, app.event_count().await, "no hot row was deleted");
    assert_eq!(hot.first().map(|event| event.seq), Some(0));
}

async fn refused_credentials_fail_the_run_with_the_reason_and_lose_nothing(db: TestDatabase) {
    logs::capture();
    let Cold::Bucket { endpoint, bucket } = Cold::bucket().await else {
        unreachable!("a bucket")
    };
    let gate = S3Gate::start(&endpoint, Refusal::InvalidAccessKeyId).await;
    let through_gate = Cold::Bucket {
        endpoint: gate.endpoint.clone(),
        bucket: bucket.clone(),
    };
    let app = spawn_cold(db, &through_gate, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "20")]).await;
    fill(&app, 50).await;
    let size = checkpoint(&app).await;
    for refusal in [Refusal::InvalidAccessKeyId, Refusal::SignatureDoesNotMatch] {
        gate.refuse(refusal);
        let refused_before = gate.refused();
        let result = run(&app).await;
        assert!(gate.refused() > refused_before, "the run reached the stand-in");
        assert_eq!(result["ok"], false, "{result}");
        assert_eq!(
            (result["batches"].as_u64(), result["events"].as_u64()),
            (Some(0), Some(0))
        );
        let error = result["error"].as_str().unwrap();
        assert!(error.contains("refused the credentials"), "{error}");
        assert!(
            error.contains("AUDIT_COLD_ACCESS_KEY") && error.contains("AUDIT_COLD_SECRET_KEY"),
            "the message names what to check: {error}"
        );
        assert!(error.contains("audit/events/"), "{error}");
        assert!(error.contains(refusal.code()), "S3's own code is passed on: {error}");
        assert!(!error.contains('\n'), "one line: {error}");
        assert!(!result.to_string().contains("dezky-test-secret"));
        assert_all_hot(&app).await;
        assert_eq!(verify(&app).await["ok"], true);
        // The log says the same, once per run, on one line.
        let logged: Vec<String> = logs::lines_containing(&gate.endpoint)
            .into_iter()
            .filter(|line| line.contains(refusal.code()))
            .collect();
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("ERROR"), "{logged:?}");
        assert!(logged[0].contains("archive run failed"), "{logged:?}");
        assert!(logged[0].contains("refused the credentials"), "{logged:?}");
        assert!(!logged[0].contains("dezky-test-secret"), "{logged:?}");
    }

    // Once the server accepts the key, the next run archives everything that was held back,
    // into the real S3 server.
    gate.open();
    let result = run(&app).await;
    assert_eq!(result, json!({ "ok": true, "batches": 3, "events": size }));
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["highestArchivedSeq"], size - 1);
    let real = Cold::Bucket { endpoint, bucket };
    for batch in batches(&app).await {
        let manifest = real.read(batch["manifestKey"].as_str().unwrap()).await.unwrap();
        assert_eq!(
            dezky_chain::manifest::sha256_hex(&manifest),
            batch["manifestSha256"].as_str().unwrap()
        );
    }
}

on_both_backends!(
    a_missing_bucket_fails_the_run_with_the_reason_and_loses_nothing,
    an_unreachable_endpoint_fails_the_run_with_the_reason_and_loses_nothing,
    refused_credentials_fail_the_run_with_the_reason_and_lose_nothing,
);
