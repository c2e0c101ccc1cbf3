//! Writes a synthetic procurement instance as JSON on stdout, for the
//! end-to-end benchmark (`bench/clear_e2e.sh`), through
//! `procura_format::write::procurement_instance`, the one place instance
//! JSON is rendered (spec §A.1, every default written out).
//!
//! Usage: `cargo run --release --example generate_market -- N_PROVIDERS SEED`

use std::io::Write;

use anyhow::Context;
use procura::synthetic;
use procura_format::write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .context("usage: generate_market N SEED")?
        .parse()?;
    let seed: u64 = args
        .next()
        .context("usage: generate_market N SEED")?
        .parse()?;
    let market = synthetic::market(n, seed);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(write::procurement_instance(&market).as_bytes())?;
    stdout.flush()?;
    Ok(())
}
