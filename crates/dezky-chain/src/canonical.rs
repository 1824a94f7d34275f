//! dezky canonical JSON, version 1: the exact bytes that hashes commit to.
//!
//! It is RFC 8785 (JSON Canonicalization Scheme) with one deliberate difference: integers are
//! written exactly as decimal integers, whatever their size. RFC 8785 models every number as an
//! IEEE double, which would silently change 64-bit ids above 2^53 (Stalwart's `spanId`), and a
//! hash must commit to the value that was recorded. Non-integer numbers follow RFC 8785
//! (ECMAScript `Number.prototype.toString`).
//!
//! - objects: members sorted by the UTF-16 code units of their names, no white space;
//! - strings: `"` and `\` escaped, U+0000–U+001F as `\b \t \n \f \r` or `\u00xx` (lower-case
//!   hex), everything else (including non-ASCII) as literal UTF-8;
//! - `true`, `false`, `null` as is.

use crate::escape_scan::first_needing_escape;
use serde_json::{Map, Number, Value};

pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

pub fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    // serde_json's map iterates in UTF-8 byte order, which is UTF-16 order whenever the names
    // are ASCII (the usual case): then the members are written as they come, without sorting.
    if map.keys().all(|name| name.is_ascii()) {
        write_members(out, map.iter());
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        write_members(out, members.into_iter());
    }
    out.push('}');
}

fn write_members<'a>(out: &mut String, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    for (index, (name, value)) in members.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value);
    }
}

/// The escape for a byte that JSON requires escaping, `None` for every other byte. Multi-byte
/// UTF-8 sequences never contain such bytes, so runs between escapes are copied whole.
fn escape_of(byte: u8) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007", "\\b", "\\t", "\\n",
        "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
        "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e",
        "\\u001f",
    ];
    match byte {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        0..0x20 => Some(CONTROL[usize::from(byte)]),
        _ => None,
    }
}

pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut rest = text;
    while let Some(index) = first_needing_escape(rest.as_bytes()) {
        // The byte found is ASCII, so both cuts fall on character boundaries.
        out.push_str(&rest[..index]);
        // Every byte the scan finds has an escape (a test ties the two tables together); were
        // one ever missing, the byte is written as it is rather than lost.
        out.push_str(escape_of(rest.as_bytes()[index]).unwrap_or(&rest[index..=index]));
        rest = &rest[index + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

fn write_number(out: &mut String, number: &Number) {
    if let Some(unsigned) = number.as_u64() {
        write_integer(out, unsigned);
    } else if let Some(signed) = number.as_i64() {
        if signed < 0 {
            out.push('-');
        }
        write_integer(out, signed.unsigned_abs());
    } else if let Some(float) = number.as_f64() {
        out.push_str(&ecmascript_number(float));
    }
}

/// An unsigned integer in decimal, without the allocation of `to_string`.
pub fn write_integer(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written, so this never falls back.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// ECMAScript's Number-to-String for finite doubles (RFC 8785 §3.2.2.3). Rust's `{:e}` gives
/// the shortest round-tripping digits; only the layout differs.
fn ecmascript_number(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exponent + 1;
    let sign = if value < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let exponent_sign = if n - 1 < 0 { "-" } else { "+" };
        let fraction = if k > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        format!("{}{fraction}e{exponent_sign}{}", &digits[..1], (n - 1).abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn rfc_8785_number_examples() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1e30, "1e+30"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (333333333.3333333, "333333333.3333333"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (-1.5e-10, "-1.5e-10"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012.5, "123456789012.5"),
        ];
        for (value, expected) in cases {
            assert_eq!(ecmascript_number(value), expected, "{value}");
        }
    }

    #[test]
    fn integers_stay_exact_beyond_2_pow_53() {
        let value = json!({ "spanId": 18446744073709551615u64, "negative": -9223372036854775808i64 });
        assert_eq!(
            to_canonical_string(&value),
            r#"{"negative":-9223372036854775808,"spanId":18446744073709551615}"#
        );
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3: "\u{20ac}" (U+20AC) sorts before "\u{1f600}" (a surrogate pair starting 0xD83D)
        // in UTF-16, though not in UTF-8 byte order... and both after ASCII.
        let value = json!({ "\u{1f600}": 3, "\u{20ac}": 2, "b": 1, "a": { "z": null, "y": [true, false] } });
        assert_eq!(
            to_canonical_string(&value),
            "{\"a\":{\"y\":[true,false],\"z\":null},\"b\":1,\"\u{20ac}\":2,\"\u{1f600}\":3}"
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let value = json!("quote \" backslash \\ tab \t nl \n cr \r bell \u{7} del \u{7f} é 😀 /");
        assert_eq!(
            to_canonical_string(&value),
            "\"quote \\\" backslash \\\\ tab \\t nl \\n cr \\r bell \\u0007 del \u{7f} é 😀 /\""
        );
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-1e15f64..1e15f64).prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(".*", inner, 0..8).prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// JSON equality where a number is a number: 0.0 and 0 are the same value (as in RFC 8785).
    fn same_value(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(key, value)| y.get(key).is_some_and(|other| same_value(value, other)))
            }
            _ => a == b,
        }
    }

    /// The escaping rules written out char by char, as the module comment states them.
    fn reference_string(text: &str) -> String {
        let mut out = String::from('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// `write_string` escapes the bytes the scan finds; each of them has an escape.
    #[test]
    fn exactly_the_bytes_the_scan_finds_have_an_escape() {
        for byte in 0..=255u8 {
            assert_eq!(
                escape_of(byte).is_some(),
                crate::escape_scan::NEEDS_ESCAPE[usize::from(byte)],
                "{byte:#04x}"
            );
        }
    }

    proptest! {
        #[test]
        fn strings_escape_as_the_rules_say(text in "(\\PC|[\\x00-\\x1f\"\\\\])*") {
            let mut out = String::new();
            write_string(&mut out, &text);
            prop_assert_eq!(out, reference_string(&text));
        }

        #[test]
        fn integers_write_as_rust_prints_them(value in any::<u64>(), signed in any::<i64>()) {
            prop_assert_eq!(to_canonical_string(&json!(value)), value.to_string());
            prop_assert_eq!(to_canonical_string(&json!(signed)), signed.to_string());
        }

        /// ASCII names skip the sort; the order must still be the sorted one.
        #[test]
        fn ascii_members_come_out_sorted(map in prop::collection::btree_map("[ -~]{0,6}", any::<u8>(), 0..12)) {
            let value = Value::Object(map.iter().map(|(name, n)| (name.clone(), json!(n))).collect());
            let mut sorted: Vec<_> = map.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            let expected = sorted
                .iter()
                .map(|(name, n)| format!("{}:{n}", reference_string(name)))
                .collect::<Vec<_>>()
                .join(",");
            prop_assert_eq!(to_canonical_string(&value), format!("{{{expected}}}"));
        }

        /// Canonical text parses back to the same value, and canonicalising is idempotent, so
        /// any two producers holding equal values hash equal bytes.
        #[test]
        fn canonical_text_round_trips(value in arbitrary_json()) {
            let text = to_canonical_string(&value);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert!(same_value(&parsed, &value), "{} != {}", parsed, value);
            prop_assert_eq!(to_canonical_string(&parsed), text);
        }
    }
}
