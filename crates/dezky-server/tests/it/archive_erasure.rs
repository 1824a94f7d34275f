//! Erasure reaching the cold tier: archived batches holding the subject's events are rewritten
//! (new data object, superseding manifest, old objects deleted), restored copies follow, and
//! verification across tiers stays green; tampering with a rewritten batch is named like
//! tampering with an original one. On both databases, with a folder and with S3.

use crate::archive_read::{append, page, seqs, two_tiers};
use crate::support::app::TestApp;
use crate::support::cold::{Cold, batches, break_kinds, checkpoint, run, verify};
use dezky_server::archive::encode::decompress;
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn erase(app: &TestApp, email: &str) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/audit/erasure",
            &app.operator_token,
            &json!({ "actorEmail": email }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn flatten(ranges: &Value) -> Vec<u64> {
    ranges
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|range| range[0].as_u64().unwrap()..=range[1].as_u64().unwrap())
        .collect()
}

/// The seqs of user `n`'s events (see `append`: seq = i below 350, i + 4 above).
fn seqs_of_user(n: u64) -> Vec<u64> {
    (1..400)
        .filter(|i| i % 7 == n)
        .map(|i| if i >= 350 { i + 4 } else { i })
        .collect()
}

async fn erasure_rewrites_the_archive(db: TestDatabase, cold: Cold) {
    let app = two_tiers(db, &cold).await;
    let before = batches(&app).await;
    // A restored batch follows the erasure too.
    let restored_id = before[1]["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/audit/archives/{restored_id}/restore"),
            &app.operator_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let erased = erase(&app, "USER3@acme.example").await;
    assert_eq!(flatten(&erased["erasedSeqs"]), seqs_of_user(3));
    assert_eq!(erased["erasedEvents"], seqs_of_user(3).len());
    assert_eq!(erased["archiveBatchesRewritten"], 4);
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["archiveBatchesVerified"], 4);

    // New objects replace the old ones, which are gone; the new manifest supersedes the first.
    let after = batches(&app).await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old["id"], new["id"]);
        assert_eq!(
            (old["startSeq"].clone(), old["endSeq"].clone()),
            (new["startSeq"].clone(), new["endSeq"].clone())
        );
        for key in ["dataKey", "manifestKey", "manifestSha256"] {
            assert_ne!(old[key], new[key], "{key}");
        }
        for key in ["dataKey", "manifestKey"] {
            assert_eq!(cold.read(old[key].as_str().unwrap()).await, None, "{key} deleted");
        }
        let manifest = String::from_utf8(cold.read(new["manifestKey"].as_str().unwrap()).await.unwrap()).unwrap();
        assert!(manifest.contains("\"v\":2"), "{manifest}");
        assert!(
            manifest.contains(&format!("\"supersedesManifestSha256\":{}", old["manifestSha256"])),
            "{manifest}"
        );
        let data = cold.read(new["dataKey"].as_str().unwrap()).await.unwrap();
        let lines = String::from_utf8(decompress(&data).unwrap()).unwrap();
        assert!(!lines.contains("user3@acme.example"));
        assert!(lines.contains("user4@acme.example"));
    }

    // Reads of every tier (cold, restored, hot) show the events erased.
    let found = page(&app, "includeArchived=true&actorEmail=user3@acme.example&limit=500").await;
    assert_eq!(found["events"], json!([]));
    for (seq, tier) in [(3, "cold"), (101, "restored"), (357, "hot")] {
        let one = page(&app, &format!("includeArchived=true&limit=1&before={}", seq + 1)).await;
        let event = &one["events"][0];
        assert_eq!(event["seq"], seq, "{tier}");
        assert_eq!(event["erased"], true, "{tier}: {event}");
        assert_eq!(event["actorEmail"], Value::Null, "{tier}");
        assert_eq!(event["resourceName"], Value::Null, "{tier}");
    }

    // Nothing left to erase; a second subject rewrites the batches again (revision 2).
    let again = erase(&app, "user3@acme.example").await;
    assert_eq!(again["erasedEvents"], 0);
    assert_eq!(again["recordSeq"], Value::Null);
    assert_eq!(again["archiveBatchesRewritten"], 0);
    let second = erase(&app, "user5@acme.example").await;
    assert_eq!(flatten(&second["erasedSeqs"]), seqs_of_user(5));
    assert_eq!(second["archiveBatchesRewritten"], 4);
    for (old, new) in after.iter().zip(&batches(&app).await) {
        assert_eq!(cold.read(old["dataKey"].as_str().unwrap()).await, None);
        assert_ne!(old["manifestSha256"], new["manifestSha256"]);
    }
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");

    // Archiving the rest (erased events and erasure records included) keeps it green.
    append(&app, 400, 420).await;
    checkpoint(&app).await;
    assert_eq!(run(&app).await["ok"], true);
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["archiveBatchesVerified"], 5);
    let everything = page(&app, "includeArchived=true&limit=500").await;
    let listed = seqs(everything["events"].as_array().unwrap());
    assert_eq!(listed.len() as u64, app.event_count().await);
}

