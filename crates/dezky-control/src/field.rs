//! Reading fields from a JSON object with errors that name the field.
//!
//! Request bodies are read as a `serde_json` object and taken apart here rather than with
//! `#[derive(Deserialize)]`, because serde's type errors do not say which field was wrong, and
//! PATCH needs to tell "absent" (keep) from `null` (unset).

use serde_json::{Map, Value};

/// A bad field in a request body; the message is written for the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a PATCH body says about one field.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Patch<T> {
    /// Not sent: keep the stored value.
    #[default]
    Keep,
    /// Sent as `null`: remove the stored value.
    Unset,
    Set(T),
}

impl<T> Patch<T> {
    /// The stored value after applying this patch.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Unset => None,
            Patch::Set(value) => Some(value),
        }
    }

    pub fn is_sent(&self) -> bool {
        !matches!(self, Patch::Keep)
    }
}

/// Rejects any key not in `known`, naming the first unknown one (in sorted order, so the
/// message is stable).
pub fn reject_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), FieldError> {
    match body.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(FieldError::new(
            unknown.as_str(),
            format!("unknown field; expected one of {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> FieldError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    FieldError::new(field, format!("must be {expected}, not {kind}"))
}

/// A string field, run through `check`.
pub fn string<T>(field: &str, value: &Value, check: impl FnOnce(&str) -> Result<T, String>) -> Result<T, FieldError> {
    match value {
        Value::String(text) => check(text).map_err(|message| FieldError::new(field, message)),
        other => Err(type_error(field, "a string", other)),
    }
}

pub fn boolean(field: &str, value: &Value) -> Result<bool, FieldError> {
    value.as_bool().ok_or_else(|| type_error(field, "a boolean", value))
}

/// A whole number in `min..=max`.
pub fn whole_number(field: &str, value: &Value, min: u64, max: u64) -> Result<u64, FieldError> {
    let number = value
        .as_u64()
        .ok_or_else(|| type_error(field, &format!("a whole number from {min} to {max}"), value))?;
    if (min..=max).contains(&number) {
        Ok(number)
    } else {
        Err(FieldError::new(
            field,
            format!("must be from {min} to {max}, not {number}"),
        ))
    }
}

/// Any JSON number in `min..=max`.
pub fn number(field: &str, value: &Value, min: f64, max: f64) -> Result<f64, FieldError> {
    let number = value
        .as_f64()
        .ok_or_else(|| type_error(field, &format!("a number from {min} to {max}"), value))?;
    if (min..=max).contains(&number) {
        Ok(number)
    } else {
        Err(FieldError::new(
            field,
            format!("must be from {min} to {max}, not {number}"),
        ))
    }
}

pub fn object<'v>(field: &str, value: &'v Value) -> Result<&'v Map<String, Value>, FieldError> {
    value.as_object().ok_or_else(|| type_error(field, "an object", value))
}

pub fn array<'v>(field: &str, value: &'v Value) -> Result<&'v Vec<Value>, FieldError> {
    value.as_array().ok_or_else(|| type_error(field, "an array", value))
}

/// A field that may be patched: absent → keep, `null` → unset, else parsed by `parse`.
pub fn patch<T>(
    body: &Map<String, Value>,
    field: &str,
    parse: impl FnOnce(&Value) -> Result<T, FieldError>,
) -> Result<Patch<T>, FieldError> {
    match body.get(field) {
        None => Ok(Patch::Keep),
        Some(Value::Null) => Ok(Patch::Unset),
        Some(value) => parse(value).map(Patch::Set),
    }
}

/// A field that must be present and not null.
pub fn required<'b>(body: &'b Map<String, Value>, field: &str) -> Result<&'b Value, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(FieldError::new(field, "is required")),
        Some(value) => Ok(value),
    }
}

/// A field that may be absent or null (both mean "none").
pub fn optional<T>(
    body: &Map<String, Value>,
    field: &str,
    parse: impl FnOnce(&Value) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse(value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let body = body(json!({"a": null, "b": "x"}));
        let text = |value: &Value| string("f", value, |text| Ok(text.to_owned()));
        assert_eq!(patch(&body, "a", text).unwrap(), Patch::Unset);
        assert_eq!(patch(&body, "b", text).unwrap(), Patch::Set("x".to_owned()));
        assert_eq!(patch(&body, "c", text).unwrap(), Patch::Keep);
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Unset.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
        assert!(!Patch::<i32>::Keep.is_sent());
        assert!(Patch::<i32>::Unset.is_sent());
    }

    #[test]
    fn unknown_fields_are_named() {
        let error = reject_unknown(&body(json!({"name": "x", "colour": 1})), &["name"]).unwrap_err();
        assert_eq!(error.field, "colour");
        assert!(reject_unknown(&body(json!({"name": "x"})), &["name"]).is_ok());
    }

    #[test]
    fn type_errors_name_the_field_and_both_types() {
        let error = whole_number("seats", &json!("ten"), 0, 10).unwrap_err();
        assert_eq!(error.field, "seats");
        assert!(error.message.contains("not a string"), "{}", error.message);
        assert!(boolean("flag", &json!(1)).unwrap_err().message.contains("a number"));
        assert!(object("o", &json!([])).unwrap_err().message.contains("an array"));
        assert!(array("a", &json!({})).unwrap_err().message.contains("an object"));
        assert!(
            string("s", &json!(true), |_| Ok(()))
                .unwrap_err()
                .message
                .contains("a boolean")
        );
        assert!(
            string("s", &Value::Null, |_| Ok(()))
                .unwrap_err()
                .message
                .contains("null")
        );
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(whole_number("n", &json!(5), 0, 10).unwrap(), 5);
        assert!(whole_number("n", &json!(11), 0, 10).is_err());
        assert!(whole_number("n", &json!(-1), 0, 10).is_err());
        assert!(whole_number("n", &json!(1.5), 0, 10).is_err());
        assert_eq!(number("m", &json!(12.5), 0.0, 100.0).unwrap(), 12.5);
        assert_eq!(number("m", &json!(0), 0.0, 100.0).unwrap(), 0.0);
        assert_eq!(number("m", &json!(100), 0.0, 100.0).unwrap(), 100.0);
        assert!(number("m", &json!(100.01), 0.0, 100.0).is_err());
        assert!(number("m", &json!(-0.5), 0.0, 100.0).is_err());
    }

    #[test]
    fn required_and_optional() {
        let body = body(json!({"a": 1, "n": null}));
        assert!(required(&body, "a").is_ok());
        assert_eq!(required(&body, "n").unwrap_err().message, "is required");
        assert_eq!(required(&body, "z").unwrap_err().field, "z");
        assert_eq!(optional(&body, "n", |v| boolean("n", v)).unwrap(), None);
        assert!(optional(&body, "a", |v| boolean("a", v)).is_err());
    }
}
