//! The real `dezky serve` binary against a loaded database: its resident memory (from
//! /proc/<pid>/status), the query mix over HTTP, and a CSV export of the whole log through
//! `GET /api/v1/audit/export` (rows/s and the server's peak memory while it streams).

use crate::queries::{KINDS, sample};
use crate::querylog::Timeline;
use crate::results::{Export, QueryLatency};
use crate::stats::summary;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long start-up (migrations checked, first checkpoint) may take on a large log.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `dezky serve`; killed when dropped.
pub struct Server {
    child: Child,
    pid: u32,
    pub base_url: String,
    token: String,
    _folder: TempFolder,
}

struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `dezky` beside this executable (`cargo build --release -p dezky -p dezky-bench` puts both in
/// target/release).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|folder| folder.join("dezky")))
        .unwrap_or_else(|| PathBuf::from("dezky"))
}

/// Resident memory of a process in MiB: (VmRSS, VmHWM).
pub fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let value = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .with_context(|| format!("/proc/{pid}/status has no {key}"))
    };
    Ok((value("VmRSS:")?, value("VmHWM:")?))
}

impl Server {
    /// Starts `binary serve` on a free loopback port against `database_url`; `token` is an
    /// operator API token already stored in that database.
    pub async fn start(binary: &Path, database_url: &str, token: String) -> anyhow::Result<Server> {
        anyhow::ensure!(
            binary.exists(),
            "the dezky binary is not at {} (build it: cargo build --release -p dezky, or pass --dezky-bin)",
            binary.display()
        );
        let folder = TempFolder(dezky_testkit::temp_folder("bench-serve"));
        let log = std::fs::File::create(folder.0.join("serve.log"))?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("DEZKY_DATA_DIR", &folder.0)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let address = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("dezky listening on ") {
                    return anyhow::Ok(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
            anyhow::bail!("the server stopped before listening")
        })
        .await
        .map_err(|_| anyhow::anyhow!("the server did not start within {START_TIMEOUT:?}"))?
        .with_context(|| format!("see {}", folder.0.join("serve.log").display()))?;
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            pid,
            base_url: address,
            token,
            _folder: folder,
        })
    }

    pub fn memory_mib(&self) -> anyhow::Result<(f64, f64)> {
        memory_mib(self.pid)
    }

    /// The query mix over HTTP; fills in the `http_*` fields of `latencies` (same kinds, same
    /// samples as the store measurement, `samples` of each).
    pub async fn measure_queries(
        &self,
        latencies: &mut [QueryLatency],
        size: u64,
        timeline: Timeline,
        samples: usize,
        budget: Duration,
    ) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/audit", self.base_url);
        let mut measured = vec![vec![]; KINDS.len()];
        let mut spent = vec![Duration::ZERO; KINDS.len()];
        for sample_index in 0..samples {
            for (kind_index, (kind, _)) in KINDS.iter().enumerate() {
                if spent[kind_index] > budget {
                    continue;
                }
                let pairs = sample(kind, sample_index as u64, size, timeline);
                let started = Instant::now();
                let response = client.get(&url).bearer_auth(&self.token).query(&pairs).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                let elapsed = started.elapsed();
                anyhow::ensure!(
                    status.is_success(),
                    "GET /api/v1/audit?{pairs:?} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                spent[kind_index] += elapsed;
                measured[kind_index].push(elapsed.as_secs_f64() * 1_000.0);
            }
        }
        for (latency, samples) in latencies.iter_mut().zip(measured) {
            let (p50, p99, _) = summary(samples);
            latency.http_p50_ms = Some(p50);
            latency.http_p99_ms = Some(p99);
        }
        Ok(())
    }

    /// Streams `GET /api/v1/audit/export?format=csv` (every row) and measures rows/s and the
    /// server's peak resident memory during the export.
    pub async fn export_csv(&self) -> anyhow::Result<Export> {
        // Resetting the peak (VmHWM) needs write access to /proc/<pid>/clear_refs (our own child:
        // allowed); without it the highest sampled VmRSS is the measure.
        let reset = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok();
        let sampled_peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (sampled_peak, done, pid) = (sampled_peak.clone(), done.clone(), self.pid);
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    if let Ok((rss, _)) = memory_mib(pid) {
                        sampled_peak.fetch_max((rss * 1024.0) as u64, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let started = Instant::now();
        let mut response = reqwest::Client::new()
            .get(format!("{}/api/v1/audit/export", self.base_url))
            .bearer_auth(&self.token)
            .query(&[("format", "csv")])
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "export answered {}", response.status());
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = response.chunk().await? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|byte| **byte == b'\n').count() as u64;
        }
        let seconds = started.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        let _ = sampler.await;
        let (rss, hwm) = self.memory_mib()?;
        let sampled = sampled_peak.load(Ordering::Relaxed) as f64 / 1024.0;
        let rows = lines.saturating_sub(1);
        Ok(Export {
            rows,
            bytes,
            seconds,
            rows_per_second: rows as f64 / seconds,
            server_peak_rss_mib: if reset { hwm.max(sampled) } else { sampled.max(rss) },
            peak_measured_by: if reset {
                "VmHWM after resetting it (clear_refs 5)".to_owned()
            } else {
                "highest VmRSS sampled every 20 ms".to_owned()
            },
        })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory_and_refuses_a_missing_process() {
        let (rss, hwm) = memory_mib(std::process::id()).unwrap();
        assert!(rss > 0.0 && hwm >= rss);
        assert!(memory_mib(u32::MAX).is_err());
    }
}
