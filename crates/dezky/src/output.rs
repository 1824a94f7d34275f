//! What the commands print on standard output.
//!
//! `println!` panics when the reader has gone away (`dezky verify | head -3`), which printed a
//! panic and a backtrace. Here a failed write is an error like any other, and `main` ends the
//! command quietly with `CLOSED_PIPE_EXIT` when the reader closed the pipe, as a process killed
//! by SIGPIPE would.

use std::io::Write;

/// The exit status of a command whose output nobody reads any more (128 + SIGPIPE).
pub const CLOSED_PIPE_EXIT: u8 = 141;

/// Writes one line to standard output; the caller's function must return `anyhow::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}
pub(crate) use outln;

pub fn line(text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(text)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Whether `error` comes from writing to a pipe whose reader is gone.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
