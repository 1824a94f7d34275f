//! Cold storage end to end, on both databases and on both kinds of cold storage (a local folder
//! and a real S3 server): large archives in several batches, runs stopped at every step,
//! tampering with each tier, and S3 failures that lose nothing.

use crate::support::app::{TestApp, error_code, now, spawn};
use crate::support::cold::{Cold, batches, break_kinds, checkpoint, execute, fill, run, spawn_cold, verify};
use dezky_chain::merkle::{Hash, verify_inclusion};
use dezky_core::{Action, ActorType, NewAuditEvent, Source};
use dezky_server::archive::run::{Archiver, Step};
use dezky_server::clock::SystemClock;
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

fn hash(value: &Value) -> Hash {
    dezky_chain::leaf::parse_hash(value.as_str().unwrap()).unwrap()
}

/// Every seq below the log's size is in exactly one place: a recorded batch, or hot storage
/// (a batch recorded but not yet deleted counts once: its rows are hidden from verification).
async fn assert_nothing_lost_or_duplicated(app: &TestApp) {
    let size = app.event_count().await;
    let recorded = batches(app).await;
    let mut next = 0;
    for batch in &recorded {
        assert_eq!(batch["startSeq"].as_u64().unwrap(), next, "{recorded:?}");
        next = batch["endSeq"].as_u64().unwrap() + 1;
    }
    let oldest_hot = app.store.oldest_hot_seq().await.unwrap().unwrap();
    assert!(oldest_hot <= next, "seqs {next}..{oldest_hot} are in neither tier");
    let hot = app
        .store
        .events_in_order(oldest_hot.checked_sub(1), u32::MAX)
        .await
        .unwrap();
    assert_eq!(hot.first().unwrap().seq, oldest_hot);
    assert_eq!(
        hot.len() as u64,
        size - oldest_hot,
        "hot rows are contiguous up to the head"
    );
    let report = verify(app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["verifiedEvents"].as_u64().unwrap(), size, "{report}");
}

async fn large_archive(app: &TestApp) {
    fill(app, 100_000).await;
    let size = checkpoint(app).await;
    assert_eq!(size, 100_001);
    let result = run(app).await;
    assert_eq!(result, json!({ "ok": true, "batches": 3, "events": size }));
    let recorded = batches(app).await;
    assert_eq!(recorded.len(), 3);
    let counts: Vec<u64> = recorded.iter().map(|b| b["eventCount"].as_u64().unwrap()).collect();
    assert_eq!(counts, vec![40_000, 40_000, 20_001]);
    for batch in &recorded {
        assert!(batch["bytesCompressed"].as_u64().unwrap() < batch["bytesUncompressed"].as_u64().unwrap());
        assert!(batch["dataKey"].as_str().unwrap().starts_with("audit/events/"));
        assert!(batch["manifestKey"].as_str().unwrap().starts_with("audit/manifests/"));
        assert!(batch["archivedAt"].as_str().unwrap().ends_with('Z'));
        assert!(batch["id"].as_str().unwrap().starts_with("arc_"));
    }
    // Only the three audit.archived events are hot now.
    let hot = app.store.events_in_order(None, 10).await.unwrap();
    assert_eq!(hot.len(), 3);
    assert!(hot.iter().all(|event| event.action.as_str() == "audit.archived"));
    assert_eq!(hot[0].metadata["startSeq"], 0);
    let report = verify(app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["highestArchivedSeq"], size - 1);
    assert_eq!(report["oldestHotSeq"], size);
    assert_eq!(report["verifiedEvents"], size + 3);
    assert_eq!(report["archiveBatchesVerified"], 3);
    // Inclusion proofs for archived events still work: their leaf hashes stayed hot.
    let tree_size = checkpoint(app).await;
    for seq in [0, 39_999, 40_000, 99_999] {
        let (status, proof) = app
            .get(
                &format!("/api/v1/audit/proof/inclusion?seq={seq}&treeSize={tree_size}"),
                &app.operator_token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let path: Vec<Hash> = proof["path"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_inclusion(
            &hash(&proof["leafHash"]),
            seq,
            tree_size,
            &path,
            &hash(&proof["rootHash"])
        ));
    }
    // The next run archives what the new checkpoint covers: the three audit.archived events.
    let again = run(app).await;
    assert_eq!(again, json!({ "ok": true, "batches": 1, "events": 3 }));
    assert_nothing_lost_or_duplicated(app).await;
}

async fn a_large_log_archives_to_a_folder_in_several_batches(db: TestDatabase) {
    let cold = Cold::folder();
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "40000")]).await;
    large_archive(&app).await;
}

