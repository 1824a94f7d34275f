//! Writing to a log file as its producer would.

use std::io::Write;
use std::path::Path;

/// Appends `text` to the file at `path`, creating it if needed.
pub fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}
