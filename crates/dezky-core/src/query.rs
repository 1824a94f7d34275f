//! Audit query filters: parsed and validated from the raw query-string values.
//!
//! Results are ordered newest first by `seq`, the order in which the log recorded events. The
//! cursor is the `seq` of the last event of a page, so a reader never skips or repeats an event
//! while new ones arrive: new events always get a higher `seq` than any cursor already handed out.

use crate::event::Outcome;
use crate::names::{Action, Slug, Source, is_action_prefix};
use crate::time::Timestamp;
use serde::Deserialize;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;
/// Rows an export fetches per round trip.
pub const EXPORT_PAGE: u32 = 1_000;
pub const TEXT_MIN_CHARS: usize = 3;
pub const TEXT_MAX_CHARS: usize = 200;

/// A query-string value that failed validation: which parameter, and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("query parameter '{parameter}': {message}")]
pub struct QueryError {
    pub parameter: &'static str,
    pub message: String,
}

fn query_error(parameter: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        parameter,
        message: message.into(),
    }
}

/// The query string exactly as sent. Unknown parameters are rejected, so a typo such as
/// `tenant=acme` fails loudly instead of silently returning every tenant's events.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAuditQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub before: Option<String>,
    pub action: Option<String>,
    pub tenant_slug: Option<String>,
    pub partner_slug: Option<String>,
    pub actor_email: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub q: Option<String>,
    pub limit: Option<String>,
    pub format: Option<String>,
    /// Export only: `asc` exports the whole log oldest first, for offline verification.
    pub order: Option<String>,
    /// `true`: also read archived events (slower: see [`parse_include_archived`]).
    pub include_archived: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionFilter {
    Exact(Action),
    /// Every action starting with this text (`tenant.` matches `tenant.created`).
    Prefix(String),
}

/// Position in the newest-first order: the page holds events with `seq` below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub fn new(value: u32) -> Result<Limit, QueryError> {
        if value == 0 || value > MAX_LIMIT {
            return Err(query_error(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {value}"),
            ));
        }
        Ok(Limit(value))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Limit {
    /// The page size an export reads the log in; internal, above the API's page maximum.
    pub const fn export_page() -> Limit {
        Limit(EXPORT_PAGE)
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit(DEFAULT_LIMIT)
    }
}

impl Cursor {
    pub fn parse(input: &str) -> Result<Cursor, QueryError> {
        input
            .parse::<u64>()
            .map(Cursor)
            .map_err(|_| query_error("before", format!("'{input}' is not a cursor from nextCursor")))
    }

    pub fn encode(self) -> String {
        self.0.to_string()
    }
}

/// Validated filters. Time bounds apply to `at` (when the event happened): `since` inclusive,
/// `until` exclusive, so adjacent windows never count an event twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub before: Option<Cursor>,
    pub action: Option<ActionFilter>,
    pub tenant_slug: Option<Slug>,
    pub partner_slug: Option<Slug>,
    pub actor_email: Option<String>,
    pub outcome: Option<Outcome>,
    pub source: Option<Source>,
    pub text: Option<String>,
    pub limit: Limit,
    /// Only events with `seq` at or above this. Never read from the query string: the server
    /// sets it to keep a hot-tier read above the archived range.
    pub min_seq: Option<u64>,
}

