use super::*;

fn list(text: &str) -> Vec<String> {
    parse_list(text).unwrap()
}

fn filter(only: Option<&str>, skip: &str) -> ActionFilter {
    ActionFilter::new(only.map(list), list(skip)).unwrap()
}

#[test]
fn no_lists_let_everything_through() {
    let all = ActionFilter::allow_all();
    for raw in ["login", "", "delivery.delivered", "custom_Anything", "é"] {
        assert!(all.passes(raw), "{raw}");
    }
    assert_eq!(filter(None, ""), all);
    assert_eq!(filter(None, "  "), all);
}

#[test]
fn the_denylist_drops_exact_names_only() {
    let skip = filter(None, "file_read,public_link_accessed");
    assert!(!skip.passes("file_read"));
    assert!(!skip.passes("public_link_accessed"));
    assert!(skip.passes("file_create"));
    assert!(skip.passes("file_read_x"), "an exact name is not a prefix");
    assert!(skip.passes("file_rea"));
    assert!(skip.passes(""));
}

#[test]
fn names_match_without_regard_to_ascii_case() {
    let skip = filter(None, "Auth.Success, custom_*");
    assert!(!skip.passes("auth.success"));
    assert!(!skip.passes("AUTH.SUCCESS"));
    assert!(!skip.passes("Custom_Invoice"));
    assert!(skip.passes("auth.failed"));
}

#[test]
fn a_trailing_star_matches_a_prefix() {
    let skip = filter(None, "delivery.*,spam*");
    assert!(!skip.passes("delivery.delivered"));
    assert!(!skip.passes("delivery."));
    assert!(skip.passes("delivery"), "the prefix includes the dot");
    assert!(!skip.passes("spam.classify"));
    assert!(!skip.passes("spam"));
    assert!(skip.passes("sp"));
    assert!(skip.passes("message-ingest.spam"));
}

#[test]
fn only_the_allowlist_passes_and_the_denylist_applies_after_it() {
    let only = filter(Some("auth.*,delivery.failed"), "auth.success");
    assert!(only.passes("auth.failed"));
    assert!(only.passes("delivery.failed"));
    assert!(!only.passes("auth.success"), "skipped after being allowed");
    assert!(!only.passes("delivery.delivered"), "not on the allowlist");
    assert!(!only.passes("smtp.dkim-fail"));
    assert!(only.is_allowed("auth.success") && only.is_skipped("auth.success"));
    assert!(!only.is_allowed("smtp.dkim-fail") && !only.is_skipped("smtp.dkim-fail"));
}

#[test]
fn entries_are_trimmed_and_kept_as_written() {
    assert_eq!(list(" login , logout "), vec!["login", "logout"]);
    assert_eq!(list("custom_*"), vec!["custom_*"]);
    assert_eq!(list(""), Vec::<String>::new());
}

#[test]
fn bad_lists_say_what_is_wrong() {
    assert_eq!(parse_list("a,,b"), Err(FilterError::EmptyEntry { position: 2 }));
    assert_eq!(parse_list("file_read , "), Err(FilterError::EmptyEntry { position: 2 }));
    assert_eq!(parse_list(",a"), Err(FilterError::EmptyEntry { position: 1 }));
    for bad in ["file read", "a;b", "auth.*.x", "*auth", "a**", "é", "a/b", "a*b"] {
        assert!(
            matches!(parse_list(bad), Err(FilterError::InvalidCharacter { .. })),
            "{bad}: {:?}",
            parse_list(bad)
        );
    }
    assert_eq!(parse_list("login, *"), Err(FilterError::MatchesEverything));
    let message = parse_list("file read").unwrap_err().to_string();
    assert!(message.contains("'file read'"), "{message}");
}

#[test]
fn an_allowlist_set_to_nothing_is_refused() {
    assert_eq!(
        ActionFilter::new(Some(vec![]), vec![]),
        Err(FilterError::EmptyAllowlist)
    );
    assert!(ActionFilter::new(None, vec!["bad name".into()]).is_err());
}
