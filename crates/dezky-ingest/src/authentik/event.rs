//! One Authentik event as a `NewAuditEvent`.
//!
//! Who is who (upstream `Event.from_http` and `get_user`):
//! - `user` is the user the request ran as; `{}` for events Authentik raises itself
//!   (system tasks, update checks), `AnonymousUser` for unauthenticated requests.
//! - While an admin impersonates someone, `user` is **the admin** (the session's original
//!   user) and `user.on_behalf_of` the impersonated user. The admin is the actor; the
//!   impersonated user goes to `metadata.impersonatedUser` (and is the resource of
//!   `impersonation_started`/`_ended`).
//! - Inside a flow with a pending user, `user` is that pending user and `user.authenticated_as`
//!   the session's own user (often `AnonymousUser` during a login). The actor stays `user`, as
//!   in Authentik's own event list; `authenticated_as` goes to `metadata.authenticatedAs`.

use super::SOURCE;
use super::page::AuthentikEvent;
use super::secrets::mask_secrets;
use crate::fields::{bounded_metadata, ip_address, short_text, text_field};
use crate::verb::fallback_action;
use dezky_core::{ActorType, NewAuditEvent, Outcome, Slug, Source};
use serde_json::{Map, Value};

/// What may name the tenant an event belongs to, offered to the resolver most specific first;
/// the first answer wins. Unresolved events stay on the global timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantHint<'a> {
    /// An Authentik group's name, when the event itself carries groups (`user.groups` when
    /// present, or the group a `model_*` event is about). Admin groups are never offered
    /// ([`is_admin_group`]). Our provisioning names a tenant's group after its slug.
    Group(&'a str),
    /// The pk of the user a `model_*` event is about (its context names users by pk and display
    /// name only).
    UserPk(i64),
    /// An Authentik username: the impersonated user, then the acting user, then the username a
    /// failed login tried. The resolver looks up that user's groups (from its own cache of
    /// Authentik users) and applies [`tenant_from_groups`].
    Username(&'a str),
}

/// The seed's rule: the first of a user's groups that names a real tenant (`tenant_named`
/// answers for an existing tenant's slug), admin groups excluded.
pub fn tenant_from_groups<'a>(
    groups: impl IntoIterator<Item = &'a str>,
    tenant_named: &dyn Fn(&str) -> Option<Slug>,
) -> Option<Slug> {
    groups
        .into_iter()
        .filter(|group| !is_admin_group(group))
        .find_map(|group| tenant_named(group.trim()))
}

/// Groups that grant administration across tenants rather than membership of one:
/// `authentik Admins` (Authentik's default superuser group) and any group whose name has the
/// word `admin` or `admins` in it (`platform-admins`, `acme admins`).
pub fn is_admin_group(name: &str) -> bool {
    name.to_ascii_lowercase()
        .split(|character: char| !character.is_ascii_alphanumeric())
        .any(|word| word == "admin" || word == "admins")
}

/// Actions that report something going wrong.
const FAILURE_ACTIONS: &[&str] = &[
    "login_failed",
    "policy_exception",
    "property_mapping_exception",
    "system_task_exception",
    "system_exception",
    "configuration_error",
];

/// Maps one event. The action is `authentik.<action>` (custom and unknown actions normalised,
/// never dropped); the external id `authentik:<pk>`; the time `created` (at millisecond
/// precision); the metadata the whole event with every secret-looking value masked, plus
/// `impersonatedUser` / `authenticatedAs` when present.
///
/// Outcome: `failure` for `login_failed`, the `*_exception` actions, `system_exception` and
/// `configuration_error`; `denied` for `suspicious_request` (Authentik refused the request) and
/// for a `policy_execution` whose result did not pass; for other actions, `failure` when the
/// name ends in `failed`/`error`/`exception`, `denied` when in `denied`; otherwise `success`.
/// (`configuration_warning` is a warning, not a failure.)
pub fn map_event(event: &AuthentikEvent, tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>) -> NewAuditEvent {
    let mut raw = Value::Object(event.raw.clone());
    mask_secrets(&mut raw);
    let Value::Object(raw) = raw else {
        unreachable!("masking keeps an object an object")
    };
    let empty = Map::new();
    let user = raw.get("user").and_then(Value::as_object).unwrap_or(&empty);
    let context = raw.get("context").and_then(Value::as_object).unwrap_or(&empty);
    let on_behalf_of = user.get("on_behalf_of").and_then(Value::as_object);
    let authenticated_as = user.get("authenticated_as").and_then(Value::as_object);
    let action = event.action.as_str();

    let mut mapped = NewAuditEvent::new(
        event.created.timestamp(),
        ActorType::Service,
        fallback_action(SOURCE, action),
        Source::parse(SOURCE).expect("a valid source"),
    );
    mapped.outcome = outcome_of(action, context);
    let username = text_field(user, "username").filter(|name| name != ANONYMOUS);
    if let Some(username) = &username {
        mapped.actor_type = ActorType::User;
        mapped.actor_id = Some(username.clone());
        mapped.actor_email = text_field(user, "email").filter(|email| email.contains('@'));
    } else if !user.is_empty() || action == "login_failed" {
        // An anonymous request: a person, but not an identified one. A failed login names the
        // identity it claimed, which is what an operator searches for.
        mapped.actor_type = ActorType::User;
        mapped.actor_id = text_field(context, "username");
    }
    mapped.actor_ip = raw
        .get("client_ip")
        .and_then(Value::as_str)
        .and_then(ip_address)
        // Versions before 2023 stored this when the client's address was unknown.
        .filter(|address| address != "255.255.255.255");
    set_resource(&mut mapped, action, user, context, on_behalf_of);
    mapped.tenant_slug = resolve_tenant(action, user, context, on_behalf_of, tenant_of);
    mapped.external_id = Some(format!("authentik:{}", event.pk));

    let mut metadata = raw.clone();
    if let Some(impersonated) = on_behalf_of {
        metadata.insert("impersonatedUser".into(), Value::Object(impersonated.clone()));
    }
    if let Some(session_user) = authenticated_as {
        metadata.insert("authenticatedAs".into(), Value::Object(session_user.clone()));
    }
    mapped.metadata = bounded_metadata(metadata);
    mapped
}

