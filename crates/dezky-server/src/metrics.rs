//! Prometheus counters, rendered in the text exposition format at `/metrics`.
//!
//! A handful of labelled counters behind one mutex: contention is negligible next to the
//! database work each counted operation does, and it keeps the crate free of a metrics stack.

use std::collections::BTreeMap;
use std::sync::Mutex;

type Labels = Vec<(&'static str, String)>;

const HELP: &[(&str, &str)] = &[
    ("dezky_http_requests_total", "HTTP requests answered, by status code"),
    ("dezky_audit_events_appended_total", "audit events appended, by source"),
    (
        "dezky_audit_duplicates_skipped_total",
        "events skipped as duplicates of (source, externalId), by source",
    ),
    (
        "dezky_auth_failures_total",
        "requests refused for missing or invalid credentials, by reason",
    ),
];

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
}

impl Metrics {
    fn add(&self, name: &'static str, labels: Labels) {
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry((name, labels)).or_insert(0) += 1;
        }
    }

    pub fn count_request(&self, status: u16) {
        self.add("dezky_http_requests_total", vec![("status", status.to_string())]);
    }

    pub fn count_append(&self, source: &str, duplicate: bool) {
        let name = if duplicate {
            "dezky_audit_duplicates_skipped_total"
        } else {
            "dezky_audit_events_appended_total"
        };
        self.add(name, vec![("source", source.to_owned())]);
    }

    pub fn count_auth_failure(&self, reason: &'static str) {
        self.add("dezky_auth_failures_total", vec![("reason", reason.to_owned())]);
    }

    pub fn render(&self) -> String {
        let counters = self
            .counters
            .lock()
            .map(|counters| counters.clone())
            .unwrap_or_default();
        let mut text = String::new();
        for (name, help) in HELP {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for ((counter, labels), value) in &counters {
                if counter != name {
                    continue;
                }
                let labels: Vec<String> = labels
                    .iter()
                    .map(|(key, value)| format!("{key}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                text.push_str(&format!("{name}{{{}}} {value}\n", labels.join(",")));
            }
        }
        text
    }
}

/// One unlabelled gauge in the text exposition format (for values read when scraped).
pub fn render_gauge(name: &str, help: &str, value: u64) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n")
}

pub fn render_counter(name: &str, help: &str, value: u64) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.count_request(200);
        metrics.count_request(200);
        metrics.count_append("portal", true);
        let text = metrics.render();
        assert!(text.contains("# TYPE dezky_http_requests_total counter\n"));
        assert!(text.contains("dezky_http_requests_total{status=\"200\"} 2\n"));
        assert!(text.contains("dezky_audit_duplicates_skipped_total{source=\"portal\"} 1\n"));
    }

    #[test]
    fn renders_a_gauge() {
        assert_eq!(
            render_gauge("dezky_text_index_lag_events", "events not indexed yet", 7),
            "# HELP dezky_text_index_lag_events events not indexed yet\n\
             # TYPE dezky_text_index_lag_events gauge\n\
             dezky_text_index_lag_events 7\n"
        );
    }

    #[test]
    fn renders_a_counter() {
        assert_eq!(
            render_counter("dezky_things_total", "things done", 3),
            "# HELP dezky_things_total things done\n# TYPE dezky_things_total counter\ndezky_things_total 3\n"
        );
    }
}