async fn a_large_log_archives_to_s3_in_several_batches(db: TestDatabase) {
    let cold = Cold::bucket().await;
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "40000")]).await;
    large_archive(&app).await;
    let first = &batches(&app).await[0];
    let manifest = cold.read(first["manifestKey"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        dezky_chain::manifest::sha256_hex(&manifest),
        first["manifestSha256"].as_str().unwrap()
    );
}

async fn a_run_stopped_after_any_step_loses_and_duplicates_nothing(db: TestDatabase) {
    let cold = Cold::bucket().await;
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "100")]).await;
    let archiver = app.archiver.clone().unwrap();
    for (round, step) in [Step::Upload, Step::Confirm, Step::Record, Step::Delete]
        .into_iter()
        .enumerate()
    {
        fill_round(&app, round as u64).await;
        checkpoint(&app).await;
        let before = batches(&app).await.len();
        let failure = archiver.run_stopping_after(Some(step)).await.unwrap_err();
        assert!(
            failure.error.to_string().contains(&format!("{step:?}")),
            "{}",
            failure.error
        );
        let recorded = batches(&app).await.len();
        match step {
            Step::Upload | Step::Confirm => assert_eq!(recorded, before, "{step:?}"),
            Step::Record | Step::Delete => assert_eq!(recorded, before + 1, "{step:?}"),
        }
        assert_nothing_lost_or_duplicated(&app).await;
        // The retry finishes the job, idempotently.
        let result = run(&app).await;
        assert_eq!(result["ok"], true, "{result}");
        assert_nothing_lost_or_duplicated(&app).await;
    }
    let report = verify(&app).await;
    assert!(
        report["highestArchivedSeq"].as_u64().unwrap() >= 4 * 250 - 1,
        "{report}"
    );
}

async fn two_instances_archiving_at_once_record_each_range_once(db: TestDatabase) {
    let cold = Cold::bucket().await;
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "500")]).await;
    fill(&app, 3_000).await;
    let size = checkpoint(&app).await;
    // A second instance: its own connection pool and sequencer on the same database, the same
    // signing key and the same bucket.
    let other_store = dezky_store::open(&app.database_url).await.unwrap();
    let other = Archiver::new(
        other_store,
        cold.client(),
        app.signer.clone(),
        Arc::new(SystemClock),
        std::time::Duration::ZERO,
        500,
    );
    let ours = app.archiver.clone().unwrap();
    let (first, second) = tokio::join!(ours.run(), other.run());
    let (first, second) = (first.unwrap(), second.unwrap());
    // Between them, every checkpointed event left hot storage exactly once (the loser of a
    // race stops, so a third run may be needed to finish).
    let third = ours.run().await.unwrap();
    assert_eq!(
        first.events + second.events + third.events,
        size,
        "{first:?} {second:?} {third:?}"
    );
    let recorded = batches(&app).await;
    assert_eq!(
        recorded.iter().map(|b| b["eventCount"].as_u64().unwrap()).sum::<u64>(),
        size
    );
    assert_nothing_lost_or_duplicated(&app).await;
}

async fn fill_round(app: &TestApp, round: u64) {
    let source = Source::parse("portal").unwrap();
    let events = (0..250)
        .map(|i| {
            let mut event = NewAuditEvent::new(
                now(),
                ActorType::User,
                Action::parse("portal.signed_in").unwrap(),
                source.clone(),
            );
            event.external_id = Some(format!("r{round}-{i}"));
            event.actor_email = Some("erin@acme.example".into());
            event
        })
        .collect();
    app.store.append_events(events, now()).await.unwrap();
}

