//! Procurement instances and their validation (spec §A.1).
//!
//! [`InstanceSpec`] is what a user wrote: plain data, possibly wrong.
//! [`Instance::new`] checks every rule of §A.1 and returns an [`Instance`],
//! which is valid by construction: its fields are private and no method can
//! make it invalid. Mechanisms take `&Instance` and never re-check.

use std::collections::HashMap;
use std::sync::Arc;

use super::mixed::effective_budget;
use super::numerics::FastRange;
use crate::tolerance::rounding_bound;
use crate::validate::check;
#[cfg(feature = "serde")]
use crate::validate::{objects, present};
pub use crate::validate::{Number, RecordRef, Rule};

/// Which provider an error is about (see [`RecordRef`]).
pub type ProviderRef = RecordRef;

/// One provider as written in an instance file, before validation.
///
/// Optional fields take the defaults of §A.1 when absent.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ProviderSpec {
    /// Provider name: non-empty and unique.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub id: String,
    /// Reported cost b_i of supplying the data: finite, ≥ 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub bid: f64,
    /// Quality q_i verified by the buyer: in [0, 1].
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 1)))]
    pub quality: f64,
    /// Marginal learning utility μ_i: finite, ≥ 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub utility: f64,
    /// Number of records: finite, ≥ 0; default 0.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub volume: Option<f64>,
    /// Quality the provider claims (read only by `trust`): in [0, 1];
    /// default `quality`.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0, max = 1)))]
    pub claimed_quality: Option<f64>,
}

impl ProviderSpec {
    /// A provider with the four required fields and defaults for the rest.
    pub fn new(id: impl Into<String>, bid: f64, quality: f64, utility: f64) -> ProviderSpec {
        ProviderSpec {
            id: id.into(),
            bid,
            quality,
            utility,
            volume: None,
            claimed_quality: None,
        }
    }
}

/// A procurement instance as written, before validation (spec §A.1).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct InstanceSpec {
    /// Cash budget B: finite, > 0.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub budget: f64,
    /// Token budget R, the cash-equivalent value of deferred rights: finite,
    /// ≥ 0. Absent means 0, except that `mut` requires it.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub token_budget: Option<f64>,
    /// Liquidity λ, the cash share of Mixed-MIA rewards: in [0, 1]; default 1.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0, max = 1)))]
    pub liquidity: Option<f64>,
    /// Token pool Π that MUT divides: finite, > 0; default 1.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", extend("exclusiveMinimum" = 0)))]
    pub token_pool: Option<f64>,
    /// The providers, in any order.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "objects"))]
    pub providers: Vec<ProviderSpec>,
}

/// A validated provider. Every field satisfies §A.1.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    // Shared, so that cloning an instance to try a deviation (the auditor
    // does it millions of times) copies no strings.
    id: Arc<str>,
    bid: f64,
    quality: f64,
    utility: f64,
    volume: f64,
    claimed_quality: f64,
}

impl Provider {
    /// Provider name, unique within its instance.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Reported cost b_i.
    #[must_use]
    pub fn bid(&self) -> f64 {
        self.bid
    }
    /// Verified quality q_i.
    #[must_use]
    pub fn quality(&self) -> f64 {
        self.quality
    }
    /// Marginal utility μ_i.
    #[must_use]
    pub fn utility(&self) -> f64 {
        self.utility
    }
    /// Number of records.
    #[must_use]
    pub fn volume(&self) -> f64 {
        self.volume
    }
    /// Claimed quality (defaults to the verified quality).
    #[must_use]
    pub fn claimed_quality(&self) -> f64 {
        self.claimed_quality
    }

    /// The score w_i = q_i · μ_i (§A.1), computed exactly in that form.
    ///
    /// ```text
    /// w_i = q_i · μ_i
    /// ```
    #[must_use]
    pub fn score(&self) -> f64 {
        self.quality * self.utility
    }

    /// The ratio r_i = b_i / w_i (§A.1): declared cost per unit of
    /// quality-weighted utility. `None` when w_i = 0: such a provider can
    /// never win. The auctions rank by this quotient taken with an
    /// unbounded exponent, which is this double wherever it is normal, and
    /// keeps its bits where this one underflows or overflows (see
    /// `procurement/numerics.rs`).
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        let score = self.score();
        (score > 0.0).then(|| self.bid / score)
    }

    fn to_spec(&self) -> ProviderSpec {
        ProviderSpec {
            id: self.id.to_string(),
            bid: self.bid,
            quality: self.quality,
            utility: self.utility,
            volume: Some(self.volume),
            claimed_quality: Some(self.claimed_quality),
        }
    }
}