const ANONYMOUS: &str = "AnonymousUser";

fn outcome_of(action: &str, context: &Map<String, Value>) -> Outcome {
    if FAILURE_ACTIONS.contains(&action) {
        return Outcome::Failure;
    }
    match action {
        "suspicious_request" => return Outcome::Denied,
        "policy_execution" => {
            let passing = context.get("result").and_then(|result| result.get("passing"));
            return if passing == Some(&Value::Bool(false)) {
                Outcome::Denied
            } else {
                Outcome::Success
            };
        }
        _ => {}
    }
    let verb = crate::verb::normalise(action);
    let last = verb.rsplit('_').next().unwrap_or_default();
    match last {
        "failed" | "failure" | "error" | "exception" => Outcome::Failure,
        "denied" => Outcome::Denied,
        _ => Outcome::Success,
    }
}

/// Context keys that hold the model an event is about, most specific first.
const MODEL_KEYS: &[&str] = &["model", "authorized_application", "application", "secret", "source"];

fn set_resource(
    mapped: &mut NewAuditEvent,
    action: &str,
    user: &Map<String, Value>,
    context: &Map<String, Value>,
    on_behalf_of: Option<&Map<String, Value>>,
) {
    let model = MODEL_KEYS
        .iter()
        .filter_map(|key| context.get(*key).and_then(Value::as_object))
        .find(|model| model.contains_key("model_name"));
    if let Some(model) = model {
        mapped.resource_type = text_field(model, "model_name");
        mapped.resource_id = model.get("pk").and_then(scalar_text);
        mapped.resource_name = text_field(model, "name");
        return;
    }
    // A password change names the user whose password changed as `user`; impersonation is
    // about the impersonated user.
    let subject = match action {
        "password_set" => Some(user),
        "impersonation_started" | "impersonation_ended" => on_behalf_of,
        _ => None,
    };
    if let Some(subject) = subject.filter(|subject| !subject.is_empty()) {
        mapped.resource_type = Some("user".into());
        mapped.resource_id = subject.get("pk").and_then(scalar_text);
        mapped.resource_name = text_field(subject, "username");
    }
}

/// A string or number as bounded text (`pk` is an int for users, a hex UUID otherwise).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => short_text(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn resolve_tenant(
    action: &str,
    user: &Map<String, Value>,
    context: &Map<String, Value>,
    on_behalf_of: Option<&Map<String, Value>>,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> Option<Slug> {
    let model = context.get("model").and_then(Value::as_object);
    let model_name = model.and_then(|model| model.get("model_name")).and_then(Value::as_str);
    let mut groups: Vec<&str> = user
        .get("groups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|group| group.as_str().or_else(|| group.get("name").and_then(Value::as_str)))
                .collect()
        })
        .unwrap_or_default();
    if model_name == Some("group")
        && let Some(name) = model.and_then(|model| model.get("name")).and_then(Value::as_str)
    {
        groups.insert(0, name);
    }
    let from_groups = groups
        .into_iter()
        .map(str::trim)
        .filter(|group| !group.is_empty() && !is_admin_group(group))
        .find_map(|group| tenant_of(TenantHint::Group(group)));
    if from_groups.is_some() {
        return from_groups;
    }
    let user_pk = (model_name == Some("user"))
        .then(|| model.and_then(|model| model.get("pk")).and_then(Value::as_i64))
        .flatten();
    if let Some(slug) = user_pk.and_then(|pk| tenant_of(TenantHint::UserPk(pk))) {
        return Some(slug);
    }
    let tried_username = (action == "login_failed")
        .then(|| context.get("username").and_then(Value::as_str))
        .flatten();
    [
        on_behalf_of
            .and_then(|impersonated| impersonated.get("username"))
            .and_then(Value::as_str),
        user.get("username").and_then(Value::as_str),
        tried_username,
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|name| !name.is_empty() && *name != ANONYMOUS)
    .find_map(|name| tenant_of(TenantHint::Username(name)))
}

#[cfg(test)]
mod tests;
