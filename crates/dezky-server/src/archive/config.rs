//! Cold-storage configuration: where batches go, how long events stay hot, when the worker runs.
//! Pure parsing of a variable lookup; every error names the variable.

use crate::config::ConfigError;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_HOT_RETENTION: &str = "90d";
pub const DEFAULT_RUN_HOUR_UTC: u32 = 3;
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_BATCH_EVENTS: u64 = 50_000;

/// An S3-compatible bucket, addressed path-style (MinIO, Hetzner Object Storage and AWS all
/// accept it).
#[derive(Clone)]
pub struct S3Target {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    /// Never printed.
    pub secret_key: SecretString,
    /// AUDIT_COLD_SSE=true: ask for server-side encryption (SSE-S3, AES256) on every object.
    pub server_side_encryption: bool,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("S3Target")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("server_side_encryption", &self.server_side_encryption)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColdTarget {
    Directory(PathBuf),
    S3(S3Target),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// `None`: no cold storage configured (archiving is unavailable).
    pub target: Option<ColdTarget>,
    pub hot_retention: Duration,
    pub enabled: bool,
    pub run_hour_utc: u32,
    pub batch_events: u64,
}

impl PartialEq for S3Target {
    fn eq(&self, other: &Self) -> bool {
        self.endpoint == other.endpoint
            && self.region == other.region
            && self.bucket == other.bucket
            && self.access_key == other.access_key
            && self.secret_key.expose_secret() == other.secret_key.expose_secret()
            && self.server_side_encryption == other.server_side_encryption
    }
}

impl Eq for S3Target {}

fn problem(variable: &'static str, text: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: text.into(),
    }
}

/// `90d`, `12h`, `30m`, `45s` (a whole number and one unit).
pub fn parse_duration(variable: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let value = value.trim();
    let bad = || {
        problem(
            variable,
            format!("'{value}' is not a duration such as 90d, 12h, 30m or 45s"),
        )
    };
    let split = value.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(problem(variable, format!("'{other}' is not true or false"))),
    }
}

