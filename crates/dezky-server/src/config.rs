//! Configuration: defaults, then environment variables, then command-line flags.
//!
//! Parsing is a pure function of a variable lookup, so every rule is tested without touching
//! the process environment. Every error names the variable and what is wrong with its value.

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3001";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_AUDIENCES: &str = "dezky-portal,dezky-operator";
pub const DEFAULT_OPERATOR_AUDIENCE: &str = "dezky-operator";
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_ORIGIN: &str = "dezky.local/audit";
pub const DEFAULT_CHECKPOINT_INTERVAL_SECONDS: u64 = 300;
pub const DEFAULT_CHECKPOINT_EVERY_EVENTS: u64 = 100;
/// An HMAC secret shorter than this is refused: it could be guessed.
pub const MIN_HMAC_SECRET_BYTES: usize = 16;

/// Every environment variable dezky reads, with its default and meaning (the README's table is
/// checked against this list by a test).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "DEZKY_LISTEN",
        DEFAULT_LISTEN,
        "address and port the HTTP server listens on",
    ),
    (
        "DEZKY_DATA_DIR",
        DEFAULT_DATA_DIR,
        "folder for the embedded SQLite database (created if missing)",
    ),
    (
        "DATABASE_URL",
        "sqlite://<DEZKY_DATA_DIR>/dezky.db",
        "database: sqlite:PATH, a file path, or postgres://…",
    ),
    (
        "AUTHENTIK_ISSUER",
        "(unset: OIDC off)",
        "comma-separated OIDC issuer URLs whose tokens are accepted",
    ),
    (
        "AUTHENTIK_AUDIENCE",
        DEFAULT_AUDIENCES,
        "comma-separated accepted token audiences (client ids)",
    ),
    (
        "OPERATOR_AUDIENCE",
        DEFAULT_OPERATOR_AUDIENCE,
        "audience that, with platformAdmin, makes a user an operator",
    ),
    (
        "DEZKY_TRUSTED_PROXIES",
        "(none)",
        "comma-separated IPs/CIDRs of proxies whose X-Forwarded-For is believed",
    ),
    (
        "DEZKY_MAX_BODY_BYTES",
        "4194304",
        "largest accepted request body in bytes",
    ),
    (
        "DEZKY_REQUEST_TIMEOUT_SECONDS",
        "30",
        "time limit for producing a response (streams may run longer)",
    ),
    ("DEZKY_LOG_FORMAT", "text", "log format: text or json"),
    (
        "AUDIT_SIGNING_KEY_FILE",
        "<DEZKY_DATA_DIR>/audit-signing.key",
        "Ed25519 checkpoint signing key (C2SP private key text; created if missing)",
    ),
    (
        "AUDIT_LOG_ORIGIN",
        DEFAULT_ORIGIN,
        "checkpoint origin and key name used when a signing key is created",
    ),
    (
        "AUDIT_SIGNING_KEY",
        "(unset)",
        "optional HMAC-SHA-256 secret: adds an HMAC line to every checkpoint",
    ),
    (
        "AUDIT_CHECKPOINT_INTERVAL_SECONDS",
        "300",
        "make a checkpoint at least this often when events are new",
    ),
    (
        "AUDIT_CHECKPOINT_EVERY_EVENTS",
        "100",
        "make a checkpoint after this many new events",
    ),
    ("RUST_LOG", "info", "log filter (tracing-subscriber EnvFilter syntax)"),
    (
        "PLATFORM_TENANT_DOMAIN",
        "(unset: no guard)",
        "the platform's own domain: only the platform tenant may claim it; names under it are reserved",
    ),
    (
        "AUDIT_COLD_DIR",
        "(unset)",
        "archive to this local folder (cold storage for one machine)",
    ),
    (
        "AUDIT_COLD_ENDPOINT",
        "(unset)",
        "archive to this S3-compatible endpoint (path-style), e.g. https://fsn1.your-objectstorage.com",
    ),
    ("AUDIT_COLD_REGION", "us-east-1", "region of the S3 endpoint"),
    (
        "AUDIT_COLD_BUCKET",
        "(required with an endpoint)",
        "bucket for archive batches",
    ),
    (
        "AUDIT_COLD_ACCESS_KEY",
        "(required with an endpoint)",
        "S3 access key id",
    ),
    (
        "AUDIT_COLD_SECRET_KEY",
        "(required with an endpoint)",
        "S3 secret key (never logged)",
    ),
    (
        "AUDIT_COLD_SSE",
        "false",
        "true: request server-side encryption (SSE-S3, AES256) for every object",
    ),
    (
        "AUDIT_HOT_RETENTION",
        "90d",
        "events recorded longer ago than this are archived (90d, 12h, 30m, 45s)",
    ),
    (
        "AUDIT_HOT_RETENTION_DAYS",
        "(unset)",
        "the same as a number of days (the original system's name)",
    ),
    ("ARCHIVE_ENABLED", "false", "true: run the archiver once a day"),
    (
        "ARCHIVE_RUN_HOUR_UTC",
        "3",
        "hour of the day (UTC, 0-23) at which the daily archive run starts",
    ),
    (
        "AUDIT_ARCHIVE_BATCH_EVENTS",
        "50000",
        "most events in one archive batch",
    ),
];

