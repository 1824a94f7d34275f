//! Synthetic events shaped like the real mix: platform mutations, Authentik logins, Stalwart
//! mail events and oCIS file events over many tenants, with realistic field sizes.

use dezky_core::{Action, ActorType, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use rand::Rng;
use serde_json::json;

const KINDS: [(&str, &str); 6] = [
    ("authentik", "authentik.login"),
    ("authentik", "authentik.login_failed"),
    ("stalwart", "stalwart.mail_delivered"),
    ("stalwart", "stalwart.auth_failed"),
    ("ocis", "ocis.file_create"),
    ("platform", "tenant.updated"),
];

pub fn synthetic(writer: usize, index: usize, now: Timestamp) -> NewAuditEvent {
    let mut rng = rand::thread_rng();
    let (source, action) = KINDS[rng.gen_range(0..KINDS.len())];
    let tenant = rng.gen_range(0..500);
    let mut event = NewAuditEvent::new(
        now,
        ActorType::User,
        Action::parse(action).expect("valid"),
        Source::parse(source).expect("valid"),
    );
    event.outcome = if action.ends_with("failed") {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    event.actor_id = Some(format!("{:032x}", rng.r#gen::<u128>()));
    event.actor_email = Some(format!("user{}@tenant{tenant}.example", rng.gen_range(0..5_000)));
    event.actor_ip = Some(format!("203.0.113.{}", rng.gen_range(1..255)));
    event.resource_type = Some("session".to_owned());
    event.resource_id = Some(format!("{writer}-{index}"));
    event.resource_name = Some(format!("/Shares/Project {tenant}/report-{index}.odt"));
    event.tenant_slug = Some(Slug::parse(&format!("tenant{tenant}")).expect("valid"));
    event.external_id = (source != "platform").then(|| format!("{writer}-{index}-{}", rng.r#gen::<u64>()));
    event.metadata.insert(
        "userAgent".into(),
        json!("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0"),
    );
    event.metadata.insert("spanId".into(), json!(rng.r#gen::<u64>()));
    event.metadata.insert("listenerId".into(), json!("smtp-submission"));
    event
}
