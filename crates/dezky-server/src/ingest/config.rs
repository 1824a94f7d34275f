//! The ingest sources' configuration (names fixed by the ingest issue). Every source is off
//! until its variables are set; `AUDIT_INGEST_ENABLED=false` turns all of them off.

use crate::config::{ConfigError, parse_positive, problem};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_AUTHENTIK_POLL_SECONDS: u64 = 60;
pub const DEFAULT_OCIS_AUDIT_POLL_SECONDS: u64 = 5;
pub const DEFAULT_OCIS_EVENTS_CONSUMER: &str = "dezky-audit";
/// Stalwart sends everything pending in one POST and has no batch limit: generous by default.
pub const DEFAULT_STALWART_WEBHOOK_MAX_BYTES: usize = 8 * 1024 * 1024;

pub const INGEST_VARIABLES: &[(&str, &str, &str)] = &[
    (
        "AUDIT_INGEST_ENABLED",
        "true",
        "false turns every ingest source off (webhook answers 503, no workers)",
    ),
    (
        "AUTHENTIK_URL",
        "(unset: Authentik ingest off)",
        "Authentik base URL whose /api/v3/events/events/ is polled",
    ),
    (
        "AUTHENTIK_TOKEN",
        "(unset)",
        "Authentik API token (intent api, created non-expiring)",
    ),
    ("AUTHENTIK_POLL_SECONDS", "60", "seconds between Authentik polls"),
    (
        "STALWART_WEBHOOK_SECRET",
        "(unset: webhook answers 503)",
        "Stalwart's webhook signature-key; X-Signature is checked against it",
    ),
    (
        "STALWART_WEBHOOK_AUTHORIZATION",
        "(unset: not checked)",
        "optional exact Authorization header (Basic …/Bearer …) the webhook must carry",
    ),
    (
        "STALWART_WEBHOOK_MAX_BYTES",
        "8388608",
        "largest accepted webhook body (Stalwart has no batch limit)",
    ),
    (
        "OCIS_AUDIT_LOG_PATH",
        "(unset: oCIS file tail off)",
        "oCIS audit log file (AUDIT_FILEPATH, AUDIT_FORMAT=json) to tail",
    ),
    (
        "OCIS_AUDIT_POLL_SECONDS",
        "5",
        "seconds between checks of the oCIS audit log",
    ),
    (
        "OCIS_AUDIT_ACTIONS_SKIP",
        "file_read,public_link_accessed",
        "comma-separated oCIS actions not recorded (empty: record all)",
    ),
    (
        "OCIS_EVENTS_ENDPOINT",
        "(unset: oCIS event bus off)",
        "NATS URL of oCIS's event bus (stream main-queue)",
    ),
    (
        "OCIS_EVENTS_CONSUMER",
        DEFAULT_OCIS_EVENTS_CONSUMER,
        "our durable JetStream consumer name (never audit)",
    ),
];

#[derive(Clone)]
pub struct AuthentikConfig {
    pub url: String,
    pub token: SecretString,
    pub poll: Duration,
}

#[derive(Clone)]
pub struct StalwartConfig {
    pub secret: SecretString,
    pub authorization: Option<SecretString>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcisAuditConfig {
    pub path: PathBuf,
    pub poll: Duration,
    pub skipped_actions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcisEventsConfig {
    pub endpoint: String,
    pub consumer: String,
    /// The JetStream stream: oCIS's `main-queue` (not configurable by a variable; tests use
    /// their own streams on a shared server).
    pub stream: String,
}

#[derive(Clone)]
pub struct IngestConfig {
    pub enabled: bool,
    pub authentik: Option<AuthentikConfig>,
    pub stalwart: Option<StalwartConfig>,
    pub stalwart_max_bytes: usize,
    pub ocis_audit: Option<OcisAuditConfig>,
    pub ocis_events: Option<OcisEventsConfig>,
    /// OCIS_AUDIT_ACTIONS_SKIP, for the file tail and the event bus alike.
    pub ocis_skipped_actions: Vec<String>,
}

impl std::fmt::Debug for IngestConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IngestConfig")
            .field("enabled", &self.enabled)
            .field("authentik", &self.authentik.as_ref().map(|authentik| &authentik.url))
            .field("stalwart", &self.stalwart.as_ref().map(|_| "<secret set>"))
            .field("stalwart_max_bytes", &self.stalwart_max_bytes)
            .field("ocis_audit", &self.ocis_audit)
            .field("ocis_events", &self.ocis_events)
            .field("ocis_skipped_actions", &self.ocis_skipped_actions)
            .finish()
    }
}

