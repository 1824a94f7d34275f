//! API tokens over HTTP (operators): create, list, revoke.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_core::{Slug, Source, TokenScope};
use dezky_store::ApiToken;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTokenRequest {
    /// `operator`, `tenant` or `ingest`.
    pub scope: String,
    /// Required for (and only for) `tenant` tokens.
    pub tenant_slug: Option<String>,
    /// Required for (and only for) `ingest` tokens; not one of platform, authentik, stalwart, ocis.
    pub source: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub tenant_slug: Option<String>,
    pub source: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    /// The secret, present only in the creation response: it is not stored and cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

impl From<&ApiToken> for TokenView {
    fn from(token: &ApiToken) -> TokenView {
        let (tenant_slug, source) = match &token.scope {
            TokenScope::Operator => (None, None),
            TokenScope::Tenant(slug) => (Some(slug.to_string()), None),
            TokenScope::Ingest(source) => (None, Some(source.to_string())),
        };
        TokenView {
            id: token.id.clone(),
            name: token.name.clone(),
            scope: token.scope.kind().to_owned(),
            tenant_slug,
            source,
            created_at: token.created_at.to_rfc3339(),
            created_by: token.created_by.clone(),
            revoked_at: token.revoked_at.map(|at| at.to_rfc3339()),
            token: None,
        }
    }
}

/// Parses a requested scope; shared with the command line so both accept the same things.
pub fn parse_scope(scope: &str, tenant_slug: Option<&str>, source: Option<&str>) -> Result<TokenScope, String> {
    match (scope, tenant_slug, source) {
        ("operator", None, None) => Ok(TokenScope::Operator),
        ("tenant", Some(slug), None) => Slug::parse(slug)
            .map(TokenScope::Tenant)
            .map_err(|error| format!("tenant slug '{slug}' {error}")),
        ("ingest", None, Some(source)) => {
            let source = Source::parse(source).map_err(|error| format!("source '{source}' {error}"))?;
            if source.is_reserved() {
                return Err(format!("source '{source}' is reserved for dezky's own ingesters"));
            }
            Ok(TokenScope::Ingest(source))
        }
        ("tenant", None, _) => Err("a tenant token needs tenantSlug".to_owned()),
        ("ingest", _, None) => Err("an ingest token needs source".to_owned()),
        ("operator" | "tenant" | "ingest", _, _) => Err(format!(
            "a {scope} token takes {}",
            match scope {
                "operator" => "neither tenantSlug nor source",
                "tenant" => "tenantSlug only",
                _ => "source only",
            }
        )),
        (other, _, _) => Err(format!("scope '{other}' is not operator, tenant or ingest")),
    }
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "Created; the secret is in `token`, shown this once", body = TokenView),
        (status = 400, description = "Invalid scope, slug or source", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    caller.require_operator()?;
    let scope = parse_scope(
        &request.scope,
        request.tenant_slug.as_deref(),
        request.source.as_deref(),
    )
    .map_err(|message| ApiError::bad_request("invalid_token_request", message))?;
    if let Some(name) = &request.name
        && (name.is_empty() || name.chars().count() > 100)
    {
        return Err(ApiError::bad_request(
            "invalid_token_request",
            "name must be 1 to 100 characters",
        ));
    }
    let (token, secret) = crate::tokens::create_token(
        state.store.as_ref(),
        &caller.actor(),
        scope,
        request.name,
        state.clock.now(),
    )
    .await?;
    let mut view = TokenView::from(&token);
    view.token = Some(secret.expose().to_owned());
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "Every token, without secrets", body = TokenList)),
    security(("bearer" = [])))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<TokenList>, ApiError> {
    caller.require_operator()?;
    let tokens = state.store.list_api_tokens().await?;
    Ok(Json(TokenList {
        tokens: tokens.iter().map(TokenView::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id (tok_…)")),
    responses(
        (status = 200, description = "Revoked", body = TokenView),
        (status = 404, description = "No active token has this id", body = crate::routes::openapi::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenView>, ApiError> {
    caller.require_operator()?;
    crate::tokens::revoke_token(state.store.as_ref(), &caller.actor(), &id, state.clock.now())
        .await?
        .map(|token| Json(TokenView::from(&token)))
        .ok_or_else(|| ApiError::not_found(format!("no active token has id '{id}'")))
}

#[cfg(test)]
mod tests {
    use super::parse_scope;

    #[test]
    fn scopes_take_exactly_their_parameter() {
        assert!(parse_scope("operator", None, None).is_ok());
        assert!(parse_scope("tenant", Some("acme"), None).is_ok());
        assert!(parse_scope("ingest", None, Some("portal")).is_ok());
        for (scope, slug, source) in [
            ("operator", Some("acme"), None),
            ("tenant", None, None),
            ("tenant", Some("Acme"), None),
            ("ingest", None, None),
            ("ingest", None, Some("stalwart")),
            ("ingest", None, Some("Bad")),
            ("ingest", Some("acme"), Some("portal")),
            ("admin", None, None),
        ] {
            assert!(parse_scope(scope, slug, source).is_err(), "{scope} {slug:?} {source:?}");
        }
    }
}
