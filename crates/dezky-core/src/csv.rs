//! CSV encoding of audit events (RFC 4180: CRLF line ends, fields quoted when they hold a comma,
//! a quote, CR or LF; quotes doubled). Metadata is one column holding its compact JSON.

use crate::event::AuditEvent;

pub const HEADER: [&str; 23] = [
    "seq",
    "at",
    "recordedAt",
    "actorType",
    "actorId",
    "actorEmail",
    "actorIp",
    "action",
    "outcome",
    "resourceType",
    "resourceId",
    "resourceName",
    "tenantSlug",
    "partnerSlug",
    "source",
    "externalId",
    "metadata",
    "prevHash",
    "hash",
    "leafHash",
    "personalCommitment",
    "personalSalt",
    "erased",
];

fn push_field(line: &mut String, field: &str) {
    if !line.is_empty() {
        line.push(',');
    }
    if field.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

fn finish(mut line: String) -> String {
    line.push_str("\r\n");
    line
}

pub fn header_line() -> String {
    let mut line = String::new();
    for name in HEADER {
        push_field(&mut line, name);
    }
    finish(line)
}

pub fn event_line(event: &AuditEvent) -> String {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    let metadata = serde_json::to_string(&event.metadata).unwrap_or_default();
    let fields: [String; 23] = [
        event.seq.to_string(),
        event.at.to_rfc3339(),
        event.recorded_at.to_rfc3339(),
        event.actor_type.as_str().to_owned(),
        optional(&event.actor_id),
        optional(&event.actor_email),
        optional(&event.actor_ip),
        event.action.to_string(),
        event.outcome.as_str().to_owned(),
        optional(&event.resource_type),
        optional(&event.resource_id),
        optional(&event.resource_name),
        event.tenant_slug.as_ref().map(ToString::to_string).unwrap_or_default(),
        event.partner_slug.as_ref().map(ToString::to_string).unwrap_or_default(),
        event.source.to_string(),
        optional(&event.external_id),
        metadata,
        optional(&event.prev_hash),
        optional(&event.hash),
        optional(&event.leaf_hash),
        optional(&event.personal_commitment),
        optional(&event.personal_salt),
        event.erased.to_string(),
    ];
    let mut line = String::with_capacity(256);
    for field in &fields {
        push_field(&mut line, field);
    }
    finish(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, ActorType, Outcome, Source, Timestamp};

    /// A minimal RFC 4180 reader, used only to check that what we write reads back unchanged.
    fn parse_records(text: &str) -> Vec<Vec<String>> {
        let mut records = vec![];
        let mut record = vec![];
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => field.push(c),
            }
        }
        records
    }

    fn event_with_name(name: &str) -> AuditEvent {
        let mut metadata = serde_json::Map::new();
        metadata.insert("note".into(), serde_json::Value::String("a \"quoted\", text".into()));
        AuditEvent {
            seq: 3,
            at: Timestamp::from_millis(1_000),
            recorded_at: Timestamp::from_millis(2_000),
            actor_type: ActorType::User,
            actor_id: None,
            actor_email: Some("a@b.example".into()),
            actor_ip: None,
            action: Action::parse("tenant.created").unwrap(),
            outcome: Outcome::Success,
            resource_type: Some("tenant".into()),
            resource_id: None,
            resource_name: Some(name.into()),
            tenant_slug: None,
            partner_slug: None,
            source: Source::platform(),
            external_id: None,
            metadata,
            prev_hash: None,
            hash: None,
            leaf_hash: None,
            personal_commitment: None,
            personal_salt: None,
            erased: false,
        }
    }

    #[test]
    fn header_names_exactly_the_serialised_fields() {
        let json = serde_json::to_value(event_with_name("x")).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut header = HEADER.to_vec();
        keys.sort();
        header.sort();
        assert_eq!(keys, header);
    }

    #[test]
    fn awkward_fields_read_back_unchanged() {
        for name in [
            "plain",
            "comma, inside",
            "quote \" inside",
            "new\nline",
            "cr\r\nlf",
            "\"",
            "",
        ] {
            let text = header_line() + &event_line(&event_with_name(name));
            let records = parse_records(&text);
            assert_eq!(records.len(), 2, "{name:?}");
            assert_eq!(records[0], HEADER.map(String::from).to_vec());
            assert_eq!(records[1].len(), HEADER.len());
            assert_eq!(records[1][11], name);
            let metadata: serde_json::Value = serde_json::from_str(&records[1][16]).unwrap();
            assert_eq!(metadata["note"], "a \"quoted\", text");
            assert_eq!(records[1][1], "1970-01-01T00:00:01.000Z");
        }
    }

    #[test]
    fn plain_fields_are_not_quoted() {
        let line = event_line(&event_with_name("plain"));
        assert!(line.starts_with("3,1970-01-01T00:00:01.000Z,"));
        assert!(line.ends_with(",,,,,,false\r\n"));
    }
}