async fn tampering_with_a_folder_archive_is_detected_with_its_kind(db: TestDatabase) {
    tampering_is_detected(db, Cold::folder()).await;
}

async fn tampering_with_an_s3_archive_is_detected_with_its_kind(db: TestDatabase) {
    tampering_is_detected(db, Cold::bucket().await).await;
}

async fn tampering_is_detected(db: TestDatabase, cold: Cold) {
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "100")]).await;
    fill(&app, 350).await;
    checkpoint(&app).await;
    assert_eq!(run(&app).await["batches"], 4);
    assert_eq!(verify(&app).await["ok"], true);
    let recorded = batches(&app).await;
    let key = |index: usize, field: &str| recorded[index][field].as_str().unwrap().to_owned();

    // A changed event inside an archived data object (recompressed, so it still reads).
    let data = cold.read(&key(1, "dataKey")).await.unwrap();
    let lines = dezky_server::archive::encode::decompress(&data).unwrap();
    let text = String::from_utf8(lines)
        .unwrap()
        .replacen("\"outcome\":\"success\"", "\"outcome\":\"denied\"", 1);
    let mut events = dezky_server::archive::encode::parse_lines(text.as_bytes()).unwrap();
    events.truncate(100);
    cold.write(
        &key(1, "dataKey"),
        dezky_server::archive::encode::encode_events(&events).compressed,
    )
    .await;
    // A manifest edited after signing.
    let manifest = String::from_utf8(cold.read(&key(2, "manifestKey")).await.unwrap()).unwrap();
    cold.write(
        &key(2, "manifestKey"),
        manifest
            .replacen("\"bytesCompressed\":", "\"bytesCompressed\":1", 1)
            .into_bytes(),
    )
    .await;
    // A batch whose objects were deleted.
    cold.remove(&key(3, "dataKey")).await;
    cold.remove(&key(3, "manifestKey")).await;

    let report = verify(&app).await;
    assert_eq!(report["ok"], false);
    let kinds = break_kinds(&report);
    assert!(
        kinds.contains(&("archive-data-hash-mismatch".into(), Some(100))),
        "{report}"
    );
    assert!(kinds.contains(&("event-hash-mismatch".into(), Some(100))), "{report}");
    assert!(
        kinds.contains(&("manifest-signature-mismatch".into(), Some(200))),
        "{report}"
    );
    assert!(kinds.contains(&("archive-missing".into(), Some(300))), "{report}");
    assert!(
        !kinds
            .iter()
            .any(|(kind, seq)| kind == "archive-data-hash-mismatch" && *seq == Some(0)),
        "{report}"
    );
}

async fn a_missing_batch_record_is_an_archive_seq_discontinuity(db: TestDatabase) {
    let cold = Cold::folder();
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "100")]).await;
    fill(&app, 150).await;
    checkpoint(&app).await;
    assert_eq!(run(&app).await["batches"], 2);
    // The append-only trigger refuses to forget a batch...
    let forget = "DELETE FROM archive_batches WHERE start_seq = 0";
    assert!(execute(&app, &[forget]).await.unwrap_err().contains("append-only"));
    // ...and when someone disables it, verification notices the hole.
    let disable = match app.backend {
        TestBackend::Sqlite => "DROP TRIGGER archive_batches_no_delete",
        TestBackend::Postgres => "ALTER TABLE archive_batches DISABLE TRIGGER USER",
    };
    execute(&app, &[disable, forget]).await.unwrap();
    let report = verify(&app).await;
    assert_eq!(report["ok"], false);
    assert!(
        break_kinds(&report).contains(&("archive-seq-discontinuity".into(), Some(0))),
        "{report}"
    );
}