/// A validated procurement instance (§A.1).
///
/// The only way to get one is [`Instance::new`] (or a method that validates
/// its change), so every `Instance` satisfies every rule of §A.1.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    budget: f64,
    token_budget: Option<f64>,
    liquidity: f64,
    token_pool: f64,
    providers: Vec<Provider>,
    /// How many providers have a number outside [`FastRange`]
    /// (`numerics.rs`), kept up to date by every change, so that clearing
    /// checks the range in O(1) per provider changed, not O(n).
    outside_fast_range: usize,
}

/// Why an [`InstanceSpec`] is not a valid instance. Every variant names the
/// field and, for provider fields, the provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InstanceError {
    /// A top-level number breaks its rule.
    #[error("{field} {} {rule}", Number(*.value))]
    Field {
        /// The field's name in the instance file.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: Rule,
    },
    /// A provider's number breaks its rule.
    #[error("provider {provider}: {field} {} {rule}", Number(*.value))]
    ProviderField {
        /// The provider.
        provider: ProviderRef,
        /// The field's name in the instance file.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: Rule,
    },
    /// A provider's id is the empty string.
    #[error("provider {provider}: id is empty")]
    EmptyId {
        /// The provider.
        provider: ProviderRef,
    },
    /// Two providers share an id.
    #[error("provider {provider}: id is a duplicate of provider #{first}")]
    DuplicateId {
        /// The later of the two providers.
        provider: ProviderRef,
        /// Index of the first provider with that id.
        first: usize,
    },
    /// The numbers are individually valid, but a total the mechanisms keep
    /// against one of them (payments against a budget, tokens against the
    /// pool, the value Σ w_i against the total score) could round past the
    /// largest double: the quantity times 1 + `slack` overflows. Everything
    /// in between is computed with an unbounded exponent and cannot
    /// overflow (see `procurement/numerics.rs`).
    #[error("{}", overflow_message(.quantity, *.value, *.slack))]
    Overflow {
        /// The field, or the formula, whose totals could overflow.
        quantity: &'static str,
        /// Its value (+∞ when computing it already overflows).
        value: f64,
        /// The relative rounding bound ([`rounding_bound`]) of the
        /// instance's totals.
        slack: f64,
    },
    /// [`Instance::with_ids`] got providers both in the spec and as ids.
    #[error("providers: {written} written in the spec, but the providers come from ids")]
    ProvidersTwice {
        /// Providers written in the spec.
        written: usize,
    },
    /// [`Instance::with_ids`] got a different number of ids and numbers.
    #[error("providers: {ids} ids but {numbers} providers' numbers")]
    ProviderCount {
        /// Number of ids.
        ids: usize,
        /// Number of providers' numbers.
        numbers: usize,
    },
    /// [`Instance::with_ids`] got more providers' numbers than ids (it
    /// stops reading at the first one too many).
    #[error("providers: {ids} ids but more providers' numbers")]
    TooManyNumbers {
        /// Number of ids.
        ids: usize,
    },
    /// An edit named a provider that does not exist.
    #[error("providers: no provider #{index} (there are {len})")]
    NoSuchProvider {
        /// The index asked for.
        index: usize,
        /// The number of providers.
        len: usize,
    },
}

fn overflow_message(quantity: &str, value: f64, slack: f64) -> String {
    if value.is_finite() {
        format!(
            "{quantity} {} is within rounding of the largest double: totals kept against it \
             may exceed it by a relative {} and overflow f64",
            Number(value),
            Number(slack)
        )
    } else {
        format!("{quantity} overflows f64")
    }
}

/// Checks a provider's number against its rule, naming the provider.
fn provider_check(
    index: usize,
    provider: &Provider,
    field: &'static str,
    value: f64,
    rule: Rule,
) -> Result<f64, InstanceError> {
    check(field, value, rule).map_err(|(field, value, rule)| InstanceError::ProviderField {
        provider: ProviderRef {
            index,
            id: Some(provider.id.to_string()),
        },
        field,
        value,
        rule,
    })
}

