//! What the numbers were measured on: CPU, cores, memory, kernel, commit, command, load.

use crate::results::Machine;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first value of `key` in a `key : value` file such as /proc/cpuinfo.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == key).then(|| value.trim())
    })
}

fn git(arguments: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git").args(arguments).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The checked-out commit, marked `-dirty` when the work tree has uncommitted changes.
fn commit() -> String {
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (not a git checkout)".to_owned();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|status| !status.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

pub fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything but the end time, which the suite fills in when it finishes.
pub fn describe(started_at: String) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let memory_kib: f64 = field(&read("/proc/meminfo"), "MemTotal")
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_default();
    let arguments: Vec<String> = std::env::args().collect();
    Machine {
        cpu: field(&cpuinfo, "model name").unwrap_or("unknown").to_owned(),
        cores: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        memory_gib: memory_kib / (1024.0 * 1024.0),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        started_at,
        finished_at: String::new(),
        duration_seconds: 0.0,
        commit: commit(),
        command: arguments.join(" "),
        load_at_start: load_average(),
        load_at_end: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_exact_name() {
        let text = "processor\t: 0\nmodel name\t: Intel Xeon\nmodel\t: 85\n";
        assert_eq!(field(text, "model name"), Some("Intel Xeon"));
        assert_eq!(field(text, "model"), Some("85"));
        assert_eq!(field(text, "flags"), None);
    }
}
