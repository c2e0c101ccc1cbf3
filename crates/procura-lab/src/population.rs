//! Population audits: draw many procurement instances from named
//! distributions and audit them all (issue: `procura audit --population`).
//!
//! Instance k of a population audit with seed s is drawn from its own
//! ChaCha8 stream (seed s, stream k), so every instance, and therefore the
//! whole report, is the same on any number of threads.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution as _, LogNormal, Pareto, Uniform};
use rayon::prelude::*;

use procura_audit::{audit, AuditConfig, AuditReport};

use procura_mechanisms::procurement::{
    Auction, Instance, InstanceSpec, ProviderIds, ProviderNumbers, ProviderSpec,
};

/// A distribution to draw one provider field from.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "distribution", rename_all = "lowercase", deny_unknown_fields)
)]
pub enum Distribution {
    /// Always `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Lower end.
        low: f64,
        /// Upper end, > low.
        high: f64,
    },
    /// exp(N(mu, sigma²)).
    LogNormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm, > 0.
        sigma: f64,
    },
    /// Beta(alpha, beta) on [0, 1].
    Beta {
        /// First shape, > 0.
        alpha: f64,
        /// Second shape, > 0.
        beta: f64,
    },
    /// Pareto with minimum `scale` and tail index `shape`.
    Pareto {
        /// Minimum value, > 0.
        scale: f64,
        /// Tail index, > 0.
        shape: f64,
    },
}

/// A population of procurement instances, as written (e.g. in TOML).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct PopulationSpec {
    /// Providers per instance, ≥ 1.
    pub providers: usize,
    /// Budget B as a fraction of the instance's total cost Σ b_i, > 0.
    pub budget_fraction: f64,
    /// Token budget R as a fraction of the total cost; absent means no
    /// token budget (MUT then cannot run).
    #[cfg_attr(feature = "serde", serde(default))]
    pub token_budget_fraction: Option<f64>,
    /// Liquidity λ, in [0, 1]; default 1.
    #[cfg_attr(feature = "serde", serde(default))]
    pub liquidity: Option<f64>,
    /// Token pool Π, > 0; default 1.
    #[cfg_attr(feature = "serde", serde(default))]
    pub token_pool: Option<f64>,
    /// Distribution of costs (the truthful bids), ≥ 0.
    pub cost: Distribution,
    /// Distribution of verified quality, in [0, 1].
    pub quality: Distribution,
    /// Distribution of marginal utility, ≥ 0.
    pub utility: Distribution,
    /// Distribution of volume, ≥ 0; default constant 1.
    #[cfg_attr(feature = "serde", serde(default))]
    pub volume: Option<Distribution>,
    /// Distribution of claimed quality; absent means claims are truthful.
    #[cfg_attr(feature = "serde", serde(default))]
    pub claimed_quality: Option<Distribution>,
}

/// Why a [`PopulationSpec`] is invalid. Messages name the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct PopulationError {
    /// The offending key, e.g. `cost.high`.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A key a mechanism needs that a population omits: see
/// [`Population::check_clears`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{key} is required by {mechanism}")]
pub struct MissingKey {
    /// The key, e.g. `token_budget_fraction`.
    pub key: &'static str,
    /// The mechanism that needs it.
    pub mechanism: Auction,
}

pub use crate::limits::MAX_PROVIDERS;

/// Why a population file (TOML) cannot be read: see [`read_population`].
#[cfg(feature = "serde")]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationFileError {
    /// The text is not TOML (the message gives the line and column), or a
    /// key is missing (the message names it).
    #[error("{0}")]
    Toml(String),
    /// A key is unknown, of the wrong type or out of range.
    #[error(transparent)]
    Population(#[from] PopulationError),
}

