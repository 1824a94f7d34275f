//! Row shapes shared by both backends and their conversion into domain types.
//!
//! Conversion re-validates every value (a hand-edited row with a bad action or slug surfaces as
//! `StoreError::Corrupt` naming the seq, instead of a panic or a silently wrong event).

use crate::error::StoreError;
use crate::records::{ApiToken, User};
use dezky_core::{Action, ActorType, AuditEvent, NewAuditEvent, Outcome, Slug, Source, Timestamp, TokenScope};

/// The event columns in the order every event SELECT reads them (`EvidenceColumn` follows it
/// after the three integers).
macro_rules! event_columns {
    () => {
        "seq, at_ms, recorded_at_ms, actor_type, actor_id, actor_email, actor_ip, action, outcome, \
         resource_type, resource_id, resource_name, tenant_slug, partner_slug, source, external_id, \
         metadata, prev_hash, hash, leaf_hash, personal_commitment, personal_salt"
    };
}

pub(crate) const EVENT_COLUMNS: &str = event_columns!();

/// Events after a seq, oldest first: for verification and for reading the log in order.
pub(crate) const SELECT_EVENTS_IN_ORDER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
);

/// `SELECT_EVENTS_IN_ORDER` as a PostgreSQL binary COPY (which takes no parameters, so the two
/// integers are written into the statement).
pub(crate) fn copy_events_in_order(after: i64, limit: u32) -> String {
    format!(
        concat!(
            "COPY (SELECT ",
            event_columns!(),
            " FROM audit_events WHERE seq > {} ORDER BY seq LIMIT {}) TO STDOUT (FORMAT binary)"
        ),
        after, limit
    )
}

pub(crate) const TOKEN_COLUMNS: &str = "id, name, scope, tenant_slug, source, created_at_ms, created_by, revoked_at_ms";

pub(crate) const USER_COLUMNS: &str = "id, issuer, subject, email, name, groups_json, \
    platform_admin, created_at_ms, last_seen_at_ms";

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    at_ms: i64,
    recorded_at_ms: i64,
    actor_type: String,
    actor_id: Option<String>,
    actor_email: Option<String>,
    actor_ip: Option<String>,
    action: String,
    outcome: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    tenant_slug: Option<String>,
    partner_slug: Option<String>,
    source: String,
    external_id: Option<String>,
    metadata: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
    leaf_hash: Option<String>,
    personal_commitment: Option<String>,
    personal_salt: Option<String>,
}

fn corrupt(seq: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("audit event seq {seq}: {what}"))
}

fn optional_slug(seq: i64, value: Option<String>) -> Result<Option<Slug>, StoreError> {
    value
        .map(|text| Slug::parse(&text).map_err(|error| corrupt(seq, format!("slug '{text}' {error}"))))
        .transpose()
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<AuditEvent, StoreError> {
        let seq = row.seq;
        let metadata = match row.metadata.as_deref().map(serde_json::from_str) {
            None => serde_json::Map::new(),
            Some(Ok(serde_json::Value::Object(map))) => map,
            Some(_) => return Err(corrupt(seq, "metadata is not a JSON object")),
        };
        Ok(AuditEvent {
            seq: u64::try_from(seq).map_err(|_| corrupt(seq, "negative seq"))?,
            at: Timestamp::from_millis(row.at_ms),
            recorded_at: Timestamp::from_millis(row.recorded_at_ms),
            actor_type: ActorType::parse(&row.actor_type)
                .ok_or_else(|| corrupt(seq, format!("actor type '{}'", row.actor_type)))?,
            actor_id: row.actor_id,
            actor_email: row.actor_email,
            actor_ip: row.actor_ip,
            action: Action::parse(&row.action)
                .map_err(|error| corrupt(seq, format!("action '{}' {error}", row.action)))?,
            outcome: Outcome::parse(&row.outcome).ok_or_else(|| corrupt(seq, format!("outcome '{}'", row.outcome)))?,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            resource_name: row.resource_name,
            tenant_slug: optional_slug(seq, row.tenant_slug)?,
            partner_slug: optional_slug(seq, row.partner_slug)?,
            source: Source::parse(&row.source)
                .map_err(|error| corrupt(seq, format!("source '{}' {error}", row.source)))?,
            external_id: row.external_id,
            metadata,
            prev_hash: row.prev_hash,
            hash: row.hash,
            leaf_hash: row.leaf_hash,
            personal_commitment: row.personal_commitment,
            erased: row.personal_salt.is_none(),
            personal_salt: row.personal_salt,
        })
    }
}

