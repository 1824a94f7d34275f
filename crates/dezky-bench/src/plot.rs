//! A small SVG of one run, written as text: append throughput against writers (dezky and the
//! original design, per backend) and query p99 against log size. Both axes of both panels are
//! logarithmic: the numbers span orders of magnitude.

use crate::report::size_label;
use crate::results::SuiteResult;
use std::fmt::Write;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 380.0;
const PANEL_WIDTH: f64 = 340.0;
const PANEL_HEIGHT: f64 = 250.0;
const TOP: f64 = 50.0;

struct Series {
    label: String,
    color: &'static str,
    /// SVG `stroke-dasharray`, or solid.
    dash: Option<&'static str>,
    points: Vec<(f64, f64)>,
}

fn color(backend: &str) -> &'static str {
    match backend {
        "sqlite" => "#1f77b4",
        "postgres" => "#d62728",
        _ => "#555555",
    }
}

/// The original design in a lighter shade of its backend's colour.
fn baseline_color(backend: &str) -> &'static str {
    match backend {
        "sqlite" => "#8fbfe0",
        "postgres" => "#f0a0a0",
        _ => "#aaaaaa",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Powers of ten enclosing every value (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|value| value.is_finite() && *value > 0.0)
        .fold((f64::MAX, f64::MIN), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if low > high {
        return (0.0, 1.0);
    }
    let (low, high) = (low.log10().floor(), high.log10().ceil());
    (low, if high > low { high } else { low + 1.0 })
}

fn tick_label(value: f64) -> String {
    match value {
        value if value >= 1e6 => format!("{}M", value / 1e6),
        value if value >= 1e3 => format!("{}k", value / 1e3),
        value => format!("{value}"),
    }
}

/// One panel at horizontal offset `left`, titled `[panel, x axis, y axis]`: axes, decade grid lines, labelled ticks, the series
/// as lines with dots, and a legend.
fn panel(out: &mut String, left: f64, titles: [&str; 3], series: &[Series], x_label: &dyn Fn(f64) -> String) {
    let [title, x_title, y_title] = titles;
    let (x_low, x_high) = decades(series.iter().flat_map(|line| line.points.iter().map(|point| point.0)));
    let (y_low, y_high) = decades(series.iter().flat_map(|line| line.points.iter().map(|point| point.1)));
    let x = |value: f64| left + (value.log10() - x_low) / (x_high - x_low) * PANEL_WIDTH;
    let y = |value: f64| TOP + PANEL_HEIGHT - (value.log10() - y_low) / (y_high - y_low) * PANEL_HEIGHT;
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="30" font-size="14" font-weight="bold">{}</text>"#,
        left,
        escape(title)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{left:.1}" y="{TOP:.1}" width="{PANEL_WIDTH:.1}" height="{PANEL_HEIGHT:.1}" fill="none" stroke="#888"/>"##
    );
    let mut decade = y_low;
    while decade <= y_high {
        let value = 10f64.powf(decade);
        let _ = writeln!(
            out,
            r##"<line x1="{left:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            left + PANEL_WIDTH,
            left - 4.0,
            y(value) + 3.0,
            tick_label(value),
            y = y(value)
        );
        decade += 1.0;
    }
    let mut x_ticks: Vec<f64> = series
        .iter()
        .flat_map(|line| line.points.iter().map(|point| point.0))
        .collect();
    x_ticks.sort_by(f64::total_cmp);
    x_ticks.dedup();
    for tick in x_ticks {
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
            TOP + PANEL_HEIGHT,
            TOP + PANEL_HEIGHT + 14.0,
            escape(&x_label(tick)),
            x = x(tick)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
        left + PANEL_WIDTH / 2.0,
        TOP + PANEL_HEIGHT + 30.0,
        escape(x_title)
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"#,
        left - 42.0,
        TOP + PANEL_HEIGHT / 2.0,
        left - 42.0,
        TOP + PANEL_HEIGHT / 2.0,
        escape(y_title)
    );
    for (index, line) in series.iter().enumerate() {
        let dash = line
            .dash
            .map_or(String::new(), |pattern| format!(r#" stroke-dasharray="{pattern}""#));
        let points: Vec<String> = line
            .points
            .iter()
            .filter(|point| point.0 > 0.0 && point.1 > 0.0)
            .map(|point| format!("{:.1},{:.1}", x(point.0), y(point.1)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            points.join(" "),
            line.color
        );
        for point in &points {
            let (cx, cy) = point.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(out, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{}"/>"#, line.color);
        }
        let legend_y = TOP + PANEL_HEIGHT + 48.0 + 14.0 * index as f64;
        let _ = writeln!(
            out,
            r#"<line x1="{left:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            left + 24.0,
            legend_y - 4.0,
            legend_y - 4.0,
            line.color,
            left + 30.0,
            legend_y,
            escape(&line.label)
        );
    }
}

/// The whole SVG document.
pub fn svg(result: &SuiteResult) -> String {
    let batch = result.sizes.batch;
    let mut throughput = vec![];
    for backend in &result.backends {
        for (label, batch_size) in [("1 event/call", 1), ("", batch)] {
            let points: Vec<(f64, f64)> = backend
                .append
                .iter()
                .filter(|run| run.batch == batch_size)
                .map(|run| (run.writers as f64, run.events_per_second))
                .collect();
            let label = if label.is_empty() {
                format!("{batch} events/call")
            } else {
                label.to_owned()
            };
            if !points.is_empty() {
                throughput.push(Series {
                    label: format!("{} dezky, {label}", backend.backend),
                    color: color(&backend.backend),
                    dash: (batch_size != 1).then_some("6 3"),
                    points,
                });
            }
        }
        let baseline: Vec<(f64, f64)> = backend
            .baseline
            .iter()
            .map(|run| (run.writers as f64, run.events_per_second))
            .collect();
        if !baseline.is_empty() {
            throughput.push(Series {
                label: format!("{} original design", backend.backend),
                color: baseline_color(&backend.backend),
                dash: Some("2 3"),
                points: baseline,
            });
        }
    }
    let mut latency = vec![];
    for backend in &result.backends {
        let slowest: Vec<(f64, f64)> = backend
            .query_logs
            .iter()
            .filter_map(|log| {
                let worst = log.queries.iter().map(|query| query.p99_ms).fold(f64::NAN, f64::max);
                worst.is_finite().then_some((log.events as f64, worst))
            })
            .collect();
        let newest: Vec<(f64, f64)> = backend
            .query_logs
            .iter()
            .filter_map(|log| {
                let newest = log.queries.iter().find(|query| query.name == "newest")?;
                Some((log.events as f64, newest.p99_ms))
            })
            .collect();
        latency.push(Series {
            label: format!("{} slowest query p99", backend.backend),
            color: color(&backend.backend),
            dash: None,
            points: slowest,
        });
        latency.push(Series {
            label: format!("{} newest page p99", backend.backend),
            color: color(&backend.backend),
            dash: Some("6 3"),
            points: newest,
        });
    }
    let legend_lines = throughput.len().max(latency.len()) as f64;
    let height = HEIGHT.max(TOP + PANEL_HEIGHT + 56.0 + 14.0 * legend_lines);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    out.push('\n');
    let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#);
    panel(
        &mut out,
        70.0,
        ["Durable appends (events/s)", "concurrent writers", "events/s"],
        &throughput,
        &|writers| format!("{writers}"),
    );
    panel(
        &mut out,
        70.0 + PANEL_WIDTH + 110.0,
        ["Query latency p99 (ms)", "events in the log", "milliseconds"],
        &latency,
        &|events| size_label(events as u64),
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{AppendRun, BackendResult, QueryLatency, QueryLog, Sizes};

    fn run(writers: usize, batch: usize, rate: f64) -> AppendRun {
        AppendRun {
            writers,
            batch,
            events_per_second: rate,
            ..AppendRun::default()
        }
    }

    #[test]
    fn the_plot_is_one_svg_with_a_line_per_series_and_escaped_text() {
        let log = |events, p99| QueryLog {
            events,
            queries: vec![QueryLatency {
                name: "newest".into(),
                p99_ms: p99,
                ..QueryLatency::default()
            }],
            ..QueryLog::default()
        };
        let result = SuiteResult {
            sizes: Sizes {
                batch: 100,
                ..Sizes::default()
            },
            backends: vec![BackendResult {
                backend: "sqlite".into(),
                append: vec![run(1, 1, 900.0), run(64, 1, 9_000.0), run(1, 100, 11_000.0)],
                baseline: vec![run(1, 1, 800.0), run(64, 1, 790.0)],
                query_logs: vec![log(100_000, 0.8), log(1_000_000, 2.5)],
                ..BackendResult::default()
            }],
            ..SuiteResult::default()
        };
        let svg = svg(&result);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 5);
        assert!(svg.contains("sqlite original design"));
        assert!(svg.contains(">1 M<") && svg.contains(">100 k<"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(escape("a<b & c>"), "a&lt;b &amp; c&gt;");
    }

    #[test]
    fn axes_cover_whole_decades() {
        assert_eq!(decades([850.0, 12_000.0].into_iter()), (2.0, 5.0));
        assert_eq!(decades([100.0].into_iter()), (2.0, 3.0));
        assert_eq!(decades(std::iter::empty()), (0.0, 1.0));
        assert_eq!(tick_label(10_000.0), "10k");
        assert_eq!(tick_label(1e6), "1M");
        assert_eq!(tick_label(0.1), "0.1");
    }
}
