//! The result of `dezky-bench all`: written as JSON (`--json`), and the only input of the
//! Markdown report and the plot, so both can be rendered again from a saved file.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuiteResult {
    pub machine: Machine,
    pub sizes: Sizes,
    /// SHA-256 on this CPU, one core, for inputs of several sizes.
    pub sha256: Vec<HashRate>,
    /// oCIS lines parsed in memory (pure; no backend).
    pub ingest_parse: Option<IngestParse>,
    pub backends: Vec<BackendResult>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// UTC start of the run, RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
    pub commit: String,
    /// The exact command line.
    pub command: String,
    /// /proc/loadavg (1, 5, 15 minutes) at the start and at the end: how busy the shared machine was.
    pub load_at_start: String,
    pub load_at_end: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sizes {
    pub smoke: bool,
    pub writers: Vec<usize>,
    pub append_events: usize,
    pub batch: usize,
    pub batch_events: usize,
    pub baseline_events: usize,
    pub query_events: Vec<u64>,
    pub query_samples: usize,
    pub query_budget_seconds: f64,
    pub pure_verify_events: usize,
    pub proof_samples: usize,
    pub ingest_events: usize,
    pub limit_seconds: f64,
    /// Events archived per destination; 0 skips the archive measurement.
    #[serde(default)]
    pub archive_events: u64,
    /// The S3-compatible server archived to beside the folder (`None`: folder only).
    #[serde(default)]
    pub s3_endpoint: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashRate {
    pub input_bytes: usize,
    pub hashes_per_second: f64,
    pub mib_per_second: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fsync {
    pub directory: String,
    pub write_bytes: usize,
    pub fsyncs_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestParse {
    pub lines: usize,
    pub mib_per_second: f64,
    pub lines_per_second: f64,
}

/// Appends through one path (dezky's sequencer or the original design) with `writers`
/// concurrent callers, each waiting for its commit before the next call.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendRun {
    pub writers: usize,
    /// Events per call.
    pub batch: usize,
    pub events: usize,
    pub events_per_second: f64,
    /// Latency of one call, from calling to the durable acknowledgment.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// SQLite: how long after the last append its index file had caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_catch_up_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryLatency {
    pub name: String,
    pub description: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean rows returned per query (a page holds at most 100).
    pub mean_rows: f64,
    /// The same queries over HTTP against the real `dezky serve`.
    pub http_p50_ms: Option<f64>,
    pub http_p99_ms: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// The server's peak resident memory during the export (VmHWM after resetting it, or the
    /// highest VmRSS sampled when the kernel refuses the reset).
    pub server_peak_rss_mib: f64,
    pub peak_measured_by: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerMemory {
    /// VmRSS right after start-up (migrations checked, first checkpoint made).
    pub rss_after_start_mib: f64,
    /// VmRSS after the HTTP query mix.
    pub rss_after_queries_mib: f64,
    /// VmHWM over the process's whole life (start, queries, export).
    pub peak_rss_mib: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryLog {
    /// Events in the log when measured (the target size plus a few the benchmark itself added).
    pub events: u64,
    /// Rate at which the log was grown to this size (batches of 5,000 through the sequencer).
    pub load_events_per_second: f64,
    /// Seconds SQLite's index file needed after the load to catch up, waited for before the
    /// queries (`None` on PostgreSQL, and in results from before it was measured).
    #[serde(default)]
    pub index_catch_up_seconds: Option<f64>,
    pub database_bytes: Option<u64>,
    pub queries: Vec<QueryLatency>,
    pub export: Option<Export>,
    pub server: Option<ServerMemory>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integrity {
    /// Size of the log these were measured on (the largest query log).
    pub events: u64,
    pub append_to_checkpoint_ms: f64,
    pub verify_events_per_second: f64,
    pub pure_verify_events: usize,
    pub pure_verify_events_per_second: f64,
    pub proof_samples: usize,
    pub inclusion_proof_p50_ms: f64,
    pub inclusion_proof_p99_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub senders: usize,
    pub events: usize,
    pub events_per_second: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingest {
    pub tail_lines: usize,
    pub tail_lines_per_second: f64,
    pub webhook: Vec<Webhook>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendResult {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub database_version: String,
    pub fsync: Option<Fsync>,
    /// dezky through the sequencer, one event per call and `batch` events per call.
    pub append: Vec<AppendRun>,
    /// The original design (one transaction per event behind a process-wide mutex).
    pub baseline: Vec<AppendRun>,
    pub query_logs: Vec<QueryLog>,
    pub integrity: Option<Integrity>,
    pub ingest: Option<Ingest>,
    /// Archive runs to cold storage, one per destination (absent in results from before it).
    #[serde(default)]
    pub archive: Vec<ArchiveRun>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveRun {
    /// `folder` (AUDIT_COLD_DIR) or `s3` (the S3-compatible server given by --s3-endpoint).
    pub destination: String,
    pub events: u64,
    pub batches: u64,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
    /// Events moved per second by one archive run (read, encode, gzip, sign, upload, confirm,
    /// record, delete from the hot table).
    pub archive_events_per_second: f64,
    /// Compressed bytes written to cold storage per second of that run.
    pub archive_mib_per_second: f64,
    /// Events verified across both tiers afterwards (nearly all of them cold).
    pub verified_events: u64,
    pub verify_events_per_second: f64,
}

impl BackendResult {
    pub fn append_run(&self, writers: usize, batch: usize) -> Option<&AppendRun> {
        self.append
            .iter()
            .find(|run| run.writers == writers && run.batch == batch)
    }

    pub fn baseline_run(&self, writers: usize) -> Option<&AppendRun> {
        self.baseline.iter().find(|run| run.writers == writers)
    }
}
