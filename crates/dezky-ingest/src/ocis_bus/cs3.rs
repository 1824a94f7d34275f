//! Reading the CS3 API objects inside reva's event structs, as Go's encoding/json writes them.

use super::GO_ZERO_TIME_MILLIS;
use crate::fields::{short_text, text_field};
use dezky_core::Timestamp;
use serde_json::{Map, Value};

/// The `opaque_id` of a CS3 id object (`{"idp","opaque_id","type"}` as Go's encoding/json
/// writes the protobuf structs; `OpaqueId`/`opaqueId` accepted too).
pub(super) fn opaque_id(value: Option<&Value>) -> Option<String> {
    let object = value?.as_object()?;
    ["opaque_id", "OpaqueId", "opaqueId"]
        .iter()
        .find_map(|key| text_field(object, key))
}

pub(super) fn string_field(payload: &Map<String, Value>, key: &str) -> Option<String> {
    text_field(payload, key)
}

/// A CS3 resource id as oCIS prints it (`<storage>$<space>!<opaque>`), so the bus names files
/// as the audit log's `FileID` does.
pub(super) fn resource_id(value: Option<&Value>) -> Option<String> {
    let object = value?.as_object()?;
    let part = |keys: [&str; 2]| keys.iter().find_map(|key| text_field(object, key));
    let storage = part(["storage_id", "StorageId"]);
    let space = part(["space_id", "SpaceId"]);
    let opaque = part(["opaque_id", "OpaqueId"]);
    let mut id = String::new();
    if let Some(storage) = &storage {
        id.push_str(storage);
        id.push('$');
    }
    if let Some(space) = &space {
        id.push_str(space);
    }
    if let Some(opaque) = &opaque {
        id.push('!');
        id.push_str(opaque);
    }
    short_text(&id)
}

/// A CS3 timestamp `{"seconds","nanos"}`, or an RFC 3339 string.
pub(super) fn timestamp_of(value: Option<&Value>) -> Option<Timestamp> {
    match value? {
        Value::Object(object) => {
            let seconds = object.get("seconds").and_then(Value::as_i64)?;
            let nanos = object.get("nanos").and_then(Value::as_i64).unwrap_or(0);
            let millis = seconds.checked_mul(1000)?.checked_add(nanos / 1_000_000)?;
            (millis > 0).then(|| Timestamp::from_millis(millis))
        }
        Value::String(text) => Timestamp::parse_rfc3339(text)
            .ok()
            .filter(|at| at.as_millis() > GO_ZERO_TIME_MILLIS),
        _ => None,
    }
}
