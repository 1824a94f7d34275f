//! `dezky-bench all`: the whole suite on each backend in one run, with every size a parameter,
//! and its outputs (JSON, the Markdown report, the section of docs/PERFORMANCE.md, the SVG).

use crate::results::{Sizes, SuiteResult};
use crate::{backend_run, limits, machine, plot, report};
use anyhow::Context;
use clap::Args;
use dezky_server::clock::{Clock, SystemClock};
use dezky_testkit::TestBackend;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SuiteArguments {
    /// Tiny sizes that finish in seconds: keeps the benchmark working (scripts/test runs it);
    /// its numbers mean nothing. Explicit size flags still override it.
    #[arg(long)]
    pub smoke: bool,
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub backends: Vec<String>,
    /// Concurrent writers for the append measurements [default: 1,8,64]
    #[arg(long, value_delimiter = ',')]
    pub writers: Option<Vec<usize>>,
    /// Events per writer configuration with one event per call [default: 20000; smoke 128]
    #[arg(long)]
    pub append_events: Option<usize>,
    /// Events per call of the batched append measurement [default: 100]
    #[arg(long)]
    pub batch: Option<usize>,
    /// Events per writer configuration with --batch events per call [default: 200000; smoke 1000]
    #[arg(long)]
    pub batch_events: Option<usize>,
    /// Events per writer configuration of the original design [default: 5000; smoke 64]
    #[arg(long)]
    pub baseline_events: Option<usize>,
    /// Log sizes at which queries, export and server memory are measured, increasing; the log
    /// is grown from one to the next [default: 100000,1000000; smoke 500,1500]
    #[arg(long, value_delimiter = ',')]
    pub query_events: Option<Vec<u64>>,
    /// Samples of each query kind per log size [default: 200; smoke 4]
    #[arg(long)]
    pub query_samples: Option<usize>,
    /// Time one query kind may use per log size before it stops sampling [default: 20; smoke 2]
    #[arg(long)]
    pub query_budget_seconds: Option<f64>,
    /// Events the pure verifier checks in memory [default: 200000; smoke 1000]
    #[arg(long)]
    pub pure_verify_events: Option<usize>,
    /// Inclusion proofs sampled [default: 1000; smoke 10]
    #[arg(long)]
    pub proof_samples: Option<usize>,
    /// Lines and webhook events of the ingest measurements; 0 skips them [default: 50000; smoke 1000]
    #[arg(long)]
    pub ingest_events: Option<usize>,
    /// Events archived to cold storage per destination; 0 skips it [default: 200000; smoke 2000]
    #[arg(long)]
    pub archive_events: Option<u64>,
    /// An S3-compatible server (path-style, accepting unsigned bucket creation: MinIO, moto) to
    /// archive to beside a local folder [default: $DEZKY_TEST_S3_ENDPOINT when set, else folder only]
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Seconds each physical-limit loop runs (SHA-256 per input size, fsync) [default: 2; smoke 0.1]
    #[arg(long)]
    pub limit_seconds: Option<f64>,
    /// The dezky binary to start as the server [default: `dezky` beside this executable]
    #[arg(long, value_name = "PATH")]
    pub dezky_bin: Option<PathBuf>,
    /// Write the machine-readable result here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the Markdown report here (the whole file).
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Put the report into this file between <!-- bench-all:begin --> and <!-- bench-all:end -->
    /// (appended at its end the first time); nothing else in the file changes.
    #[arg(long, value_name = "PATH")]
    pub update_doc: Option<PathBuf>,
    /// Write the plot (SVG) here; the report links it.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
}

/// `dezky-bench render`: the report and plot again, from a saved JSON result.
#[derive(Args, Debug)]
pub struct RenderArguments {
    #[arg(long, value_name = "PATH")]
    pub json: PathBuf,
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    pub update_doc: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
}

