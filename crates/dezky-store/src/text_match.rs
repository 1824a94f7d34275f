//! The FTS5 query that finds candidates for a free-text search in SQLite's trigram index.
//!
//! The index keeps no positions (`detail=none`, see the migration
//! `text_index_without_positions`), so it cannot match a phrase: it can only say which events
//! hold every trigram of the text. That is a superset of the events that hold the text itself
//! (the trigrams may sit apart or in different fields); the caller checks each candidate's
//! fields for the text (`filter_sql::sqlite_text_match`).

/// `"abc" AND "bcd" AND …`: every distinct three-character window of `text`, each an FTS5
/// string (a quoted string is one trigram token whatever characters it holds; FTS5 folds its
/// case as it folds the indexed text). `text` has at least three characters (dezky-core's
/// `TEXT_MIN_CHARS`); a shorter one yields the empty string, which FTS5 rejects rather than
/// silently matching nothing.
pub(crate) fn all_trigrams(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut seen = std::collections::HashSet::new();
    let mut terms: Vec<String> = Vec::new();
    for window in chars.windows(3) {
        let trigram: String = window.iter().collect();
        if seen.insert(trigram.to_lowercase()) {
            terms.push(format!("\"{}\"", trigram.replace('"', "\"\"")));
        }
    }
    terms.join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::all_trigrams;

    #[test]
    fn every_window_once_in_order() {
        assert_eq!(all_trigrams("pdf"), "\"pdf\"");
        assert_eq!(
            all_trigrams("schmidt"),
            "\"sch\" AND \"chm\" AND \"hmi\" AND \"mid\" AND \"idt\""
        );
        // "aaaa" has the window "aaa" twice; "abcAbc" repeats "abc" in another case.
        assert_eq!(all_trigrams("aaaa"), "\"aaa\"");
        assert_eq!(all_trigrams("abcAbc"), "\"abc\" AND \"bcA\" AND \"cAb\"");
    }

    #[test]
    fn quotes_and_operators_stay_literal() {
        assert_eq!(all_trigrams("a\"b"), "\"a\"\"b\"");
        assert_eq!(all_trigrams("OR x"), "\"OR \" AND \"R x\"");
        assert_eq!(all_trigrams("50%_"), "\"50%\" AND \"0%_\"");
    }

    #[test]
    fn windows_are_characters_not_bytes() {
        assert_eq!(all_trigrams("müll"), "\"mül\" AND \"üll\"");
    }

    #[test]
    fn shorter_than_a_trigram_is_empty() {
        assert_eq!(all_trigrams(""), "");
        assert_eq!(all_trigrams("ab"), "");
    }
}