/// Reads and validates a population file (TOML), the format of `procura
/// audit --population` and of an experiment's `[procurement]` table.
/// Errors name the key, even for an integer outside the TOML range
/// (`providers = 18446744073709551615`), which TOML itself refuses.
///
/// ```
/// use procura_lab::population::read_population;
///
/// let text = r#"
///     providers = 8
///     budget_fraction = 0.5
///     cost = { distribution = "uniform", low = 0.1, high = 5.0 }
///     quality = { distribution = "uniform", low = 0.2, high = 1.0 }
///     utility = { distribution = "uniform", low = 0.1, high = 3.0 }
/// "#;
/// assert_eq!(read_population(text)?.spec().providers, 8);
/// let error = read_population(&text.replace("high = 5.0", "high = 18446744073709551615"));
/// assert!(error.unwrap_err().to_string().starts_with("cost.high: 18446744073709551615 is not a TOML integer"));
/// # Ok::<(), procura_lab::population::PopulationFileError>(())
/// ```
#[cfg(feature = "serde")]
pub fn read_population(text: &str) -> Result<Population, PopulationFileError> {
    use crate::toml_input::{deserialize, table, TomlError};
    let keyed = |error: TomlError| match error {
        TomlError::Syntax(error) => {
            PopulationFileError::Toml(error.to_string().trim_end().to_owned())
        }
        TomlError::Key { key, problem } if key.is_empty() => PopulationFileError::Toml(problem),
        TomlError::Key { key, problem } => PopulationError { key, problem }.into(),
    };
    let table = table(text).map_err(keyed)?;
    let spec: PopulationSpec = deserialize(toml::Value::Table(table), "").map_err(keyed)?;
    Ok(Population::new(spec)?)
}

/// A validated population.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    spec: PopulationSpec,
    /// The providers' ids `p000`, `p001`, …, checked once and shared by
    /// every draw.
    ids: ProviderIds,
}

/// The ids of `providers` providers: `p000`, `p001`, … (wider when there
/// are more than 1000).
fn provider_ids(providers: usize) -> Result<ProviderIds, PopulationError> {
    let width = providers.saturating_sub(1).to_string().len().max(3);
    ProviderIds::new((0..providers).map(|i| format!("p{i:0width$}")).collect())
        .map_err(|e| error("providers", e.to_string()))
}

/// The range a field's values must lie in.
#[derive(Clone, Copy)]
pub(crate) enum Support {
    NonNegative,
    Unit,
}

pub(crate) fn error(key: &str, problem: impl Into<String>) -> PopulationError {
    PopulationError {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

pub(crate) fn finite(key: &str, value: f64) -> Result<(), PopulationError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(error(key, format!("{value} is not finite")))
    }
}

pub(crate) fn positive(key: &str, value: f64) -> Result<(), PopulationError> {
    finite(key, value)?;
    if value > 0.0 {
        Ok(())
    } else {
        Err(error(key, format!("{value} is not > 0")))
    }
}

pub(crate) fn validate_distribution(
    field: &str,
    distribution: &Distribution,
    support: Support,
) -> Result<(), PopulationError> {
    let key = |name: &str| format!("{field}.{name}");
    let (low, high) = match *distribution {
        Distribution::Constant { value } => {
            finite(&key("value"), value)?;
            (value, value)
        }
        Distribution::Uniform { low, high } => {
            finite(&key("low"), low)?;
            finite(&key("high"), high)?;
            if high <= low {
                return Err(error(&key("high"), format!("{high} is not > low {low}")));
            }
            (low, high)
        }
        Distribution::LogNormal { mu, sigma } => {
            finite(&key("mu"), mu)?;
            positive(&key("sigma"), sigma)?;
            (0.0, f64::INFINITY)
        }
        Distribution::Beta { alpha, beta } => {
            positive(&key("alpha"), alpha)?;
            positive(&key("beta"), beta)?;
            (0.0, 1.0)
        }
        Distribution::Pareto { scale, shape } => {
            positive(&key("scale"), scale)?;
            positive(&key("shape"), shape)?;
            (scale, f64::INFINITY)
        }
    };
    let ok = match support {
        Support::NonNegative => low >= 0.0,
        Support::Unit => low >= 0.0 && high <= 1.0,
    };
    if ok {
        Ok(())
    } else {
        let range = match support {
            Support::NonNegative => "≥ 0",
            Support::Unit => "in [0, 1]",
        };
        Err(error(
            field,
            format!("draws must be {range}, but this distribution reaches [{low}, {high}]"),
        ))
    }
}

