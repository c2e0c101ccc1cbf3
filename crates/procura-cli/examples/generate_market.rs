//! Writes a synthetic procurement instance as JSON on stdout, for the
//! end-to-end benchmark (`bench/clear_e2e.sh`).
//!
//! Usage: `cargo run --release --example generate_market -- N_PROVIDERS SEED`

use std::io::Write;

use anyhow::Context;
use procura::synthetic;
use serde_json::{json, Value};

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
    let providers: Vec<Value> = market
        .providers()
        .iter()
        .map(|p| {
            json!({
                "id": p.id(), "bid": p.bid(), "quality": p.quality(), "utility": p.utility(),
                "volume": p.volume(), "claimed_quality": p.claimed_quality(),
            })
        })
        .collect();
    let instance = json!({
        "budget": market.budget(),
        "token_budget": market.token_budget(),
        "liquidity": market.liquidity(),
        "token_pool": market.token_pool(),
        "providers": providers,
    });
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &instance)?;
    writeln!(stdout)?;
    Ok(())
}
