//! The ingest sources' configuration (names fixed by the ingest issue). Every source is off
//! until its variables are set; `AUDIT_INGEST_ENABLED=false` turns all of them off.

use crate::config::{ConfigError, parse_positive, problem};
use dezky_ingest::filter::{ActionFilter, FilterError, parse_list};
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
        "AUTHENTIK_ACTIONS_ONLY",
        "(unset: every action)",
        "comma-separated Authentik actions to record, nothing else (trailing * = prefix)",
    ),
    (
        "AUTHENTIK_ACTIONS_SKIP",
        "(empty)",
        "comma-separated Authentik actions not recorded (trailing * = prefix)",
    ),
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
        "STALWART_EVENTS_ONLY",
        "(unset: every type)",
        "comma-separated Stalwart event types to record, nothing else (trailing * = prefix)",
    ),
    (
        "STALWART_EVENTS_SKIP",
        "(empty)",
        "comma-separated Stalwart event types not recorded (trailing * = prefix)",
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
        "OCIS_AUDIT_WATCH",
        "true",
        "also read the oCIS audit log as soon as inotify reports a change (false: poll only)",
    ),
    (
        "OCIS_AUDIT_ACTIONS_SKIP",
        "file_read,public_link_accessed",
        "comma-separated oCIS actions not recorded (empty: record all; trailing * = prefix)",
    ),
    (
        "OCIS_AUDIT_ACTIONS_ONLY",
        "(unset: every action)",
        "comma-separated oCIS actions to record, nothing else (SKIP applies after it)",
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
    (
        "OCIS_EVENTS_STREAM",
        "main-queue",
        "the JetStream stream oCIS publishes to (change only for a renamed stream or a test)",
    ),
];

#[derive(Clone)]
pub struct AuthentikConfig {
    pub url: String,
    pub token: SecretString,
    pub poll: Duration,
    /// AUTHENTIK_ACTIONS_ONLY / AUTHENTIK_ACTIONS_SKIP, on the event's `action`.
    pub filter: ActionFilter,
}

