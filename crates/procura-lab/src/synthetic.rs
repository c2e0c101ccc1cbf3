//! Synthetic procurement markets drawn from a seed, for benchmarks, demos
//! and tests that need large instances.
//!
//! The same `(n_providers, seed)` gives the same instance on every machine:
//! the generator is ChaCha8, seeded explicitly, and draws in a fixed order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use procura_mechanisms::procurement::{Instance, InstanceSpec, ProviderSpec};

/// A market of `n_providers` with independent uniform draws:
///
/// ```text
/// bid ~ U(0.1, 5)     quality ~ U(0.2, 1)     utility ~ U(0.1, 3)
/// volume ~ U{100, …, 5000}    claimed_quality = min(1, quality + U(0, 0.2))
/// budget = Σ bid / 4,  token_budget = budget / 2,  liquidity = 0.5,  token_pool = 1000
/// ```
///
/// Ids are `p0000000`, `p0000001`, … so that byte order is index order.
/// A quarter of the total bid as budget leaves both winners and losers
/// under every mechanism.
///
/// ```
/// let market = procura_lab::synthetic::market(100, 7);
/// assert_eq!(market.providers().len(), 100);
/// assert_eq!(market, procura_lab::synthetic::market(100, 7));
/// ```
#[must_use]
pub fn market(n_providers: usize, seed: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let providers: Vec<ProviderSpec> = (0..n_providers)
        .map(|index| {
            let bid = rng.random_range(0.1..5.0);
            let quality: f64 = rng.random_range(0.2..1.0);
            let utility = rng.random_range(0.1..3.0);
            let volume = f64::from(rng.random_range(100u32..=5000));
            let claimed_quality = (quality + rng.random_range(0.0..0.2)).min(1.0);
            ProviderSpec {
                volume: Some(volume),
                claimed_quality: Some(claimed_quality),
                ..ProviderSpec::new(format!("p{index:07}"), bid, quality, utility)
            }
        })
        .collect();
    let total_bid: f64 = providers.iter().map(|provider| provider.bid).sum();
    let budget = (total_bid / 4.0).max(1.0);
    let spec = InstanceSpec {
        budget,
        token_budget: Some(budget / 2.0),
        liquidity: Some(0.5),
        token_pool: Some(1000.0),
        providers,
    };
    // Every draw lies inside the ranges of §A.1 and ids are distinct.
    Instance::new(spec).unwrap_or_else(|error| unreachable!("synthetic market is valid: {error}"))
}
