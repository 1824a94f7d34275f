//! Commands that act on the database directly: tokens, platform admins, configuration check.

use crate::cli::{AdminCommand, TokenCreate};
use crate::output::outln;
use anyhow::{Context, bail};
use dezky_core::Action;
use dezky_server::audit::Actor;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::config::Config;
use dezky_server::routes::tokens::parse_scope;
use dezky_server::serve::open_store;

pub async fn token_create(config: &Config, request: TokenCreate) -> anyhow::Result<()> {
    let scope = match (&request.scope.tenant, &request.scope.ingest) {
        (Some(slug), _) => parse_scope("tenant", Some(slug), None),
        (_, Some(source)) => parse_scope("ingest", None, Some(source)),
        _ => parse_scope("operator", None, None),
    }
    .map_err(anyhow::Error::msg)?;
    if let Some(name) = &request.name
        && (name.is_empty() || name.chars().count() > 100)
    {
        bail!("--name must be 1 to 100 characters");
    }
    let store = open_store(config).await?;
    let (token, secret) = dezky_server::tokens::create_token(
        store.as_ref(),
        &Actor::command_line(),
        scope,
        request.name,
        SystemClock.now(),
    )
    .await?;
    eprintln!("created {} token {} ({})", token.scope.kind(), token.id, token.name);
    outln!("{}", secret.expose());
    Ok(())
}

pub async fn token_list(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    for token in store.list_api_tokens().await? {
        let detail = match &token.scope {
            dezky_core::TokenScope::Operator => String::new(),
            dezky_core::TokenScope::Tenant(slug) => format!(" tenant={slug}"),
            dezky_core::TokenScope::Ingest(source) => format!(" source={source}"),
        };
        let state = token
            .revoked_at
            .map_or("active".to_owned(), |at| format!("revoked {at}"));
        outln!(
            "{}\t{}{}\t{}\t{}\t{}",
            token.id,
            token.scope.kind(),
            detail,
            token.name,
            token.created_at,
            state
        );
    }
    Ok(())
}

pub async fn token_revoke(config: &Config, id: &str) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match dezky_server::tokens::revoke_token(store.as_ref(), &Actor::command_line(), id, SystemClock.now()).await? {
        Some(token) => {
            eprintln!("revoked token {}", token.id);
            Ok(())
        }
        None => bail!("no active token has id '{id}' (see: dezky token list)"),
    }
}

pub async fn platform_admin(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let (email, grant) = match &command {
        AdminCommand::Grant { email } => (email, true),
        AdminCommand::Revoke { email } => (email, false),
    };
    let store = open_store(config).await?;
    let users = store.find_users_by_email(email).await?;
    let user = match users.as_slice() {
        [] => bail!("no user with e-mail '{email}' has signed in yet; sign in once through OIDC, then retry"),
        [user] => user,
        _ => bail!("several users share the e-mail '{email}'; resolve that in Authentik first"),
    };
    let verb = if grant {
        "user.platform_admin_granted"
    } else {
        "user.platform_admin_revoked"
    };
    let now = SystemClock.now();
    let mut audit = Actor::command_line().event(now, Action::parse(verb).context("audit verb")?);
    audit.resource_type = Some("user".to_owned());
    audit.resource_id = Some(user.id.clone());
    audit.resource_name = user.email.clone();
    store.set_platform_admin(&user.id, grant, audit, now).await?;
    eprintln!(
        "{} platform admin: {email} ({})",
        if grant { "granted" } else { "revoked" },
        user.id
    );
    Ok(())
}

pub async fn config_check(config: &Config) -> anyhow::Result<()> {
    outln!("listen            {}", config.listen);
    outln!("data dir          {}", config.data_dir.display());
    outln!("database          {}", config.database_url_for_display());
    match &config.oidc {
        Some(oidc) => {
            outln!("oidc issuers      {}", oidc.issuers.join(", "));
            outln!("oidc audiences    {}", oidc.audiences.join(", "));
            outln!("operator audience {}", oidc.operator_audience);
        }
        None => outln!("oidc              off (AUTHENTIK_ISSUER unset): API tokens only"),
    }
    let proxies: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
    outln!(
        "trusted proxies   {}",
        if proxies.is_empty() {
            "none".to_owned()
        } else {
            proxies.join(", ")
        }
    );
    outln!("max body bytes    {}", config.max_body_bytes);
    outln!("request timeout   {}s", config.request_timeout.as_secs());
    let store = dezky_store::open_with(&config.database_url, dezky_store::Indexing::Off)
        .await
        .context("DATABASE_URL")?;
    let events = store
        .next_seq()
        .await
        .map(|next| next.to_string())
        .unwrap_or_else(|_| "not migrated yet".to_owned());
    outln!("database check    ok ({events} events)");
    Ok(())
}
