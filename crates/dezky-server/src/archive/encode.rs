//! A batch's data object: the events as JSON Lines (the same line format as the JSONL export,
//! so `dezky verify --jsonl` reads it too), gzip-compressed.
//!
//! Encoding is deterministic (gzip header without a timestamp, fixed level), so a retried run
//! produces the same bytes, the same SHA-256 and therefore the same content-addressed key.

use dezky_chain::manifest::sha256_hex;
use dezky_core::AuditEvent;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read, Write};

pub struct EncodedBatch {
    pub compressed: Vec<u8>,
    pub data_sha256: String,
    pub uncompressed_sha256: String,
    pub bytes_uncompressed: u64,
}

pub fn encode_events(events: &[AuditEvent]) -> EncodedBatch {
    let mut lines = Vec::with_capacity(events.len() * 600);
    for event in events {
        // AuditEvent serialises infallibly (plain fields and a JSON map).
        serde_json::to_writer(&mut lines, event).unwrap_or_default();
        lines.push(b'\n');
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(lines.len() / 4), Compression::default());
    // Writing into a Vec cannot fail.
    encoder.write_all(&lines).unwrap_or_default();
    let compressed = encoder.finish().unwrap_or_default();
    EncodedBatch {
        data_sha256: sha256_hex(&compressed),
        uncompressed_sha256: sha256_hex(&lines),
        bytes_uncompressed: lines.len() as u64,
        compressed,
    }
}

/// The uncompressed JSON Lines of a data object.
pub fn decompress(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut lines = Vec::with_capacity(compressed.len() * 4);
    GzDecoder::new(compressed)
        .read_to_end(&mut lines)
        .map_err(|error| format!("not gzip data: {error}"))?;
    Ok(lines)
}

/// Parses JSON Lines into events; names the line that is not an event.
pub fn parse_lines(lines: &[u8]) -> Result<Vec<AuditEvent>, String> {
    let mut events = vec![];
    for (number, line) in lines.split(|byte| *byte == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let event = serde_json::from_slice(line).map_err(|error| format!("line {}: {error}", number + 1))?;
        events.push(event);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dezky_core::{Action, ActorType, Outcome, Source, Timestamp};

    fn event(seq: u64) -> AuditEvent {
        AuditEvent {
            seq,
            at: Timestamp::from_millis(1_000 + seq as i64),
            recorded_at: Timestamp::from_millis(2_000 + seq as i64),
            actor_type: ActorType::User,
            actor_id: Some(format!("u{seq}")),
            actor_email: Some("erin@acme.example".into()),
            actor_ip: None,
            action: Action::parse("portal.signed_in").unwrap(),
            outcome: Outcome::Success,
            resource_type: None,
            resource_id: None,
            resource_name: Some("session ✓".into()),
            tenant_slug: None,
            partner_slug: None,
            source: Source::platform(),
            external_id: None,
            metadata: serde_json::from_str(r#"{"big":18446744073709551615,"f":1.5}"#).unwrap(),
            prev_hash: Some("00".repeat(32)),
            hash: Some("11".repeat(32)),
            leaf_hash: Some("22".repeat(32)),
            personal_commitment: Some("33".repeat(32)),
            personal_salt: Some("44".repeat(32)),
            erased: false,
        }
    }

    #[test]
    fn events_round_trip_and_encoding_is_deterministic() {
        let events: Vec<AuditEvent> = (0..50).map(event).collect();
        let first = encode_events(&events);
        let second = encode_events(&events);
        assert_eq!(first.compressed, second.compressed);
        assert_eq!(first.data_sha256, sha256_hex(&first.compressed));
        let lines = decompress(&first.compressed).unwrap();
        assert_eq!(lines.len() as u64, first.bytes_uncompressed);
        assert_eq!(sha256_hex(&lines), first.uncompressed_sha256);
        assert_eq!(parse_lines(&lines).unwrap(), events);
        assert_eq!(lines.iter().filter(|byte| **byte == b'\n').count(), 50);
    }

    #[test]
    fn damaged_data_is_reported() {
        assert!(decompress(b"not gzip").is_err());
        let error = parse_lines(b"{\"seq\":1}\n").unwrap_err();
        assert!(error.starts_with("line 1:"), "{error}");
    }
}
