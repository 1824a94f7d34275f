//! The operator's allowlist/denylist of a source's event types (`<SOURCE>_…_ONLY` and
//! `<SOURCE>_…_SKIP`). Unknown types are recorded by default; only this explicit filter drops
//! events, and the workers count what it drops, so filtering is never silent.
//!
//! Names are matched against the source's raw type (Authentik's `action`, Stalwart's `type`,
//! oCIS's audit `Action`), ASCII case-insensitively. A trailing `*` matches a prefix: upstream
//! names are hierarchical (Stalwart's `delivery.*`, Authentik's `custom_*`) and new ones appear
//! with upgrades, so a prefix is the only way to name a family that keeps growing.
//!
//! Gap events and rejected input are not events of the source's own types and never pass
//! through a filter.

/// One entry: an exact name or a prefix (written with a trailing `*`), stored lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn matches(&self, raw: &str) -> bool {
        match self {
            Pattern::Exact(name) => name.eq_ignore_ascii_case(raw),
            Pattern::Prefix(prefix) => raw
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes())),
        }
    }
}

/// What is wrong with a list; the configuration names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("entry {position} is empty (write names separated by single commas)")]
    EmptyEntry { position: usize },
    #[error("'{entry}' has a character other than letters, digits, '_', '.', '-' or a trailing '*'")]
    InvalidCharacter { entry: String },
    #[error("'*' alone would match every type: unset the variable or turn the source off instead")]
    MatchesEverything,
    #[error("is set but empty: nothing would be recorded (unset it to record every type)")]
    EmptyAllowlist,
}

/// The allowlist (when set, only its types pass) and the denylist (applied after it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionFilter {
    only: Option<Vec<Pattern>>,
    skip: Vec<Pattern>,
}

impl ActionFilter {
    /// Lets every type through.
    pub fn allow_all() -> ActionFilter {
        ActionFilter::default()
    }

    /// From the variables' values: `only` unset means no allowlist; `skip` is a list (an empty
    /// or blank value skips nothing). Each is checked on its own, so the caller can say which
    /// variable is wrong; see [`parse_list`].
    pub fn new(only: Option<Vec<String>>, skip: Vec<String>) -> Result<ActionFilter, FilterError> {
        let only = match only {
            Some(names) if names.is_empty() => return Err(FilterError::EmptyAllowlist),
            Some(names) => Some(names.iter().map(|name| pattern(name)).collect::<Result<_, _>>()?),
            None => None,
        };
        let skip = skip.iter().map(|name| pattern(name)).collect::<Result<_, _>>()?;
        Ok(ActionFilter { only, skip })
    }

    /// Whether an event of type `raw` is recorded.
    pub fn passes(&self, raw: &str) -> bool {
        self.is_allowed(raw) && !self.is_skipped(raw)
    }

    /// Whether `raw` is on the denylist alone (the allowlist not consulted).
    pub fn is_skipped(&self, raw: &str) -> bool {
        self.skip.iter().any(|pattern| pattern.matches(raw))
    }

    /// Whether `raw` passes the allowlist alone (true when there is none).
    pub fn is_allowed(&self, raw: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|pattern| pattern.matches(raw)))
    }
}

/// A comma-separated list as the variables hold it: entries trimmed; a blank value is the
/// empty list; an empty entry (`a,,b`, a trailing comma) or an entry with other characters than
/// `[A-Za-z0-9_.-]` and a trailing `*` is an error, since a typo must not silently filter
/// nothing (or everything).
pub fn parse_list(text: &str) -> Result<Vec<String>, FilterError> {
    if text.trim().is_empty() {
        return Ok(vec![]);
    }
    text.split(',')
        .enumerate()
        .map(|(index, entry)| {
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(FilterError::EmptyEntry { position: index + 1 });
            }
            pattern(entry)?;
            Ok(entry.to_owned())
        })
        .collect()
}

fn pattern(entry: &str) -> Result<Pattern, FilterError> {
    let entry = entry.trim();
    let (name, is_prefix) = match entry.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (entry, false),
    };
    let valid = name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'));
    if !valid {
        return Err(FilterError::InvalidCharacter {
            entry: entry.to_owned(),
        });
    }
    match (name.is_empty(), is_prefix) {
        (true, true) => Err(FilterError::MatchesEverything),
        (true, false) => Err(FilterError::EmptyEntry { position: 1 }),
        (false, true) => Ok(Pattern::Prefix(name.to_ascii_lowercase())),
        (false, false) => Ok(Pattern::Exact(name.to_ascii_lowercase())),
    }
}

#[cfg(test)]
mod tests;
