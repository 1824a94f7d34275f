//! What the app logs, for tests that check an operator is told why something failed.
//!
//! One subscriber serves the whole test binary (tracing has one global default), so it keeps
//! only the targets a test asks about, and tests find their own lines by something unique to
//! them (a port, a bucket name).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The targets and levels kept (an `EnvFilter` directive).
const KEPT: &str = "dezky_server::routes::archive=error,dezky_server::archive=warn";

fn buffer() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(KEPT))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

/// Starts capturing (call before the app is spawned).
pub fn capture() {
    buffer();
}

/// The captured log lines that contain `needle`.
pub fn lines_containing(needle: &str) -> Vec<String> {
    let bytes = buffer().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}