impl SuiteArguments {
    /// The sizes: explicit flags, else the smoke sizes with --smoke, else the defaults.
    pub fn sizes(&self) -> anyhow::Result<Sizes> {
        let pick = |explicit: Option<usize>, default: usize, smoke: usize| {
            explicit.unwrap_or(if self.smoke { smoke } else { default })
        };
        let query_events = self.query_events.clone().unwrap_or(if self.smoke {
            vec![500, 1_500]
        } else {
            vec![100_000, 1_000_000]
        });
        anyhow::ensure!(
            !query_events.is_empty() && query_events.windows(2).all(|pair| pair[0] < pair[1]),
            "--query-events: sizes must increase, got {query_events:?}"
        );
        anyhow::ensure!(query_events[0] >= 2, "--query-events: a log needs at least 2 events");
        let writers = self.writers.clone().unwrap_or(vec![1, 8, 64]);
        anyhow::ensure!(
            !writers.is_empty() && !writers.contains(&0),
            "--writers: give one or more counts above 0, got {writers:?}"
        );
        let sizes = Sizes {
            smoke: self.smoke,
            writers,
            append_events: pick(self.append_events, 20_000, 128),
            batch: self.batch.unwrap_or(100),
            batch_events: pick(self.batch_events, 200_000, 1_000),
            baseline_events: pick(self.baseline_events, 5_000, 64),
            query_events,
            query_samples: pick(self.query_samples, 200, 4),
            query_budget_seconds: self.query_budget_seconds.unwrap_or(if self.smoke { 2.0 } else { 20.0 }),
            pure_verify_events: pick(self.pure_verify_events, 200_000, 1_000),
            proof_samples: pick(self.proof_samples, 1_000, 10),
            ingest_events: pick(self.ingest_events, 50_000, 1_000),
            limit_seconds: self.limit_seconds.unwrap_or(if self.smoke { 0.1 } else { 2.0 }),
            archive_events: self.archive_events.unwrap_or(if self.smoke { 2_000 } else { 200_000 }),
            s3_endpoint: self
                .s3_endpoint
                .clone()
                .or_else(|| std::env::var("DEZKY_TEST_S3_ENDPOINT").ok())
                .filter(|endpoint| !endpoint.is_empty()),
        };
        for (flag, value) in [
            ("--append-events", sizes.append_events),
            ("--batch", sizes.batch),
            ("--batch-events", sizes.batch_events),
            ("--baseline-events", sizes.baseline_events),
            ("--query-samples", sizes.query_samples),
            ("--pure-verify-events", sizes.pure_verify_events),
            ("--proof-samples", sizes.proof_samples),
        ] {
            anyhow::ensure!(value > 0, "{flag} must be above 0");
        }
        for (flag, value) in [
            ("--append-events", sizes.append_events),
            ("--batch-events", sizes.batch_events),
            ("--baseline-events", sizes.baseline_events),
        ] {
            let most = sizes.writers.iter().max().copied().unwrap_or(1);
            anyhow::ensure!(
                value >= most,
                "{flag} ({value}) must be at least the largest writer count ({most}): every writer appends"
            );
        }
        anyhow::ensure!(
            sizes.limit_seconds > 0.0 && sizes.query_budget_seconds > 0.0,
            "--limit-seconds and --query-budget-seconds must be above 0"
        );
        Ok(sizes)
    }
}

pub fn backend_named(name: &str) -> anyhow::Result<TestBackend> {
    match name {
        "sqlite" => Ok(TestBackend::Sqlite),
        "postgres" => Ok(TestBackend::Postgres),
        other => anyhow::bail!("--backends: '{other}' is not sqlite or postgres"),
    }
}

pub async fn run(arguments: SuiteArguments) -> anyhow::Result<()> {
    let sizes = arguments.sizes()?;
    let backends = arguments
        .backends
        .iter()
        .map(|name| backend_named(name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dezky_bin = arguments
        .dezky_bin
        .clone()
        .unwrap_or_else(crate::server::default_binary);
    anyhow::ensure!(
        dezky_bin.exists(),
        "the dezky binary is not at {} (build it: cargo build --release -p dezky -p dezky-bench, or pass --dezky-bin)",
        dezky_bin.display()
    );
    // Fail on an unwritable output before an hour of measuring, not after.
    check_outputs(&arguments)?;
    let started = Instant::now();
    let mut result = SuiteResult {
        machine: machine::describe(SystemClock.now().to_rfc3339()),
        sizes: sizes.clone(),
        ..SuiteResult::default()
    };
    let limit = Duration::from_secs_f64(sizes.limit_seconds);
    for input_bytes in limits::HASH_INPUTS {
        let rate = limits::sha256_rate(input_bytes, limit);
        eprintln!(
            "SHA-256 {input_bytes} bytes: {:.0} hashes/s ({:.0} MiB/s)",
            rate.hashes_per_second, rate.mib_per_second
        );
        result.sha256.push(rate);
    }
    if sizes.ingest_events > 0 {
        let lines = sizes.ingest_events.max(1_000);
        let (mib_per_second, lines_per_second) = crate::ingest::parse_throughput(lines);
        eprintln!("oCIS lines parsed: {mib_per_second:.0} MiB/s");
        result.ingest_parse = Some(crate::results::IngestParse {
            lines,
            mib_per_second,
            lines_per_second,
        });
    }
    for backend in backends {
        let measured = backend_run::run(backend, &sizes, &dezky_bin).await?;
        result.backends.push(measured);
    }
    result.machine.finished_at = SystemClock.now().to_rfc3339();
    result.machine.duration_seconds = started.elapsed().as_secs_f64();
    result.machine.load_at_end = machine::load_average();
    write_outputs(
        &result,
        arguments.json.as_deref(),
        arguments.markdown.as_deref(),
        arguments.update_doc.as_deref(),
        arguments.svg.as_deref(),
    )?;
    if arguments.json.is_none() && arguments.markdown.is_none() && arguments.update_doc.is_none() {
        crate::print_report(&report::markdown(&result, None))?;
    }
    Ok(())
}

pub fn render(arguments: RenderArguments) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&arguments.json).with_context(|| format!("--json {}", arguments.json.display()))?;
    let result: SuiteResult = serde_json::from_str(&text)
        .with_context(|| format!("--json {}: not a dezky-bench all result", arguments.json.display()))?;
    write_outputs(
        &result,
        None,
        arguments.markdown.as_deref(),
        arguments.update_doc.as_deref(),
        arguments.svg.as_deref(),
    )?;
    if arguments.markdown.is_none() && arguments.update_doc.is_none() {
        crate::print_report(&report::markdown(&result, None))?;
    }
    Ok(())
}

