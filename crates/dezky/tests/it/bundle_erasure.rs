//! Offline bundles over archive batches an erasure rewrote: the bundle carries each batch's
//! current manifest (version 2, superseding the first one) and the events as the rewritten data
//! object holds them; it verifies with nothing but the file, and tampering with a superseding
//! manifest (edited, or rolled back to the first manifest) or with an erased event is named.

use crate::bundle_cli::{Setup, kinds, setup, stderr};
use crate::support::{folder_cold, s3_cold};
use dezky_chain::manifest::sha256_hex;
use dezky_testkit::TestBackend;
use serde_json::{Value, json};
use std::path::Path;

/// Events per archive batch in these tests (`AUDIT_ARCHIVE_BATCH_EVENTS` of `setup`).
const BATCH: u64 = 40;

/// A bundle's header and its event lines.
fn read(file: &Path) -> (Value, Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    let header = serde_json::from_str(&lines.next().unwrap()).unwrap();
    (header, lines.collect())
}

fn manifests(header: &Value) -> Vec<String> {
    header["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note.as_str().unwrap().to_owned())
        .collect()
}

fn flatten(ranges: &Value) -> Vec<u64> {
    ranges
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|range| range[0].as_u64().unwrap()..=range[1].as_u64().unwrap())
        .collect()
}