/// Checks that every id is non-empty and that no two are equal (§A.1),
/// naming the first offender.
fn check_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), InstanceError> {
    let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (index, id) in ids.enumerate() {
        if id.is_empty() {
            return Err(InstanceError::EmptyId {
                provider: ProviderRef { index, id: None },
            });
        }
        if let Some(&first) = first_index.get(id) {
            return Err(InstanceError::DuplicateId {
                provider: ProviderRef {
                    index,
                    id: Some(id.to_owned()),
                },
                first,
            });
        }
        first_index.insert(id, index);
    }
    Ok(())
}

/// Provider ids checked once for §A.1 (non-empty, pairwise distinct) and
/// shared, so that many instances over the same providers (population
/// draws, best-response profiles) neither hash nor copy them again: see
/// [`Instance::with_ids`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderIds(Arc<[Arc<str>]>);

impl ProviderIds {
    /// Checks `ids`; fails naming the first empty or repeated id.
    pub fn new(ids: Vec<String>) -> Result<ProviderIds, InstanceError> {
        check_ids(ids.iter().map(String::as_str))?;
        Ok(ProviderIds(ids.into_iter().map(Arc::from).collect()))
    }

    /// Number of ids.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no ids.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids, in order.
    #[must_use]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.iter().map(|id| &**id)
    }
}

fn top_level(field: &'static str, value: f64, rule: Rule) -> Result<f64, InstanceError> {
    check(field, value, rule).map_err(|(field, value, rule)| InstanceError::Field {
        field,
        value,
        rule,
    })
}

fn validate_provider(index: usize, spec: ProviderSpec) -> Result<Provider, InstanceError> {
    if spec.id.is_empty() {
        return Err(InstanceError::EmptyId {
            provider: ProviderRef { index, id: None },
        });
    }
    let numbers = ProviderNumbers {
        bid: spec.bid,
        quality: spec.quality,
        utility: spec.utility,
        volume: spec.volume,
        claimed_quality: spec.claimed_quality,
    };
    validate_numbers(index, Arc::from(spec.id), numbers)
}

/// A provider's numbers as written: [`ProviderSpec`] without the id, for
/// [`Instance::with_ids`]. Plain data, checked when an instance is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderNumbers {
    /// Reported cost b_i: finite, ≥ 0.
    pub bid: f64,
    /// Verified quality q_i: in [0, 1].
    pub quality: f64,
    /// Marginal utility μ_i: finite, ≥ 0.
    pub utility: f64,
    /// Number of records: finite, ≥ 0 (default 0).
    pub volume: Option<f64>,
    /// Claimed quality: in [0, 1] (default `quality`).
    pub claimed_quality: Option<f64>,
}

/// Checks a provider's numbers against §A.1; `id` is non-empty.
fn validate_numbers(
    index: usize,
    id: Arc<str>,
    numbers: ProviderNumbers,
) -> Result<Provider, InstanceError> {
    let field = |field, value, rule| {
        check(field, value, rule).map_err(|(field, value, rule)| InstanceError::ProviderField {
            provider: ProviderRef {
                index,
                id: Some(id.to_string()),
            },
            field,
            value,
            rule,
        })
    };
    let bid = field("bid", numbers.bid, Rule::NonNegative)?;
    let quality = field("quality", numbers.quality, Rule::UnitInterval)?;
    let utility = field("utility", numbers.utility, Rule::NonNegative)?;
    let volume = field("volume", numbers.volume.unwrap_or(0.0), Rule::NonNegative)?;
    let claimed_quality = field(
        "claimed_quality",
        numbers.claimed_quality.unwrap_or(quality),
        Rule::UnitInterval,
    )?;
    Ok(Provider {
        id,
        bid,
        quality,
        utility,
        volume,
        claimed_quality,
    })
}

