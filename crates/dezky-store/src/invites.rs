//! Invitations: made and revoked by operators, consumed when the invited person's OIDC subject
//! is first seen with that e-mail verified.
//!
//! Consuming happens inside [`Store::see_oidc_user`](crate::Store::see_oidc_user), in the
//! transaction that creates the user: the store reads the invitation and the invited tenant
//! (locked) and hands them to the caller's decision ([`AcceptInvite`]), which says what to
//! grant and which events record it. So the grant, the new user, the invitation's removal and
//! their events commit together or not at all.

use crate::StoreError;
use crate::control::{ControlError, Tenant};
use crate::records::User;
use async_trait::async_trait;
use dezky_control::invite::InvitedMembership;
use dezky_control::roles::TenantRole;
use dezky_core::{NewAuditEvent, Timestamp};

/// A pending invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub platform_admin: bool,
    pub membership: Option<InvitedMembership>,
    pub created_at: Timestamp,
    /// The inviting actor's id.
    pub created_by: Option<String>,
}

/// What the store read for an invitation being accepted, current and locked until the
/// sighting commits.
pub struct InviteContext<'a> {
    pub invite: &'a Invite,
    /// The user just created for the invited person.
    pub user: &'a User,
    /// The invited tenant as it is now; `None` when it no longer exists (or the invitation
    /// grants no membership).
    pub tenant: Option<&'a Tenant>,
    /// The tenant's members and their roles.
    pub members: &'a [(String, TenantRole)],
}

/// The caller's decision on an invitation being accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteAcceptance {
    pub platform_admin: bool,
    /// The role to give the user in the invited tenant, if the rules allow it now.
    pub tenant_role: Option<TenantRole>,
    /// The events recording the acceptance (committed after `user.created`).
    pub audit: Vec<NewAuditEvent>,
}

/// Decides what an accepted invitation grants; pure (it runs inside a write transaction).
pub type AcceptInvite<'a> = &'a (dyn Fn(InviteContext<'_>) -> InviteAcceptance + Sync);

#[async_trait]
pub trait InviteStore: Send + Sync {
    /// Stores an invitation with its event. Refused when a user already has the address
    /// ([`ControlError::UserExists`]), when the address has a pending invitation, or when the
    /// invitation makes an owner and the tenant already has a pending owner invitation
    /// ([`ControlError::InviteExists`]), and when the invited tenant does not exist.
    async fn create_invite(
        &self,
        invite: Invite,
        audit: Vec<NewAuditEvent>,
        now: Timestamp,
    ) -> Result<Invite, ControlError>;

    /// Pending invitations, oldest first.
    async fn list_invites(&self) -> Result<Vec<Invite>, StoreError>;

    async fn get_invite(&self, id: &str) -> Result<Option<Invite>, StoreError>;

    /// Removes a pending invitation with its event; `NotFound` when it was accepted or revoked.
    async fn revoke_invite(&self, id: &str, audit: Vec<NewAuditEvent>, now: Timestamp) -> Result<(), ControlError>;
}
