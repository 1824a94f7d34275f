//! Synthetic events shaped like the real mix: Stalwart mail and authentication events, oCIS file
//! events, Authentik logins and dezky's own platform mutations, over many tenants of very
//! different sizes, with the field contents and metadata each ingester really produces
//! (docs/formats.md).
//!
//! Event `index` is a pure function of the index, so the query benchmark can pick filter values
//! that exist in a log of any size by regenerating a random earlier event instead of reading it.

use dezky_core::{Action, ActorType, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use serde_json::{Map, Value, json};

/// Tenants in the synthetic platform. Tenant 0 is the largest; sizes fall off steeply.
pub const TENANTS: u64 = 500;
/// Resellers; four tenants in five belong to one.
pub const PARTNERS: u64 = 25;

/// SplitMix64: a tiny, fast, deterministic generator (the workload must be reproducible, and
/// generating a million events must cost far less than appending them).
pub struct Mix(u64);

impl Mix {
    pub fn new(seed: u64) -> Mix {
        Mix(seed ^ 0x6a09_e667_f3bc_c908)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const TENANT_WORDS: [&str; 20] = [
    "nordlicht",
    "bergwerk",
    "kanzlei",
    "praxis",
    "atelier",
    "studio",
    "bau",
    "handel",
    "logistik",
    "verlag",
    "schule",
    "verein",
    "klinik",
    "technik",
    "design",
    "consult",
    "immobilien",
    "agentur",
    "software",
    "energie",
];
const FIRST_NAMES: [&str; 16] = [
    "anna", "lukas", "marie", "jonas", "sofia", "felix", "emma", "paul", "lea", "noah", "clara", "elias", "mia",
    "david", "lina", "jan",
];
const LAST_NAMES: [&str; 16] = [
    "schmidt",
    "mueller",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "hoffmann",
    "koch",
    "richter",
    "klein",
    "wolf",
    "neumann",
    "braun",
    "vogel",
];
const DOCUMENTS: [&str; 12] = [
    "Angebot",
    "Rechnung",
    "Protokoll",
    "Vertrag",
    "Quarterly Report",
    "Budget",
    "Präsentation",
    "Notes",
    "Invoice",
    "Lieferschein",
    "Konzept",
    "Roadmap",
];
const EXTENSIONS: [&str; 6] = ["odt", "pdf", "xlsx", "docx", "png", "ods"];
const FOLDERS: [&str; 6] = ["Projects", "Shares", "Finance", "HR", "Personal", "Marketing"];
const CITIES: [(&str, &str); 6] = [
    ("DE", "Berlin"),
    ("DE", "München"),
    ("AT", "Wien"),
    ("NL", "Amsterdam"),
    ("FR", "Lyon"),
    ("DE", "Hamburg"),
];
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

pub fn tenant_slug(tenant: u64) -> String {
    format!(
        "{}-{tenant}",
        TENANT_WORDS[(tenant % TENANT_WORDS.len() as u64) as usize]
    )
}

pub fn partner_of(tenant: u64) -> Option<u64> {
    (!tenant.is_multiple_of(5)).then_some(tenant % PARTNERS)
}

pub fn partner_slug(partner: u64) -> String {
    format!("partner-{partner}")
}

fn users_of(tenant: u64) -> u64 {
    8 + 600 / (tenant + 1)
}

/// A tenant, skewed so the first tenants hold most events (as a few large customers do).
fn pick_tenant(mix: &mut Mix) -> u64 {
    let u = mix.unit();
    ((u * u * u) * TENANTS as f64) as u64
}

pub fn user_email(tenant: u64, user: u64) -> String {
    format!(
        "{}.{}{user}@{}.example",
        FIRST_NAMES[(user % 16) as usize],
        LAST_NAMES[((user / 16) % 16) as usize],
        tenant_slug(tenant)
    )
}

fn uuid(mix: &mut Mix) -> String {
    let (a, b) = (mix.next(), mix.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn ip(mix: &mut Mix) -> String {
    let value = mix.next();
    let first = [31, 46, 62, 77, 85, 91, 141, 176, 185, 212][(value % 10) as usize];
    format!(
        "{first}.{}.{}.{}",
        (value >> 8) & 0xff,
        (value >> 16) & 0xff,
        1 + (value >> 24) % 254
    )
}

fn document_path(mix: &mut Mix, tenant: u64) -> String {
    format!(
        "/{}/{} {}/{} {}.{}",
        mix.pick(&FOLDERS),
        mix.pick(&TENANT_WORDS),
        tenant,
        mix.pick(&DOCUMENTS),
        mix.below(10_000),
        mix.pick(&EXTENSIONS)
    )
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// (weight per 100 events, source, action, outcome): mail and files dominate real traffic.
const KINDS: [(u64, &str, &str, Outcome); 22] = [
    (14, "stalwart", "stalwart.mail_received", Outcome::Success),
    (12, "stalwart", "stalwart.mail_delivered", Outcome::Success),
    (7, "stalwart", "stalwart.auth_success", Outcome::Success),
    (5, "stalwart", "stalwart.auth_failed", Outcome::Failure),
    (2, "stalwart", "stalwart.spam_detected", Outcome::Success),
    (1, "stalwart", "stalwart.mail_rejected", Outcome::Failure),
    (1, "stalwart", "stalwart.auth_banned", Outcome::Denied),
    (10, "ocis", "ocis.file_create", Outcome::Success),
    (4, "ocis", "ocis.file_rename", Outcome::Success),
    (4, "ocis", "ocis.file_delete", Outcome::Success),
    (3, "ocis", "ocis.container_create", Outcome::Success),
    (3, "ocis", "ocis.file_shared", Outcome::Success),
    (2, "ocis", "ocis.share_accepted", Outcome::Success),
    (2, "ocis", "ocis.file_version_restore", Outcome::Success),
    (13, "authentik", "authentik.login", Outcome::Success),
    (5, "authentik", "authentik.logout", Outcome::Success),
    (3, "authentik", "authentik.login_failed", Outcome::Failure),
    (2, "authentik", "authentik.authorize_application", Outcome::Success),
    (1, "authentik", "authentik.password_set", Outcome::Success),
    (3, "platform", "tenant.updated", Outcome::Success),
    (2, "platform", "tenant.member_added", Outcome::Success),
    (1, "platform", "tenant.member_removed", Outcome::Denied),
];

/// Event number `index` of the synthetic log, happening at `at`.
pub fn event(index: u64, at: Timestamp) -> NewAuditEvent {
    let mut mix = Mix::new(index);
    let mut roll = mix.below(100);
    let (_, source, action, outcome) = KINDS
        .iter()
        .find(|(weight, ..)| {
            if roll < *weight {
                return true;
            }
            roll -= weight;
            false
        })
        .copied()
        .unwrap_or(KINDS[0]);
    let tenant = pick_tenant(&mut mix);
    let user = mix.below(users_of(tenant));
    let mut event = NewAuditEvent::new(
        at,
        ActorType::User,
        Action::parse(action).expect("the workload's actions are valid"),
        Source::parse(source).expect("the workload's sources are valid"),
    );
    event.outcome = outcome;
    event.tenant_slug = Some(Slug::parse(&tenant_slug(tenant)).expect("the workload's slugs are valid"));
    event.partner_slug =
        partner_of(tenant).map(|partner| Slug::parse(&partner_slug(partner)).expect("valid partner slug"));
    match source {
        "stalwart" => stalwart(&mut event, &mut mix, tenant, user, index),
        "ocis" => ocis(&mut event, &mut mix, tenant, at),
        "authentik" => authentik(&mut event, &mut mix, tenant, user),
        _ => platform(&mut event, &mut mix, tenant),
    }
    event
}

fn stalwart(event: &mut NewAuditEvent, mix: &mut Mix, tenant: u64, user: u64, index: u64) {
    let account = user_email(tenant, user);
    let remote_ip = ip(mix);
    let mail = event.action.as_str().contains("mail") || event.action.as_str().contains("spam");
    let (listener, port) = if mail { ("smtp", 25) } else { ("imap", 993) };
    let span_id = 9_007_199_254_740_993 + mix.below(1 << 40);
    let mut data = json!({ "listenerId": listener, "localPort": port, "remoteIp": remote_ip,
                            "remotePort": 30_000 + mix.below(30_000), "spanId": span_id });
    if mail {
        let peer = format!("{}@{}.example", mix.pick(&FIRST_NAMES), mix.pick(&TENANT_WORDS));
        let queue_id = mix.below(1 << 48);
        data["from"] = json!(peer);
        data["to"] = json!([account.clone()]);
        data["size"] = json!(2_000 + mix.below(200_000));
        data["queueId"] = json!(queue_id);
        event.resource_type = Some("message".into());
        event.resource_id = Some(queue_id.to_string());
        event.resource_name = Some(account.clone());
    } else {
        data["accountName"] = json!(account.clone());
        event.resource_type = Some("account".into());
        event.resource_name = Some(account.clone());
    }
    event.actor_id = Some(account.clone());
    event.actor_email = Some(account);
    event.actor_ip = Some(remote_ip);
    // Stalwart's dedup key is a SHA-256 digest (64 hex characters); its shape is what matters.
    event.external_id = Some(format!(
        "{index:016x}{:016x}{:016x}{:016x}",
        mix.next(),
        mix.next(),
        mix.next()
    ));
    event.metadata = object(
        json!({ "type": event.action.as_str().replace("stalwart.", "").replace('_', "-"),
                                    "createdAt": event.at.to_rfc3339(), "data": data }),
    );
}

fn ocis(event: &mut NewAuditEvent, mix: &mut Mix, tenant: u64, at: Timestamp) {
    // Released oCIS names the acting user only by id (in Message); no e-mail, no address.
    let actor = uuid(mix);
    let space = uuid(mix);
    let item = uuid(mix);
    let path = document_path(mix, tenant);
    let verb = event.action.as_str().trim_start_matches("ocis.").to_owned();
    let file_id = format!("storage-users-1${space}!{item}");
    event.actor_id = Some(actor.clone());
    event.resource_type = Some(
        if verb.starts_with("share") || verb == "file_shared" {
            "share"
        } else {
            "file"
        }
        .into(),
    );
    event.resource_id = Some(file_id.clone());
    event.resource_name = Some(path.clone());
    event.external_id = Some(format!(
        "2049:{}:{:016x}:{}",
        1_835_000 + tenant,
        mix.next(),
        mix.below(1 << 40)
    ));
    event.metadata = object(json!({
        "RemoteAddr": "", "User": "", "URL": "", "Method": "", "UserAgent": "",
        "Time": at.to_rfc3339(), "App": "admin_audit",
        "Message": format!("user '{actor}' {verb} file '{item}'"),
        "Action": verb, "CLI": false, "Level": 1, "Path": path, "Owner": actor, "FileID": file_id,
    }));
}

fn authentik(event: &mut NewAuditEvent, mix: &mut Mix, tenant: u64, user: u64) {
    let email = user_email(tenant, user);
    let client_ip = ip(mix);
    let (country, city) = *mix.pick(&CITIES);
    event.actor_id = Some((10_000 + tenant * 1_000 + user).to_string());
    event.actor_email = Some(email.clone());
    event.actor_ip = Some(client_ip.clone());
    event.external_id = Some(uuid(mix));
    let mut context = json!({
        "http_request": { "path": "/api/v3/flows/executor/default-authentication-flow/", "method": "POST",
                          "user_agent": USER_AGENT, "request_id": format!("{:032x}", mix.next()) },
        "geo": { "continent": "EU", "country": country, "city": city },
    });
    match event.action.as_str() {
        "authentik.login" => context["auth_method"] = json!("password"),
        "authentik.login_failed" => {
            context["username"] = json!(email);
            context["password"] = json!("********************");
            context["stage"] = json!({ "pk": uuid(mix), "name": "default-authentication-password" });
        }
        "authentik.authorize_application" => {
            let app = *mix.pick(&["Nextcloud", "oCIS", "Stalwart Webmail", "Collabora", "Grafana"]);
            context["authorized_application"] = json!({ "name": app, "pk": mix.next() % 1_000 });
            event.resource_type = Some("application".into());
            event.resource_name = Some(app.to_owned());
        }
        _ => {}
    }
    event.metadata = object(json!({ "app": "authentik.events.signals", "clientIp": client_ip, "context": context }));
}

fn platform(event: &mut NewAuditEvent, mix: &mut Mix, tenant: u64) {
    let slug = tenant_slug(tenant);
    event.actor_id = Some(uuid(mix));
    event.actor_email = Some(format!("{}@operator.example", mix.pick(&FIRST_NAMES)));
    event.actor_ip = Some(ip(mix));
    event.resource_type = Some("tenant".into());
    event.resource_id = Some(slug.clone());
    event.resource_name = Some(format!("{} GmbH", slug.replace('-', " ")));
    event.metadata = match event.action.as_str() {
        "tenant.updated" => object(json!({ "diff": { "brandColor": { "from": "#1d4ed8", "to": "#0f766e" },
                                                     "billingInfo": { "from": null, "to": "DE89 3704 0044 0532 0130 00" } },
                                           "version": mix.below(50) })),
        _ => object(json!({ "userId": uuid(mix), "role": *mix.pick(&["member", "admin"]), "version": mix.below(50) })),
    };
}

/// Events of the append benchmark: `writer`'s `index`-th event, unique across writers.
pub fn synthetic(writer: usize, index: usize, now: Timestamp) -> NewAuditEvent {
    event(((writer as u64) << 40) | index as u64, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn json_size(event: &NewAuditEvent) -> usize {
        let fields = [
            event.actor_id.as_deref(),
            event.actor_email.as_deref(),
            event.actor_ip.as_deref(),
            event.resource_type.as_deref(),
            event.resource_id.as_deref(),
            event.resource_name.as_deref(),
            event.external_id.as_deref(),
        ];
        fields.iter().flatten().map(|text| text.len()).sum::<usize>()
            + serde_json::to_string(&event.metadata).unwrap().len()
            + event.action.as_str().len()
    }

    #[test]
    fn the_same_index_gives_the_same_event() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        for index in [0, 1, 77, 1 << 41] {
            assert_eq!(event(index, at), event(index, at));
        }
        assert_ne!(event(1, at), event(2, at));
    }

    #[test]
    fn the_mix_covers_every_source_in_realistic_shares() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let mut per_source: HashMap<String, usize> = HashMap::new();
        let mut tenants = HashSet::new();
        for index in 0..10_000 {
            let event = event(index, at);
            *per_source.entry(event.source.as_str().to_owned()).or_default() += 1;
            tenants.insert(event.tenant_slug.clone().unwrap());
        }
        let share = |source: &str| per_source[source] as f64 / 10_000.0;
        assert!((0.38..0.46).contains(&share("stalwart")), "{per_source:?}");
        assert!((0.24..0.32).contains(&share("ocis")), "{per_source:?}");
        assert!((0.20..0.28).contains(&share("authentik")), "{per_source:?}");
        assert!((0.04..0.08).contains(&share("platform")), "{per_source:?}");
        assert!(tenants.len() > 200, "many tenants: {}", tenants.len());
    }

    #[test]
    fn events_are_event_sized_and_ingest_events_carry_unique_external_ids() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let mut ids = HashSet::new();
        let mut total = 0;
        for index in 0..5_000 {
            let event = event(index, at);
            let size = json_size(&event);
            assert!((150..1_200).contains(&size), "event {index} is {size} bytes: {event:?}");
            total += size;
            match event.source.as_str() {
                "platform" => assert!(event.external_id.is_none()),
                _ => assert!(ids.insert((event.source.clone(), event.external_id.clone().unwrap()))),
            }
        }
        let mean = total / 5_000;
        assert!((300..700).contains(&mean), "mean event size {mean}");
    }

    #[test]
    fn every_kind_is_a_valid_action_and_the_weights_sum_to_one_hundred() {
        assert_eq!(KINDS.iter().map(|(weight, ..)| weight).sum::<u64>(), 100);
        for (_, source, action, _) in KINDS {
            assert!(Action::parse(action).is_ok());
            assert!(Source::parse(source).is_ok());
            assert!(source == "platform" || action.starts_with(&format!("{source}.")));
        }
        for tenant in 0..TENANTS {
            assert!(Slug::parse(&tenant_slug(tenant)).is_ok());
        }
    }

    #[test]
    fn unit_is_within_zero_and_one() {
        let mut mix = Mix::new(3);
        for _ in 0..10_000 {
            let value = mix.unit();
            assert!((0.0..1.0).contains(&value));
        }
    }
}