/// Checks every key of `spec` but the ids.
fn validate(spec: &PopulationSpec) -> Result<(), PopulationError> {
    if spec.providers == 0 {
        return Err(error("providers", "0 is not ≥ 1"));
    }
    if spec.providers > MAX_PROVIDERS {
        return Err(error(
            "providers",
            format!("{} is above the limit of {MAX_PROVIDERS}", spec.providers),
        ));
    }
    positive("budget_fraction", spec.budget_fraction)?;
    if let Some(fraction) = spec.token_budget_fraction {
        finite("token_budget_fraction", fraction)?;
        if fraction < 0.0 {
            return Err(error(
                "token_budget_fraction",
                format!("{fraction} is negative"),
            ));
        }
    }
    if let Some(liquidity) = spec.liquidity {
        if !(0.0..=1.0).contains(&liquidity) {
            return Err(error("liquidity", format!("{liquidity} is outside [0, 1]")));
        }
    }
    if let Some(pool) = spec.token_pool {
        positive("token_pool", pool)?;
    }
    validate_distribution("cost", &spec.cost, Support::NonNegative)?;
    validate_distribution("quality", &spec.quality, Support::Unit)?;
    validate_distribution("utility", &spec.utility, Support::NonNegative)?;
    if let Some(volume) = &spec.volume {
        validate_distribution("volume", volume, Support::NonNegative)?;
    }
    if let Some(claimed) = &spec.claimed_quality {
        validate_distribution("claimed_quality", claimed, Support::Unit)?;
    }
    Ok(())
}

impl Population {
    /// Validates every key of `spec`.
    pub fn new(spec: PopulationSpec) -> Result<Population, PopulationError> {
        validate(&spec)?;
        let ids = provider_ids(spec.providers)?;
        Ok(Population { spec, ids })
    }

    /// [`Population::new`], taking the ids of `other` when it has as many
    /// providers (ids depend on the count only), so that the cells of an
    /// experiment share them instead of each holding a copy.
    #[cfg(feature = "serde")]
    pub(crate) fn sharing_ids(
        spec: PopulationSpec,
        other: Option<&Population>,
    ) -> Result<Population, PopulationError> {
        validate(&spec)?;
        let ids = match other {
            Some(other) if other.spec.providers == spec.providers => other.ids.clone(),
            _ => provider_ids(spec.providers)?,
        };
        Ok(Population { spec, ids })
    }

    /// The specification.
    #[must_use]
    pub fn spec(&self) -> &PopulationSpec {
        &self.spec
    }