/// Every variable of every part of the service: [`VARIABLES`] and each part's own list.
pub fn all_variables() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    VARIABLES.iter().chain(crate::ingest::config::INGEST_VARIABLES)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

pub(crate) fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcConfig {
    /// Issuer URLs exactly as tokens carry them in `iss` (Authentik: with a trailing slash).
    pub issuers: Vec<String>,
    pub audiences: Vec<String>,
    pub operator_audience: String,
}

/// Where checkpoints come from and how often.
#[derive(Clone)]
pub struct CheckpointConfig {
    pub signing_key_file: PathBuf,
    pub origin: String,
    /// The AUDIT_SIGNING_KEY secret; never printed.
    pub hmac_secret: Option<SecretString>,
    pub interval: Duration,
    pub every_events: u64,
}

impl PartialEq for CheckpointConfig {
    fn eq(&self, other: &Self) -> bool {
        self.signing_key_file == other.signing_key_file
            && self.origin == other.origin
            && self
                .hmac_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned())
                == other
                    .hmac_secret
                    .as_ref()
                    .map(|secret| secret.expose_secret().to_owned())
            && self.interval == other.interval
            && self.every_events == other.every_events
    }
}

impl Eq for CheckpointConfig {}

impl std::fmt::Debug for CheckpointConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CheckpointConfig")
            .field("signing_key_file", &self.signing_key_file)
            .field("origin", &self.origin)
            .field("hmac_secret", &self.hmac_secret.as_ref().map(|_| "<redacted>"))
            .field("interval", &self.interval)
            .field("every_events", &self.every_events)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// May hold a password: never log it raw (see `database_url_for_display`).
    pub database_url: String,
    pub oidc: Option<OidcConfig>,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
    pub checkpoints: CheckpointConfig,
    pub ingest: crate::ingest::config::IngestConfig,
    /// PLATFORM_TENANT_DOMAIN, validated and lower-cased.
    pub platform_tenant_domain: Option<String>,
    pub archive: crate::archive::config::ArchiveConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url_for_display())
            .field("oidc", &self.oidc)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("log_format", &self.log_format)
            .field("checkpoints", &self.checkpoints)
            .field("ingest", &self.ingest)
            .field("platform_tenant_domain", &self.platform_tenant_domain)
            .field("archive", &self.archive)
            .finish()
    }
}

/// Values given as command-line flags; they win over the environment.
#[derive(Clone, Debug, Default)]
pub struct FlagOverrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_listen(variable: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        problem(
            variable,
            format!("'{value}' is not an address:port such as 127.0.0.1:3001 or [::]:3001"),
        )
    })
}

fn parse_issuer(value: &str) -> Result<String, ConfigError> {
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    if !valid {
        return Err(problem("AUTHENTIK_ISSUER", format!("'{value}' is not an http(s) URL")));
    }
    Ok(value.to_owned())
}

fn parse_proxy(value: &str) -> Result<IpNet, ConfigError> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            problem(
                "DEZKY_TRUSTED_PROXIES",
                format!("'{value}' is not an IP address or CIDR range"),
            )
        })
}