fn check_outputs(arguments: &SuiteArguments) -> anyhow::Result<()> {
    for (flag, path) in [
        ("--json", &arguments.json),
        ("--markdown", &arguments.markdown),
        ("--svg", &arguments.svg),
        ("--update-doc", &arguments.update_doc),
    ] {
        let Some(path) = path else { continue };
        let folder = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        anyhow::ensure!(
            folder.is_dir(),
            "{flag} {}: the folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    if let Some(path) = &arguments.update_doc {
        let document = std::fs::read_to_string(path).with_context(|| format!("--update-doc {}", path.display()))?;
        report::replace_marked_section(&document, "", &path.display().to_string())?;
    }
    Ok(())
}

/// How a document at `document` links the SVG at `svg`: relative when both share a folder.
fn svg_link(document: Option<&Path>, svg: &Path) -> String {
    match (document.and_then(Path::parent), svg.parent()) {
        (Some(from), Some(to)) if from == to => svg
            .file_name()
            .map_or(svg.display().to_string(), |name| name.to_string_lossy().into_owned()),
        _ => svg.display().to_string(),
    }
}

fn write_outputs(
    result: &SuiteResult,
    json: Option<&Path>,
    markdown: Option<&Path>,
    update_doc: Option<&Path>,
    svg: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(result)? + "\n")
            .with_context(|| format!("--json {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = svg {
        std::fs::write(path, plot::svg(result)).with_context(|| format!("--svg {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = markdown {
        let link = svg.map(|svg| svg_link(Some(path), svg));
        std::fs::write(path, report::markdown(result, link.as_deref()))
            .with_context(|| format!("--markdown {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = update_doc {
        let link = svg.map(|svg| svg_link(Some(path), svg));
        let document = std::fs::read_to_string(path).with_context(|| format!("--update-doc {}", path.display()))?;
        let updated = report::replace_marked_section(
            &document,
            &report::markdown(result, link.as_deref()),
            &path.display().to_string(),
        )?;
        std::fs::write(path, updated).with_context(|| format!("--update-doc {}", path.display()))?;
        eprintln!("updated the generated section of {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        suite: SuiteArguments,
    }

    fn sizes(arguments: &[&str]) -> anyhow::Result<Sizes> {
        let wrapper = Wrapper::try_parse_from(std::iter::once("all").chain(arguments.iter().copied()))?;
        wrapper.suite.sizes()
    }

    #[test]
    fn defaults_smoke_and_explicit_sizes() {
        let defaults = sizes(&[]).unwrap();
        assert_eq!(defaults.query_events, vec![100_000, 1_000_000]);
        assert_eq!(defaults.writers, vec![1, 8, 64]);
        assert!(!defaults.smoke);
        let smoke = sizes(&["--smoke"]).unwrap();
        assert!(smoke.smoke && smoke.query_events == vec![500, 1_500] && smoke.append_events == 128);
        let explicit = sizes(&["--smoke", "--query-events", "1000000", "--append-events", "64"]).unwrap();
        assert_eq!(explicit.query_events, vec![1_000_000]);
        assert_eq!(explicit.append_events, 64);
    }

    #[test]
    fn bad_sizes_are_refused_naming_the_flag() {
        let message = |arguments: &[&str]| sizes(arguments).unwrap_err().to_string();
        assert!(message(&["--query-events", "1000,100"]).contains("--query-events"));
        assert!(message(&["--query-events", "1"]).contains("--query-events"));
        assert!(message(&["--writers", "0"]).contains("--writers"));
        assert!(message(&["--append-events", "10"]).contains("--append-events (10) must be at least"));
        assert!(message(&["--batch", "0"]).contains("--batch must be above 0"));
        assert!(message(&["--limit-seconds", "0"]).contains("--limit-seconds"));
        assert!(message(&["--query-events", "many"]).contains("many"));
        assert!(
            backend_named("mysql")
                .unwrap_err()
                .to_string()
                .contains("'mysql' is not sqlite or postgres")
        );
    }

    #[test]
    fn the_svg_is_linked_relative_to_the_document() {
        assert_eq!(
            svg_link(
                Some(Path::new("docs/PERFORMANCE.md")),
                Path::new("docs/performance.svg")
            ),
            "performance.svg"
        );
        assert_eq!(
            svg_link(Some(Path::new("report.md")), Path::new("docs/p.svg")),
            "docs/p.svg"
        );
    }
}
