//! The FTS5 query that finds candidates for a free-text search in SQLite's trigram index.
//!
//! The index keeps no positions (`detail=none`, see the migration
//! `text_index_without_positions`), so it cannot match a phrase: it can only say which events
//! hold every trigram of the text. That is a superset of the events that hold the text itself
//! (the trigrams may sit apart or in different fields); the caller checks each candidate's
//! fields for the text (`filter_sql::sqlite_text_match`) with [`case_insensitive_glob`].

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

/// A GLOB pattern matching any text that contains `text`, ignoring case letter by letter as
/// Rust's `to_lowercase`/`to_uppercase` map it (`Ü` and `ü`, not only ASCII): each cased
/// letter becomes a class of its forms (`[üÜ]`), GLOB's own wildcards become one-character
/// classes, and the whole is wrapped in `*`. SQLite's LIKE folds ASCII letters only, and SQLite
/// has no Unicode `lower()` without ICU; GLOB is case-sensitive and reads UTF-8 characters, so
/// the classes carry the folding. A letter whose other case is several characters (`ß` → `SS`)
/// keeps the forms that are one character. Archived batches are filtered by
/// `AuditQuery::matches` (dezky-core) with `to_lowercase`: the same folding for every letter
/// with one-character forms.
pub(crate) fn case_insensitive_glob(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() * 4 + 2);
    pattern.push('*');
    for c in text.chars() {
        let mut forms = vec![c];
        for other in [single(c.to_lowercase()), single(c.to_uppercase())]
            .into_iter()
            .flatten()
        {
            if !forms.contains(&other) {
                forms.push(other);
            }
        }
        if forms.len() > 1 {
            pattern.push('[');
            pattern.extend(forms);
            pattern.push(']');
        } else if matches!(c, '*' | '?' | '[') {
            pattern.push('[');
            pattern.push(c);
            pattern.push(']');
        } else {
            pattern.push(c);
        }
    }
    pattern.push('*');
    pattern
}

/// The mapping's result when it is one character.
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let first = mapped.next()?;
    mapped.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::{all_trigrams, case_insensitive_glob};

    #[test]
    fn glob_classes_carry_the_case_of_every_letter() {
        assert_eq!(case_insensitive_glob("pdf"), "*[pP][dD][fF]*");
        assert_eq!(case_insensitive_glob("Übe"), "*[Üü][bB][eE]*");
        assert_eq!(case_insensitive_glob("a-1@"), "*[aA]-1@*");
        // ß's upper case is "SS": only ß itself (and ẞ, whose lower case is ß, keeps both).
        assert_eq!(case_insensitive_glob("ß"), "*ß*");
        assert_eq!(case_insensitive_glob("ẞ"), "*[ẞß]*");
    }

    #[test]
    fn glob_wildcards_stay_literal() {
        assert_eq!(case_insensitive_glob("*?[]"), "*[*][?][[]]*");
        assert_eq!(case_insensitive_glob("50%_"), "*50%_*");
    }

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