pub(crate) fn parse_positive(variable: &'static str, value: &str) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(problem(variable, format!("'{value}' is not a positive whole number"))),
    }
}

impl Config {
    /// Builds the configuration from a variable lookup (the environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, flags: FlagOverrides) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let listen = match (flags.listen, get("DEZKY_LISTEN")) {
            (Some(flag), _) => parse_listen("--listen", &flag)?,
            (None, Some(value)) => parse_listen("DEZKY_LISTEN", &value)?,
            (None, None) => parse_listen("DEZKY_LISTEN", DEFAULT_LISTEN)?,
        };
        let data_dir = flags
            .data_dir
            .or_else(|| get("DEZKY_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                let url = url.trim().to_owned();
                let supported = url.starts_with("postgres://")
                    || url.starts_with("postgresql://")
                    || url.starts_with("sqlite:")
                    || !url.contains("://");
                if !supported {
                    return Err(problem(
                        "DATABASE_URL",
                        format!(
                            "'{}' is neither postgres://… nor sqlite:… nor a file path",
                            dezky_store::redact_url(&url)
                        ),
                    ));
                }
                url
            }
            None => format!("sqlite://{}", data_dir.join("dezky.db").display()),
        };
        let oidc = match get("AUTHENTIK_ISSUER") {
            None => None,
            Some(value) => {
                let issuers = comma_list(&value)
                    .iter()
                    .map(|issuer| parse_issuer(issuer))
                    .collect::<Result<Vec<_>, _>>()?;
                let audiences = comma_list(&get("AUTHENTIK_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCES.to_owned()));
                let operator_audience = get("OPERATOR_AUDIENCE")
                    .map(|value| value.trim().to_owned())
                    .unwrap_or_else(|| DEFAULT_OPERATOR_AUDIENCE.to_owned());
                if issuers.is_empty() {
                    return Err(problem("AUTHENTIK_ISSUER", "lists no issuer"));
                }
                if audiences.is_empty() {
                    return Err(problem("AUTHENTIK_AUDIENCE", "lists no audience"));
                }
                Some(OidcConfig {
                    issuers,
                    audiences,
                    operator_audience,
                })
            }
        };
        let trusted_proxies = get("DEZKY_TRUSTED_PROXIES")
            .map(|value| {
                comma_list(&value)
                    .iter()
                    .map(|item| parse_proxy(item))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let max_body_bytes = get("DEZKY_MAX_BODY_BYTES")
            .map(|value| parse_positive("DEZKY_MAX_BODY_BYTES", &value))
            .transpose()?
            .map_or(DEFAULT_MAX_BODY_BYTES, |bytes| bytes as usize);
        let request_timeout = Duration::from_secs(
            get("DEZKY_REQUEST_TIMEOUT_SECONDS")
                .map(|value| parse_positive("DEZKY_REQUEST_TIMEOUT_SECONDS", &value))
                .transpose()?
                .unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECONDS),
        );
        let log_format = match get("DEZKY_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(problem("DEZKY_LOG_FORMAT", format!("'{other}' is not text or json")));
            }
        };
        let origin = get("AUDIT_LOG_ORIGIN")
            .map(|value| value.trim().to_owned())
            .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
        if !dezky_chain::checkpoint::is_valid_key_name(&origin) {
            return Err(problem(
                "AUDIT_LOG_ORIGIN",
                format!("'{origin}' is not a key name (no spaces, no '+')"),
            ));
        }
        let hmac_secret = get("AUDIT_SIGNING_KEY").map(SecretString::from);
        if let Some(secret) = &hmac_secret
            && secret.expose_secret().len() < MIN_HMAC_SECRET_BYTES
        {
            return Err(problem(
                "AUDIT_SIGNING_KEY",
                format!("must be at least {MIN_HMAC_SECRET_BYTES} bytes"),
            ));
        }
        let positive = |variable: &'static str, default: u64| -> Result<u64, ConfigError> {
            get(variable)
                .map(|value| parse_positive(variable, &value))
                .transpose()
                .map(|value| value.unwrap_or(default))
        };
        let checkpoints = CheckpointConfig {
            signing_key_file: get("AUDIT_SIGNING_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("audit-signing.key")),
            origin,
            hmac_secret,
            interval: Duration::from_secs(positive(
                "AUDIT_CHECKPOINT_INTERVAL_SECONDS",
                DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
            )?),
            every_events: positive("AUDIT_CHECKPOINT_EVERY_EVENTS", DEFAULT_CHECKPOINT_EVERY_EVENTS)?,
        };
        let ingest = crate::ingest::config::IngestConfig::from_lookup(&get)?;
        let platform_tenant_domain = get("PLATFORM_TENANT_DOMAIN")
            .map(|value| {
                dezky_control::validate::domain(&value).map_err(|message| problem("PLATFORM_TENANT_DOMAIN", message))
            })
            .transpose()?;
        let archive = crate::archive::config::ArchiveConfig::from_lookup(&get)?;
        Ok(Config {
            platform_tenant_domain,
            archive,
            listen,
            data_dir,
            database_url,
            oidc,
            trusted_proxies,
            max_body_bytes,
            request_timeout,
            log_format,
            checkpoints,
            ingest,
        })
    }

    pub fn from_environment(flags: FlagOverrides) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok(), flags)
    }

    pub fn database_url_for_display(&self) -> String {
        dezky_store::redact_url(&self.database_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned(), FlagOverrides::default())
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3001");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.database_url, "sqlite://./data/dezky.db");
        assert_eq!(config.oidc, None);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn flags_win_over_environment() {
        let map: HashMap<&str, &str> = [("DEZKY_LISTEN", "127.0.0.1:1"), ("DEZKY_DATA_DIR", "/env")].into();
        let flags = FlagOverrides {
            listen: Some("127.0.0.1:2".into()),
            data_dir: Some("/flag".into()),
        };
        let config = Config::from_lookup(|name| map.get(name).map(|v| v.to_string()), flags).unwrap();
        assert_eq!(config.listen.port(), 2);
        assert_eq!(config.database_url, "sqlite:///flag/dezky.db");
    }

    #[test]
    fn oidc_lists_and_defaults() {
        let config = parse(&[(
            "AUTHENTIK_ISSUER",
            "https://a.example/application/o/x/, https://a.example/application/o/y/",
        )])
        .unwrap();
        let oidc = config.oidc.unwrap();
        assert_eq!(oidc.issuers.len(), 2);
        assert_eq!(oidc.audiences, vec!["dezky-portal", "dezky-operator"]);
        assert_eq!(oidc.operator_audience, "dezky-operator");
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases = [
            ("DEZKY_LISTEN", "localhost"),
            ("DATABASE_URL", "mysql://root@db/dezky"),
            ("AUTHENTIK_ISSUER", "auth.example"),
            ("DEZKY_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("DEZKY_MAX_BODY_BYTES", "lots"),
            ("DEZKY_MAX_BODY_BYTES", "0"),
            ("DEZKY_REQUEST_TIMEOUT_SECONDS", "-5"),
            ("DEZKY_LOG_FORMAT", "xml"),
            ("AUDIT_SIGNING_KEY", "short"),
            ("AUDIT_LOG_ORIGIN", "has space"),
            ("AUDIT_CHECKPOINT_EVERY_EVENTS", "0"),
            ("AUDIT_CHECKPOINT_INTERVAL_SECONDS", "soon"),
        ];
        for (variable, value) in cases {
            let error = parse(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(error.to_string().starts_with(variable));
        }
        let error = parse(&[
            ("AUTHENTIK_ISSUER", "https://a.example/"),
            ("AUTHENTIK_AUDIENCE", " , "),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "AUTHENTIK_AUDIENCE");
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let config = parse(&[
            ("DATABASE_URL", "postgres://dezky:hunter2@db/dezky"),
            ("AUDIT_SIGNING_KEY", "hunter2-hunter2-hunter2"),
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        let error = parse(&[("DATABASE_URL", "mysql://u:hunter2@db/x")]).unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn readme_documents_every_variable() {
        let readme = include_str!("../../../README.md");
        for (name, _, _) in all_variables() {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README lacks a row for {name}"
            );
        }
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_ranges() {
        let config = parse(&[("DEZKY_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,::1")]).unwrap();
        assert_eq!(config.trusted_proxies.len(), 3);
    }
}
