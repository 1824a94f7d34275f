//! The oCIS tail's inotify wake-up against real files: writes, truncation, rotation and a file
//! created later wake it; other files in the folder and plain reads do not (the tail's own reads
//! would otherwise wake it for ever); a folder that cannot be watched is a clear error.

use dezky_server::ingest::file_watch;
use dezky_testkit::{append_to_file, temp_folder};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Whether `wake` fires within `wait`.
async fn woken(wake: &Notify, wait: Duration) -> bool {
    tokio::time::timeout(wait, wake.notified()).await.is_ok()
}

/// Consumes the notifications of what just happened (inotify reports a change as several
/// events; `Notify` keeps at most one of them).
async fn settle(wake: &Notify) {
    while woken(wake, Duration::from_millis(300)).await {}
}

const SOON: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_secs(1);

#[tokio::test]
async fn every_kind_of_change_to_the_log_wakes_the_tail() {
    let folder = temp_folder("file-watch");
    let path = folder.join("audit.log");
    let wake = Arc::new(Notify::new());
    let _watch = file_watch::watch(&path, wake.clone()).unwrap();

    append_to_file(&path, "created later\n");
    assert!(woken(&wake, SOON).await, "creation");
    settle(&wake).await;

    append_to_file(&path, "appended\n");
    assert!(woken(&wake, SOON).await, "append");
    settle(&wake).await;

    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert!(woken(&wake, SOON).await, "copy + truncate");
    settle(&wake).await;

    std::fs::rename(&path, folder.join("audit.log.1")).unwrap();
    assert!(woken(&wake, SOON).await, "rotation: the rename");
    settle(&wake).await;
    append_to_file(&path, "the new file\n");
    assert!(woken(&wake, SOON).await, "rotation: the new file");
    settle(&wake).await;

    std::fs::remove_file(&path).unwrap();
    assert!(woken(&wake, SOON).await, "removal");
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn other_files_and_reads_do_not_wake_the_tail() {
    let folder = temp_folder("file-watch");
    let path = folder.join("audit.log");
    append_to_file(&path, "a line\n");
    let wake = Arc::new(Notify::new());
    let _watch = file_watch::watch(&path, wake.clone()).unwrap();
    settle(&wake).await;

    append_to_file(&folder.join("other.log"), "not ours\n");
    append_to_file(&folder.join("audit.log.1"), "not ours either\n");
    let mut text = String::new();
    std::fs::File::open(&path).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "a line\n");
    assert!(!woken(&wake, QUIET).await, "woken by another file or by a read");

    // Still watching: the next write to the log wakes it.
    append_to_file(&path, "another line\n");
    assert!(woken(&wake, SOON).await);
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn a_folder_that_does_not_exist_cannot_be_watched() {
    let missing = temp_folder("file-watch").join("not-there");
    let error = match file_watch::watch(&missing.join("audit.log"), Arc::new(Notify::new())) {
        Ok(_) => panic!("watching a missing folder succeeded"),
        Err(error) => error,
    };
    assert!(error.contains(&missing.display().to_string()), "{error}");
}
