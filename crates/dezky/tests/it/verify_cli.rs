//! `dezky keygen` and `dezky verify --jsonl`: an auditor checks an export with the public key.

use crate::support::{Server, run, temp_database_and_key};
use dezky_testkit::{TestBackend, temp_folder};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_log_verifies_offline_and_an_edited_export_does_not() {
    let (database, key_file, vkey) = temp_database_and_key(TestBackend::Sqlite).await;
    let key_path = key_file.to_str().unwrap().to_owned();
    let environment = [
        ("DATABASE_URL", database.url.as_str()),
        ("AUDIT_SIGNING_KEY_FILE", key_path.as_str()),
    ];
    let folder = temp_folder("verify-cli");
    let server = Server::start(&environment, &folder);
    let ingest = String::from_utf8(run(&environment, &["token", "create", "--ingest", "portal"]).stdout).unwrap();
    let operator = String::from_utf8(run(&environment, &["token", "create", "--operator"]).stdout).unwrap();
    let client = reqwest::Client::new();
    let events: Vec<Value> = (0..120)
        .map(|i| json!({ "externalId": format!("e{i}"), "action": "portal.viewed", "actorEmail": format!("u{i}@x.example") }))
        .collect();
    let response = client
        .post(format!("{}/api/v1/ingest/events", server.base))
        .bearer_auth(ingest.trim())
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let checkpoint: Value = client
        .post(format!("{}/api/v1/audit/checkpoint", server.base))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let export = client
        .get(format!("{}/api/v1/audit/export?format=jsonl&order=asc", server.base))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(export.lines().count() as u64, checkpoint["treeSize"].as_u64().unwrap());
    let export_file = folder.join("export.jsonl");
    let note_file = folder.join("checkpoint.note");
    std::fs::write(&export_file, &export).unwrap();
    std::fs::write(&note_file, checkpoint["note"].as_str().unwrap()).unwrap();
    let arguments = |file: &std::path::Path| {
        vec![
            "verify".to_owned(),
            "--jsonl".to_owned(),
            file.display().to_string(),
            "--key".to_owned(),
            vkey.clone(),
            "--checkpoint".to_owned(),
            note_file.display().to_string(),
        ]
    };
    let run_args = |arguments: Vec<String>| run(&[], &arguments.iter().map(String::as_str).collect::<Vec<_>>());
    let good = run_args(arguments(&export_file));
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let report: Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["checkpointsVerified"], 1);

    let edited_file = folder.join("edited.jsonl");
    std::fs::write(&edited_file, export.replacen("u7@x.example", "u8@x.example", 1)).unwrap();
    let bad = run_args(arguments(&edited_file));
    assert_eq!(bad.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let kinds: Vec<&str> = report["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"event-hash-mismatch") && kinds.contains(&"checkpoint-root-mismatch"),
        "{kinds:?}"
    );

    let refused = run(&[], &["keygen", "--out", &key_path]);
    assert_eq!(refused.status.code(), Some(1), "keygen never overwrites a key");
    drop(server);
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::remove_dir_all(key_file.parent().unwrap());
}