/// What the query is for: a page (which takes `limit`) or an export (which takes `format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryPurpose {
    Page,
    Export,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ActionFilter {
    pub fn parse(input: &str) -> Result<ActionFilter, QueryError> {
        let prefix = input
            .strip_suffix('*')
            .or_else(|| input.ends_with('.').then_some(input));
        match prefix {
            Some(prefix) if is_action_prefix(prefix) => Ok(ActionFilter::Prefix(prefix.to_owned())),
            Some(_) => Err(query_error(
                "action",
                format!("'{input}' is not an action prefix such as tenant. or tenant.*"),
            )),
            None => Action::parse(input)
                .map(ActionFilter::Exact)
                .map_err(|error| query_error("action", format!("'{input}' {error}"))),
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

fn parse_time(parameter: &'static str, value: &Option<String>) -> Result<Option<Timestamp>, QueryError> {
    non_empty(value)
        .map(|text| Timestamp::parse_rfc3339(text).map_err(|error| query_error(parameter, error.to_string())))
        .transpose()
}

fn parse_slug(parameter: &'static str, value: &Option<String>) -> Result<Option<Slug>, QueryError> {
    non_empty(value)
        .map(|text| Slug::parse(text).map_err(|error| query_error(parameter, format!("'{text}' {error}"))))
        .transpose()
}

impl AuditQuery {
    /// Validates every parameter; the first problem found is returned. Empty values count as
    /// absent, which is what an HTML form with blank fields sends.
    pub fn parse(raw: &RawAuditQuery, purpose: QueryPurpose) -> Result<AuditQuery, QueryError> {
        let since = parse_time("since", &raw.since)?;
        let until = parse_time("until", &raw.until)?;
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(query_error("until", "must be later than since"));
        }
        let outcome = non_empty(&raw.outcome)
            .map(|text| {
                Outcome::parse(text)
                    .ok_or_else(|| query_error("outcome", format!("'{text}' is not one of success, failure, denied")))
            })
            .transpose()?;
        let source = non_empty(&raw.source)
            .map(|text| Source::parse(text).map_err(|error| query_error("source", format!("'{text}' {error}"))))
            .transpose()?;
        let text = non_empty(&raw.q)
            .map(|text| {
                let chars = text.chars().count();
                if !(TEXT_MIN_CHARS..=TEXT_MAX_CHARS).contains(&chars) {
                    return Err(query_error(
                        "q",
                        format!("must be {TEXT_MIN_CHARS} to {TEXT_MAX_CHARS} characters, got {chars}"),
                    ));
                }
                Ok(text.to_owned())
            })
            .transpose()?;
        let actor_email = non_empty(&raw.actor_email)
            .map(|text| {
                if text.len() > crate::event::limits::SHORT_TEXT {
                    return Err(query_error("actorEmail", "is too long"));
                }
                Ok(text.to_owned())
            })
            .transpose()?;
        let limit = match (purpose, non_empty(&raw.limit)) {
            (_, None) => Limit::default(),
            (QueryPurpose::Export, Some(_)) => {
                return Err(query_error(
                    "limit",
                    "export has no limit: it streams every matching event",
                ));
            }
            (QueryPurpose::Page, Some(text)) => {
                let value = text
                    .parse::<u32>()
                    .map_err(|_| query_error("limit", format!("'{text}' is not a whole number")))?;
                Limit::new(value)?
            }
        };
        if purpose == QueryPurpose::Page && raw.format.is_some() {
            return Err(query_error("format", "only the export endpoint takes a format"));
        }
        if purpose == QueryPurpose::Page && raw.order.is_some() {
            return Err(query_error("order", "only the export endpoint takes an order"));
        }
        Ok(AuditQuery {
            since,
            until,
            before: non_empty(&raw.before).map(Cursor::parse).transpose()?,
            action: non_empty(&raw.action).map(ActionFilter::parse).transpose()?,
            tenant_slug: parse_slug("tenantSlug", &raw.tenant_slug)?,
            partner_slug: parse_slug("partnerSlug", &raw.partner_slug)?,
            actor_email,
            outcome,
            source,
            text,
            limit,
            min_seq: None,
        })
    }
}

/// `includeArchived`: absent or `false` reads the hot tier only; `true` also reads archived
/// batches. Off by default because an archived batch not restored is fetched from cold storage
/// and decompressed whole for the request (seconds, not milliseconds).
pub fn parse_include_archived(raw: &RawAuditQuery) -> Result<bool, QueryError> {
    match non_empty(&raw.include_archived) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(query_error(
            "includeArchived",
            format!("'{other}' is not true or false"),
        )),
    }
}

impl ExportFormat {
    /// `format` is required to be csv or jsonl; absent means jsonl.
    pub fn parse(value: Option<&str>) -> Result<ExportFormat, QueryError> {
        match value.filter(|text| !text.is_empty()) {
            None | Some("jsonl") => Ok(ExportFormat::Jsonl),
            Some("csv") => Ok(ExportFormat::Csv),
            Some(other) => Err(query_error("format", format!("'{other}' is not csv or jsonl"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(raw: RawAuditQuery) -> Result<AuditQuery, QueryError> {
        AuditQuery::parse(&raw, QueryPurpose::Page)
    }

    #[test]
    fn empty_query_has_defaults() {
        let query = page(RawAuditQuery::default()).unwrap();
        assert_eq!(query, AuditQuery::default());
        assert_eq!(query.limit.get(), DEFAULT_LIMIT);
    }

    #[test]
    fn action_filter_exact_and_prefix() {
        assert_eq!(
            ActionFilter::parse("tenant.created").unwrap(),
            ActionFilter::Exact(Action::parse("tenant.created").unwrap())
        );
        assert_eq!(
            ActionFilter::parse("tenant.").unwrap(),
            ActionFilter::Prefix("tenant.".into())
        );
        assert_eq!(
            ActionFilter::parse("tenant.*").unwrap(),
            ActionFilter::Prefix("tenant.".into())
        );
        assert_eq!(ActionFilter::parse("ten*").unwrap(), ActionFilter::Prefix("ten".into()));
        for bad in ["tenant", "*", "%.", "Tenant.", "tenant.created;drop"] {
            assert_eq!(ActionFilter::parse(bad).unwrap_err().parameter, "action", "{bad}");
        }
    }

    #[test]
    fn limit_bounds_are_enforced_not_clamped() {
        let with_limit = |limit: &str| RawAuditQuery {
            limit: Some(limit.into()),
            ..Default::default()
        };
        assert_eq!(page(with_limit("500")).unwrap().limit.get(), 500);
        assert_eq!(page(with_limit("1")).unwrap().limit.get(), 1);
        for bad in ["0", "501", "-1", "ten", "1.5"] {
            assert_eq!(page(with_limit(bad)).unwrap_err().parameter, "limit", "{bad}");
        }
        let export = AuditQuery::parse(&with_limit("5"), QueryPurpose::Export);
        assert_eq!(export.unwrap_err().parameter, "limit");
    }

    #[test]
    fn each_parameter_names_itself_when_invalid() {
        let cases: Vec<(RawAuditQuery, &str)> = vec![
            (
                RawAuditQuery {
                    since: Some("yesterday".into()),
                    ..Default::default()
                },
                "since",
            ),
            (
                RawAuditQuery {
                    until: Some("2026".into()),
                    ..Default::default()
                },
                "until",
            ),
            (
                RawAuditQuery {
                    before: Some("abc".into()),
                    ..Default::default()
                },
                "before",
            ),
            (
                RawAuditQuery {
                    tenant_slug: Some("Acme".into()),
                    ..Default::default()
                },
                "tenantSlug",
            ),
            (
                RawAuditQuery {
                    partner_slug: Some("-x".into()),
                    ..Default::default()
                },
                "partnerSlug",
            ),
            (
                RawAuditQuery {
                    outcome: Some("ok".into()),
                    ..Default::default()
                },
                "outcome",
            ),
            (
                RawAuditQuery {
                    source: Some("Bad Source".into()),
                    ..Default::default()
                },
                "source",
            ),
            (
                RawAuditQuery {
                    q: Some("ab".into()),
                    ..Default::default()
                },
                "q",
            ),
            (
                RawAuditQuery {
                    actor_email: Some("x".repeat(300)),
                    ..Default::default()
                },
                "actorEmail",
            ),
            (
                RawAuditQuery {
                    format: Some("csv".into()),
                    ..Default::default()
                },
                "format",
            ),
            (
                RawAuditQuery {
                    since: Some("2026-01-02T00:00:00Z".into()),
                    until: Some("2026-01-01T00:00:00Z".into()),
                    ..Default::default()
                },
                "until",
            ),
        ];
        for (raw, parameter) in cases {
            assert_eq!(page(raw).unwrap_err().parameter, parameter);
        }
    }

    #[test]
    fn blank_values_are_absent() {
        let raw = RawAuditQuery {
            tenant_slug: Some(String::new()),
            q: Some(String::new()),
            limit: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(page(raw).unwrap(), AuditQuery::default());
    }

    #[test]
    fn full_query_parses() {
        let raw = RawAuditQuery {
            since: Some("2026-01-01T00:00:00Z".into()),
            until: Some("2026-02-01T00:00:00Z".into()),
            before: Some("42".into()),
            action: Some("tenant.".into()),
            tenant_slug: Some("acme".into()),
            partner_slug: Some("resell".into()),
            actor_email: Some("a@b.example".into()),
            outcome: Some("denied".into()),
            source: Some("authentik".into()),
            q: Some("login".into()),
            limit: Some("10".into()),
            format: None,
            order: None,
            include_archived: None,
        };
        let query = page(raw).unwrap();
        assert_eq!(query.before, Some(Cursor(42)));
        assert_eq!(query.outcome, Some(Outcome::Denied));
        assert_eq!(query.limit.get(), 10);
        assert_eq!(query.text.as_deref(), Some("login"));
    }

    #[test]
    fn include_archived_is_true_or_false() {
        let with = |value: &str| RawAuditQuery {
            include_archived: Some(value.into()),
            ..Default::default()
        };
        assert_eq!(parse_include_archived(&RawAuditQuery::default()), Ok(false));
        assert_eq!(parse_include_archived(&with("")), Ok(false));
        assert_eq!(parse_include_archived(&with("false")), Ok(false));
        assert_eq!(parse_include_archived(&with("true")), Ok(true));
        for bad in ["yes", "1", "TRUE"] {
            assert_eq!(
                parse_include_archived(&with(bad)).unwrap_err().parameter,
                "includeArchived"
            );
        }
        // Not a filter: the parsed query is the same either way.
        assert_eq!(page(with("true")).unwrap(), AuditQuery::default());
    }

    #[test]
    fn export_format() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Jsonl);
        assert_eq!(ExportFormat::parse(Some("csv")).unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse(Some("xml")).unwrap_err().parameter, "format");
    }
}
