//! HTTP handlers, one module per resource.

pub mod archive;
pub mod audit;
pub mod checkpoint;
pub mod erasure;
pub mod export;
pub mod health;
pub mod ingest;
pub mod ingest_status;
pub mod invites;
pub mod openapi;
pub mod partners;
pub mod proofs;
pub mod restore;
pub mod stalwart;
pub mod tenant_lifecycle;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::AppState;
use axum::Router;
use axum::routing::{delete, get, patch, post, put};

/// The control plane's routes (tenants, partners, users), nested under /api/v1.
pub fn control_plane_routes() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(tenants::list_tenants).post(tenants::create_tenant))
        .route(
            "/tenants/{slug}",
            get(tenants::get_tenant)
                .patch(tenants::update_tenant)
                .delete(tenant_lifecycle::delete_tenant),
        )
        .route("/tenants/{slug}/suspend", post(tenant_lifecycle::suspend_tenant))
        .route("/tenants/{slug}/resume", post(tenant_lifecycle::resume_tenant))
        .route("/tenants/{slug}/purge", delete(tenant_lifecycle::purge_tenant))
        .route(
            "/tenants/{slug}/users",
            get(users::list_members).post(users::add_member),
        )
        .route(
            "/tenants/{slug}/users/{user_id}",
            patch(users::change_member_role).delete(users::remove_member),
        )
        .route("/tenants/{slug}/transfer-ownership", post(users::transfer_ownership))
        .route("/partners", get(partners::list_partners).post(partners::create_partner))
        .route(
            "/partners/{slug}",
            get(partners::get_partner)
                .patch(partners::update_partner)
                .delete(partners::terminate_partner),
        )
        .route("/partners/{slug}/tenants", get(partners::list_partner_tenants))
        .route(
            "/partners/{slug}/staff",
            get(partners::list_staff).post(partners::add_staff),
        )
        .route("/partners/{slug}/staff/{user_id}", delete(partners::remove_staff))
        .route("/users", get(users::list_users))
        .route(
            "/users/invites",
            get(invites::list_invites).post(invites::create_invite),
        )
        .route("/users/invites/{invite_id}", delete(invites::revoke_invite))
        .route("/users/{user_id}/platform-admin", put(users::set_platform_admin))
        .route("/users/{user_id}/deactivate", post(users::deactivate_user))
}