impl ArchiveConfig {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<ArchiveConfig, ConfigError> {
        let hot_retention = match (get("AUDIT_HOT_RETENTION"), get("AUDIT_HOT_RETENTION_DAYS")) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    "AUDIT_HOT_RETENTION",
                    "set either AUDIT_HOT_RETENTION or AUDIT_HOT_RETENTION_DAYS, not both",
                ));
            }
            (Some(value), None) => parse_duration("AUDIT_HOT_RETENTION", &value)?,
            (None, Some(days)) => {
                let days: u64 = days.trim().parse().map_err(|_| {
                    problem(
                        "AUDIT_HOT_RETENTION_DAYS",
                        format!("'{days}' is not a whole number of days"),
                    )
                })?;
                parse_duration("AUDIT_HOT_RETENTION_DAYS", &format!("{days}d"))?
            }
            (None, None) => parse_duration("AUDIT_HOT_RETENTION", DEFAULT_HOT_RETENTION)?,
        };
        let enabled = get("ARCHIVE_ENABLED")
            .map(|value| parse_bool("ARCHIVE_ENABLED", &value))
            .transpose()?
            .unwrap_or(false);
        let run_hour_utc = match get("ARCHIVE_RUN_HOUR_UTC") {
            None => DEFAULT_RUN_HOUR_UTC,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(hour) if hour < 24 => hour,
                _ => {
                    return Err(problem(
                        "ARCHIVE_RUN_HOUR_UTC",
                        format!("'{value}' is not an hour from 0 to 23"),
                    ));
                }
            },
        };
        let batch_events = match get("AUDIT_ARCHIVE_BATCH_EVENTS") {
            None => DEFAULT_BATCH_EVENTS,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(count) if count > 0 => count,
                _ => {
                    return Err(problem(
                        "AUDIT_ARCHIVE_BATCH_EVENTS",
                        format!("'{value}' is not a positive whole number"),
                    ));
                }
            },
        };
        let target = Self::target(get)?;
        if enabled && target.is_none() {
            return Err(problem(
                "ARCHIVE_ENABLED",
                "archiving is enabled but no cold storage is configured (set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT)",
            ));
        }
        Ok(ArchiveConfig {
            target,
            hot_retention,
            enabled,
            run_hour_utc,
            batch_events,
        })
    }

    fn target(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<ColdTarget>, ConfigError> {
        let directory = get("AUDIT_COLD_DIR");
        let endpoint = get("AUDIT_COLD_ENDPOINT");
        match (directory, endpoint) {
            (Some(_), Some(_)) => Err(problem(
                "AUDIT_COLD_DIR",
                "set either AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT, not both",
            )),
            (Some(directory), None) => Ok(Some(ColdTarget::Directory(PathBuf::from(directory.trim())))),
            (None, Some(endpoint)) => {
                let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    return Err(problem(
                        "AUDIT_COLD_ENDPOINT",
                        format!("'{endpoint}' is not an http(s) URL"),
                    ));
                }
                let required = |variable: &'static str| {
                    get(variable)
                        .map(|value| value.trim().to_owned())
                        .ok_or_else(|| problem(variable, "is required with AUDIT_COLD_ENDPOINT"))
                };
                Ok(Some(ColdTarget::S3(S3Target {
                    endpoint,
                    region: get("AUDIT_COLD_REGION")
                        .map(|value| value.trim().to_owned())
                        .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
                    bucket: required("AUDIT_COLD_BUCKET")?,
                    access_key: required("AUDIT_COLD_ACCESS_KEY")?,
                    secret_key: SecretString::from(required("AUDIT_COLD_SECRET_KEY")?),
                    server_side_encryption: get("AUDIT_COLD_SSE")
                        .map(|value| parse_bool("AUDIT_COLD_SSE", &value))
                        .transpose()?
                        .unwrap_or(false),
                })))
            }
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<ArchiveConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ArchiveConfig::from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_keep_archiving_off_with_ninety_days_hot() {
        let config = parse(&[]).unwrap();
        assert!(config.target.is_none());
        assert!(!config.enabled);
        assert_eq!(config.hot_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(config.run_hour_utc, 3);
        assert_eq!(config.batch_events, DEFAULT_BATCH_EVENTS);
    }

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("X", "12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("X", "30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("X", "0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("X", "5m").unwrap(), Duration::from_secs(300));
        for bad in ["", "90", "d", "1.5d", "-1d", "3w", "1d2h", "99999999999999999999d"] {
            assert!(parse_duration("X", bad).is_err(), "{bad}");
        }
        let error = parse(&[("AUDIT_HOT_RETENTION", "soon")]).unwrap_err();
        assert_eq!(error.variable, "AUDIT_HOT_RETENTION");
    }

    #[test]
    fn the_seeds_day_count_is_accepted_but_not_with_the_new_name() {
        let config = parse(&[("AUDIT_HOT_RETENTION_DAYS", "30")]).unwrap();
        assert_eq!(config.hot_retention, Duration::from_secs(30 * 86_400));
        assert!(parse(&[("AUDIT_HOT_RETENTION_DAYS", "30d")]).is_err());
        assert!(parse(&[("AUDIT_HOT_RETENTION_DAYS", "30"), ("AUDIT_HOT_RETENTION", "30d")]).is_err());
    }

    #[test]
    fn a_directory_or_a_bucket() {
        let config = parse(&[("AUDIT_COLD_DIR", "/var/lib/dezky/cold"), ("ARCHIVE_ENABLED", "true")]).unwrap();
        assert!(
            matches!(config.target, Some(ColdTarget::Directory(ref path)) if path == &PathBuf::from("/var/lib/dezky/cold"))
        );
        assert!(config.enabled);
        let s3 = parse(&[
            ("AUDIT_COLD_ENDPOINT", "https://fsn1.your-objectstorage.com/"),
            ("AUDIT_COLD_BUCKET", "audit"),
            ("AUDIT_COLD_ACCESS_KEY", "AK"),
            ("AUDIT_COLD_SECRET_KEY", "very-secret"),
            ("AUDIT_COLD_SSE", "true"),
        ])
        .unwrap();
        let Some(ColdTarget::S3(target)) = s3.target else {
            panic!("not s3")
        };
        assert_eq!(target.endpoint, "https://fsn1.your-objectstorage.com");
        assert_eq!(target.region, DEFAULT_REGION);
        assert!(target.server_side_encryption);
        assert!(!format!("{target:?}").contains("very-secret"));
    }

    #[test]
    fn incomplete_or_contradictory_settings_name_the_variable() {
        let missing = parse(&[
            ("AUDIT_COLD_ENDPOINT", "http://127.0.0.1:9000"),
            ("AUDIT_COLD_BUCKET", "b"),
        ])
        .unwrap_err();
        assert_eq!(missing.variable, "AUDIT_COLD_ACCESS_KEY");
        let both = parse(&[("AUDIT_COLD_ENDPOINT", "http://x"), ("AUDIT_COLD_DIR", "/tmp")]).unwrap_err();
        assert_eq!(both.variable, "AUDIT_COLD_DIR");
        assert_eq!(
            parse(&[("AUDIT_COLD_ENDPOINT", "ftp://x")]).unwrap_err().variable,
            "AUDIT_COLD_ENDPOINT"
        );
        assert_eq!(
            parse(&[("ARCHIVE_ENABLED", "true")]).unwrap_err().variable,
            "ARCHIVE_ENABLED"
        );
        assert_eq!(
            parse(&[("ARCHIVE_ENABLED", "maybe")]).unwrap_err().variable,
            "ARCHIVE_ENABLED"
        );
        assert_eq!(
            parse(&[("ARCHIVE_RUN_HOUR_UTC", "24")]).unwrap_err().variable,
            "ARCHIVE_RUN_HOUR_UTC"
        );
        assert_eq!(
            parse(&[("AUDIT_ARCHIVE_BATCH_EVENTS", "0")]).unwrap_err().variable,
            "AUDIT_ARCHIVE_BATCH_EVENTS"
        );
    }
}