async fn a_bundle_over_rewritten_batches_verifies_and_tampering_is_named(setup: Setup) {
    setup.ingest("a", 75).await;
    setup.ingest("b", 75).await;
    let archived_size = setup.checkpoint().await;
    let run = setup
        .post("/api/v1/audit/archive/run", &setup.operator, json!({}))
        .await;
    assert_eq!(run["events"], archived_size, "{run}");
    let batch_count = archived_size.div_ceil(BATCH);
    // The batches' first (version 1) manifests, as a bundle written before the erasure has them.
    let before = setup.folder.join("before.bundle");
    let written = setup.bundle(0, archived_size - 1, &before);
    assert!(written.status.success(), "{}", stderr(&written));
    let first_manifests = manifests(&read(&before).0);
    assert_eq!(first_manifests.len() as u64, batch_count);

    // u3 has one event among the "a" events and one among the "b" events, in different batches.
    let erased = setup
        .post(
            "/api/v1/audit/erasure",
            &setup.operator,
            json!({ "actorEmail": "u3@x.example" }),
        )
        .await;
    let seqs = flatten(&erased["erasedSeqs"]);
    assert_eq!(seqs.len(), 2, "{erased}");
    assert_eq!(erased["archiveBatchesRewritten"], 2, "{erased}");
    let (cut, whole) = (seqs[0] / BATCH, seqs[1] / BATCH);
    assert!(cut < whole && whole + 1 < batch_count, "{seqs:?}");
    setup.ingest("c", 30).await;
    let size = setup.checkpoint().await;

    // From inside the first rewritten batch, over the second one (entirely), into the hot tail
    // (which holds the audit.erased record).
    let from = cut * BATCH + 1;
    let file = setup.folder.join("rewritten.bundle");
    let written = setup.bundle(from, size - 1, &file);
    assert!(written.status.success(), "{}", stderr(&written));
    let (output, report) = setup.verify(&file);
    assert!(output.status.success(), "{}\n{report}", stderr(&output));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["verifiedEvents"], size - from);
    assert_eq!(report["manifestsVerified"], batch_count);
    assert_eq!(report["batchesDataVerified"], batch_count - 1);
    assert_eq!(report["erasedWithoutRecordInRange"], json!([]), "{report}");
    let (header, lines) = read(&file);
    let current = manifests(&header);
    for (index, (note, first)) in current.iter().zip(&first_manifests).enumerate() {
        if [cut, whole].contains(&(index as u64)) {
            assert!(note.contains("\"v\":2"), "{note}");
            let supersedes = format!("\"supersedesManifestSha256\":\"{}\"", sha256_hex(first.as_bytes()));
            assert!(note.contains(&supersedes), "{note}");
        } else {
            assert_eq!(note, first, "batch {index} was not rewritten");
        }
    }
    // The only u3 event left with the address is the one ingested after the erasure ("c3").
    let record_seq = erased["recordSeq"].as_u64().unwrap();
    let with_address: Vec<u64> = lines
        .iter()
        .filter(|line| line.contains("u3@x.example"))
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert!(
        with_address.len() == 1 && with_address[0] > record_seq,
        "{with_address:?}"
    );
    let erased_line: Value = serde_json::from_str(&lines[(seqs[1] - from) as usize]).unwrap();
    assert_eq!(erased_line["seq"], seqs[1]);
    assert_eq!(erased_line["erased"], true);
    assert_eq!(erased_line["actorEmail"], Value::Null);

    // Archived batches only, from seq 0: the audit.erased record lies outside the range, so the
    // erased seqs are listed for the auditor, not reported as breaks.
    let archived_only = setup.folder.join("archived.bundle");
    let last = whole * BATCH + BATCH - 1;
    assert!(setup.bundle(0, last, &archived_only).status.success());
    let (output, report) = setup.verify(&archived_only);
    assert!(output.status.success(), "{report}");
    assert_eq!(report["batchesDataVerified"], whole + 1);
    assert_eq!(report["erasedWithoutRecordInRange"], json!(seqs), "{report}");

    // Tampering, each named with its kind at the rewritten batch.
    let whole_start = whole * BATCH;
    let tampered = |name: &str, change: &dyn Fn(&mut Value, &mut Vec<String>)| {
        let (mut header, mut lines) = (header.clone(), lines.clone());
        change(&mut header, &mut lines);
        let path = setup.folder.join(name);
        let mut text = header.to_string() + "\n";
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        let (output, report) = setup.verify(&path);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        kinds(&report)
    };
    // The superseding manifest edited to supersede another manifest.
    let other = sha256_hex(first_manifests[0].as_bytes());
    let edited = tampered("edited.bundle", &|header, _| {
        let note = current[whole as usize].replacen(&sha256_hex(first_manifests[whole as usize].as_bytes()), &other, 1);
        assert_ne!(note, current[whole as usize]);
        header["manifests"][whole as usize] = Value::String(note);
    });
    assert!(
        edited.contains(&("manifest-signature-mismatch".into(), Some(whole_start))),
        "{edited:?}"
    );
    // Rolled back to the batch's first manifest: validly signed and chained, but it signs the
    // data as it was before the erasure.
    let rolled_back = tampered("rolled-back.bundle", &|header, _| {
        header["manifests"][whole as usize] = Value::String(first_manifests[whole as usize].clone());
    });
    assert_eq!(
        rolled_back,
        vec![("archive-data-hash-mismatch".to_owned(), Some(whole_start))]
    );
    // The erased personal data written back into the event.
    let restored = tampered("unerased.bundle", &|_, lines| {
        let line = &mut lines[(seqs[1] - from) as usize];
        *line = line.replacen("\"actorEmail\":null", "\"actorEmail\":\"u3@x.example\"", 1);
    });
    assert!(
        restored.contains(&("event-hash-mismatch".into(), Some(seqs[1]))),
        "{restored:?}"
    );
    assert!(
        restored.contains(&("archive-data-hash-mismatch".into(), Some(whole_start))),
        "{restored:?}"
    );
    let _ = std::fs::remove_dir_all(&setup.folder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_a_folder() {
    let (settings, cold) = folder_cold();
    let setup = setup(TestBackend::Sqlite, settings).await;
    a_bundle_over_rewritten_batches_verifies_and_tampering_is_named(setup).await;
    let _ = std::fs::remove_dir_all(&cold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_s3() {
    let setup = setup(TestBackend::Postgres, s3_cold().await).await;
    a_bundle_over_rewritten_batches_verifies_and_tampering_is_named(setup).await;
}
