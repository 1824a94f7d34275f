//! Runs the real `dezky` binary: one-shot commands and a `serve` process on port 0.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn dezky(environment: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dezky"));
    // Start from a clean slate: no variable from the developer's shell leaks into a test.
    for (name, _, _) in dezky_server::config::all_variables() {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn");
    for (name, value) in environment {
        command.env(name, value);
    }
    command
}

pub fn run(environment: &[(&str, &str)], arguments: &[&str]) -> Output {
    dezky(environment)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .expect("run dezky")
}

pub struct Server {
    child: Child,
    pub base: String,
    /// Everything `serve` printed on stdout before it started answering.
    pub banner: String,
}

impl Server {
    pub fn start(environment: &[(&str, &str)], data_dir: &Path) -> Server {
        Server::start_on(environment, data_dir, "127.0.0.1:0")
    }

    /// Starts `serve` on a given address (to restart "the same instance" on the same port).
    pub fn start_on(environment: &[(&str, &str)], data_dir: &Path, listen: &str) -> Server {
        let mut child = dezky(environment)
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn dezky serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("serve printed nothing").unwrap();
        let address = first
            .strip_prefix("dezky listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        let mut banner = first.clone();
        // The rest of the banner follows at once; read it on a thread so we never block.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        while let Ok(line) = receiver.recv_timeout(Duration::from_millis(300)) {
            banner.push('\n');
            banner.push_str(&line);
        }
        Server {
            child,
            base: address,
            banner,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Server {
    /// SIGKILL: no shutdown handler runs, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A value from /proc/<pid>/status in KiB (VmRSS, VmHWM).
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A fresh database plus a signing key made with `dezky keygen`; returns the key file and vkey.
pub async fn temp_database_and_key(
    backend: dezky_testkit::TestBackend,
) -> (dezky_testkit::TestDatabase, std::path::PathBuf, String) {
    let database = dezky_testkit::TestDatabase::create(backend).await;
    let key_file = dezky_testkit::temp_folder("key").join("audit-signing.key");
    let output = run(
        &[],
        &[
            "keygen",
            "--origin",
            "dezky.test/audit",
            "--out",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let vkey = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(vkey.starts_with("dezky.test/audit+"), "{vkey}");
    (database, key_file, vkey)
}

/// Cold storage settings for a fresh folder (returned to be removed afterwards).
pub(crate) fn folder_cold() -> (Vec<(String, String)>, std::path::PathBuf) {
    let cold = dezky_testkit::temp_folder("cold");
    (vec![("AUDIT_COLD_DIR".into(), cold.display().to_string())], cold)
}

/// Cold storage settings for a fresh bucket on the S3 server scripts/test starts (moto).
pub(crate) async fn s3_cold() -> Vec<(String, String)> {
    let endpoint = std::env::var("DEZKY_TEST_S3_ENDPOINT")
        .expect("DEZKY_TEST_S3_ENDPOINT: run through scripts/test, which starts moto's S3 server");
    let bucket = format!("dz-cli-{:08x}", rand::random::<u32>());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    vec![
        ("AUDIT_COLD_ENDPOINT".into(), endpoint),
        ("AUDIT_COLD_BUCKET".into(), bucket),
        ("AUDIT_COLD_ACCESS_KEY".into(), "dezky-test".into()),
        ("AUDIT_COLD_SECRET_KEY".into(), "dezky-test-secret".into()),
    ]
}

/// The setup the archive CLI tests share: `dezky migrate`, `count` events appended straight
/// through the store, and an operator token from `dezky token create`.
pub(crate) async fn filled_log_and_operator_token(
    environment: &[(&str, &str)],
    database_url: &str,
    count: u64,
) -> String {
    let migrated = run(environment, &["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    fill(database_url, count).await;
    String::from_utf8(run(environment, &["token", "create", "--operator"]).stdout)
        .unwrap()
        .trim()
        .to_owned()
}

/// Appends `count` events straight through the store (the database must be migrated).
async fn fill(database_url: &str, count: u64) {
    use dezky_core::{Action, ActorType, NewAuditEvent, Source};
    use dezky_server::clock::{Clock, SystemClock};
    let store = dezky_store::open(database_url).await.unwrap();
    let source = Source::parse("portal").unwrap();
    let action = Action::parse("portal.signed_in").unwrap();
    let mut start = 0;
    while start < count {
        let end = (start + 10_000).min(count);
        let events = (start..end)
            .map(|i| {
                let mut event = NewAuditEvent::new(SystemClock.now(), ActorType::User, action.clone(), source.clone());
                event.external_id = Some(format!("e-{i}"));
                event.actor_email = Some(format!("user{}@acme.example", i % 97));
                event
            })
            .collect();
        store.append_events(events, SystemClock.now()).await.unwrap();
        start = end;
    }
}