    /// Whether `mechanism` can clear this population's instances: MUT,
    /// and Mixed-MIA when `liquidity` is below 1, pay in tokens
    /// ([`Auction::pays_tokens`]), so the population needs
    /// `token_budget_fraction` (the population-level form of
    /// [`Auction::check_clears`]).
    ///
    /// ```
    /// use procura_lab::population::{read_population, MissingKey};
    /// use procura_mechanisms::procurement::Auction;
    ///
    /// let population = read_population(r#"
    ///     providers = 4
    ///     budget_fraction = 0.5
    ///     cost = { distribution = "uniform", low = 0.1, high = 5.0 }
    ///     quality = { distribution = "uniform", low = 0.2, high = 1.0 }
    ///     utility = { distribution = "uniform", low = 0.1, high = 3.0 }
    /// "#)?;
    /// assert_eq!(population.check_clears(Auction::Qmia), Ok(()));
    /// let error = population.check_clears(Auction::Mut).unwrap_err();
    /// assert_eq!(error, MissingKey { key: "token_budget_fraction", mechanism: Auction::Mut });
    /// assert_eq!(error.to_string(), "token_budget_fraction is required by mut");
    /// assert_eq!(population.check_clears(Auction::Mixed), Ok(()));
    ///
    /// let partly_liquid = read_population(r#"
    ///     providers = 4
    ///     budget_fraction = 0.5
    ///     liquidity = 0.5
    ///     cost = { distribution = "uniform", low = 0.1, high = 5.0 }
    ///     quality = { distribution = "uniform", low = 0.2, high = 1.0 }
    ///     utility = { distribution = "uniform", low = 0.1, high = 3.0 }
    /// "#)?;
    /// assert_eq!(
    ///     partly_liquid.check_clears(Auction::Mixed).unwrap_err().to_string(),
    ///     "token_budget_fraction is required by mixed"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_clears(&self, mechanism: Auction) -> Result<(), MissingKey> {
        let liquidity = self.spec.liquidity.unwrap_or(1.0);
        if mechanism.pays_tokens(liquidity) && self.spec.token_budget_fraction.is_none() {
            return Err(MissingKey {
                key: "token_budget_fraction",
                mechanism,
            });
        }
        Ok(())
    }

    /// Instance `index` of the population drawn with `seed`.
    ///
    /// Fields are drawn provider by provider in a fixed order (cost,
    /// quality, utility, volume, claimed quality). Ids are `p000`, `p001`, …
    #[must_use]
    pub fn draw(&self, seed: u64, index: u64) -> Instance {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let spec = &self.spec;
        let providers: Vec<ProviderNumbers> = (0..spec.providers)
            .map(|_| {
                let bid = sample(&spec.cost, &mut rng);
                let quality = sample(&spec.quality, &mut rng).clamp(0.0, 1.0);
                let utility = sample(&spec.utility, &mut rng);
                let volume = spec.volume.as_ref().map_or(1.0, |d| sample(d, &mut rng));
                let claimed_quality = spec
                    .claimed_quality
                    .as_ref()
                    .map(|d| sample(d, &mut rng).clamp(0.0, 1.0));
                ProviderNumbers {
                    bid,
                    quality,
                    utility,
                    volume: Some(volume),
                    claimed_quality,
                }
            })
            .collect();
        let total_cost: f64 = providers.iter().map(|p| p.bid).sum();
        let scale = total_cost.max(f64::MIN_POSITIVE);
        let instance = InstanceSpec {
            budget: (spec.budget_fraction * scale).max(f64::MIN_POSITIVE),
            token_budget: spec.token_budget_fraction.map(|f| f * scale),
            liquidity: spec.liquidity,
            token_pool: spec.token_pool,
            providers: Vec::new(),
        };
        // The fast path shares the ids and validates every number exactly
        // as `Instance::new` does, so where it succeeds it builds the
        // instance `Instance::new` would.
        if let Ok(instance) =
            Instance::with_ids(instance.clone(), &self.ids, providers.iter().copied())
        {
            return instance;
        }
        let with_providers = InstanceSpec {
            providers: self
                .ids
                .iter()
                .zip(&providers)
                .map(|(id, numbers)| ProviderSpec {
                    volume: numbers.volume,
                    claimed_quality: numbers.claimed_quality,
                    ..ProviderSpec::new(
                        id.to_owned(),
                        numbers.bid,
                        numbers.quality,
                        numbers.utility,
                    )
                })
                .collect(),
            ..instance
        };
        // Validated distributions draw inside every field's range. A draw
        // can still overflow (a heavy Pareto tail); such an instance is
        // replaced by its nearest valid form, the same instance with every
        // number clamped, which keeps the population deterministic.
        match Instance::new(with_providers.clone()) {
            Ok(instance) => instance,
            Err(_) => Instance::new(clamp_spec(with_providers))
                .unwrap_or_else(|e| unreachable!("clamped instance is valid: {e}")),
        }
    }
}

pub(crate) fn sample(distribution: &Distribution, rng: &mut ChaCha8Rng) -> f64 {
    // Parameters were validated, so every constructor succeeds; the
    // fallbacks only keep this panic-free.
    match *distribution {
        Distribution::Constant { value } => value,
        Distribution::Uniform { low, high } => {
            Uniform::new(low, high).map_or(low, |d| d.sample(rng))
        }
        Distribution::LogNormal { mu, sigma } => {
            LogNormal::new(mu, sigma).map_or(0.0, |d| d.sample(rng))
        }
        Distribution::Beta { alpha, beta } => Beta::new(alpha, beta).map_or(0.0, |d| d.sample(rng)),
        Distribution::Pareto { scale, shape } => {
            Pareto::new(scale, shape).map_or(scale, |d| d.sample(rng))
        }
    }
}

