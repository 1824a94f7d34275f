//! Wakes the oCIS tail as soon as the kernel reports a change to the audit log (inotify, through
//! the `notify` crate), so new lines are recorded within a fraction of a second instead of at
//! the next poll.
//!
//! The folder is watched, not the file: a rotation (rename + create), a copy + truncate and a
//! file that appears only later are all changes to entries of the folder, while a watch on the
//! file itself would follow the renamed old file. Only changes to the log's own name wake the
//! tail, and never a mere access: the tail's own reads would otherwise wake it again, forever.
//! The poll stays as the fallback: network file systems deliver no inotify events, and the
//! kernel drops events when its queue overflows (an overflow wakes the tail too).

use notify::event::EventKind;
use notify::{RecursiveMode, Watcher};
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Notify;

/// A running watch; dropping it stops the notifications.
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
}

/// Calls `wake.notify_one()` whenever the file at `path` is created, written, truncated,
/// renamed or removed. Fails (with the reason) when the folder cannot be watched: it does not
/// exist, or the user's inotify limits are exhausted.
pub fn watch(path: &Path, wake: Arc<Notify>) -> Result<FileWatch, String> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let name: Option<OsString> = path.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            let ours = event.paths.iter().any(|changed| changed.file_name() == name.as_deref());
            if ours && !matches!(event.kind, EventKind::Access(_)) {
                wake.notify_one();
            }
        }
        // A dropped event queue or a watch error: whatever it was, let the tail look.
        Err(_) => wake.notify_one(),
    })
    .map_err(|error| format!("cannot start an inotify watcher: {error}"))?;
    watcher
        .watch(folder, RecursiveMode::NonRecursive)
        .map_err(|error| format!("cannot watch {}: {error}", folder.display()))?;
    Ok(FileWatch { _watcher: watcher })
}
