//! Two `dezky serve` processes on one PostgreSQL database, appending concurrently, produce one
//! gapless chain that verifies — through the API and offline with only the public key.

use crate::support::{Server, run, temp_database_and_key};
use dezky_testkit::{TestBackend, temp_folder};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TASKS_PER_SERVER: usize = 2;
const BATCHES_PER_TASK: usize = 25;
const EVENTS_PER_BATCH: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_keep_one_verifiable_chain() {
    let (database, key_file, vkey) = temp_database_and_key(TestBackend::Postgres).await;
    let key_path = key_file.to_str().unwrap().to_owned();
    let environment = [
        ("DATABASE_URL", database.url.as_str()),
        ("AUDIT_SIGNING_KEY_FILE", key_path.as_str()),
        // Both instances' checkpoint workers run while the appends race.
        ("AUDIT_CHECKPOINT_EVERY_EVENTS", "300"),
    ];
    let (folder_a, folder_b) = (temp_folder("instance-a"), temp_folder("instance-b"));
    let servers = [
        Server::start(&environment, &folder_a),
        Server::start(&environment, &folder_b),
    ];
    let token = String::from_utf8(run(&environment, &["token", "create", "--ingest", "portal"]).stdout).unwrap();
    let token = token.trim().to_owned();

    let client = reqwest::Client::new();
    let mut tasks = vec![];
    for (server_index, server) in servers.iter().enumerate() {
        for task in 0..TASKS_PER_SERVER {
            let (client, url, token) = (
                client.clone(),
                format!("{}/api/v1/ingest/events", server.base),
                token.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for batch in 0..BATCHES_PER_TASK {
                    let events: Vec<Value> = (0..EVENTS_PER_BATCH)
                        .map(|i| json!({ "externalId": format!("{server_index}-{task}-{batch}-{i}"), "action": "portal.clicked" }))
                        .collect();
                    let response = client.post(&url).bearer_auth(&token).json(&json!({ "events": events })).send().await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let published = 2 * TASKS_PER_SERVER * BATCHES_PER_TASK * EVENTS_PER_BATCH;

    let operator = String::from_utf8(run(&environment, &["token", "create", "--operator"]).stdout).unwrap();
    let forced = client
        .post(format!("{}/api/v1/audit/checkpoint", servers[1].base))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), StatusCode::OK);
    let report: Value = client
        .get(format!("{}/api/v1/audit/verify", servers[0].base))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    // Token creations (ingest, operator, and the bootstrap token of whichever instance started
    // first) are audited too; what matters is one gapless chain holding every published event.
    let verified = report["verifiedEvents"].as_u64().unwrap();
    assert!(verified >= published as u64 + 2, "{report}");
    assert_eq!(
        report["headSeq"].as_u64().unwrap() + 1,
        verified,
        "gapless from 0: {report}"
    );
    assert!(report["checkpointsVerified"].as_u64().unwrap() >= 2, "{report}");

    // Offline, with only the public key.
    let offline = run(&[("DATABASE_URL", database.url.as_str())], &["verify", "--key", &vkey]);
    assert!(offline.status.success(), "{}", String::from_utf8_lossy(&offline.stderr));
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(offline["ok"], true);
    assert_eq!(offline["checkpointsVerified"], report["checkpointsVerified"]);
    drop(servers);
    for folder in [folder_a, folder_b, key_file.parent().unwrap().to_path_buf()] {
        let _ = std::fs::remove_dir_all(folder);
    }
}
