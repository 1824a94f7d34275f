//! Timestamps: milliseconds since the Unix epoch, RFC 3339 UTC with millisecond precision on the wire.
//!
//! Every instant is truncated to whole milliseconds when it enters the system, so what is stored,
//! what the API shows and what a later hash commits to are the same value: an export read back
//! yields exactly the stored timestamp.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{input}' is not an RFC 3339 timestamp (expected e.g. 2026-03-14T09:26:53.000Z)")]
pub struct TimestampError {
    pub input: String,
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub fn from_datetime(datetime: DateTime<Utc>) -> Timestamp {
        Timestamp(datetime.timestamp_millis())
    }

    /// Parses RFC 3339 with any UTC offset; sub-millisecond digits are truncated.
    pub fn parse_rfc3339(input: &str) -> Result<Timestamp, TimestampError> {
        DateTime::parse_from_rfc3339(input.trim())
            .map(|datetime| Timestamp(datetime.timestamp_millis()))
            .map_err(|_| TimestampError {
                input: input.to_owned(),
            })
    }

    pub fn to_rfc3339(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(datetime) => datetime.to_rfc3339_opts(SecondsFormat::Millis, true),
            // Out of chrono's range (±262,000 years): never produced by parsing, only by a
            // corrupted row. Show the raw number rather than panicking.
            None => format!("@{}ms", self.0),
        }
    }

    pub fn saturating_add_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(
            Timestamp::from_millis(1_773_480_413_007).to_rfc3339(),
            "2026-03-14T09:26:53.007Z"
        );
    }

    #[test]
    fn parses_offsets_and_truncates_microseconds() {
        let parsed = Timestamp::parse_rfc3339("2026-03-14T10:26:53.007999+01:00").unwrap();
        assert_eq!(parsed, Timestamp::from_millis(1_773_480_413_007));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-03-14T09:26:53Z").unwrap(),
            Timestamp::from_millis(1_773_480_413_000)
        );
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in ["", "yesterday", "2026-03-14", "2026-03-14 09:26:53", "1773480413"] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad} parsed");
        }
    }

    proptest! {
        #[test]
        fn round_trips_through_rfc3339(millis in -30_000_000_000_000i64..30_000_000_000_000i64) {
            let timestamp = Timestamp::from_millis(millis);
            prop_assert_eq!(Timestamp::parse_rfc3339(&timestamp.to_rfc3339()).unwrap(), timestamp);
        }
    }
}
