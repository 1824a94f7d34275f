//! The query mix: the newest page, each filter alone, tenant + action prefix, free text (a rare
//! and a common term), and deep cursor pages, each with values drawn from events that exist in
//! the log (regenerated from their index, so nothing is read to choose them). Each query is the
//! API's query-string pairs, so the same sample runs through the store and over HTTP.

use crate::events::{Mix, PARTNERS, event, partner_slug};
use crate::querylog::Timeline;
use crate::results::QueryLatency;
use crate::stats::summary;
use dezky_core::query::{QueryPurpose, RawAuditQuery};
use dezky_core::{AuditQuery, NewAuditEvent};
use dezky_store::Store;
use std::time::{Duration, Instant};

/// (name, what it asks).
pub const KINDS: [(&str, &str); 13] = [
    ("newest", "newest page, no filter"),
    ("time-window", "since/until: one hour somewhere in the 90 days"),
    ("action", "action = one exact verb"),
    ("tenant", "tenantSlug"),
    ("partner", "partnerSlug"),
    ("actor-email", "actorEmail (case-insensitive)"),
    ("outcome", "outcome, rotating success/failure/denied"),
    ("source", "source"),
    ("tenant+action-prefix", "tenantSlug + action prefix such as stalwart."),
    ("text-rare", "q: a user's name or a file name (few matches)"),
    ("text-common", "q: a common word (many matches)"),
    ("deep-cursor", "before = a seq in the older half, no filter"),
    ("tenant-deep-cursor", "tenantSlug + before = a seq in the older half"),
];

const COMMON_TERMS: [&str; 4] = ["Rechnung", "login", "mueller", "pdf"];

/// The query-string pairs of sample `sample` of query kind `kind` over a log of `size` events.
pub fn sample(kind: &str, sample: u64, size: u64, timeline: Timeline) -> Vec<(&'static str, String)> {
    let mut mix = Mix::new(sample.wrapping_mul(0x9e37) ^ kind.len() as u64);
    let size = size.max(2);
    let some_event = |mix: &mut Mix, below: u64| {
        let index = mix.below(below);
        (index, event(index, timeline.at(index)))
    };
    let (index, picked) = some_event(&mut mix, size);
    let tenant = || {
        picked
            .tenant_slug
            .as_ref()
            .map_or(String::new(), |slug| slug.to_string())
    };
    match kind {
        "newest" => vec![],
        "time-window" => {
            let at = picked.at.as_millis();
            vec![
                ("since", dezky_core::Timestamp::from_millis(at - 1_800_000).to_rfc3339()),
                ("until", dezky_core::Timestamp::from_millis(at + 1_800_000).to_rfc3339()),
            ]
        }
        "action" => vec![("action", picked.action.to_string())],
        "tenant" => vec![("tenantSlug", tenant())],
        "partner" => vec![("partnerSlug", partner_slug(mix.below(PARTNERS)))],
        "actor-email" => vec![("actorEmail", with_email(&mut mix, size, timeline))],
        "outcome" => vec![(
            "outcome",
            ["success", "failure", "denied"][(sample % 3) as usize].to_owned(),
        )],
        "source" => vec![("source", picked.source.to_string())],
        "tenant+action-prefix" => {
            let prefix = picked.action.as_str().split('.').next().unwrap_or("tenant");
            vec![("tenantSlug", tenant()), ("action", format!("{prefix}."))]
        }
        "text-rare" => vec![("q", rare_term(&picked))],
        "text-common" => vec![("q", COMMON_TERMS[(sample % 4) as usize].to_owned())],
        "deep-cursor" => vec![("before", (1 + mix.below(size / 2)).to_string())],
        "tenant-deep-cursor" => {
            let (older, older_event) = some_event(&mut mix, size / 2);
            let slug = older_event.tenant_slug.map_or(String::new(), |slug| slug.to_string());
            vec![("tenantSlug", slug), ("before", (older + 1).to_string())]
        }
        other => unreachable!("unknown query kind {other} (index {index})"),
    }
}

/// The e-mail of some event that has one (oCIS events name actors by id only).
fn with_email(mix: &mut Mix, size: u64, timeline: Timeline) -> String {
    loop {
        let index = mix.below(size);
        if let Some(email) = event(index, timeline.at(index)).actor_email {
            return email;
        }
    }
}

