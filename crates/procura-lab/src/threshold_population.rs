//! Populations of threshold instances: the Part B counterpart of
//! [`crate::population`], drawn from the same [`Distribution`]s, for
//! Monte-Carlo experiments (`procura experiment`).
//!
//! Instance k of a population drawn with seed s comes from its own ChaCha8
//! stream (seed s, stream k), so a population is the same on any number of
//! threads.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::population::{
    error, finite, positive, sample, validate_distribution, Distribution, PopulationError, Support,
};
use procura_mechanisms::threshold::{Protocol, ThresholdInstance, ThresholdSpec, UserSpec};
use procura_mechanisms::validate::Number;

/// A population of threshold instances, as written (e.g. in TOML).
///
/// The threshold is a fraction of the users' total capacity, so whether an
/// instance is feasible varies from draw to draw. Every other field of
/// §B.1 is a constant of the population.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ThresholdPopulationSpec {
    /// Users per instance, ≥ 1.
    pub users: usize,
    /// T as a fraction of the instance's total capacity Σ cap_i, > 0.
    pub threshold_fraction: f64,
    /// Distribution of unit costs, ≥ 0.
    pub cost: Distribution,
    /// Distribution of capacities, > 0 (draws of 0 are raised to the
    /// smallest positive double).
    pub capacity: Distribution,
    /// Distribution of benefits, ≥ 0; absent means no benefit.
    #[cfg_attr(feature = "serde", serde(default))]
    pub benefit: Option<Distribution>,
    /// Per-unit reserve price r, > 0; required by withdrawal rights.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reserve_price: Option<f64>,
    /// Budget cap, > 0; absent means none.
    #[cfg_attr(feature = "serde", serde(default))]
    pub budget: Option<f64>,
    /// Slack, ≥ 0; default 0.
    #[cfg_attr(feature = "serde", serde(default))]
    pub slack: Option<f64>,
    /// Reversibility ρ, in [0, 1]; default 0.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reversibility: Option<f64>,
    /// Mean σ of the regret shocks, ≥ 0; default 0.
    #[cfg_attr(feature = "serde", serde(default))]
    pub shock_mean: Option<f64>,
    /// Lump subsidy P, ≥ 0; required by the subsidy.
    #[cfg_attr(feature = "serde", serde(default))]
    pub payment: Option<f64>,
    /// Floor contribution f, > 0; required by the subsidy.
    #[cfg_attr(feature = "serde", serde(default))]
    pub floor: Option<f64>,
    /// Initial stay probability of the simultaneous protocol, in [0, 1];
    /// default 1.
    #[cfg_attr(feature = "serde", serde(default))]
    pub belief: Option<f64>,
}

/// A validated threshold population.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdPopulation {
    spec: ThresholdPopulationSpec,
}

fn unit(key: &str, value: f64) -> Result<(), PopulationError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(error(key, format!("{value} is outside [0, 1]")))
    }
}

fn non_negative(key: &str, value: f64) -> Result<(), PopulationError> {
    finite(key, value)?;
    if value >= 0.0 {
        Ok(())
    } else {
        Err(error(key, format!("{value} is negative")))
    }
}

impl ThresholdPopulation {
    /// Validates every key of `spec`; errors name the key.
    pub fn new(spec: ThresholdPopulationSpec) -> Result<ThresholdPopulation, PopulationError> {
        if spec.users == 0 {
            return Err(error("users", "0 is not ≥ 1"));
        }
        if spec.users > MAX_USERS {
            return Err(error(
                "users",
                format!("{} is above the limit of {MAX_USERS}", spec.users),
            ));
        }
        positive("threshold_fraction", spec.threshold_fraction)?;
        validate_distribution("cost", &spec.cost, Support::NonNegative)?;
        validate_distribution("capacity", &spec.capacity, Support::NonNegative)?;
        if let Some(benefit) = &spec.benefit {
            validate_distribution("benefit", benefit, Support::NonNegative)?;
        }
        for (key, value) in [
            ("reserve_price", spec.reserve_price),
            ("budget", spec.budget),
            ("floor", spec.floor),
        ] {
            if let Some(value) = value {
                positive(key, value)?;
            }
        }
        for (key, value) in [
            ("slack", spec.slack),
            ("shock_mean", spec.shock_mean),
            ("payment", spec.payment),
        ] {
            if let Some(value) = value {
                non_negative(key, value)?;
            }
        }
        for (key, value) in [
            ("reversibility", spec.reversibility),
            ("belief", spec.belief),
        ] {
            if let Some(value) = value {
                unit(key, value)?;
            }
        }
        // Draws keep T ≤ LIMIT, so these worst cases bound every product
        // the instance's validation checks (`ThresholdInstance::new`).
        let target = LIMIT * (1.0 + spec.slack.unwrap_or(0.0));
        let users = spec.users as f64;
        let products = [
            ("slack", spec.slack, target),
            (
                "reserve_price",
                spec.reserve_price,
                spec.reserve_price.unwrap_or(0.0) * target,
            ),
            ("payment", spec.payment, spec.payment.unwrap_or(0.0) * users),
            ("floor", spec.floor, spec.floor.unwrap_or(0.0) * users),
        ];
        for (key, value, product) in products {
            if let (Some(value), false) = (value, product.is_finite()) {
                return Err(error(
                    key,
                    format!(
                        "{} is too large: with thresholds up to {LIMIT:e} and {} users \
                         the instance's amounts overflow",
                        Number(value),
                        spec.users
                    ),
                ));
            }
        }
        Ok(ThresholdPopulation { spec })
    }

