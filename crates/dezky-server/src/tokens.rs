//! Creating and revoking API tokens: shared by the command line and the HTTP API.

use crate::audit::Actor;
use crate::ids;
use dezky_core::{Action, ApiTokenSecret, Timestamp, TokenScope};
use dezky_store::{ApiToken, NewApiToken, Store, StoreError};

fn verb(text: &str) -> Action {
    Action::parse(text).expect("static audit verb is valid")
}

/// Creates a token and its `api_token.created` event in one transaction. The secret is returned
/// once and never stored.
pub async fn create_token(
    store: &dyn Store,
    actor: &Actor,
    scope: TokenScope,
    name: Option<String>,
    now: Timestamp,
) -> Result<(ApiToken, ApiTokenSecret), StoreError> {
    let secret = ApiTokenSecret::from_random_bytes(ids::random_32_bytes());
    let id = ids::token_id();
    let name = name.unwrap_or_else(|| format!("{} token", scope.kind()));
    let mut audit = actor.event(now, verb("api_token.created"));
    audit.resource_type = Some("api_token".to_owned());
    audit.resource_id = Some(id.clone());
    audit.resource_name = Some(name.clone());
    audit.metadata.insert("scope".into(), scope.kind().into());
    match &scope {
        TokenScope::Tenant(slug) => audit.tenant_slug = Some(slug.clone()),
        TokenScope::Ingest(source) => {
            audit.metadata.insert("source".into(), source.as_str().into());
        }
        TokenScope::Operator => {}
    }
    let created_by = actor.id.clone().unwrap_or_else(|| "unknown".to_owned());
    let token = NewApiToken {
        id,
        name,
        hash: secret.hash(),
        scope,
        created_by,
    };
    let token = store.create_api_token(token, audit, now).await?;
    Ok((token, secret))
}

/// Revokes an active token with its `api_token.revoked` event; `None` if there is no such token.
pub async fn revoke_token(
    store: &dyn Store,
    actor: &Actor,
    id: &str,
    now: Timestamp,
) -> Result<Option<ApiToken>, StoreError> {
    let mut audit = actor.event(now, verb("api_token.revoked"));
    audit.resource_type = Some("api_token".to_owned());
    audit.resource_id = Some(id.to_owned());
    store.revoke_api_token(id, audit, now).await
}
