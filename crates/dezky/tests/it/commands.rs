//! The commands' contract: what they print, where, and how they fail.

use crate::support::{Server, run};
use dezky_testkit::{TestBackend, TestDatabase, temp_folder};
use reqwest::StatusCode;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn first_start_prints_the_address_and_a_working_bootstrap_token_then_stops_on_sigterm() {
    let data_dir = temp_folder("serve");
    let server = Server::start(&[], &data_dir);
    assert!(
        data_dir.join("dezky.db").exists(),
        "SQLite file created in the data directory"
    );
    let token = server
        .banner
        .split_whitespace()
        .find(|word| word.starts_with("dzk_"))
        .unwrap_or_else(|| panic!("no bootstrap token in: {}", server.banner))
        .to_owned();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/audit", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.terminate(), Some(0), "graceful shutdown exits 0");

    // Second start: an operator token exists, so no new one is printed.
    let again = Server::start(&[], &data_dir);
    assert!(!again.banner.contains("dzk_"), "{}", again.banner);
    drop(again);
    let _ = std::fs::remove_dir_all(&data_dir);
}

async fn token_create_works_while_serve_runs(backend: TestBackend) {
    let database = TestDatabase::create(backend).await;
    let data_dir = temp_folder("tokens");
    let environment = [("DATABASE_URL", database.url.as_str())];
    let server = Server::start(&environment, &data_dir);
    let output = run(
        &environment,
        &["token", "create", "--tenant", "acme", "--name", "acme reader"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "stdout holds only the token: {printed:?}");
    assert!(lines[0].starts_with("dzk_"));
    let client = reqwest::Client::new();
    let status = |path: &str| {
        let request = client.get(format!("{}{path}", server.base)).bearer_auth(lines[0]);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status("/api/v1/tenants/acme/audit").await, StatusCode::OK);
    assert_eq!(status("/api/v1/tenants/globex/audit").await, StatusCode::FORBIDDEN);

    let listed = stdout(&run(&environment, &["token", "list"]));
    let id = listed
        .lines()
        .find(|line| line.contains("acme reader"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    let revoke = run(&environment, &["token", "revoke", &id]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    assert_eq!(status("/api/v1/tenants/acme/audit").await, StatusCode::UNAUTHORIZED);
    let again = run(&environment, &["token", "revoke", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("no active token"), "{}", stderr(&again));
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn token_create_works_while_serve_runs_on_sqlite() {
    token_create_works_while_serve_runs(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn token_create_works_while_serve_runs_on_postgres() {
    token_create_works_while_serve_runs(TestBackend::Postgres).await;
}

#[test]
fn invalid_configuration_names_the_variable_and_exits_2() {
    let cases = [
        ("DEZKY_LISTEN", "nowhere", "serve"),
        ("DATABASE_URL", "mysql://root@db/x", "migrate"),
        ("AUTHENTIK_ISSUER", "auth.example.com", "serve"),
        ("DEZKY_TRUSTED_PROXIES", "10.0.0.0/40", "config"),
    ];
    for (variable, value, command) in cases {
        let arguments: Vec<&str> = if command == "config" {
            vec!["config", "check"]
        } else {
            vec![command]
        };
        let output = run(&[(variable, value)], &arguments);
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let message = stderr(&output);
        assert!(message.contains(variable), "{variable}: {message}");
        assert!(
            !message.contains("panicked") && !message.contains("backtrace"),
            "{message}"
        );
    }
}

#[test]
fn an_unreadable_signing_key_stops_start_up_with_its_variable_named() {
    let folder = temp_folder("bad-key");
    let key = folder.join("audit-signing.key");
    std::fs::write(&key, "not a key").unwrap();
    let output = run(
        &[("AUDIT_SIGNING_KEY_FILE", key.to_str().unwrap())],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            folder.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("AUDIT_SIGNING_KEY_FILE"), "{message}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn bad_arguments_are_named() {
    let output = run(&[], &["token", "create", "--ingest", "stalwart"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("reserved"), "{}", stderr(&output));
    let output = run(&[], &["token", "create"]);
    assert_eq!(output.status.code(), Some(2), "clap usage error");
    let output = run(&[], &["token", "create", "--tenant", "Not_A_Slug"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Not_A_Slug"));
}

#[test]
fn unreachable_postgres_fails_fast_with_a_clear_error() {
    let started = std::time::Instant::now();
    let output = run(
        &[("DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/dezky")],
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("DATABASE_URL") && message.contains("cannot open the database"),
        "{message}"
    );
    assert!(!message.contains("secret"), "password redacted: {message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test]
async fn migrate_and_config_check_report_the_database() {
    let database = TestDatabase::create(TestBackend::Postgres).await;
    let environment = [("DATABASE_URL", database.url.as_str())];
    let migrate = run(&environment, &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let check = run(&environment, &["config", "check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("database check    ok (0 events)"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn serve_refuses_to_start_when_the_cold_folder_cannot_be_created() {
    let parent = temp_folder("cold-file");
    let file = parent.join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let below_a_file = file.join("cold").display().to_string();
    let data_dir = parent.join("data").display().to_string();
    let output = run(
        &[("AUDIT_COLD_DIR", below_a_file.as_str())],
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("AUDIT_COLD_DIR") && message.contains("not-a-folder/cold"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&parent);
}

/// `dezky verify | head -1`: once the reader has gone, the command ends quietly with the
/// status a process killed by SIGPIPE has, instead of a panic and a backtrace.
#[tokio::test]
async fn output_to_a_closed_pipe_ends_quietly() {
    let database = TestDatabase::create(TestBackend::Sqlite).await;
    let environment = [("DATABASE_URL", database.url.as_str())];
    let migrate = run(&environment, &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    // The reader is gone before the command starts, so its report cannot get through.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = crate::support::dezky(&environment)
        .arg("verify")
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .output()
        .expect("run dezky verify");
    assert_eq!(output.status.code(), Some(141), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

/// `dezky serve | head -1`: a banner nobody reads any more does not stop the service.
#[tokio::test]
async fn serve_keeps_serving_when_nobody_reads_its_banner() {
    let folder = temp_folder("closed-banner");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut serve = crate::support::dezky(&[])
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(&folder)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn dezky serve");
    drop(serve.stdout.take());
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut answered = false;
    while std::time::Instant::now() < deadline && !answered {
        assert!(serve.try_wait().unwrap().is_none(), "serve exited");
        answered = client
            .get(format!("http://{listen}/health"))
            .send()
            .await
            .is_ok_and(|response| response.status() == StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = serve.kill();
    let _ = serve.wait();
    let _ = std::fs::remove_dir_all(&folder);
    assert!(answered, "serve answered /health after losing its standard output");
}