/// Secrets are compared by presence only: configuration equality is for tests of parsing.
impl PartialEq for IngestConfig {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Eq for IngestConfig {}

fn default_skipped_actions() -> Vec<String> {
    dezky_ingest::ocis_audit::DEFAULT_SKIPPED_ACTIONS
        .iter()
        .map(|action| action.to_string())
        .collect()
}

fn http_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim().trim_end_matches('/');
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value.split_once("://").is_some_and(|(_, rest)| !rest.is_empty());
    if !valid {
        return Err(problem(variable, format!("'{value}' is not an http(s) URL")));
    }
    Ok(value.to_owned())
}

impl IngestConfig {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<IngestConfig, ConfigError> {
        let enabled = match get("AUDIT_INGEST_ENABLED").as_deref().map(str::trim) {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => {
                return Err(problem(
                    "AUDIT_INGEST_ENABLED",
                    format!("'{other}' is not true or false"),
                ));
            }
        };
        let seconds = |variable: &'static str, default: u64| -> Result<Duration, ConfigError> {
            let value = get(variable)
                .map(|value| parse_positive(variable, &value))
                .transpose()?;
            Ok(Duration::from_secs(value.unwrap_or(default)))
        };
        let authentik = match (get("AUTHENTIK_URL"), get("AUTHENTIK_TOKEN")) {
            (None, None) => None,
            (Some(_), None) => return Err(problem("AUTHENTIK_TOKEN", "is required when AUTHENTIK_URL is set")),
            (None, Some(_)) => return Err(problem("AUTHENTIK_URL", "is required when AUTHENTIK_TOKEN is set")),
            (Some(url), Some(token)) => Some(AuthentikConfig {
                url: http_url("AUTHENTIK_URL", &url)?,
                token: SecretString::from(token.trim().to_owned()),
                poll: seconds("AUTHENTIK_POLL_SECONDS", DEFAULT_AUTHENTIK_POLL_SECONDS)?,
            }),
        };
        let stalwart = get("STALWART_WEBHOOK_SECRET").map(|secret| StalwartConfig {
            secret: SecretString::from(secret),
            authorization: get("STALWART_WEBHOOK_AUTHORIZATION")
                .map(|value| SecretString::from(value.trim().to_owned())),
        });
        let stalwart_max_bytes = get("STALWART_WEBHOOK_MAX_BYTES")
            .map(|value| parse_positive("STALWART_WEBHOOK_MAX_BYTES", &value))
            .transpose()?
            .map_or(DEFAULT_STALWART_WEBHOOK_MAX_BYTES, |bytes| bytes as usize);
        let skipped_actions = match get("OCIS_AUDIT_ACTIONS_SKIP") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|action| !action.is_empty())
                .map(str::to_owned)
                .collect(),
            None => default_skipped_actions(),
        };
        let ocis_audit = get("OCIS_AUDIT_LOG_PATH")
            .map(|path| -> Result<OcisAuditConfig, ConfigError> {
                Ok(OcisAuditConfig {
                    path: PathBuf::from(path.trim()),
                    poll: seconds("OCIS_AUDIT_POLL_SECONDS", DEFAULT_OCIS_AUDIT_POLL_SECONDS)?,
                    skipped_actions: skipped_actions.clone(),
                })
            })
            .transpose()?;
        let ocis_events = get("OCIS_EVENTS_ENDPOINT")
            .map(|endpoint| -> Result<OcisEventsConfig, ConfigError> {
                let endpoint = endpoint.trim().to_owned();
                if !endpoint.starts_with("nats://") && !endpoint.starts_with("tls://") && endpoint.contains("://") {
                    return Err(problem(
                        "OCIS_EVENTS_ENDPOINT",
                        format!("'{endpoint}' is not a nats:// URL"),
                    ));
                }
                let consumer = get("OCIS_EVENTS_CONSUMER")
                    .map(|name| name.trim().to_owned())
                    .unwrap_or_else(|| DEFAULT_OCIS_EVENTS_CONSUMER.to_owned());
                if consumer == "audit" {
                    return Err(problem(
                        "OCIS_EVENTS_CONSUMER",
                        "'audit' is oCIS's own consumer: reusing it would steal its messages",
                    ));
                }
                Ok(OcisEventsConfig {
                    endpoint,
                    consumer,
                    stream: dezky_ingest::ocis_bus::STREAM.to_owned(),
                })
            })
            .transpose()?;
        Ok(IngestConfig {
            enabled,
            authentik,
            stalwart,
            stalwart_max_bytes,
            ocis_audit,
            ocis_events,
            ocis_skipped_actions: skipped_actions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<IngestConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        IngestConfig::from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn every_source_is_off_by_default() {
        let config = parse(&[]).unwrap();
        assert!(config.enabled);
        assert!(config.authentik.is_none() && config.stalwart.is_none());
        assert!(config.ocis_audit.is_none() && config.ocis_events.is_none());
        assert_eq!(config.stalwart_max_bytes, DEFAULT_STALWART_WEBHOOK_MAX_BYTES);
    }

    #[test]
    fn sources_are_configured_by_their_variables() {
        let config = parse(&[
            ("AUTHENTIK_URL", "https://auth.example/"),
            ("AUTHENTIK_TOKEN", "tok"),
            ("AUTHENTIK_POLL_SECONDS", "30"),
            ("STALWART_WEBHOOK_SECRET", "s3cret"),
            ("OCIS_AUDIT_LOG_PATH", "/var/log/ocis/audit.log"),
            ("OCIS_AUDIT_ACTIONS_SKIP", " file_read , "),
            ("OCIS_EVENTS_ENDPOINT", "nats://127.0.0.1:9233"),
            ("AUDIT_INGEST_ENABLED", "false"),
        ])
        .unwrap();
        assert!(!config.enabled);
        let authentik = config.authentik.unwrap();
        assert_eq!(authentik.url, "https://auth.example");
        assert_eq!(authentik.poll, Duration::from_secs(30));
        assert_eq!(config.stalwart.unwrap().secret.expose_secret(), "s3cret");
        let ocis = config.ocis_audit.unwrap();
        assert_eq!(ocis.skipped_actions, vec!["file_read".to_string()]);
        assert_eq!(ocis.poll, Duration::from_secs(5));
        assert_eq!(config.ocis_events.unwrap().consumer, "dezky-audit");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("AUDIT_INGEST_ENABLED", "maybe")], "AUDIT_INGEST_ENABLED"),
            (&[("AUTHENTIK_URL", "https://a")], "AUTHENTIK_TOKEN"),
            (&[("AUTHENTIK_TOKEN", "t")], "AUTHENTIK_URL"),
            (
                &[("AUTHENTIK_URL", "ftp://a"), ("AUTHENTIK_TOKEN", "t")],
                "AUTHENTIK_URL",
            ),
            (
                &[
                    ("AUTHENTIK_URL", "https://a"),
                    ("AUTHENTIK_TOKEN", "t"),
                    ("AUTHENTIK_POLL_SECONDS", "0"),
                ],
                "AUTHENTIK_POLL_SECONDS",
            ),
            (&[("STALWART_WEBHOOK_MAX_BYTES", "lots")], "STALWART_WEBHOOK_MAX_BYTES"),
            (
                &[("OCIS_AUDIT_LOG_PATH", "/x"), ("OCIS_AUDIT_POLL_SECONDS", "-1")],
                "OCIS_AUDIT_POLL_SECONDS",
            ),
            (&[("OCIS_EVENTS_ENDPOINT", "http://x")], "OCIS_EVENTS_ENDPOINT"),
            (
                &[("OCIS_EVENTS_ENDPOINT", "nats://x"), ("OCIS_EVENTS_CONSUMER", "audit")],
                "OCIS_EVENTS_CONSUMER",
            ),
        ];
        for (pairs, variable) in cases {
            assert_eq!(parse(pairs).unwrap_err().variable, *variable, "{pairs:?}");
        }
    }
}
