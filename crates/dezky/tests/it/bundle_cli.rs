//! `dezky archive bundle` and `dezky verify --bundle`: a range spanning archived batches and the
//! hot tail, written by one machine and verified with nothing but the file (the verify runs
//! get no database, no cold storage and no signing key file).

use crate::support::{Server, folder_cold, run, s3_cold, temp_database_and_key};
use dezky_testkit::{TestBackend, temp_folder};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

pub(crate) struct Setup {
    server: Server,
    pub(crate) operator: String,
    ingest: String,
    environment: Vec<(String, String)>,
    vkey: String,
    pub(crate) folder: PathBuf,
    _database: dezky_testkit::TestDatabase,
}

impl Setup {
    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        self.environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.server.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    pub(crate) async fn ingest(&self, prefix: &str, count: usize) {
        let events: Vec<Value> = (0..count)
            .map(|i| json!({ "externalId": format!("{prefix}{i}"), "action": "portal.viewed", "actorEmail": format!("u{i}@x.example") }))
            .collect();
        self.post("/api/v1/ingest/events", &self.ingest, json!({ "events": events }))
            .await;
    }

    pub(crate) async fn checkpoint(&self) -> u64 {
        let body = self.post("/api/v1/audit/checkpoint", &self.operator, json!({})).await;
        body["treeSize"].as_u64().unwrap()
    }

    pub(crate) fn bundle(&self, from: u64, to: u64, out: &Path) -> Output {
        let (from, to) = (from.to_string(), to.to_string());
        let out = out.display().to_string();
        run(
            &self.env(),
            &["archive", "bundle", "--from", &from, "--to", &to, "-o", &out],
        )
    }

