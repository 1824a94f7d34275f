//! What an invitation grants when the invited person is first seen, decided inside the
//! transaction that creates their user (so on current, locked data) and recorded as
//! `user.invite_accepted` by the new user.
//!
//! The sign-in never fails over an invitation: `platformAdmin` is always granted; a membership
//! the tenant no longer allows (purged or deleted tenant, an owner invitation into a tenant that
//! got an owner meanwhile) is refused, and the event says so under `metadata.refused`.

use crate::audit::Actor;
use dezky_control::invite::membership_on_acceptance;
use dezky_core::{Action, Timestamp};
use dezky_store::{InviteAcceptance, InviteContext};
use serde_json::{Map, Value, json};

pub fn decide(actor: &Actor, now: Timestamp, context: InviteContext<'_>) -> InviteAcceptance {
    let invite = context.invite;
    let user = context.user;
    let mut diff = Map::new();
    let mut metadata = Map::new();
    metadata.insert("inviteId".into(), json!(invite.id));
    metadata.insert("invitedBy".into(), json!(invite.created_by));
    if invite.platform_admin {
        diff.insert("platformAdmin".into(), json!({"from": false, "to": true}));
    }
    let mut tenant_role = None;
    if let Some(membership) = &invite.membership {
        let status = context.tenant.map(|tenant| tenant.status);
        match membership_on_acceptance(status, context.members, &user.id, membership.role) {
            Ok(change) => {
                tenant_role = change.to;
                diff.insert("role".into(), json!({"from": null, "to": membership.role.as_str()}));
            }
            Err(reason) => {
                metadata.insert(
                    "refused".into(),
                    json!({"tenant": membership.tenant.as_str(), "role": membership.role.as_str(), "reason": reason}),
                );
            }
        }
    }
    metadata.insert("diff".into(), Value::Object(diff));
    let mut event = actor.event(now, Action::parse("user.invite_accepted").expect("valid verb"));
    event.resource_type = Some("user".to_owned());
    event.resource_id = Some(user.id.clone());
    event.resource_name = user.name.clone();
    event.tenant_slug = invite.membership.as_ref().map(|membership| membership.tenant.clone());
    event.partner_slug = context.tenant.and_then(|tenant| tenant.fields.partner.clone());
    event.metadata = metadata;
    InviteAcceptance {
        platform_admin: invite.platform_admin,
        tenant_role,
        audit: vec![event],
    }
}