/// The column values of a new event, in `EVENT_COLUMNS` order after the three numbers
/// (seq, at, recordedAt) that the backend binds itself.
pub(crate) struct EventValues {
    pub at_ms: i64,
    pub texts: [Option<String>; 14],
}

pub(crate) fn event_values(event: &NewAuditEvent) -> EventValues {
    let slug = |value: &Option<Slug>| value.as_ref().map(|slug| slug.as_str().to_owned());
    EventValues {
        at_ms: event.at.as_millis(),
        texts: [
            Some(event.actor_type.as_str().to_owned()),
            event.actor_id.clone(),
            event.actor_email.clone(),
            event.actor_ip.clone(),
            Some(event.action.as_str().to_owned()),
            Some(event.outcome.as_str().to_owned()),
            event.resource_type.clone(),
            event.resource_id.clone(),
            event.resource_name.clone(),
            slug(&event.tenant_slug),
            slug(&event.partner_slug),
            Some(event.source.as_str().to_owned()),
            event.external_id.clone(),
            // Serialised straight from the map: no copy of the metadata on the append path.
            serde_json::to_string(&event.metadata).ok(),
        ],
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    name: String,
    scope: String,
    tenant_slug: Option<String>,
    source: Option<String>,
    created_at_ms: i64,
    created_by: String,
    revoked_at_ms: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<ApiToken, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("api token {}: {what}", row.id));
        let scope = match (row.scope.as_str(), &row.tenant_slug, &row.source) {
            ("operator", _, _) => TokenScope::Operator,
            ("tenant", Some(slug), _) => TokenScope::Tenant(Slug::parse(slug).map_err(|_| bad("bad tenant slug"))?),
            ("ingest", _, Some(source)) => TokenScope::Ingest(Source::parse(source).map_err(|_| bad("bad source"))?),
            _ => return Err(bad("scope without its tenant or source")),
        };
        Ok(ApiToken {
            id: row.id,
            name: row.name,
            scope,
            created_at: Timestamp::from_millis(row.created_at_ms),
            created_by: row.created_by,
            revoked_at: row.revoked_at_ms.map(Timestamp::from_millis),
        })
    }
}

/// The `(scope, tenant_slug, source)` columns of a scope.
pub(crate) fn scope_columns(scope: &TokenScope) -> (&'static str, Option<String>, Option<String>) {
    match scope {
        TokenScope::Operator => ("operator", None, None),
        TokenScope::Tenant(slug) => ("tenant", Some(slug.as_str().to_owned()), None),
        TokenScope::Ingest(source) => ("ingest", None, Some(source.as_str().to_owned())),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    issuer: String,
    subject: String,
    email: Option<String>,
    name: Option<String>,
    groups_json: String,
    platform_admin: bool,
    created_at_ms: i64,
    last_seen_at_ms: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<User, StoreError> {
        let groups = serde_json::from_str(&row.groups_json)
            .map_err(|_| StoreError::Corrupt(format!("user {}: groups are not a JSON list", row.id)))?;
        Ok(User {
            id: row.id,
            issuer: row.issuer,
            subject: row.subject,
            email: row.email,
            name: row.name,
            groups,
            platform_admin: row.platform_admin,
            created_at: Timestamp::from_millis(row.created_at_ms),
            last_seen_at: Timestamp::from_millis(row.last_seen_at_ms),
        })
    }
}

pub(crate) fn groups_json(groups: &[String]) -> String {
    serde_json::to_string(groups).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn to_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    tree_size: i64,
    root_hash: String,
    note: String,
    head_seq: Option<i64>,
    head_hash: String,
    at_ms: i64,
    reason: String,
}

pub(crate) const CHECKPOINT_COLUMNS: &str = "tree_size, root_hash, note, head_seq, head_hash, at_ms, reason";

impl From<CheckpointRow> for crate::records::CheckpointRecord {
    fn from(row: CheckpointRow) -> Self {
        crate::records::CheckpointRecord {
            tree_size: row.tree_size as u64,
            root_hash: row.root_hash,
            note: row.note,
            head_seq: row.head_seq.map(|seq| seq as u64),
            head_hash: row.head_hash,
            at: Timestamp::from_millis(row.at_ms),
            reason: row.reason,
        }
    }
}

/// A stored hex hash, or `Corrupt` naming where it was found.
pub(crate) fn stored_hash(text: &str, place: &str) -> Result<dezky_chain::merkle::Hash, StoreError> {
    dezky_chain::leaf::parse_hash(text)
        .ok_or_else(|| StoreError::Corrupt(format!("{place}: '{text}' is not a SHA-256 hex value")))
}