async fn hot_rows_can_only_leave_through_the_audited_archive_path(db: TestDatabase) {
    let cold = Cold::folder();
    let app = spawn_cold(db, &cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "100")]).await;
    fill(&app, 120).await;
    checkpoint(&app).await;
    let archiver = app.archiver.clone().unwrap();
    archiver.run_stopping_after(Some(Step::Record)).await.unwrap_err();
    // Seqs 0..=99 are in a recorded batch and still hot; without the gate they cannot go.
    let delete = "DELETE FROM audit_events WHERE seq = 5";
    assert!(execute(&app, &[delete]).await.unwrap_err().contains("append-only"));
    // With the gate open, rows outside any recorded batch still cannot go.
    let open = match app.backend {
        TestBackend::Sqlite => "INSERT INTO archive_gate (open) VALUES (1)",
        TestBackend::Postgres => "SET LOCAL dezky.archive = 'on'",
    };
    let outside = "DELETE FROM audit_events WHERE seq = 110";
    assert!(
        execute(&app, &[open, outside])
            .await
            .unwrap_err()
            .contains("append-only")
    );
    let truncate_or_all = match app.backend {
        TestBackend::Sqlite => "DELETE FROM audit_events",
        TestBackend::Postgres => "TRUNCATE audit_events",
    };
    let refused = execute(&app, &[truncate_or_all]).await.unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    assert_eq!(run(&app).await["ok"], true);
    let (_, page) = app.get("/api/v1/audit?limit=500", &app.operator_token).await;
    let archived_events: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == "audit.archived")
        .collect();
    assert_eq!(archived_events.len(), 2, "{page}");
    assert!(archived_events.iter().all(|event| event["actorId"] == "dezky"));
    assert_eq!(verify(&app).await["ok"], true);
}

async fn without_cold_storage_runs_are_refused_and_only_operators_archive(db: TestDatabase) {
    let app = spawn(db).await;
    let (status, body) = app
        .post("/api/v1/audit/archive/run", &app.operator_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "archive_not_configured");
    let tenant = app.tenant_token("acme").await;
    let (status, body) = app.post("/api/v1/audit/archive/run", &tenant, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.get("/api/v1/audit/archives", &tenant).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(batches(&app).await, Vec::<Value>::new());
}

/// The server-side encryption moto reports for an object (it answers any signature, and HEAD
/// carries `x-amz-server-side-encryption` only for objects stored with it).
async fn encryption_of(cold: &Cold, key: &str) -> Option<String> {
    let Cold::Bucket { endpoint, bucket } = cold else {
        unreachable!("a bucket")
    };
    let response = reqwest::Client::new()
        .head(format!("{endpoint}/{bucket}/{key}"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=dezky-test/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{key}");
    response
        .headers()
        .get("x-amz-server-side-encryption")
        .map(|value| value.to_str().unwrap().to_owned())
}

async fn with_audit_cold_sse_every_object_is_stored_encrypted(db: TestDatabase) {
    let cold = Cold::bucket().await;
    let app = spawn_cold(
        db,
        &cold,
        &[("AUDIT_COLD_SSE", "true"), ("AUDIT_ARCHIVE_BATCH_EVENTS", "20")],
    )
    .await;
    fill(&app, 30).await;
    let size = checkpoint(&app).await;
    assert_eq!(run(&app).await, json!({ "ok": true, "batches": 2, "events": size }));
    for batch in batches(&app).await {
        for key in ["dataKey", "manifestKey"] {
            let key = batch[key].as_str().unwrap();
            assert_eq!(encryption_of(&cold, key).await.as_deref(), Some("AES256"), "{key}");
        }
    }
    // The check tells the difference: an object written without the setting has none.
    cold.write("audit/plain", b"plain".to_vec()).await;
    assert_eq!(encryption_of(&cold, "audit/plain").await, None);
    assert_eq!(verify(&app).await["ok"], true);
}

on_both_backends!(
    a_large_log_archives_to_a_folder_in_several_batches,
    a_large_log_archives_to_s3_in_several_batches,
    a_run_stopped_after_any_step_loses_and_duplicates_nothing,
    two_instances_archiving_at_once_record_each_range_once,
    tampering_with_a_folder_archive_is_detected_with_its_kind,
    tampering_with_an_s3_archive_is_detected_with_its_kind,
    a_missing_batch_record_is_an_archive_seq_discontinuity,
    hot_rows_can_only_leave_through_the_audited_archive_path,
    without_cold_storage_runs_are_refused_and_only_operators_archive,
    with_audit_cold_sse_every_object_is_stored_encrypted,
);
