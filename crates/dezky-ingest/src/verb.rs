//! Turning an upstream event type into a dotted audit verb.

use dezky_core::Action;

/// The longest verb segment we keep (the whole action is limited to 128 bytes).
const MAX_VERB: usize = 100;

/// `raw` as a lower_snake verb: ASCII letters lower-cased, every run of other characters one
/// `_`, no leading or trailing `_`, starting with a letter (`event_` is put in front of a digit),
/// `unknown` when nothing is left.
pub fn normalise(raw: &str) -> String {
    let mut verb = String::with_capacity(raw.len());
    for character in raw.chars() {
        if character.is_ascii_alphanumeric() {
            verb.push(character.to_ascii_lowercase());
        } else if !verb.is_empty() && !verb.ends_with('_') {
            verb.push('_');
        }
    }
    while verb.ends_with('_') {
        verb.pop();
    }
    if verb.is_empty() {
        return "unknown".to_owned();
    }
    if verb.starts_with(|character: char| character.is_ascii_digit()) {
        verb.insert_str(0, "event_");
    }
    verb.truncate(MAX_VERB);
    while verb.ends_with('_') {
        verb.pop();
    }
    verb
}

/// `<source>.<verb>` for a raw type that has no mapping of its own.
pub fn fallback_action(source: &str, raw: &str) -> Action {
    action(source, &normalise(raw))
}

/// `<source>.<verb>` for a verb that is already lower_snake.
///
/// # Panics
/// If `source` or `verb` is not lower_snake: both come from this crate's own tables or from
/// [`normalise`], so a panic is a bug caught by the tests.
pub fn action(source: &str, verb: &str) -> Action {
    Action::parse(&format!("{source}.{verb}")).expect("source and verb are lower_snake")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_lower_snake_verbs() {
        assert_eq!(normalise("auth.too-many-attempts"), "auth_too_many_attempts");
        assert_eq!(normalise("FileUploaded"), "fileuploaded");
        assert_eq!(normalise("  --x--  "), "x");
        assert_eq!(normalise("custom_Invoice Paid!"), "custom_invoice_paid");
        assert_eq!(normalise("404-page"), "event_404_page");
        assert_eq!(normalise(""), "unknown");
        assert_eq!(normalise("ß/€"), "unknown");
        assert_eq!(normalise(&"a-".repeat(200)).len(), 99);
    }

    #[test]
    fn every_normalised_verb_makes_a_valid_action() {
        for raw in ["", "9", "_a_", "A.B.C", "x".repeat(500).as_str(), "é", "a__b", "-_-"] {
            let action = fallback_action("stalwart", raw);
            assert!(
                action.as_str().starts_with("stalwart."),
                "{raw:?} → {}",
                action.as_str()
            );
        }
    }
}
