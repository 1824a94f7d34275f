//! The health of each ingest source, for `GET /api/v1/ingest/status` and `/metrics`.
//!
//! Kept in memory per instance: each instance reports what it did itself (with several
//! instances the pollers run where their lease is, the webhook wherever the balancer sends it).

use dezky_core::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The sources, by the names status and metrics use.
pub const AUTHENTIK: &str = "authentik";
pub const STALWART: &str = "stalwart";
pub const OCIS_AUDIT: &str = "ocis-audit";
pub const OCIS_EVENTS: &str = "ocis-events";

#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceHealth {
    pub name: String,
    /// Its variables are set (and ingest is enabled).
    pub configured: bool,
    #[schema(value_type = Option<String>)]
    pub last_success_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub last_error_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// Seconds between the newest ingested event's own time and its recording.
    pub lag_seconds: Option<f64>,
    pub events_ingested: u64,
    pub duplicates_skipped: u64,
    /// Requests or lines refused (bad signature, malformed, oversized, not JSON).
    pub rejected: u64,
    /// Events dropped by the source's allowlist/denylist (`…_ONLY`, `…_SKIP`).
    pub filtered: u64,
    /// `ingest.gap_detected` events this source recorded.
    pub gaps: u64,
    /// What the source is doing or waiting for, in words.
    pub detail: Option<String>,
}

/// A metric: name, Prometheus type, help, and its value for one source (if it has one).
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SourceHealth) -> Option<f64>,
);

#[derive(Default)]
pub struct IngestStatus {
    sources: Mutex<BTreeMap<&'static str, SourceHealth>>,
}

impl IngestStatus {
    /// Declares a source (so it is listed even before its first event).
    pub fn declare(&self, name: &'static str, configured: bool) {
        self.update(name, |health| health.configured = configured);
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut SourceHealth)) {
        if let Ok(mut sources) = self.sources.lock() {
            let health = sources.entry(name).or_insert_with(|| SourceHealth {
                name: name.to_owned(),
                ..SourceHealth::default()
            });
            change(health);
        }
    }

    /// A batch was recorded: `appended` new events (the newest with time `newest_at`),
    /// `duplicates` skipped, `gaps` of them gap events.
    pub fn record_success(
        &self,
        name: &'static str,
        now: Timestamp,
        appended: u64,
        duplicates: u64,
        newest_at: Option<Timestamp>,
    ) {
        self.update(name, |health| {
            health.last_success_at = Some(now);
            health.events_ingested += appended;
            health.duplicates_skipped += duplicates;
            if let Some(newest) = newest_at {
                health.lag_seconds = Some((now.as_millis() - newest.as_millis()).max(0) as f64 / 1000.0);
            }
        });
    }

    pub fn record_error(&self, name: &'static str, now: Timestamp, error: impl std::fmt::Display) {
        self.update(name, |health| {
            health.last_error_at = Some(now);
            health.last_error = Some(error.to_string());
        });
    }

    pub fn record_rejected(&self, name: &'static str, count: u64) {
        self.update(name, |health| health.rejected += count);
    }

    pub fn record_filtered(&self, name: &'static str, count: u64) {
        if count > 0 {
            self.update(name, |health| health.filtered += count);
        }
    }

    pub fn record_gap(&self, name: &'static str) {
        self.update(name, |health| health.gaps += 1);
    }

    pub fn set_detail(&self, name: &'static str, detail: Option<String>) {
        self.update(name, |health| health.detail = detail);
    }

    pub fn snapshot(&self) -> Vec<SourceHealth> {
        self.sources
            .lock()
            .map(|sources| sources.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Prometheus text for every source.
    pub fn render_metrics(&self) -> String {
        let sources = self.snapshot();
        let mut text = String::new();
        let series: [Series; 7] = [
            (
                "dezky_ingest_events_total",
                "counter",
                "events recorded, by ingest source",
                |health| Some(health.events_ingested as f64),
            ),
            (
                "dezky_ingest_duplicates_total",
                "counter",
                "redelivered events skipped, by ingest source",
                |health| Some(health.duplicates_skipped as f64),
            ),
            (
                "dezky_ingest_rejected_total",
                "counter",
                "requests or lines refused, by ingest source",
                |health| Some(health.rejected as f64),
            ),
            (
                "dezky_ingest_filtered_total",
                "counter",
                "events dropped by the source's allowlist/denylist, by ingest source",
                |health| Some(health.filtered as f64),
            ),
            (
                "dezky_ingest_gaps_total",
                "counter",
                "gap events recorded, by ingest source",
                |health| Some(health.gaps as f64),
            ),
            (
                "dezky_ingest_last_success_timestamp_seconds",
                "gauge",
                "when the source last recorded a batch",
                |health| health.last_success_at.map(|at| at.as_millis() as f64 / 1000.0),
            ),
            (
                "dezky_ingest_lag_seconds",
                "gauge",
                "event time to recording time of the newest event",
                |health| health.lag_seconds,
            ),
        ];
        for (name, kind, help, value) in series {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for health in &sources {
                if let Some(value) = value(health) {
                    text.push_str(&format!("{name}{{source=\"{}\"}} {value}\n", health.name));
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accumulate_and_render_as_prometheus_text() {
        let status = IngestStatus::default();
        status.declare(STALWART, true);
        status.declare(OCIS_AUDIT, false);
        let now = Timestamp::from_millis(10_000);
        status.record_success(STALWART, now, 3, 1, Some(Timestamp::from_millis(7_500)));
        status.record_success(STALWART, now, 2, 0, None);
        status.record_rejected(STALWART, 4);
        status.record_error(STALWART, now, "bad signature");
        status.record_gap(STALWART);
        status.record_filtered(STALWART, 6);
        let stalwart = status
            .snapshot()
            .into_iter()
            .find(|health| health.name == STALWART)
            .unwrap();
        assert_eq!(stalwart.events_ingested, 5);
        assert_eq!(stalwart.duplicates_skipped, 1);
        assert_eq!(stalwart.rejected, 4);
        assert_eq!(stalwart.gaps, 1);
        assert_eq!(stalwart.filtered, 6);
        assert_eq!(stalwart.lag_seconds, Some(2.5));
        assert_eq!(stalwart.last_error.as_deref(), Some("bad signature"));
        let text = status.render_metrics();
        assert!(
            text.contains("dezky_ingest_events_total{source=\"stalwart\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("dezky_ingest_events_total{source=\"ocis-audit\"} 0\n"));
        assert!(text.contains("dezky_ingest_filtered_total{source=\"stalwart\"} 6\n"));
        assert!(text.contains("dezky_ingest_lag_seconds{source=\"stalwart\"} 2.5\n"));
        assert!(!text.contains("dezky_ingest_lag_seconds{source=\"ocis-audit\"}"));
    }
}
