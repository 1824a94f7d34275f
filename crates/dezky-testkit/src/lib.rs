//! Test support: every test gets its own database, on either backend.
//!
//! PostgreSQL tests use the server this machine runs (`DEZKY_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`): each test creates `dz_<random>` and drops it
//! when the guard goes out of scope. SQLite tests use a file in a fresh temporary folder.

use rand::Rng;
use sqlx::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that is removed when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub backend: TestBackend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Folder(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

fn admin_url() -> String {
    std::env::var("DEZKY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

/// A fresh temporary folder (removed by the caller or with the database guard).
pub fn temp_folder(label: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("dezky-{label}-{}", random_suffix()));
    std::fs::create_dir_all(&folder).expect("create temp folder");
    folder
}

/// Appends `text` to the file at `path`, creating it if needed: a log written as its producer
/// (oCIS) writes it.
pub fn append_to_file(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open the file to append to");
    file.write_all(text.as_bytes()).expect("append to the file");
}

impl TestDatabase {
    pub async fn create(backend: TestBackend) -> TestDatabase {
        match backend {
            TestBackend::Sqlite => {
                let folder = temp_folder("sqlite");
                TestDatabase {
                    url: format!("sqlite://{}", folder.join("dezky.db").display()),
                    backend,
                    cleanup: Cleanup::Folder(folder),
                }
            }
            TestBackend::Postgres => {
                let admin_url = admin_url();
                let name = format!("dz_{}", random_suffix());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|error| panic!("PostgreSQL for tests is not reachable at {admin_url}: {error}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin_url);
                TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    cleanup: Cleanup::PostgresDatabase { admin_url, name },
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Folder(folder) => {
                let _ = std::fs::remove_dir_all(folder);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                // Drop runs inside the test's runtime; a separate thread with its own runtime
                // can block on the DROP without stalling that runtime.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(async {
                            if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                                let _ = sqlx::query(&drop).execute(&mut admin).await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

/// Generates one `#[tokio::test]` per backend for each named `async fn name(db: TestDatabase)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDatabase::create($crate::TestBackend::Sqlite).await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDatabase::create($crate::TestBackend::Postgres).await).await
                }
            )+
        }
    };
}
