use super::*;
use crate::canonical::to_canonical_string;
use proptest::prelude::*;
use serde_json::{Value, json};

fn recognised(text: &str) -> bool {
    CanonicalObjectText::recognise(text).is_some()
}

#[test]
fn canonical_objects_are_recognised() {
    for text in [
        "{}",
        r#"{"a":1,"b":[true,false,null],"c":{"d":"x\ny","e":[]},"f":-5}"#,
        r#"{"max":18446744073709551615,"min":-9223372036854775808,"zero":0}"#,
        r#"{"controls":"\b\t\n\f\r\u0000\u000b\u001f","quote":"\"","slash":"/\\"}"#,
        "{\"a\":\"é 😀 \u{7f}\",\"é\":1,\"\u{20ac}\":2,\"\u{1f600}\":3,\"\u{ff61}\":4}",
    ] {
        assert!(recognised(text), "{text}");
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(to_canonical_string(&value), text);
    }
}

#[test]
fn anything_else_is_left_to_the_parser() {
    for text in [
        "",
        "[]",
        "null",
        "{",
        "{} ",
        " {}",
        r#"{"a": 1}"#,
        r#"{"b":1,"a":2}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a\u0062":1}"#,
        r#"{"a":"\/"}"#,
        r#"{"a":"\u00e9"}"#,
        r#"{"a":"\u001F"}"#,
        r#"{"a":"\u0008"}"#,
        r#"{"a":"\u000a"}"#,
        r#"{"a":"\ud83d\ude00"}"#,
        r#"{"a":"\x"}"#,
        "{\"a\":\"tab\there\"}",
        r#"{"a":1.5}"#,
        r#"{"a":1e3}"#,
        r#"{"a":10E1}"#,
        r#"{"a":-0}"#,
        r#"{"a":01}"#,
        r#"{"a":-}"#,
        r#"{"a":18446744073709551616}"#,
        r#"{"a":-9223372036854775809}"#,
        r#"{"a":tru}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":1,}"#,
        r#"{"a":1}{}"#,
        // Code-point order, not UTF-16 order: U+FF61 sorts after U+1F600's leading surrogate.
        "{\"\u{ff61}\":1,\"\u{1f600}\":2}",
    ] {
        assert!(!recognised(text), "{text}");
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_left_to_the_parser() {
    let nested = |depth: usize| format!("{}{}", r#"{"a":"#.repeat(depth - 1) + "{}", "}".repeat(depth - 1));
    assert!(recognised(&nested(MAX_DEPTH)));
    assert!(!recognised(&nested(MAX_DEPTH + 1)));
    let in_arrays = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(!recognised(&in_arrays));
}

/// JSON values that canonical form writes without a fraction or exponent.
fn integer_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        "(\\PC|[\\x00-\\x1f\"\\\\/])*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z0-9_ é€😀｡-]{0,4}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn object_of(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        other => json!({ "value": other }),
    }
}

/// Any JSON value, with fractions, and texts close to canonical but not quite.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![integer_json(), (-1e6f64..1e6f64).prop_map(|f| json!(f))]
}

const EDITS: [&str; 28] = [
    " ", "\\", "\"", "/", "u", "0", "-", ".", "e", ",", ":", "{", "}", "[", "]", "1", "a", "é", "\n", "\\u00", "\\/",
    "\\u00e9", "\\u001F", "\\u0008", "-0", "1.0", "1e2", "\"\":0,",
];

proptest! {
    /// Completeness: whatever canonical form writes without numbers that need a fraction is
    /// recognised, so the fast path is taken for every event the store writes.
    #[test]
    fn canonical_text_is_recognised(value in integer_json()) {
        let text = to_canonical_string(&object_of(value));
        prop_assert!(recognised(&text), "{}", text);
    }

    /// What the store writes (serde_json's printing of the map) is recognised exactly when it
    /// is the canonical form.
    #[test]
    fn stored_text_is_recognised_when_canonical(value in integer_json()) {
        let object = object_of(value);
        let stored = serde_json::to_string(&object).unwrap();
        prop_assert_eq!(recognised(&stored), stored == to_canonical_string(&object), "{}", stored);
    }
}

proptest! {
    // Cheap cases, and a damaged text is only interesting when it still parses: many of them.
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// Soundness: text the recogniser accepts is an object whose canonical form is that very
    /// text, however the text was damaged.
    #[test]
    fn recognised_text_is_its_own_canonical_form(
        value in any_json(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..EDITS.len() + 1), 1..3),
    ) {
        let mut text = to_canonical_string(&object_of(value));
        for (position, edit) in edits {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|&at| text.is_char_boundary(at)).collect();
            let at = boundaries[position.index(boundaries.len())];
            match EDITS.get(edit) {
                Some(inserted) => text.insert_str(at, inserted),
                None => {
                    if let Some(removed) = text[at..].chars().next() {
                        text.replace_range(at..at + removed.len_utf8(), "");
                    }
                }
            }
        }
        if recognised(&text) {
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert!(parsed.is_object());
            prop_assert_eq!(to_canonical_string(&parsed), text);
        }
    }
}