impl Instance {
    /// Validates `spec` against every rule of §A.1.
    ///
    /// Beyond §A.1, it refuses what doubles cannot pay faithfully (see
    /// `procurement/numerics.rs`): a budget or token pool that is subnormal
    /// (positive but below 2⁻¹⁰²²), and, when some provider
    /// has a positive score, a budget, token budget, token pool or Mixed-MIA
    /// effective budget whose totals could round past the largest double,
    /// as could a total score Σ q_i·μ_i that close to it.
    ///
    /// ```
    /// use procura_mechanisms::procurement::{Instance, InstanceSpec, ProviderSpec};
    /// let spec = InstanceSpec {
    ///     budget: 1.0,
    ///     providers: vec![ProviderSpec::new("acme", 1.0, 1.5, 1.0)],
    ///     ..InstanceSpec::default()
    /// };
    /// let error = Instance::new(spec).unwrap_err();
    /// assert_eq!(error.to_string(), r#"provider "acme" (#0): quality 1.5 is outside [0, 1]"#);
    /// ```
    pub fn new(spec: InstanceSpec) -> Result<Instance, InstanceError> {
        let budget = top_level("budget", spec.budget, Rule::Positive)?;
        top_level("budget", budget, Rule::NotSubnormal)?;
        let token_budget = spec
            .token_budget
            .map(|value| top_level("token_budget", value, Rule::NonNegative))
            .transpose()?;
        let liquidity = top_level(
            "liquidity",
            spec.liquidity.unwrap_or(1.0),
            Rule::UnitInterval,
        )?;
        let token_pool = top_level("token_pool", spec.token_pool.unwrap_or(1.0), Rule::Positive)?;
        top_level("token_pool", token_pool, Rule::NotSubnormal)?;

        let mut providers = Vec::with_capacity(spec.providers.len());
        check_ids(spec.providers.iter().map(|provider| provider.id.as_str()))?;
        for (index, provider) in spec.providers.into_iter().enumerate() {
            providers.push(validate_provider(index, provider)?);
        }

        let outside_fast_range = FastRange::count_outside(&providers);
        let instance = Instance {
            budget,
            token_budget,
            liquidity,
            token_pool,
            providers,
            outside_fast_range,
        };
        instance.check_scale()?;
        Ok(instance)
    }

    /// [`Instance::new`] for providers whose ids were checked once
    /// ([`ProviderIds`]): the ids are shared, neither hashed nor copied, and
    /// every number is checked exactly as `new` checks it, so where it
    /// succeeds it builds the instance `new` would. The top-level numbers
    /// come from `spec`; `spec.providers` must be empty and `numbers` must
    /// have one entry per id.
    pub fn with_ids(
        spec: InstanceSpec,
        ids: &ProviderIds,
        numbers: impl IntoIterator<Item = ProviderNumbers>,
    ) -> Result<Instance, InstanceError> {
        if !spec.providers.is_empty() {
            return Err(InstanceError::ProvidersTwice {
                written: spec.providers.len(),
            });
        }
        let mut instance = Instance::new(spec)?;
        let mut providers = Vec::with_capacity(ids.len());
        let mut numbers = numbers.into_iter();
        for (index, id) in ids.0.iter().enumerate() {
            let Some(numbers) = numbers.next() else {
                return Err(InstanceError::ProviderCount {
                    ids: ids.len(),
                    numbers: index,
                });
            };
            providers.push(validate_numbers(index, Arc::clone(id), numbers)?);
        }
        // One more is enough to refuse: `numbers` may never end.
        if numbers.next().is_some() {
            return Err(InstanceError::TooManyNumbers { ids: ids.len() });
        }
        instance.outside_fast_range = FastRange::count_outside(&providers);
        instance.providers = providers;
        instance.check_scale()?;
        Ok(instance)
    }

