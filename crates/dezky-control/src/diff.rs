//! The change an update made: `{field: {from, to}}` for exactly the fields whose value differs.

use serde_json::{Map, Value, json};

/// Field name → `{"from": …, "to": …}`; empty when nothing changed.
pub type Diff = Map<String, Value>;

/// Compares two JSON objects key by key (a key missing on one side counts as `null`), so a
/// PATCH that re-sends the stored value produces no entry.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Diff {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changes = Map::new();
    for key in keys {
        let from = before.get(key).unwrap_or(&Value::Null);
        let to = after.get(key).unwrap_or(&Value::Null);
        if from != to {
            changes.insert(key.clone(), json!({ "from": from, "to": to }));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn only_changed_fields_appear() {
        let before = object(json!({"name": "Acme", "seats": 5, "plan": "basic", "partner": null}));
        let after = object(json!({"name": "Acme", "seats": 10, "plan": null, "partner": "p1"}));
        let changes = diff(&before, &after);
        assert_eq!(
            Value::Object(changes),
            json!({
                "seats": {"from": 5, "to": 10},
                "plan": {"from": "basic", "to": null},
                "partner": {"from": null, "to": "p1"},
            })
        );
    }

    #[test]
    fn identical_objects_have_an_empty_diff() {
        let same = object(json!({"a": [1, 2], "b": {"c": true}}));
        assert!(diff(&same, &same).is_empty());
    }

    #[test]
    fn missing_keys_count_as_null() {
        assert!(diff(&object(json!({"a": null})), &object(json!({}))).is_empty());
        let changes = diff(&object(json!({})), &object(json!({"a": 1})));
        assert_eq!(changes["a"], json!({"from": null, "to": 1}));
    }

    #[test]
    fn nested_objects_compare_as_wholes() {
        let changes = diff(
            &object(json!({"billingInfo": {"company": "A", "vatId": "1"}})),
            &object(json!({"billingInfo": {"company": "B", "vatId": "1"}})),
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes["billingInfo"]["to"]["company"], "B");
    }
}