    /// The specification.
    #[must_use]
    pub fn spec(&self) -> &ThresholdPopulationSpec {
        &self.spec
    }

    /// Instance `index` of the population drawn with `seed`.
    ///
    /// Fields are drawn user by user in a fixed order (cost, capacity,
    /// benefit). Ids are `u000`, `u001`, … Then T = `threshold_fraction` ·
    /// Σ cap_i.
    #[must_use]
    pub fn draw(&self, seed: u64, index: u64) -> ThresholdInstance {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let spec = &self.spec;
        let width = spec.users.saturating_sub(1).to_string().len().max(3);
        let users: Vec<UserSpec> = (0..spec.users)
            .map(|i| {
                let cost = clamp(sample(&spec.cost, &mut rng));
                let capacity = clamp(sample(&spec.capacity, &mut rng)).max(f64::MIN_POSITIVE);
                let benefit = spec.benefit.as_ref().map(|d| clamp(sample(d, &mut rng)));
                UserSpec {
                    benefit,
                    ..UserSpec::new(format!("u{i:0width$}"), cost, capacity)
                }
            })
            .collect();
        let total_capacity: f64 = users.iter().map(|user| user.capacity).sum();
        let threshold = clamp(spec.threshold_fraction * total_capacity).max(f64::MIN_POSITIVE);
        let instance = ThresholdSpec {
            threshold,
            reserve_price: spec.reserve_price,
            budget: spec.budget,
            slack: spec.slack,
            reversibility: spec.reversibility,
            shock_mean: spec.shock_mean,
            payment: spec.payment,
            floor: spec.floor,
            protocol: Some(Protocol::Simultaneous),
            belief: spec.belief,
            users,
        };
        // Every number was validated or clamped into its range, so the
        // instance is valid; a failure here is a bug in this function.
        ThresholdInstance::new(instance)
            .unwrap_or_else(|e| unreachable!("a drawn threshold instance is valid: {e}"))
    }
}

pub use crate::limits::MAX_USERS;

/// The largest number a draw keeps: heavy tails are cut here.
const LIMIT: f64 = 1e100;

/// Keeps a draw finite and non-negative: heavy tails are cut at 1e100 (so
/// that sums of up to 10²⁰⁰ users stay finite), and a NaN never drawn from
/// a valid distribution reads as 0.
fn clamp(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population() -> ThresholdPopulationSpec {
        ThresholdPopulationSpec {
            users: 12,
            threshold_fraction: 0.5,
            cost: Distribution::Uniform {
                low: 0.0,
                high: 2.0,
            },
            capacity: Distribution::Pareto {
                scale: 1.0,
                shape: 1.5,
            },
            benefit: None,
            reserve_price: Some(1.0),
            budget: None,
            slack: Some(0.1),
            reversibility: None,
            shock_mean: Some(0.3),
            payment: Some(0.5),
            floor: Some(1.0),
            belief: None,
        }
    }

    #[test]
    fn draws_are_deterministic_and_thresholds_follow_capacity() {
        let population = ThresholdPopulation::new(population()).expect("valid");
        let a = population.draw(3, 7);
        assert_eq!(a, population.draw(3, 7));
        assert_ne!(a, population.draw(3, 8));
        let total: f64 = a.users().iter().map(|u| u.capacity()).sum();
        assert_eq!(a.threshold(), 0.5 * total);
        assert_eq!(a.users().len(), 12);
        assert_eq!(a.users()[0].id(), "u000");
    }

    #[test]
    fn errors_name_the_key() {
        let bad = |edit: fn(&mut ThresholdPopulationSpec)| {
            let mut spec = population();
            edit(&mut spec);
            ThresholdPopulation::new(spec).expect_err("invalid").key
        };
        assert_eq!(bad(|s| s.users = 0), "users");
        assert_eq!(bad(|s| s.threshold_fraction = -1.0), "threshold_fraction");
        assert_eq!(bad(|s| s.reserve_price = Some(0.0)), "reserve_price");
        assert_eq!(bad(|s| s.slack = Some(f64::NAN)), "slack");
        assert_eq!(bad(|s| s.belief = Some(1.5)), "belief");
        assert_eq!(bad(|s| s.users = MAX_USERS + 1), "users");
        assert_eq!(bad(|s| s.slack = Some(1e308)), "slack");
        assert_eq!(bad(|s| s.reserve_price = Some(1e300)), "reserve_price");
        assert_eq!(bad(|s| s.payment = Some(1e308)), "payment");
        assert_eq!(bad(|s| s.floor = Some(1e308)), "floor");
        assert_eq!(
            bad(|s| s.cost = Distribution::Uniform {
                low: -1.0,
                high: 1.0
            }),
            "cost"
        );
    }
}