    /// Refuses exactly the instances whose outcomes could overflow a
    /// double. The mechanisms compute with an unbounded exponent
    /// (`numerics.rs`), so no product or quotient on the way can; what is
    /// left are the totals: Σ cash ≤ B·(1 + ε), Σ tokens ≤ R·(1 + ε) or
    /// Π·(1 + ε), a Mixed-MIA reward ≤ B_eff·(1 + ε), and the value
    /// Σ w ≤ (total score)·(1 + ε), with ε = [`rounding_bound`]. Payments
    /// are made only to providers with a positive score, or as bids within
    /// B exactly (the baselines), so an instance without one (the empty
    /// market, say) is refused nothing for its budgets.
    fn check_scale(&self) -> Result<(), InstanceError> {
        let slack = rounding_bound(self.providers.len());
        let room = |quantity: &'static str, value: f64| {
            if (value * (1.0 + slack)).is_finite() {
                Ok(())
            } else {
                Err(InstanceError::Overflow {
                    quantity,
                    value,
                    slack,
                })
            }
        };
        let total_score = self
            .providers
            .iter()
            .fold(0.0, |sum, provider| sum + provider.score());
        room("providers: total score Σ quality·utility", total_score)?;
        if total_score > 0.0 {
            room("budget", self.budget)?;
            room("token_budget", self.token_budget())?;
            room("token_pool", self.token_pool)?;
            room(
                "Mixed-MIA's effective budget min(budget / liquidity, token_budget / (1 − liquidity))",
                effective_budget(self),
            )?;
        }
        Ok(())
    }

    /// Cash budget B.
    #[must_use]
    pub fn budget(&self) -> f64 {
        self.budget
    }
    /// Token budget R; 0 when the instance does not give one.
    #[must_use]
    pub fn token_budget(&self) -> f64 {
        self.token_budget.unwrap_or(0.0)
    }
    /// Whether the instance gives `token_budget` explicitly (`mut` needs it).
    #[must_use]
    pub fn has_token_budget(&self) -> bool {
        self.token_budget.is_some()
    }
    /// Liquidity λ.
    #[must_use]
    pub fn liquidity(&self) -> f64 {
        self.liquidity
    }
    /// Token pool Π.
    #[must_use]
    pub fn token_pool(&self) -> f64 {
        self.token_pool
    }
    /// The providers, in input order. Outcomes refer to them by index.
    #[must_use]
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The specification this instance was built from, with defaults filled
    /// in. `Instance::new(instance.to_spec())` gives back an equal instance.
    pub fn to_spec(&self) -> InstanceSpec {
        InstanceSpec {
            budget: self.budget,
            token_budget: self.token_budget,
            liquidity: Some(self.liquidity),
            token_pool: Some(self.token_pool),
            providers: self.providers.iter().map(Provider::to_spec).collect(),
        }
    }

    /// The same instance with provider `index` bidding `bid` instead: the
    /// unilateral deviation that incentive properties talk about.
    ///
    /// Only the bid is re-validated: no other number changes, and bids do
    /// not enter the scale check.
    pub fn with_bid(&self, index: usize, bid: f64) -> Result<Instance, InstanceError> {
        self.with_provider_field(index, "bid", bid, Rule::NonNegative, |provider, bid| {
            provider.bid = bid;
        })
    }

    /// The same instance with provider `index` claiming `claimed_quality`.
    pub fn with_claimed_quality(
        &self,
        index: usize,
        claimed_quality: f64,
    ) -> Result<Instance, InstanceError> {
        self.with_provider_field(
            index,
            "claimed_quality",
            claimed_quality,
            Rule::UnitInterval,
            |provider, claim| provider.claimed_quality = claim,
        )
    }

    /// The same instance with several providers' reports changed at once:
    /// each `(index, bid, claimed_quality)` sets the bid and, when given,
    /// the claimed quality. One copy of the instance, however many changes.
    pub fn with_reports(
        &self,
        reports: &[(usize, f64, Option<f64>)],
    ) -> Result<Instance, InstanceError> {
        let mut instance = self.clone();
        for &(index, bid, claimed_quality) in reports {
            let provider = self.checked_provider(index)?;
            let bid = provider_check(index, provider, "bid", bid, Rule::NonNegative)?;
            let claim = claimed_quality
                .map(|claim| {
                    provider_check(
                        index,
                        provider,
                        "claimed_quality",
                        claim,
                        Rule::UnitInterval,
                    )
                })
                .transpose()?;
            instance.change_provider(index, |provider| {
                provider.bid = bid;
                if let Some(claim) = claim {
                    provider.claimed_quality = claim;
                }
            });
        }
        Ok(instance)
    }

    fn checked_provider(&self, index: usize) -> Result<&Provider, InstanceError> {
        self.providers
            .get(index)
            .ok_or(InstanceError::NoSuchProvider {
                index,
                len: self.providers.len(),
            })
    }

    fn with_provider_field(
        &self,
        index: usize,
        field: &'static str,
        value: f64,
        rule: Rule,
        set: impl FnOnce(&mut Provider, f64),
    ) -> Result<Instance, InstanceError> {
        let provider = self.checked_provider(index)?;
        let value = provider_check(index, provider, field, value, rule)?;
        let mut instance = self.clone();
        instance.change_provider(index, |provider| set(provider, value));
        Ok(instance)
    }

    /// Applies `change` to provider `index` (which must exist), keeping
    /// the count of providers outside [`FastRange`] up to date.
    fn change_provider(&mut self, index: usize, change: impl FnOnce(&mut Provider)) {
        let provider = &mut self.providers[index];
        let before = usize::from(FastRange::outside_provider(provider));
        change(provider);
        let after = usize::from(FastRange::outside_provider(provider));
        self.outside_fast_range = self.outside_fast_range - before + after;
    }

    /// How many providers have a number outside [`FastRange`].
    pub(crate) fn outside_fast_range(&self) -> usize {
        self.outside_fast_range
    }
}
