//! The query filters decided in memory, for events that are not in a database (archived
//! batches read back from cold storage). Each filter means what the stores' SQL means
//! (`dezky-store`'s `filter_sql`), so a query returns the same events from either tier.

use crate::event::AuditEvent;
use crate::query::{ActionFilter, AuditQuery};

fn contains_ignoring_case(haystack: Option<&str>, needle_lowercase: &str) -> bool {
    haystack.is_some_and(|text| text.to_lowercase().contains(needle_lowercase))
}

impl AuditQuery {
    /// Whether the event passes every filter, the cursor (`seq < before`) and `min_seq`.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        if self.before.is_some_and(|cursor| event.seq >= cursor.0) || self.min_seq.is_some_and(|min| event.seq < min) {
            return false;
        }
        if self.since.is_some_and(|since| event.at < since) || self.until.is_some_and(|until| event.at >= until) {
            return false;
        }
        let action_matches = match &self.action {
            None => true,
            Some(ActionFilter::Exact(action)) => &event.action == action,
            Some(ActionFilter::Prefix(prefix)) => event.action.as_str().starts_with(prefix.as_str()),
        };
        let tenant_matches = self.tenant_slug.is_none() || self.tenant_slug == event.tenant_slug;
        let partner_matches = self.partner_slug.is_none() || self.partner_slug == event.partner_slug;
        let email_matches = self.actor_email.as_ref().is_none_or(|email| {
            event
                .actor_email
                .as_ref()
                .is_some_and(|actual| actual.to_lowercase() == email.to_lowercase())
        });
        let outcome_matches = self.outcome.is_none_or(|outcome| event.outcome == outcome);
        let source_matches = self.source.as_ref().is_none_or(|source| &event.source == source);
        // Free text: a case-insensitive substring of the action, resource name, actor e-mail
        // or tenant (the fields both text indexes cover).
        let text_matches = self.text.as_ref().is_none_or(|text| {
            let needle = text.to_lowercase();
            contains_ignoring_case(Some(event.action.as_str()), &needle)
                || contains_ignoring_case(event.resource_name.as_deref(), &needle)
                || contains_ignoring_case(event.actor_email.as_deref(), &needle)
                || contains_ignoring_case(event.tenant_slug.as_ref().map(|slug| slug.as_str()), &needle)
        });
        action_matches
            && tenant_matches
            && partner_matches
            && email_matches
            && outcome_matches
            && source_matches
            && text_matches
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{ActorType, AuditEvent, Outcome};
    use crate::names::{Action, Slug, Source};
    use crate::query::{AuditQuery, QueryPurpose, RawAuditQuery};
    use crate::time::Timestamp;

    fn event() -> AuditEvent {
        AuditEvent {
            seq: 10,
            at: Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap(),
            recorded_at: Timestamp::parse_rfc3339("2026-03-01T12:00:01Z").unwrap(),
            actor_type: ActorType::User,
            actor_id: Some("u1".into()),
            actor_email: Some("Erin@Acme.example".into()),
            actor_ip: None,
            action: Action::parse("tenant.created").unwrap(),
            outcome: Outcome::Success,
            resource_type: Some("tenant".into()),
            resource_id: Some("t1".into()),
            resource_name: Some("Acme Überweisung".into()),
            tenant_slug: Some(Slug::parse("acme").unwrap()),
            partner_slug: Some(Slug::parse("resell").unwrap()),
            source: Source::platform(),
            external_id: None,
            metadata: Default::default(),
            prev_hash: None,
            hash: None,
            leaf_hash: None,
            personal_commitment: None,
            personal_salt: None,
            erased: false,
        }
    }

    fn query(set: impl FnOnce(&mut RawAuditQuery)) -> AuditQuery {
        let mut raw = RawAuditQuery::default();
        set(&mut raw);
        AuditQuery::parse(&raw, QueryPurpose::Page).unwrap()
    }

    #[test]
    fn every_filter_matches_and_rejects() {
        let event = event();
        let cases: Vec<(AuditQuery, bool)> = vec![
            (AuditQuery::default(), true),
            (query(|r| r.before = Some("11".into())), true),
            (query(|r| r.before = Some("10".into())), false),
            (query(|r| r.since = Some("2026-03-01T12:00:00Z".into())), true),
            (query(|r| r.since = Some("2026-03-01T12:00:00.001Z".into())), false),
            (query(|r| r.until = Some("2026-03-01T12:00:00Z".into())), false),
            (query(|r| r.until = Some("2026-03-01T12:00:00.001Z".into())), true),
            (query(|r| r.action = Some("tenant.created".into())), true),
            (query(|r| r.action = Some("tenant.deleted".into())), false),
            (query(|r| r.action = Some("tenant.".into())), true),
            (query(|r| r.action = Some("ten*".into())), true),
            (query(|r| r.action = Some("token.".into())), false),
            (query(|r| r.tenant_slug = Some("acme".into())), true),
            (query(|r| r.tenant_slug = Some("globex".into())), false),
            (query(|r| r.partner_slug = Some("resell".into())), true),
            (query(|r| r.partner_slug = Some("other".into())), false),
            (query(|r| r.actor_email = Some("erin@acme.EXAMPLE".into())), true),
            (query(|r| r.actor_email = Some("erin@acme".into())), false),
            (query(|r| r.outcome = Some("success".into())), true),
            (query(|r| r.outcome = Some("denied".into())), false),
            (query(|r| r.source = Some("platform".into())), true),
            (query(|r| r.source = Some("portal".into())), false),
            (query(|r| r.q = Some("überw".into())), true),
            (query(|r| r.q = Some("ACME.EX".into())), true),
            (query(|r| r.q = Some("t.cre".into())), true),
            (query(|r| r.q = Some("globex".into())), false),
        ];
        for (query, expected) in cases {
            assert_eq!(query.matches(&event), expected, "{query:?}");
        }
        let above = AuditQuery {
            min_seq: Some(11),
            ..AuditQuery::default()
        };
        assert!(!above.matches(&event));
    }

    #[test]
    fn missing_fields_never_match_a_filter_on_them() {
        let mut bare = event();
        bare.actor_email = None;
        bare.tenant_slug = None;
        bare.resource_name = None;
        assert!(!query(|r| r.actor_email = Some("erin@acme.example".into())).matches(&bare));
        assert!(!query(|r| r.tenant_slug = Some("acme".into())).matches(&bare));
        assert!(!query(|r| r.q = Some("acme".into())).matches(&bare));
    }
}