#[derive(Clone)]
pub struct StalwartConfig {
    pub secret: SecretString,
    pub authorization: Option<SecretString>,
    /// STALWART_EVENTS_ONLY / STALWART_EVENTS_SKIP, on the event's `type`.
    pub filter: ActionFilter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcisAuditConfig {
    pub path: PathBuf,
    pub poll: Duration,
    /// OCIS_AUDIT_WATCH: wake the tail early on inotify events for the file (the poll stays,
    /// as the fallback for file systems without inotify and for missed notifications).
    pub watch: bool,
    /// OCIS_AUDIT_ACTIONS_ONLY / OCIS_AUDIT_ACTIONS_SKIP, on the line's `Action`.
    pub filter: ActionFilter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcisEventsConfig {
    pub endpoint: String,
    pub consumer: String,
    /// The JetStream stream: oCIS's `main-queue` unless OCIS_EVENTS_STREAM says otherwise
    /// (tests on a shared NATS server use their own streams).
    pub stream: String,
    /// The oCIS filter of the file tail, on the audit action each event type becomes.
    pub filter: ActionFilter,
}

#[derive(Clone)]
pub struct IngestConfig {
    pub enabled: bool,
    pub authentik: Option<AuthentikConfig>,
    pub stalwart: Option<StalwartConfig>,
    pub stalwart_max_bytes: usize,
    pub ocis_audit: Option<OcisAuditConfig>,
    pub ocis_events: Option<OcisEventsConfig>,
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
            .field(
                "authentik_filter",
                &self.authentik.as_ref().map(|authentik| &authentik.filter),
            )
            .field(
                "stalwart_filter",
                &self.stalwart.as_ref().map(|stalwart| &stalwart.filter),
            )
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

/// The filter of `<only>` and `<skip>` (`default_skip` when `<skip>` is unset); a bad list is
/// an error naming its variable.
fn action_filter(
    get: &dyn Fn(&str) -> Option<String>,
    only: &'static str,
    skip: &'static str,
    default_skip: &[&str],
) -> Result<ActionFilter, ConfigError> {
    let list =
        |variable: &'static str, text: &str| parse_list(text).map_err(|error| problem(variable, error.to_string()));
    let only_names = get(only).map(|text| list(only, &text)).transpose()?;
    let skip_names = match get(skip) {
        Some(text) => list(skip, &text)?,
        None => default_skip.iter().map(|name| name.to_string()).collect(),
    };
    if only_names.as_ref().is_some_and(Vec::is_empty) {
        return Err(problem(only, FilterError::EmptyAllowlist.to_string()));
    }
    // Both lists are valid now, so building the filter cannot fail.
    ActionFilter::new(only_names, skip_names).map_err(|error| problem(skip, error.to_string()))
}

/// JetStream stream names: non-empty, no whitespace, no `.`, `*`, `>`, path separators.
fn valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|character| !character.is_whitespace() && !matches!(character, '.' | '*' | '>' | '/' | '\\'))
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
        let switch = |variable: &'static str| -> Result<bool, ConfigError> {
            match get(variable).as_deref().map(str::trim) {
                None | Some("true") | Some("1") => Ok(true),
                Some("false") | Some("0") => Ok(false),
                Some(other) => Err(problem(variable, format!("'{other}' is not true or false"))),
            }
        };
        let enabled = switch("AUDIT_INGEST_ENABLED")?;
        let ocis_watch = switch("OCIS_AUDIT_WATCH")?;
        let seconds = |variable: &'static str, default: u64| -> Result<Duration, ConfigError> {
            let value = get(variable)
                .map(|value| parse_positive(variable, &value))
                .transpose()?;
            Ok(Duration::from_secs(value.unwrap_or(default)))
        };
        // Checked even when their source is off, so a typo is found before it is switched on.
        let authentik_filter = action_filter(get, "AUTHENTIK_ACTIONS_ONLY", "AUTHENTIK_ACTIONS_SKIP", &[])?;
        let stalwart_filter = action_filter(get, "STALWART_EVENTS_ONLY", "STALWART_EVENTS_SKIP", &[])?;
        let ocis_filter = action_filter(
            get,
            "OCIS_AUDIT_ACTIONS_ONLY",
            "OCIS_AUDIT_ACTIONS_SKIP",
            dezky_ingest::ocis_audit::DEFAULT_SKIPPED_ACTIONS,
        )?;
        let authentik = match (get("AUTHENTIK_URL"), get("AUTHENTIK_TOKEN")) {
            (None, None) => None,
            (Some(_), None) => return Err(problem("AUTHENTIK_TOKEN", "is required when AUTHENTIK_URL is set")),
            (None, Some(_)) => return Err(problem("AUTHENTIK_URL", "is required when AUTHENTIK_TOKEN is set")),
            (Some(url), Some(token)) => Some(AuthentikConfig {
                url: http_url("AUTHENTIK_URL", &url)?,
                token: SecretString::from(token.trim().to_owned()),
                poll: seconds("AUTHENTIK_POLL_SECONDS", DEFAULT_AUTHENTIK_POLL_SECONDS)?,
                filter: authentik_filter,
            }),
        };
        let stalwart = get("STALWART_WEBHOOK_SECRET").map(|secret| StalwartConfig {
            secret: SecretString::from(secret),
            authorization: get("STALWART_WEBHOOK_AUTHORIZATION")
                .map(|value| SecretString::from(value.trim().to_owned())),
            filter: stalwart_filter,
        });
        let stalwart_max_bytes = get("STALWART_WEBHOOK_MAX_BYTES")
            .map(|value| parse_positive("STALWART_WEBHOOK_MAX_BYTES", &value))
            .transpose()?
            .map_or(DEFAULT_STALWART_WEBHOOK_MAX_BYTES, |bytes| bytes as usize);
        let ocis_audit = get("OCIS_AUDIT_LOG_PATH")
            .map(|path| -> Result<OcisAuditConfig, ConfigError> {
                Ok(OcisAuditConfig {
                    path: PathBuf::from(path.trim()),
                    poll: seconds("OCIS_AUDIT_POLL_SECONDS", DEFAULT_OCIS_AUDIT_POLL_SECONDS)?,
                    watch: ocis_watch,
                    filter: ocis_filter.clone(),
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
                    stream: match get("OCIS_EVENTS_STREAM").map(|name| name.trim().to_owned()) {
                        None => dezky_ingest::ocis_bus::STREAM.to_owned(),
                        Some(name) if valid_stream_name(&name) => name,
                        Some(name) => {
                            return Err(problem(
                                "OCIS_EVENTS_STREAM",
                                format!("'{name}' is not a JetStream stream name"),
                            ));
                        }
                    },
                    filter: ocis_filter.clone(),
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    #[test]
    fn each_source_has_its_own_allowlist_and_denylist() {
        let config = parse(&[
            ("AUTHENTIK_URL", "https://auth.example"),
            ("AUTHENTIK_TOKEN", "tok"),
            ("AUTHENTIK_ACTIONS_SKIP", "secret_view, custom_*"),
            ("STALWART_WEBHOOK_SECRET", "s"),
            ("STALWART_EVENTS_ONLY", "auth.*,delivery.failed"),
            ("STALWART_EVENTS_SKIP", "auth.success"),
            ("OCIS_AUDIT_LOG_PATH", "/x"),
            ("OCIS_EVENTS_ENDPOINT", "nats://x"),
            ("OCIS_AUDIT_ACTIONS_ONLY", "file_*"),
        ])
        .unwrap();
        let authentik = config.authentik.unwrap().filter;
        assert!(!authentik.passes("secret_view") && !authentik.passes("custom_x"));
        assert!(authentik.passes("login"));
        let stalwart = config.stalwart.unwrap().filter;
        assert!(stalwart.passes("auth.failed") && stalwart.passes("delivery.failed"));
        assert!(!stalwart.passes("auth.success") && !stalwart.passes("smtp.dkim-fail"));
        let ocis = config.ocis_audit.unwrap().filter;
        assert!(ocis.passes("file_create"));
        assert!(
            !ocis.passes("file_read"),
            "the default denylist still applies after ONLY"
        );
        assert!(!ocis.passes("share_created"));
        assert_eq!(config.ocis_events.unwrap().filter, ocis, "the bus uses the oCIS filter");
    }

    #[test]
    fn the_ocis_default_skips_reads_and_an_empty_value_records_everything() {
        let default = parse(&[("OCIS_AUDIT_LOG_PATH", "/x")])
            .unwrap()
            .ocis_audit
            .unwrap()
            .filter;
        assert!(!default.passes("file_read") && !default.passes("public_link_accessed"));
        assert!(default.passes("file_create"));
        let empty = parse(&[("OCIS_AUDIT_LOG_PATH", "/x"), ("OCIS_AUDIT_ACTIONS_SKIP", "")])
            .unwrap()
            .ocis_audit
            .unwrap()
            .filter;
        assert!(empty.passes("file_read"));
    }

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
            ("OCIS_AUDIT_ACTIONS_SKIP", " file_read "),
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
        assert!(!ocis.filter.passes("file_read"));
        assert!(
            ocis.filter.passes("public_link_accessed"),
            "the list replaces the default"
        );
        assert_eq!(ocis.poll, Duration::from_secs(5));
        assert!(ocis.watch, "inotify wake-up is on unless switched off");
        let events = config.ocis_events.unwrap();
        assert_eq!(events.consumer, "dezky-audit");
        assert_eq!(events.stream, "main-queue");
    }

    #[test]
    fn the_inotify_wake_up_can_be_switched_off() {
        for (value, expected) in [("false", false), ("0", false), (" true ", true), ("1", true)] {
            let variables = [
                ("OCIS_AUDIT_LOG_PATH", "/var/log/ocis/audit.log"),
                ("OCIS_AUDIT_WATCH", value),
            ];
            let config = IngestConfig::from_lookup(&|name| {
                variables
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            })
            .unwrap();
            assert_eq!(config.ocis_audit.unwrap().watch, expected, "OCIS_AUDIT_WATCH={value}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("AUDIT_INGEST_ENABLED", "maybe")], "AUDIT_INGEST_ENABLED"),
            (&[("OCIS_AUDIT_WATCH", "inotify")], "OCIS_AUDIT_WATCH"),
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
            (
                &[("OCIS_AUDIT_ACTIONS_SKIP", "file_read,,x")],
                "OCIS_AUDIT_ACTIONS_SKIP",
            ),
            (
                &[
                    ("OCIS_EVENTS_ENDPOINT", "nats://x"),
                    ("OCIS_EVENTS_STREAM", "main.queue"),
                ],
                "OCIS_EVENTS_STREAM",
            ),
            (
                &[("OCIS_EVENTS_ENDPOINT", "nats://x"), ("OCIS_EVENTS_STREAM", " ")],
                "OCIS_EVENTS_STREAM",
            ),
            (&[("OCIS_AUDIT_ACTIONS_SKIP", "file_read ,")], "OCIS_AUDIT_ACTIONS_SKIP"),
            (&[("OCIS_AUDIT_ACTIONS_ONLY", "")], "OCIS_AUDIT_ACTIONS_ONLY"),
            (&[("OCIS_AUDIT_ACTIONS_ONLY", "file read")], "OCIS_AUDIT_ACTIONS_ONLY"),
            (&[("AUTHENTIK_ACTIONS_SKIP", "login;logout")], "AUTHENTIK_ACTIONS_SKIP"),
            (&[("AUTHENTIK_ACTIONS_ONLY", "*")], "AUTHENTIK_ACTIONS_ONLY"),
            (&[("STALWART_EVENTS_SKIP", "auth.*x")], "STALWART_EVENTS_SKIP"),
            (&[("STALWART_EVENTS_ONLY", " , ")], "STALWART_EVENTS_ONLY"),
        ];
        for (pairs, variable) in cases {
            assert_eq!(parse(pairs).unwrap_err().variable, *variable, "{pairs:?}");
        }
    }
}
