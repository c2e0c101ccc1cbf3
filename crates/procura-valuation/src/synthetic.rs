//! Synthetic data providers: split any dataset among providers with
//! heterogeneous volumes, label-noise rates and duplicated rows, all drawn
//! from a seed (ChaCha8), for demos, tests and benchmarks.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dataset::{Dataset, Players};
use super::ValuationError;

/// How to split a dataset among synthetic providers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitConfig {
    /// Number of providers: between 1 and the number of rows.
    pub n_providers: usize,
    /// Each provider's label-noise rate is drawn from `U(0, max_noise)`;
    /// in [0, 1].
    pub max_noise: f64,
    /// Each provider's duplicate rate is drawn from `U(0, max_duplicates)`;
    /// in [0, 1].
    pub max_duplicates: f64,
}

/// A dataset split among providers, with the truth behind each provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSplit {
    /// The providers' rows, provider by provider, noisy labels and
    /// duplicates included.
    pub data: Dataset,
    /// The provider of each row of `data`.
    pub players: Players,
    /// Each provider's label-noise rate ρ_i.
    pub noise_rates: Vec<f64>,
    /// Each provider's duplicate rate δ_i.
    pub duplicate_rates: Vec<f64>,
}

/// Splits `data` among `config.n_providers` providers:
///
/// ```text
/// weight_i ~ Exp(1)                      volumes ∝ weight_i, each ≥ 1 row
/// ρ_i ~ U(0, max_noise)                  each row's label is replaced, with
///                                        probability ρ_i, by a uniformly drawn
///                                        other class
/// δ_i ~ U(0, max_duplicates)             round(δ_i · volume_i) of the provider's
///                                        rows, drawn with replacement, are
///                                        appended again
/// ```
///
/// Rows are dealt in a seeded random order. The same `(data, config, seed)`
/// gives the same split on every machine.
///
/// ```
/// use procura_valuation::{split_among_providers, Dataset, SplitConfig};
/// let data = Dataset::new((0..20).map(f64::from).collect(), 1, vec![0, 1].repeat(10), 2)?;
/// let config = SplitConfig { n_providers: 3, max_noise: 0.3, max_duplicates: 0.5 };
/// let split = split_among_providers(&data, &config, 7)?;
/// assert_eq!(split.players.n_players(), 3);
/// assert!(split.data.n_rows() >= 20);
/// assert_eq!(split, split_among_providers(&data, &config, 7)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn split_among_providers(
    data: &Dataset,
    config: &SplitConfig,
    seed: u64,
) -> Result<ProviderSplit, ValuationError> {
    let n_rows = data.n_rows();
    let n_providers = config.n_providers;
    if n_providers == 0 || n_providers > n_rows {
        return Err(ValuationError::Providers {
            n_providers,
            n_rows,
        });
    }
    for (field, value) in [
        ("max_noise", config.max_noise),
        ("max_duplicates", config.max_duplicates),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(ValuationError::Rate { field, value });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let weights: Vec<f64> = (0..n_providers)
        .map(|_| -(1.0 - rng.random_range(0.0..1.0_f64)).ln())
        .collect();
    let noise_rates: Vec<f64> = (0..n_providers)
        .map(|_| config.max_noise * rng.random_range(0.0..1.0))
        .collect();
    let duplicate_rates: Vec<f64> = (0..n_providers)
        .map(|_| config.max_duplicates * rng.random_range(0.0..1.0))
        .collect();

    // Volumes: one row each, the rest in proportion to the weights, and the
    // rounding remainder one row at a time from provider 0.
    let total: f64 = weights.iter().sum();
    let spare = n_rows - n_providers;
    let mut volumes: Vec<usize> = weights
        .iter()
        .map(|w| 1 + ((w / total) * spare as f64).floor() as usize)
        .collect();
    let left = n_rows - volumes.iter().sum::<usize>();
    for extra in 0..left {
        volumes[extra % n_providers] += 1;
    }

    let mut order: Vec<usize> = (0..n_rows).collect();
    for i in (1..n_rows).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }

    let n_classes = data.n_classes();
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut of_row = Vec::new();
    let mut next = 0;
    for provider in 0..n_providers {
        let own = &order[next..next + volumes[provider]];
        next += volumes[provider];
        let mut provider_labels: Vec<usize> = own.iter().map(|&row| data.label_at(row)).collect();
        for label in &mut provider_labels {
            if n_classes > 1 && rng.random_range(0.0..1.0) < noise_rates[provider] {
                // A uniformly drawn class other than the true one.
                let other = rng.random_range(0..n_classes - 1);
                *label = if other >= *label { other + 1 } else { other };
            }
        }
        let n_duplicates = (duplicate_rates[provider] * own.len() as f64).round() as usize;
        let copies: Vec<usize> = (0..n_duplicates)
            .map(|_| rng.random_range(0..own.len()))
            .collect();
        for index in (0..own.len()).chain(copies) {
            features.extend_from_slice(data.row_at(own[index]));
            labels.push(provider_labels[index]);
            of_row.push(provider);
        }
    }
    let data = Dataset::new(features, data.n_features(), labels, n_classes)?;
    let players = Players::groups(of_row)?;
    Ok(ProviderSplit {
        data,
        players,
        noise_rates,
        duplicate_rates,
    })
}
