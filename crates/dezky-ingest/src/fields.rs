//! Fitting upstream values into the event's bounded fields without rejecting the event: an
//! upstream system cannot be asked to resend a shorter one, so we keep what fits and say so.

use dezky_chain::canonical::to_canonical_string;
use dezky_core::event::limits;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// `text` cut to at most `limits::SHORT_TEXT` bytes on a character boundary; `None` if empty.
pub fn short_text(text: &str) -> Option<String> {
    short_str(text).map(str::to_owned)
}

/// [`short_text`] without copying: the trimmed, bounded part of `text`.
pub fn short_str(text: &str) -> Option<&str> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(limits::SHORT_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(&text[..end])
}

/// A string field of a JSON object, trimmed and bounded.
pub fn text_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).and_then(short_text)
}

/// The address in canonical text form when `text` is an IP address (IPv4-mapped IPv6 is shown as
/// IPv4), otherwise `None`: the actor IP is a filterable field and must hold only addresses.
pub fn ip_address(text: &str) -> Option<String> {
    let address: IpAddr = text.trim().parse().ok()?;
    Some(address.to_canonical().to_string())
}

/// How much longer than its source text a value's canonical JSON can be: `1e20` (4 bytes) is
/// written out as 21 digits; nothing else grows more.
const CANONICAL_GROWTH: usize = 6;

/// [`bounded_metadata`] for metadata parsed from `source_bytes` bytes of JSON: when even the
/// largest possible growth fits the bound, nothing needs serialising to check it.
pub fn bounded_metadata_from(metadata: Map<String, Value>, source_bytes: usize) -> Map<String, Value> {
    if source_bytes.saturating_mul(CANONICAL_GROWTH) <= limits::METADATA_BYTES {
        return metadata;
    }
    bounded_metadata(metadata)
}

/// `metadata` unchanged when its JSON fits `limits::METADATA_BYTES`; otherwise the largest
/// values are replaced, one at a time, by `{"truncated": true, "bytes": n}` until it fits.
pub fn bounded_metadata(mut metadata: Map<String, Value>) -> Map<String, Value> {
    loop {
        let size = to_canonical_string(&Value::Object(metadata.clone())).len();
        if size <= limits::METADATA_BYTES {
            return metadata;
        }
        let largest = metadata
            .iter()
            .filter(|(_, value)| !is_truncation_marker(value))
            .map(|(key, value)| (key.clone(), to_canonical_string(value).len()))
            .max_by_key(|(_, bytes)| *bytes);
        match largest {
            Some((key, bytes)) if bytes > MARKER_BYTES => {
                metadata.insert(key, serde_json::json!({ "truncated": true, "bytes": bytes }));
            }
            // Only small values left and still too large (an absurd number of keys): a marker
            // would not save anything, so keep a summary.
            _ => {
                let keys = metadata.len();
                metadata = Map::new();
                metadata.insert("truncated".into(), serde_json::json!({ "keys": keys, "bytes": size }));
                return metadata;
            }
        }
    }
}

/// Roughly what a truncation marker costs; replacing a smaller value would not shrink anything.
const MARKER_BYTES: usize = 40;

fn is_truncation_marker(value: &Value) -> bool {
    value.get("truncated") == Some(&Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(short_text("  "), None);
        assert_eq!(short_text(" a "), Some("a".into()));
        let long = "é".repeat(200);
        let cut = short_text(&long).unwrap();
        assert!(cut.len() <= limits::SHORT_TEXT);
        assert_eq!(cut, "é".repeat(128));
    }

    #[test]
    fn only_addresses_are_ips() {
        assert_eq!(ip_address("192.0.2.7"), Some("192.0.2.7".into()));
        assert_eq!(ip_address("::ffff:192.0.2.7"), Some("192.0.2.7".into()));
        assert_eq!(ip_address("2001:DB8::1"), Some("2001:db8::1".into()));
        assert_eq!(ip_address("192.0.2.7:443"), None);
        assert_eq!(ip_address(""), None);
    }

    #[test]
    fn metadata_that_fits_is_kept_and_large_values_are_replaced() {
        let small = json!({ "a": 1, "b": "x" }).as_object().unwrap().clone();
        assert_eq!(bounded_metadata(small.clone()), small);

        let big = "x".repeat(limits::METADATA_BYTES);
        let map = json!({ "keep": "me", "big": big, "also": [1, 2] })
            .as_object()
            .unwrap()
            .clone();
        let bounded = bounded_metadata(map);
        assert_eq!(bounded["keep"], "me");
        assert_eq!(bounded["also"], json!([1, 2]));
        assert_eq!(bounded["big"]["truncated"], true);
        assert_eq!(bounded["big"]["bytes"], limits::METADATA_BYTES + 2);
    }

    #[test]
    fn small_sources_skip_the_check_and_large_ones_are_still_bounded() {
        // The worst growth: exponent-written integers are written out in full.
        let numbers = format!("[{}]", vec!["1e20"; 1_000].join(","));
        let value: Value = serde_json::from_str(&numbers).unwrap();
        let grown = to_canonical_string(&value).len();
        assert!(
            grown <= numbers.len() * CANONICAL_GROWTH,
            "{grown} vs {}",
            numbers.len()
        );
        let map = json!({ "n": value }).as_object().unwrap().clone();
        let bounded = bounded_metadata_from(map.clone(), numbers.len() + 6);
        assert!(to_canonical_string(&Value::Object(bounded)).len() <= limits::METADATA_BYTES);
        let small = json!({ "a": "b" }).as_object().unwrap().clone();
        assert_eq!(bounded_metadata_from(small.clone(), 9), small);
    }

    #[test]
    fn metadata_of_countless_small_keys_becomes_a_summary() {
        let map: Map<String, Value> = (0..10_000)
            .map(|index| (format!("key-{index}"), json!(index)))
            .collect();
        let bounded = bounded_metadata(map);
        assert!(to_canonical_string(&Value::Object(bounded.clone())).len() <= limits::METADATA_BYTES);
        assert_eq!(bounded["truncated"]["keys"], 10_000);
    }
}
