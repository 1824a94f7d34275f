//! The blocking file reads of the oCIS tail, run on tokio's blocking pool by the caller. Every
//! read goes through one open handle, so the identity observed and the bytes read belong to the
//! same file even if the path is rotated in between.

use dezky_ingest::tail::{FINGERPRINT_BYTES, Observed, fingerprint};
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// An open file and what it looked like when opened.
pub struct OpenFile {
    pub file: File,
    pub observed: Observed,
}

/// Opens `path` and observes it; `None` when it does not exist.
pub fn open(path: &Path) -> io::Result<Option<OpenFile>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let metadata = file.metadata()?;
    let head = read_at(&file, 0, FINGERPRINT_BYTES)?;
    Ok(Some(OpenFile {
        observed: Observed {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.len(),
            fingerprint: fingerprint(&head),
        },
        file,
    }))
}

/// Up to `max` bytes from `offset` (fewer at the end of the file).
pub fn read_at(file: &File, offset: u64, max: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0u8; max];
    let mut filled = 0;
    while filled < max {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// Where a rotated file went: a file beside `path` whose name starts with `path`'s name (as
/// logrotate's `audit.log.1` or `audit.log-20261125` do) and whose first line has
/// `fingerprint`, at least `min_size` long. The same inode is preferred (rename); a copy
/// (copytruncate) is accepted.
pub fn find_rotated(path: &Path, inode: u64, fingerprint: &str, min_size: u64) -> io::Result<Option<OpenFile>> {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name().and_then(|name| name.to_str())) else {
        return Ok(None);
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|candidate| {
            candidate.as_path() != path
                && candidate
                    .file_name()
                    .and_then(|candidate| candidate.to_str())
                    .is_some_and(|candidate| candidate.starts_with(name))
        })
        .collect();
    candidates.sort();
    let mut copy = None;
    for candidate in candidates {
        let Some(open) = open(&candidate)? else { continue };
        if open.observed.fingerprint.as_deref() != Some(fingerprint) || open.observed.size < min_size {
            continue;
        }
        if open.observed.inode == inode {
            return Ok(Some(open));
        }
        copy.get_or_insert(open);
    }
    Ok(copy)
}
