//! `ingest.gap_detected`: a source noticed it may have missed data. Gaps are evidence, so they
//! go on the timeline instead of into a log line nobody keeps.

use dezky_core::{Action, ActorType, NewAuditEvent, Outcome, Source, Timestamp};
use serde_json::{Map, Value};

pub const GAP_ACTION: &str = "ingest.gap_detected";

/// The gap event for `source`: `reason` says what happened (a kebab-case word such as
/// `page-cap-reached`), `details` where (offsets, cursors, counts).
pub fn gap_event(source: &Source, at: Timestamp, reason: &str, details: Map<String, Value>) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(
        at,
        ActorType::System,
        Action::parse(GAP_ACTION).expect("a valid action"),
        source.clone(),
    );
    event.outcome = Outcome::Failure;
    event.resource_type = Some("ingest_source".into());
    event.resource_id = Some(source.as_str().to_owned());
    event.metadata.insert("reason".into(), Value::String(reason.to_owned()));
    event.metadata.extend(details);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_names_the_source_and_the_reason() {
        let source = Source::parse("ocis").unwrap();
        let mut details = Map::new();
        details.insert("lostBytes".into(), 42.into());
        let event = gap_event(&source, Timestamp::from_millis(1), "file-truncated", details);
        assert_eq!(event.action.as_str(), "ingest.gap_detected");
        assert_eq!(event.source, source);
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(event.metadata["reason"], "file-truncated");
        assert_eq!(event.metadata["lostBytes"], 42);
    }
}