    /// Verifies on "another machine": no variable at all, only the file and the pinned key.
    pub(crate) fn verify(&self, file: &Path) -> (Output, Value) {
        let file = file.display().to_string();
        let output = run(&[], &["verify", "--bundle", &file, "--key", &self.vkey]);
        let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (output, report)
    }
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn kinds(report: &Value) -> Vec<(String, Option<u64>)> {
    report["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["kind"].as_str().unwrap().to_owned(), b["seq"].as_u64()))
        .collect()
}

pub(crate) async fn setup(backend: TestBackend, cold: Vec<(String, String)>) -> Setup {
    let (database, key_file, vkey) = temp_database_and_key(backend).await;
    let mut environment = vec![
        ("DATABASE_URL".to_owned(), database.url.clone()),
        ("AUDIT_SIGNING_KEY_FILE".to_owned(), key_file.display().to_string()),
        ("AUDIT_HOT_RETENTION".to_owned(), "0s".to_owned()),
        ("AUDIT_ARCHIVE_BATCH_EVENTS".to_owned(), "40".to_owned()),
    ];
    environment.extend(cold);
    let folder = temp_folder("bundle-cli");
    let env: Vec<(&str, &str)> = environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env, &folder);
    let token = |arguments: &[&str]| {
        String::from_utf8(run(&env, arguments).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let operator = token(&["token", "create", "--operator"]);
    let ingest = token(&["token", "create", "--ingest", "portal"]);
    Setup {
        server,
        operator,
        ingest,
        environment,
        vkey,
        folder,
        _database: database,
    }
}

async fn a_bundle_across_tiers_verifies_offline_and_tampering_is_named(setup: Setup) {
    setup.ingest("a", 75).await;
    setup.ingest("b", 75).await;
    let archived_size = setup.checkpoint().await;
    let run_result = setup
        .post("/api/v1/audit/archive/run", &setup.operator, json!({}))
        .await;
    assert_eq!(run_result["ok"], true, "{run_result}");
    assert_eq!(run_result["events"], archived_size);
    setup.ingest("c", 30).await;
    let size = setup.checkpoint().await;
    assert!(size > archived_size + 30);

    // From inside the first batch, through three whole batches, into the hot tail.
    let file = setup.folder.join("range.bundle");
    let written = setup.bundle(25, size - 1, &file);
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(stderr(&written).contains("manifests"), "{}", stderr(&written));
    let (output, report) = setup.verify(&file);
    assert!(output.status.success(), "{}\n{report}", stderr(&output));
    assert_eq!(report["ok"], true);
    assert_eq!(report["verifiedEvents"], size - 25);
    let batches = archived_size.div_ceil(40);
    assert_eq!(report["manifestsVerified"], batches);
    assert_eq!(report["batchesDataVerified"], batches - 1);
    assert_eq!(report["keyFromBundle"], false);
    assert!(report["checkpointsVerified"].as_u64().unwrap() >= 1);
    // Lines 2.. are an export of the range, oldest first.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, size - 25 + 1);
    let first: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(first["seq"], 25);

    // A range of archived batches only, starting at seq 0 (a fully covered tree).
    let archived_only = setup.folder.join("archived.bundle");
    assert!(setup.bundle(0, 79, &archived_only).status.success());
    let (output, report) = setup.verify(&archived_only);
    assert!(output.status.success(), "{report}");
    assert_eq!(report["batchesDataVerified"], 2);

    // Tampering with the file: an event changed, a manifest signature, an event removed.
    let tampered = |name: &str, change: &dyn Fn(Vec<String>) -> Vec<String>| {
        let path = setup.folder.join(name);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        std::fs::write(&path, change(lines).join("\n") + "\n").unwrap();
        let (output, report) = setup.verify(&path);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(stderr(&output).contains("break(s)"), "{}", stderr(&output));
        kinds(&report)
    };
    let changed = tampered("changed.bundle", &|mut lines| {
        // Seq 60 is in the second batch, which the range covers entirely.
        lines[60 - 25 + 1] = lines[60 - 25 + 1].replacen("\"outcome\":\"success\"", "\"outcome\":\"denied\"", 1);
        lines
    });
    assert!(
        changed.contains(&("event-hash-mismatch".into(), Some(60))),
        "{changed:?}"
    );
    assert!(
        changed.contains(&("archive-data-hash-mismatch".into(), Some(40))),
        "{changed:?}"
    );
    assert!(
        changed.iter().any(|(kind, _)| kind == "checkpoint-root-mismatch"),
        "{changed:?}"
    );
    let manifest = tampered("manifest.bundle", &|mut lines| {
        let mut header: Value = serde_json::from_str(&lines[0]).unwrap();
        let note = header["manifests"][1].as_str().unwrap().to_owned();
        header["manifests"][1] = Value::String(note.replacen("\"eventCount\":40", "\"eventCount\":41", 1));
        lines[0] = header.to_string();
        lines
    });
    assert!(
        manifest.contains(&("manifest-signature-mismatch".into(), Some(40))),
        "{manifest:?}"
    );
    let missing = tampered("missing.bundle", &|mut lines| {
        lines.remove(100 - 25 + 1);
        lines
    });
    assert!(missing.contains(&("seq-gap".into(), Some(101))), "{missing:?}");
    assert!(
        missing.iter().any(|(kind, _)| kind == "checkpoint-root-mismatch"),
        "{missing:?}"
    );

    bad_input_is_named(&setup, size, &file).await;
    let _ = std::fs::remove_dir_all(&setup.folder);
}

async fn bad_input_is_named(setup: &Setup, size: u64, good: &Path) {
    let out = setup.folder.join("bad.bundle");
    let refused = |output: Output, words: &str| {
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(words),
            "expected '{words}' in: {}",
            stderr(&output)
        );
        assert!(!out.exists(), "a failed bundle leaves no file");
        assert!(!out.with_extension("partial").exists());
    };
    refused(setup.bundle(10, 5, &out), "--from 10 is above --to 5");
    refused(setup.bundle(0, size + 50, &out), "is beyond the log's last seq");
    // Events after the last checkpoint cannot be proven yet.
    setup.ingest("d", 3).await;
    refused(setup.bundle(0, size + 1, &out), "not covered by a signed checkpoint");
    refused(setup.bundle(0, 5, good), "exists already");
    let usage = run(
        &setup.env(),
        &["archive", "bundle", "--from", "x", "--to", "5", "-o", "f"],
    );
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("--from"), "{}", stderr(&usage));

    let missing = setup.folder.join("nowhere.bundle");
    let output = run(&[], &["verify", "--bundle", &missing.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nowhere.bundle"), "{}", stderr(&output));
    let export = setup.folder.join("export.jsonl");
    std::fs::write(&export, "{\"seq\":0}\n").unwrap();
    let output = run(&[], &["verify", "--bundle", &export.display().to_string()]);
    assert!(
        stderr(&output).contains("not a dezky audit bundle"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &[],
        &["verify", "--bundle", &good.display().to_string(), "--key", "garbage"],
    );
    assert!(stderr(&output).contains("--key"), "{}", stderr(&output));
    let output = run(
        &[],
        &["verify", "--bundle", &good.display().to_string(), "--jsonl", "x.jsonl"],
    );
    assert_eq!(output.status.code(), Some(2), "--bundle and --jsonl exclude each other");
    // Without --key the bundle's own key is used, and the auditor is told so.
    let output = run(&[], &["verify", "--bundle", &good.display().to_string()]);
    assert!(output.status.success());
    assert!(stderr(&output).contains("pin the log's key"), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_a_folder() {
    let (settings, cold) = folder_cold();
    let setup = setup(TestBackend::Sqlite, settings).await;
    a_bundle_across_tiers_verifies_offline_and_tampering_is_named(setup).await;
    let _ = std::fs::remove_dir_all(&cold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_s3() {
    let setup = setup(TestBackend::Postgres, s3_cold().await).await;
    a_bundle_across_tiers_verifies_offline_and_tampering_is_named(setup).await;
}
