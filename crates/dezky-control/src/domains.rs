//! Guard rails for tenant domains around the platform's own domain (PLATFORM_TENANT_DOMAIN):
//! its apex belongs to the platform tenant only, and every name under it (service and
//! infrastructure hosts) is reserved outright. Uniqueness across tenants is the store's check.

/// Why a tenant may not hold a domain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainRefusal {
    #[error("'{0}' is the platform domain: only the platform tenant may claim it")]
    PlatformApex(String),
    #[error("'{domain}' is under the platform domain {apex}, which is reserved")]
    UnderPlatform { domain: String, apex: String },
}

/// Checks every domain of a tenant. `platform_apex` is the configured PLATFORM_TENANT_DOMAIN
/// (already validated and lower-cased); without one there is nothing to guard.
pub fn check_domains(
    platform_apex: Option<&str>,
    domains: &[String],
    is_platform_tenant: bool,
) -> Result<(), DomainRefusal> {
    let Some(apex) = platform_apex else {
        return Ok(());
    };
    for domain in domains {
        if domain == apex {
            if !is_platform_tenant {
                return Err(DomainRefusal::PlatformApex(domain.clone()));
            }
        } else if domain.strip_suffix(apex).is_some_and(|head| head.ends_with('.')) {
            return Err(DomainRefusal::UnderPlatform {
                domain: domain.clone(),
                apex: apex.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn the_apex_is_for_the_platform_tenant_only() {
        let apex = Some("dezky.eu");
        assert!(check_domains(apex, &list(&["dezky.eu"]), true).is_ok());
        assert_eq!(
            check_domains(apex, &list(&["acme.com", "dezky.eu"]), false),
            Err(DomainRefusal::PlatformApex("dezky.eu".into()))
        );
    }

    #[test]
    fn names_under_the_apex_are_reserved_for_everyone() {
        let apex = Some("dezky.eu");
        for holder in [true, false] {
            assert!(matches!(
                check_domains(apex, &list(&["mail.dezky.eu"]), holder),
                Err(DomainRefusal::UnderPlatform { .. })
            ));
            assert!(check_domains(apex, &list(&["a.b.dezky.eu"]), holder).is_err());
        }
    }

    #[test]
    fn lookalikes_and_unset_apex_pass() {
        let apex = Some("dezky.eu");
        assert!(check_domains(apex, &list(&["notdezky.eu", "dezky.eu.example", "acme.eu"]), false).is_ok());
        assert!(check_domains(None, &list(&["dezky.eu", "mail.dezky.eu"]), false).is_ok());
    }
}