/// Clamps every number of a drawn instance into a range that cannot
/// overflow (1e100; qualities into [0, 1]), for the rare heavy-tailed draw.
/// Budgets, pools and scores ≤ 1e100 keep every product the validation
/// checks (2·B·Σw ≤ 2n·10²⁰⁰) finite for any n below 10¹⁰⁰, so the clamped
/// instance is always valid.
fn clamp_spec(mut spec: InstanceSpec) -> InstanceSpec {
    const LIMIT: f64 = 1e100;
    let clamp = |x: f64| {
        if x.is_finite() {
            x.clamp(0.0, LIMIT)
        } else {
            LIMIT
        }
    };
    // A NaN quality (never drawn from a valid Beta, but never trusted
    // either) reads as 0.
    let unit = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    spec.budget = clamp(spec.budget).max(f64::MIN_POSITIVE);
    spec.token_budget = spec.token_budget.map(clamp);
    spec.token_pool = spec
        .token_pool
        .map(|pool| clamp(pool).max(f64::MIN_POSITIVE));
    for provider in &mut spec.providers {
        provider.bid = clamp(provider.bid);
        provider.quality = unit(provider.quality);
        provider.utility = clamp(provider.utility);
        provider.volume = provider.volume.map(clamp);
        provider.claimed_quality = provider.claimed_quality.map(unit);
    }
    spec
}

/// The seed of instance `index`'s audit (its participant and coalition
/// samples), mixed from the population audit's seed: see
/// [`crate::seed::instance_seed`].
pub use crate::seed::instance_seed;

/// What a population audit found.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationReport {
    /// Instances audited.
    pub instances: u64,
    /// Instances with a profitable unilateral deviation.
    pub with_deviation: u64,
    /// Mean and maximum of the largest unilateral gain per instance.
    pub mean_gain: f64,
    /// See `mean_gain`.
    pub max_gain: f64,
    /// Mean and maximum of the largest coalition gain per instance.
    pub mean_coalition_gain: f64,
    /// See `mean_coalition_gain`.
    pub max_coalition_gain: f64,
    /// Σ over instances of truthful IR violations.
    pub ir_violations: u64,
    /// Instances whose truthful outcome breaks a budget.
    pub budget_violations: u64,
    /// Total mechanism runs.
    pub evaluations: u64,
    /// Instances whose audit was a seeded sample ([`AuditReport::sampled`]).
    pub sampled_instances: u64,
    /// The instance with the largest *profitable* unilateral gain (one
    /// above the auditor's rounding tolerance, [`procura_audit::is_profitable`];
    /// ties to the lower index), with what replays it; `None` when no
    /// instance has one.
    pub worst: Option<WorstInstance>,
    /// The instance with the largest profitable coalition gain, as
    /// `worst`.
    pub worst_coalition: Option<WorstInstance>,
}

/// The worst instance of a population audit: replay its audit with
/// `procura audit FILE --seed AUDIT_SEED` and the population's sampling
/// flags.
#[derive(Debug, Clone, PartialEq)]
pub struct WorstInstance {
    /// Its index in the population's draws.
    pub index: u64,
    /// The seed its audit's participant and coalition samples used,
    /// [`instance_seed`] of the population audit's seed and `index`.
    pub audit_seed: u64,
    /// The instance, [`Population::draw`] of the audit's seed and `index`.
    pub instance: Instance,
    /// Its audit.
    pub audit: AuditReport,
}

