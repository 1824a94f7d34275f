//! Who is calling, and what they may do.
//!
//! Two kinds of credentials arrive as `Authorization: Bearer …`: dezky API tokens (`dzk_…`,
//! looked up by hash) and OIDC access/ID tokens from Authentik (verified against the issuer's
//! keys). 401 means the credentials are missing or invalid; 403 means valid credentials without
//! the needed scope.

mod invite_acceptance;
pub mod oidc;

use crate::AppState;
use crate::audit::Actor;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::ids;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use dezky_core::{Action, ActorType, ApiTokenSecret, NewAuditEvent, Source, TokenScope};
use dezky_store::{ApiToken, InviteContext, User, UserSighting};
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug)]
pub enum Principal {
    ApiToken(ApiToken),
    /// A person signed in through OIDC. `operator` is true only when the token's audience
    /// includes OPERATOR_AUDIENCE *and* the stored user has platformAdmin (checked per request,
    /// so revoking platformAdmin takes effect at once).
    User {
        user: User,
        operator: bool,
    },
}

/// The authenticated caller of one request, with the client address for audit events.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub client_ip: Option<IpAddr>,
}

impl Caller {
    pub fn is_operator(&self) -> bool {
        match &self.principal {
            Principal::ApiToken(token) => token.scope == TokenScope::Operator,
            Principal::User { operator, .. } => *operator,
        }
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this endpoint requires an operator"))
        }
    }

    /// The source an ingest token publishes as.
    pub fn require_ingest(&self) -> Result<&Source, ApiError> {
        match &self.principal {
            Principal::ApiToken(ApiToken {
                scope: TokenScope::Ingest(source),
                ..
            }) => Ok(source),
            _ => Err(ApiError::forbidden("this endpoint requires an ingest token")),
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::ApiToken(token) => Actor {
                actor_type: ActorType::Service,
                id: Some(token.id.clone()),
                email: None,
                ip: self.client_ip,
            },
            Principal::User { user, .. } => Actor {
                actor_type: ActorType::User,
                id: Some(user.id.clone()),
                email: user.email.clone(),
                ip: self.client_ip,
            },
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

fn request_client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(client_ip(peer, &forwarded, &state.trusted_proxies))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let client_ip = request_client_ip(parts, state);
        let Some(presented) = bearer(parts) else {
            state.metrics.count_auth_failure("missing");
            return Err(ApiError::unauthorized());
        };
        let principal = if let Some(secret) = ApiTokenSecret::parse(presented) {
            let token = state.store.find_active_api_token(&secret.hash()).await?;
            token.map(Principal::ApiToken).ok_or_else(|| {
                state.metrics.count_auth_failure("unknown_api_token");
                ApiError::unauthorized()
            })?
        } else if let Some(verifier) = &state.oidc {
            let claims = verifier.verify(presented).await.map_err(|rejection| {
                tracing::info!(reason = %rejection, "bearer token rejected");
                state.metrics.count_auth_failure("oidc");
                ApiError::unauthorized()
            })?;
            let operator_audience = claims.aud.iter().any(|aud| aud == &state.operator_audience);
            let user = see_user(state, claims, client_ip).await?;
            // A deactivated user's tokens stop working at once, whatever their expiry.
            if state
                .store
                .get_account(&user.id)
                .await?
                .is_some_and(|account| account.deactivated_at.is_some())
            {
                state.metrics.count_auth_failure("deactivated");
                return Err(ApiError::forbidden("this account is deactivated"));
            }
            let operator = operator_audience && user.platform_admin;
            Principal::User { user, operator }
        } else {
            state.metrics.count_auth_failure("not_an_api_token");
            return Err(ApiError::unauthorized());
        };
        Ok(Caller { principal, client_ip })
    }
}

async fn see_user(state: &AppState, claims: oidc::VerifiedClaims, client_ip: Option<IpAddr>) -> Result<User, ApiError> {
    let new_user_id = ids::user_id();
    let now = state.clock.now();
    let email = claims.email.clone();
    let sighting = UserSighting {
        new_user_id: new_user_id.clone(),
        issuer: claims.iss.clone(),
        subject: claims.sub.clone(),
        email: email.clone(),
        email_verified: claims.email_verified,
        name: claims.name.clone().or(claims.preferred_username.clone()),
        groups: claims.groups.clone(),
    };
    let actor = Actor {
        actor_type: ActorType::User,
        id: Some(new_user_id.clone()),
        email,
        ip: client_ip,
    };
    let mut audit: NewAuditEvent = actor.event(now, Action::parse("user.created").expect("valid verb"));
    audit.resource_type = Some("user".to_owned());
    audit.resource_id = Some(new_user_id);
    audit.resource_name = sighting.name.clone();
    audit.metadata.insert("issuer".into(), claims.iss.into());
    audit.metadata.insert("subject".into(), claims.sub.into());
    let accept_invite = |context: InviteContext<'_>| invite_acceptance::decide(&actor, now, context);
    Ok(state.store.see_oidc_user(sighting, audit, &accept_invite, now).await?)
}
