//! Validation of the free-form values tenants and partners carry. Each returns the normalised
//! value or a message for the client.

use dezky_core::Slug;

/// A slug: a DNS label (`a-z`, `0-9`, `-`, 1–63 characters, no leading or trailing `-`), so
/// it can name subdomains, mail domains and groups in every integration.
pub fn slug(text: &str) -> Result<Slug, String> {
    Slug::parse(text).map_err(|error| format!("'{text}' {error}"))
}

/// A display name: trimmed, 1–200 characters, no control characters.
pub fn display_name(text: &str) -> Result<String, String> {
    bounded_text(text, 200)
}

/// Short free text such as a plan or an industry: trimmed, 1–100 characters.
pub fn short_text(text: &str) -> Result<String, String> {
    bounded_text(text, 100)
}

fn bounded_text(text: &str, max: usize) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".to_owned());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(trimmed.to_owned())
}

/// A fully qualified domain name, lower-cased: two or more labels of `a-z0-9-` (1–63
/// characters, not starting or ending with `-`), at most 253 characters, and a top-level label
/// that is not all digits (so IP addresses are not domains). A trailing dot is dropped.
pub fn domain(text: &str) -> Result<String, String> {
    let lowered = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let invalid = || format!("'{text}' is not a domain name such as example.com");
    if lowered.is_empty() || lowered.len() > 253 {
        return Err(invalid());
    }
    let labels: Vec<&str> = lowered.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        });
    let top_ok = labels
        .last()
        .is_some_and(|top| !top.bytes().all(|byte| byte.is_ascii_digit()));
    if labels_ok && top_ok {
        Ok(lowered)
    } else {
        Err(invalid())
    }
}

/// An e-mail address: one `@`, a non-empty local part without spaces or control characters
/// (at most 64 bytes), and a valid domain. The domain is lower-cased; the local part is kept
/// as written (it may be case-sensitive).
pub fn email(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let invalid = || format!("'{text}' is not an e-mail address");
    let (local, host) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control());
    if !local_ok {
        return Err(invalid());
    }
    let host = domain(host).map_err(|_| invalid())?;
    Ok(format!("{local}@{host}"))
}

/// An optional e-mail where a blank string means "none" (forms send `""` for an empty input;
/// that is not an invalid address).
pub fn optional_email(text: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        email(text).map(Some)
    }
}

/// A CSS hex colour `#rgb` or `#rrggbb`, lower-cased.
pub fn brand_color(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let hex = trimmed.strip_prefix('#').unwrap_or("");
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(trimmed.to_ascii_lowercase())
    } else {
        Err(format!("'{text}' is not a colour such as #1a2b3c"))
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn country(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.len() == 2 && trimmed.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        Ok(trimmed.to_ascii_uppercase())
    } else {
        Err(format!("'{text}' is not a two-letter country code such as DE"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(domain("mail.acme-gmbh.de").unwrap(), "mail.acme-gmbh.de");
        assert_eq!(domain("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
        for bad in [
            "",
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "a b.com",
            "a_b.com",
            "10.0.0.1",
            ".com",
            "exämple.com",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "abcdefghi.".repeat(26)),
        ] {
            assert!(domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ada@Example.COM ").unwrap(), "Ada@example.com");
        assert_eq!(
            email("first.last+tag@sub.example.org").unwrap(),
            "first.last+tag@sub.example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "a da@example.com",
            "a@b@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn blank_optional_email_is_absent_not_invalid() {
        assert_eq!(optional_email("").unwrap(), None);
        assert_eq!(optional_email("   ").unwrap(), None);
        assert_eq!(optional_email("a@example.com").unwrap(), Some("a@example.com".into()));
        assert!(optional_email("nope").is_err());
    }

    #[test]
    fn names_and_texts() {
        assert_eq!(display_name("  Acme GmbH ").unwrap(), "Acme GmbH");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"x".repeat(201)).is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert!(short_text(&"x".repeat(100)).is_ok());
        assert!(short_text(&"x".repeat(101)).is_err());
    }

    #[test]
    fn colours_and_countries() {
        assert_eq!(brand_color("#1A2B3C").unwrap(), "#1a2b3c");
        assert!(brand_color("#abc").is_ok());
        for bad in ["1a2b3c", "#12345", "#ggg", "red", ""] {
            assert!(brand_color(bad).is_err(), "{bad}");
        }
        assert_eq!(country("de").unwrap(), "DE");
        for bad in ["DEU", "D", "1A", ""] {
            assert!(country(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_follow_dns_labels() {
        assert!(slug("acme-gmbh").is_ok());
        let message = slug("Acme").unwrap_err();
        assert!(message.contains("'Acme'"), "{message}");
        assert!(slug("-acme").is_err());
        assert!(slug(&"a".repeat(64)).is_err());
    }
}
