//! The HTTP server of procura's live data market (spec Part C): the only
//! crate that knows HTTP and SQL. Every rule lives in `procura-market`;
//! this crate stores entries durably and serves them.
//!
//! - [`Config`]: where to listen, the database (`sqlite://PATH` or
//!   `postgres://…`), the operator key file and the server's name;
//! - [`app`]: builds the router (loads the key, connects, replays every
//!   stored round, starts the writer), for tests and embedding;
//! - [`serve`]: binds and serves until ctrl-c or SIGTERM.
//!
//! What the operator sees: commitments hide bids from everyone, the
//! operator included, until the reveal phase. Reveals and simultaneous
//! decisions are shown to nobody else until their phase closes (§C.5
//! sealing), but the operator's server sees them as they arrive; it stores
//! them encrypted at rest (`seal`) and never logs a request body.

mod api;
mod config;
mod error;
mod key;
mod page;
mod seal;
mod state;
mod store;

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;

pub use api::{openapi_json, ENTRY_BODY_LIMIT, OPEN_BODY_LIMIT};
pub use config::{
    Config, ConfigError, DEFAULT_DB, DEFAULT_KEY_FILE, DEFAULT_MAX_ROUNDS, DEFAULT_NAME,
};

/// Builds the application: reads (or creates) the operator key file,
/// connects to the database (creating the tables), loads and replays
/// every stored round (a round whose storage fails the check is logged
/// and answered 500; the others are served), and starts the writer task.
/// The writer stops once the router and all its clones are dropped.
///
/// Must be called inside a tokio runtime.
pub async fn app(config: Config) -> anyhow::Result<axum::Router> {
    let seed = key::load_or_create(config.key_file())?;
    let store = store::Store::connect(&config).await?;
    let core = Arc::new(state::Core::new(
        config.name().to_owned(),
        &seed.0,
        store,
        config.max_rounds(),
    ));
    core.load_all().await.context("loading the stored rounds")?;
    let (writer, queue) = mpsc::channel(4 * state::BATCH);
    tokio::spawn(state::writer(Arc::clone(&core), queue));
    tracing::info!(name = %core.name, key = %core.key_id, "the market is ready");
    Ok(api::router(core, writer))
}

/// Serves the market on `config.listen()` until ctrl-c or SIGTERM, then
/// finishes the requests in flight.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen();
    let router = app(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
