//! `placeledger serve` and `placeledger token create|revoke`.

use std::net::SocketAddr;

use anyhow::Context as _;
use placeledger_api::http::App;
use placeledger_api::limit::Rate;
use placeledger_app::storage::AccessStore;
use placeledger_app::{Backend, Live, Role, tokens};
use placeledger_domain::AuthorityCode;

/// Brings the read models up to date with a progress bar per projection, then serves until
/// interrupted (Ctrl-C or SIGTERM).
pub async fn serve(
    backend: Backend,
    listen: SocketAddr,
    dev_tokens: bool,
    rate_limit: f64,
    publish_every: std::time::Duration,
) -> anyhow::Result<()> {
    let store = backend.events.clone();
    let models = crate::projections::read_models(&store).await?;
    let position = models.position;
    let live = Live::following(models, store.clone());
    let app = App::serving(
        backend.clone(),
        live,
        Rate {
            per_second: rate_limit,
            burst: rate_limit * 2.0,
        },
        publish_every,
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    println!(
        "Placeledger ({} store, read models at position {position})",
        store.backend()
    );
    println!("Web app:   http://{local}/   (sign in with a token)");
    println!("GraphiQL:  http://{local}/graphiql");
    println!("GraphQL:   http://{local}/graphql   (WebSocket: ws://{local}/graphql/ws)");
    if dev_tokens {
        print_dev_tokens(&*backend.access).await?;
    }
    tracing::info!(%local, "serving");
    axum::serve(listener, app.into_service())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Development tokens, made afresh on every start (the secrets are never stored).
async fn print_dev_tokens(store: &dyn AccessStore) -> anyhow::Result<()> {
    let la = |s: &str| AuthorityCode::parse(s).ok();
    let tokens = [
        (Role::Admin, None, "admin"),
        (Role::Planner, la("888"), "Lancashire planner"),
        (Role::Analyst, la("888"), "Lancashire analyst"),
        (Role::Partner, la("890"), "Blackpool as a partner"),
    ];
    println!(
        "Development tokens (paste one into the web app's sign-in; GraphiQL then sends it, \
         or give it as {{\"Authorization\": \"Bearer TOKEN\"}}):"
    );
    for (role, authority, label) in tokens {
        let (_, secret) =
            tokens::create(store, role, authority, &format!("development: {label}")).await?;
        println!("  {label:<24} {secret}");
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub async fn create_token(
    store: &dyn AccessStore,
    role: &str,
    authority: Option<&str>,
    label: &str,
) -> anyhow::Result<()> {
    let role = Role::parse(role)
        .with_context(|| format!("--role {role:?}: use admin, planner, analyst or partner"))?;
    let authority = authority
        .map(|a| AuthorityCode::parse(a).with_context(|| format!("--authority {a:?}")))
        .transpose()?;
    let (token, secret) = tokens::create(store, role, authority, label).await?;
    println!("{secret}");
    eprintln!(
        "token {} ({}{}) created; the secret above is shown once and not stored",
        token.id,
        token.role.code(),
        token
            .authority
            .as_ref()
            .map(|a| format!(" for {a}"))
            .unwrap_or_default()
    );
    Ok(())
}

pub async fn revoke_token(store: &dyn AccessStore, id: &str) -> anyhow::Result<()> {
    if store.revoke_token(id).await? {
        println!("token {id} revoked");
        Ok(())
    } else {
        anyhow::bail!("there is no token {id:?}")
    }
}
