//! `dezky-bench render --json … | head -1`: a report nobody reads any more ends the run quietly.

use std::process::{Command, Stdio};

#[test]
fn a_report_to_a_closed_pipe_ends_quietly() {
    let saved = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/bench-all.json");
    // The reader is gone before the command starts, so its report cannot get through.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_dezky-bench"))
        .args(["render", "--json", saved])
        .stdin(Stdio::null())
        .stdout(writer)
        .output()
        .expect("run dezky-bench render");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_report_read_to_the_end_is_the_markdown_report() {
    let saved = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/bench-all.json");
    let output = Command::new(env!("CARGO_BIN_EXE_dezky-bench"))
        .args(["render", "--json", saved])
        .output()
        .expect("run dezky-bench render");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("### Against the targets"), "{stdout}");
}