/// A term only a few events contain: a person's name with their number, or a document name.
fn rare_term(picked: &NewAuditEvent) -> String {
    if let Some(email) = &picked.actor_email {
        return email.split('@').next().unwrap_or(email).to_owned();
    }
    let name = picked.resource_name.as_deref().unwrap_or("Rechnung 42");
    let file = name.rsplit('/').next().unwrap_or(name);
    file.split('.').next().unwrap_or(file).to_owned()
}

/// The pairs as the validated query the API would build from them.
pub fn audit_query(pairs: &[(&'static str, String)]) -> anyhow::Result<AuditQuery> {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::String(value.clone())))
        .collect();
    let raw: RawAuditQuery = serde_json::from_value(serde_json::Value::Object(map))?;
    Ok(AuditQuery::parse(&raw, QueryPurpose::Page)?)
}

/// Runs `samples` samples of every kind through the store, interleaved (so noise on the shared
/// machine spreads over all kinds), stopping a kind early once it has used `budget`.
pub async fn measure_store(
    store: &dyn Store,
    size: u64,
    timeline: Timeline,
    samples: usize,
    budget: Duration,
) -> anyhow::Result<Vec<QueryLatency>> {
    let mut latencies = vec![vec![]; KINDS.len()];
    let mut rows = vec![0usize; KINDS.len()];
    let mut spent = vec![Duration::ZERO; KINDS.len()];
    for sample_index in 0..samples {
        for (kind_index, (kind, _)) in KINDS.iter().enumerate() {
            if spent[kind_index] > budget {
                continue;
            }
            let query = audit_query(&sample(kind, sample_index as u64, size, timeline))?;
            let started = Instant::now();
            let page = store.query_events(&query).await?;
            let elapsed = started.elapsed();
            spent[kind_index] += elapsed;
            latencies[kind_index].push(elapsed.as_secs_f64() * 1_000.0);
            rows[kind_index] += page.events.len();
        }
    }
    Ok(KINDS
        .iter()
        .zip(latencies)
        .zip(rows)
        .map(|(((name, description), latencies), rows)| {
            let count = latencies.len();
            let (p50_ms, p99_ms, max_ms) = summary(latencies);
            QueryLatency {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
                samples: count,
                p50_ms,
                p99_ms,
                max_ms,
                mean_rows: rows as f64 / count.max(1) as f64,
                http_p50_ms: None,
                http_p99_ms: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        Timeline {
            end: dezky_core::Timestamp::from_millis(1_800_000_000_000),
            final_size: 10_000,
        }
    }

    #[test]
    fn every_sample_of_every_kind_is_a_valid_api_query() {
        for (kind, _) in KINDS {
            for sample_index in 0..50 {
                let pairs = sample(kind, sample_index, 10_000, timeline());
                let query = audit_query(&pairs).unwrap_or_else(|error| panic!("{kind}: {pairs:?}: {error}"));
                match kind {
                    "newest" => assert_eq!(query, AuditQuery::default()),
                    "tenant+action-prefix" => {
                        assert!(query.tenant_slug.is_some());
                        assert!(matches!(query.action, Some(dezky_core::ActionFilter::Prefix(_))));
                    }
                    "deep-cursor" => assert!(query.before.is_some_and(|cursor| cursor.0 <= 5_000)),
                    "tenant-deep-cursor" => {
                        assert!(query.tenant_slug.is_some() && query.before.is_some_and(|cursor| cursor.0 <= 5_000))
                    }
                    "text-rare" | "text-common" => assert!(query.text.is_some()),
                    _ => assert_ne!(query, AuditQuery::default(), "{kind} filters"),
                }
            }
        }
    }

    #[test]
    fn samples_vary_and_repeat_exactly() {
        let first = sample("tenant", 1, 10_000, timeline());
        assert_eq!(first, sample("tenant", 1, 10_000, timeline()));
        let distinct: std::collections::HashSet<_> = (0..50)
            .map(|index| sample("actor-email", index, 10_000, timeline()))
            .collect();
        assert!(distinct.len() > 40);
    }

    #[test]
    fn an_unknown_parameter_is_refused_like_the_api_refuses_it() {
        let error = audit_query(&[("tenant", "acme".to_owned())]).unwrap_err();
        assert!(error.to_string().contains("tenant"), "{error}");
    }
}