async fn erasure_rewrites_a_folder_archive(db: TestDatabase) {
    erasure_rewrites_the_archive(db, Cold::folder()).await;
}

async fn erasure_rewrites_an_s3_archive(db: TestDatabase) {
    erasure_rewrites_the_archive(db, Cold::bucket().await).await;
}

/// A rewritten batch is guarded like an original one: its superseding manifest edited, the
/// batch rolled back to its first objects (which still hold the erased personal data), or its
/// objects deleted, each named with its kind.
async fn tampering_with_rewritten_batches_is_detected_with_its_kind(db: TestDatabase) {
    let cold = Cold::folder();
    let app = two_tiers(db, &cold).await;
    let before = batches(&app).await;
    let key = |batches: &[Value], index: usize, field: &str| batches[index][field].as_str().unwrap().to_owned();
    let first_manifest = cold.read(&key(&before, 1, "manifestKey")).await.unwrap();
    let first_data = cold.read(&key(&before, 1, "dataKey")).await.unwrap();
    assert_eq!(erase(&app, "user3@acme.example").await["archiveBatchesRewritten"], 4);
    assert_eq!(verify(&app).await["ok"], true);
    let after = batches(&app).await;

    let manifest = String::from_utf8(cold.read(&key(&after, 0, "manifestKey")).await.unwrap()).unwrap();
    let edited = manifest.replacen("\"bytesCompressed\":", "\"bytesCompressed\":1", 1);
    assert_ne!(edited, manifest);
    cold.write(&key(&after, 0, "manifestKey"), edited.into_bytes()).await;
    cold.write(&key(&after, 1, "manifestKey"), first_manifest).await;
    cold.write(&key(&after, 1, "dataKey"), first_data).await;
    cold.remove(&key(&after, 2, "manifestKey")).await;
    cold.remove(&key(&after, 2, "dataKey")).await;

    let report = verify(&app).await;
    assert_eq!(report["ok"], false);
    let kinds = break_kinds(&report);
    for expected in [
        ("manifest-signature-mismatch", 0),
        ("manifest-signature-mismatch", 100),
        ("archive-data-hash-mismatch", 100),
        ("archive-missing", 200),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_owned(), Some(expected.1))),
            "{expected:?} in {report}"
        );
    }
    // The last rewritten batch is untouched: only the chain reports the hole before it.
    let archive_kinds = [
        "manifest-signature-mismatch",
        "archive-data-hash-mismatch",
        "archive-missing",
    ];
    assert!(
        !kinds
            .iter()
            .any(|(kind, seq)| archive_kinds.contains(&kind.as_str()) && *seq == Some(300)),
        "{report}"
    );
}

on_both_backends!(
    erasure_rewrites_a_folder_archive,
    erasure_rewrites_an_s3_archive,
    tampering_with_rewritten_batches_is_detected_with_its_kind,
);