/// Audits `n_instances` instances of `population` under `mechanism`, in
/// parallel. `progress` is called once per finished instance (from any
/// thread); the report does not depend on the thread count.
pub fn audit_population(
    mechanism: Auction,
    population: &Population,
    n_instances: u64,
    seed: u64,
    config: &AuditConfig,
    progress: &(dyn Fn() + Sync),
) -> PopulationReport {
    // Each instance samples its own participants and coalitions.
    let audit_seed = |index: u64| instance_seed(config.seed(), index);
    let audits: Vec<AuditReport> = (0..n_instances)
        .into_par_iter()
        .map(|index| {
            let instance = population.draw(seed, index);
            let config = config.clone().with_seed(audit_seed(index));
            let report = audit(&mechanism, &instance, &config);
            progress();
            report
        })
        .collect();

    let mut report = PopulationReport {
        instances: n_instances,
        with_deviation: 0,
        mean_gain: 0.0,
        max_gain: 0.0,
        mean_coalition_gain: 0.0,
        max_coalition_gain: 0.0,
        ir_violations: 0,
        budget_violations: 0,
        evaluations: 0,
        sampled_instances: 0,
        worst: None,
        worst_coalition: None,
    };
    // The audit keeps a deviation only when its gain is profitable, so
    // rounding noise (1e-15 under a DSIC mechanism) never picks an instance.
    let mut worst = Largest::default();
    let mut worst_coalition = Largest::default();
    for (index, audit) in (0u64..).zip(&audits) {
        report.with_deviation += u64::from(audit.deviation.is_some());
        report.mean_gain += audit.max_unilateral_gain;
        report.max_gain = report.max_gain.max(audit.max_unilateral_gain);
        report.mean_coalition_gain += audit.max_coalition_gain;
        report.max_coalition_gain = report.max_coalition_gain.max(audit.max_coalition_gain);
        report.ir_violations += audit.ir_violations as u64;
        report.budget_violations += u64::from(!audit.budget_ok);
        report.evaluations += audit.evaluations;
        report.sampled_instances += u64::from(audit.sampled);
        worst.offer(index, audit.deviation.as_ref());
        worst_coalition.offer(index, audit.coalition.as_ref());
    }
    if n_instances > 0 {
        report.mean_gain /= n_instances as f64;
        report.mean_coalition_gain /= n_instances as f64;
    }
    let saved = |largest: Largest| {
        let index = largest.index?;
        let position = usize::try_from(index).ok()?;
        Some(WorstInstance {
            index,
            audit_seed: audit_seed(index),
            instance: population.draw(seed, index),
            audit: audits.get(position)?.clone(),
        })
    };
    report.worst = saved(worst);
    report.worst_coalition = saved(worst_coalition);
    report
}

/// The index of the largest profitable deviation offered so far (the
/// first on ties).
#[derive(Default)]
struct Largest {
    index: Option<u64>,
    gain: f64,
}

impl Largest {
    /// Offers instance `index`'s profitable deviation, if it has one.
    fn offer(&mut self, index: u64, deviation: Option<&procura_audit::Deviation>) {
        if let Some(deviation) = deviation {
            if self.index.is_none() || deviation.gain > self.gain {
                self.index = Some(index);
                self.gain = deviation.gain;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform_small() -> Population {
        read_population(include_str!(
            "../../../examples/populations/uniform-small.toml"
        ))
        .expect("the shipped population")
    }

    /// Under Q-MIA the unilateral gains are rounding (5.6e-17 at most
    /// here) while coalitions gain for real: no instance is saved as the
    /// worst unilateral one, and the saved coalition instance is the one
    /// with the largest coalition gain.
    #[test]
    fn the_worst_instances_are_chosen_by_profitable_gain() {
        let population = uniform_small();
        let config = AuditConfig::sampled();
        let report = audit_population(Auction::Qmia, &population, 30, 0, &config, &|| {});
        assert_eq!(report.with_deviation, 0);
        assert!(report.max_gain > 0.0, "a gain of rounding noise");
        assert_eq!(report.worst, None);
        let worst = report.worst_coalition.expect("a profitable coalition");
        assert_eq!(worst.audit.max_coalition_gain, report.max_coalition_gain);
        assert!(worst.audit.coalition.is_some());
        assert_eq!(worst.instance, population.draw(0, worst.index));
        assert_eq!(worst.audit_seed, instance_seed(config.seed(), worst.index));
        assert_eq!(report.sampled_instances, 30);

        // Under trust both are real, and each is its own maximum.
        let report = audit_population(Auction::Trust, &population, 12, 0, &config, &|| {});
        let unilateral = report.worst.expect("trust rewards misreports");
        assert_eq!(unilateral.audit.max_unilateral_gain, report.max_gain);
        let coalition = report.worst_coalition.expect("and coalitions");
        assert_eq!(
            coalition.audit.max_coalition_gain,
            report.max_coalition_gain
        );
    }
}
