//! `procura serve`: run a market server (spec Part C) until ctrl-c or
//! SIGTERM. The server itself is `procura-server`; this module only reads
//! the flags, starts the tokio runtime and the log on stderr.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use procura_server::{Config, DEFAULT_DB, DEFAULT_KEY_FILE, DEFAULT_NAME};

/// Run a live market: sealed-bid rounds over HTTP, every entry signed,
/// logged in a Merkle tree and acknowledged only once durably stored.
///
/// The API is `/v1/…` (its OpenAPI document at `/openapi.json`); a page at
/// `/` lists the rounds. The operator key is created (mode 0600) on first
/// run. Log verbosity follows `RUST_LOG` (default `info`); request bodies
/// are never logged.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, default_value = DEFAULT_DB, value_name = "URL")]
    db: String,
    /// The operator's Ed25519 key file (created on first run).
    #[arg(long, default_value = DEFAULT_KEY_FILE, value_name = "FILE")]
    key: PathBuf,
    /// The server's name: the checkpoints' origin and key name.
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,
}

/// Runs the server until it is stopped; prints nothing on stdout.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let config = Config::new(
        args.listen,
        args.db.clone(),
        args.key.clone(),
        args.name.clone(),
    )
    .map_err(|error| anyhow::anyhow!("--{error}"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second subscriber (only in tests that call run twice) is ignored.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(procura_server::serve(config))?;
    Ok(String::new())
}
