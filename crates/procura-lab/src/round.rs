//! One procurement round on real data, end to end: split a dataset among
//! synthetic providers, measure their quality and marginal utility, clear
//! every mechanism of Part A at the same budget, train a model on what each
//! mechanism bought and score it on held-out rows.
//!
//! This is what `procura demo` shows and what `procura reproduce` repeats
//! over seeds for claim P2-b. The round is a pure function of
//! `(data, config, seed)`: every draw comes from a ChaCha8 stream of `seed`,
//! and every parallel step reduces in a fixed order, so the report is the
//! same bits on any number of threads.
//!
//! # The round
//!
//! ```text
//! data         ─ RoundData::split(seed) ─▶ test (held out) │ trusted (the buyer's) │ pool
//! providers    pool split among n providers (valuation::split_among_providers):
//!              v_i rows (duplicates included), label noise ρ_i ~ U(0, max_noise),
//!              duplicate rate δ_i ~ U(0, max_duplicates)
//! cost         c_i = v_i · u_i,   u_i ~ LogNormal(0, unit_cost_sigma)  (per-row cost, median 1)
//! quality      q_i = share of i's labels that a logistic regression trained on
//!              the trusted set predicts (valuation::quality_scores)
//! utility      μ_i = max(0, Σ_{rows of i} KNN-Shapley value of the row, scored on
//!              the trusted set)
//! claim        claimed_quality_i = q_i   (truthful; best responses may inflate it)
//! budget       B = budget_fraction · Σ c_i
//! ```
//!
//! Every mechanism gets the same budget B in cash-equivalent units:
//!
//! ```text
//! qmia, volume, trust   cash budget B
//! mut                   token budget R = B (all-token), pool Π = token_pool
//! mixed                 cash λ·B and tokens (1 − λ)·B, so B_eff = min(λB/λ, (1−λ)B/(1−λ)) = B
//! ```
//!
//! so that Mixed-MIA, whose providers bid truthfully, buys exactly Q-MIA's
//! providers and pays λ of Q-MIA's amounts in cash and the rest in tokens.
//!
//! Providers best-respond: each mechanism is cleared where
//! [`best_response_dynamics`]
//! from the truthful profile stops, on [`RoundConfig::best_response`] (by
//! default bids of cost × 0.5, 0.6, …, 3.0 and, under `trust`, claims from
//! q_i up to 1). Q-MIA and Mixed-MIA are DSIC, so their providers stay at
//! the truth; the pay-as-bid baselines and MUT are not: the baselines'
//! providers raise bids (and claims) as far as it pays, and MUT's losers
//! may underbid to be admitted, since a MUT share does not depend on the
//! bid. One private function,
//! `procure`, decides the reports for every mechanism.
//!
//! The final model, logistic regression, is trained on the winners' rows
//! and scored on the test set. Two reference rows frame the results: every
//! provider's rows at their true cost (the most the market holds) and no
//! rows at all (the test set's majority-class rate).
//!
//! # Choices
//!
//! - μ is exact KNN-Shapley summed over a provider's rows: exact, so no
//!   sampling noise enters the auction, and fast (well under a second on
//!   the wine data). It values the rows by the KNN soft-vote utility, a
//!   proxy for the logistic model trained at the end. Rows with wrong
//!   labels have negative values, and a provider whose values sum below 0
//!   gets μ_i = 0: §A.1 wants μ ≥ 0, and such a provider can then never win
//!   a score-ranked mechanism.
//! - μ and q are measured on the trusted set, never on the test set, so
//!   that the test accuracy is an honest held-out measure.
//! - Costs are independent of label noise: clean data is not assumed to be
//!   dearer, which would favour the quality-aware mechanisms.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, LogNormal};

use procura_audit::{best_response_dynamics, BestResponseConfig, Equilibrium, StrategicError};
use procura_mechanisms::procurement::mut_token::token_value;
use procura_mechanisms::procurement::{
    Auction, Instance, InstanceError, InstanceSpec, Outcome, Provider,
};
use procura_valuation::{
    accuracy, knn_shapley, quality_scores, split_among_providers, Dataset, Knn, Logistic, Model,
    Progress, ProviderSplit, SplitConfig, Standardizer, ValuationError,
};

use crate::offer::{instance_from_valuations, Offer, OfferError};

/// ChaCha8 streams of a round's seed, one per use, so that no two draws
/// share a stream.
mod stream {
    /// The test/trusted/pool shuffle.
    pub(super) const HOLDOUT: u64 = 0;
    /// The seed of the providers' split.
    pub(super) const SPLIT: u64 = 1;
    /// The providers' unit costs.
    pub(super) const COSTS: u64 = 2;
}

/// The three datasets of a round: the rows the providers share, the buyer's
/// trusted set and the held-out test set. All three have the same features
/// and classes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundData {
    /// Rows split among the providers.
    pub pool: Dataset,
    /// The buyer's trusted rows: the reference for quality and the utility
    /// set of the valuation.
    pub trusted: Dataset,
    /// Held-out rows on which the final models are scored, and nothing else.
    pub test: Dataset,
}

impl RoundData {
    /// Shuffles the rows of `data` (ChaCha8, seeded by `seed`) and deals the
    /// first `n_test` to the test set, the next `n_trusted` to the trusted
    /// set and the rest to the pool. Each part needs at least one row.
    ///
    /// Then every feature is standardised to mean 0 and (population)
    /// standard deviation 1 over the pool and the trusted rows, the data
    /// the buyer sees before training, and the test rows are scaled the
    /// same way ([`Standardizer`], fitted on the pool's rows, then the
    /// trusted rows): nothing about the test set, not even its features,
    /// enters the round before the final scoring. (KNN distances and the
    /// logistic penalty would otherwise be dominated by the largest-valued
    /// columns.) A column constant over the pool and the trusted rows
    /// becomes 0.
    ///
    /// ```
    /// use procura_lab::round::RoundData;
    /// use procura_valuation::Dataset;
    /// let data = Dataset::new((0..10).map(f64::from).collect(), 1, vec![0, 1].repeat(5), 2)?;
    /// let parts = RoundData::split(&data, 3, 2, 7)?;
    /// assert_eq!((parts.test.n_rows(), parts.trusted.n_rows(), parts.pool.n_rows()), (3, 2, 5));
    /// assert_eq!(parts, RoundData::split(&data, 3, 2, 7)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split(
        data: &Dataset,
        n_test: usize,
        n_trusted: usize,
        seed: u64,
    ) -> Result<RoundData, RoundError> {
        let n_rows = data.n_rows();
        let holdout_error = RoundError::Holdout {
            n_test,
            n_trusted,
            n_rows,
        };
        let held = n_test.checked_add(n_trusted).ok_or(holdout_error.clone())?;
        if n_test == 0 || n_trusted == 0 || held >= n_rows {
            return Err(holdout_error);
        }
        let mut rng = rng(seed, stream::HOLDOUT);
        let mut order: Vec<usize> = (0..n_rows).collect();
        for i in (1..n_rows).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let part = |rows: &[usize]| data.select(rows).ok_or(holdout_error.clone());
        let (test, trusted, pool) = (
            part(&order[..n_test])?,
            part(&order[n_test..held])?,
            part(&order[held..])?,
        );
        let scaler = Standardizer::fit(&[&pool, &trusted]).map_err(ValuationError::from)?;
        let standardize = |part: &Dataset| scaler.apply(part).map_err(ValuationError::from);
        Ok(RoundData {
            test: standardize(&test)?,
            trusted: standardize(&trusted)?,
            pool: standardize(&pool)?,
        })
    }
}

/// How a round is set up: built from the preset [`RoundConfig::demo`] and
/// changed with the `with_*` setters, each of which checks its field (the
/// error names it), so that every config is valid. Only the number of
/// providers is checked again when the round runs, against the pool's rows.
///
/// ```
/// use procura_lab::round::RoundConfig;
///
/// let config = RoundConfig::demo().with_n_providers(12)?.with_budget_fraction(0.5)?;
/// assert_eq!((config.n_providers(), config.budget_fraction()), (12, 0.5));
/// let error = RoundConfig::demo().with_budget_fraction(1.5).unwrap_err();
/// assert_eq!(error.to_string(), "budget_fraction: 1.5 is not in (0, 1]");
/// # Ok::<(), procura_lab::round::RoundError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RoundConfig {
    n_providers: usize,
    max_noise: f64,
    max_duplicates: f64,
    unit_cost_sigma: f64,
    budget_fraction: f64,
    liquidity: f64,
    token_pool: f64,
    knn: Knn,
    logistic: Logistic,
    best_response: BestResponseConfig,
}

/// `Ok(())` when `ok`, else the error naming `field`.
fn rule(field: &'static str, value: f64, rule: &'static str, ok: bool) -> Result<(), RoundError> {
    if ok {
        Ok(())
    } else {
        Err(RoundError::Config { field, value, rule })
    }
}

/// A share in [0, 1].
fn unit(field: &'static str, value: f64) -> Result<(), RoundError> {
    rule(
        field,
        value,
        "is not in [0, 1]",
        (0.0..=1.0).contains(&value),
    )
}

/// A share in (0, 1].
fn positive_share(field: &'static str, value: f64) -> Result<(), RoundError> {
    rule(
        field,
        value,
        "is not in (0, 1]",
        value > 0.0 && value <= 1.0,
    )
}

impl RoundConfig {
    /// The demo's market (`procura demo`'s defaults): 30 providers, label
    /// noise up to 0.5 (pure guessing), duplicates up to half a provider's
    /// rows, per-row costs LogNormal(0, 0.5), a budget of 30% of the total
    /// cost, λ = 0.5, Π = 1000, 5-NN valuation, logistic regression with
    /// λ₂ = 1, and best responses on bids of cost × 0.5, 0.6, …, 3.0.
    #[must_use]
    pub fn demo() -> RoundConfig {
        RoundConfig {
            n_providers: 30,
            max_noise: 0.5,
            max_duplicates: 0.5,
            unit_cost_sigma: 0.5,
            budget_fraction: 0.3,
            liquidity: 0.5,
            token_pool: 1000.0,
            knn: Knn::new(5).unwrap_or_else(|e| unreachable!("5 neighbours: {e}")),
            logistic: Logistic::new(1.0).unwrap_or_else(|e| unreachable!("l2 = 1: {e}")),
            // The default grid, plus underbids down to half the cost:
            // MUT's manipulation (pay-as-bid never pays below cost, and the
            // DSIC mechanisms never move).
            best_response: BestResponseConfig::default_grid()
                .with_markups((5..=30u32).map(|k| f64::from(k) / 10.0).collect())
                .unwrap_or_else(|e| unreachable!("markups 0.5 to 3.0: {e}")),
        }
    }

    /// Providers the pool is split among: ≥ 1 here, and at most the pool's
    /// rows when the round runs.
    pub fn with_n_providers(self, n_providers: usize) -> Result<RoundConfig, RoundError> {
        rule(
            "n_providers",
            n_providers as f64,
            "is not ≥ 1",
            n_providers >= 1,
        )?;
        Ok(RoundConfig {
            n_providers,
            ..self
        })
    }

    /// Label-noise rates are drawn from U(0, max_noise); in [0, 1].
    pub fn with_max_noise(self, max_noise: f64) -> Result<RoundConfig, RoundError> {
        unit("max_noise", max_noise)?;
        Ok(RoundConfig { max_noise, ..self })
    }

    /// Duplicate rates are drawn from U(0, max_duplicates); in [0, 1].
    pub fn with_max_duplicates(self, max_duplicates: f64) -> Result<RoundConfig, RoundError> {
        unit("max_duplicates", max_duplicates)?;
        Ok(RoundConfig {
            max_duplicates,
            ..self
        })
    }

    /// σ of the log-normal per-row cost (median 1); finite, ≥ 0.
    pub fn with_unit_cost_sigma(self, unit_cost_sigma: f64) -> Result<RoundConfig, RoundError> {
        rule(
            "unit_cost_sigma",
            unit_cost_sigma,
            "is not finite and ≥ 0",
            unit_cost_sigma.is_finite() && unit_cost_sigma >= 0.0,
        )?;
        Ok(RoundConfig {
            unit_cost_sigma,
            ..self
        })
    }

    /// B as a share of the total true cost Σ c_i; in (0, 1].
    pub fn with_budget_fraction(self, budget_fraction: f64) -> Result<RoundConfig, RoundError> {
        positive_share("budget_fraction", budget_fraction)?;
        Ok(RoundConfig {
            budget_fraction,
            ..self
        })
    }

    /// λ, Mixed-MIA's share of its budget paid in cash; in (0, 1].
    pub fn with_liquidity(self, liquidity: f64) -> Result<RoundConfig, RoundError> {
        positive_share("liquidity", liquidity)?;
        Ok(RoundConfig { liquidity, ..self })
    }

    /// Π, the number of tokens MUT divides; finite, > 0.
    pub fn with_token_pool(self, token_pool: f64) -> Result<RoundConfig, RoundError> {
        rule(
            "token_pool",
            token_pool,
            "is not finite and > 0",
            token_pool.is_finite() && token_pool > 0.0,
        )?;
        Ok(RoundConfig { token_pool, ..self })
    }

    /// Neighbours of the KNN-Shapley valuation.
    #[must_use]
    pub fn with_knn(self, knn: Knn) -> RoundConfig {
        RoundConfig { knn, ..self }
    }

    /// Penalty of the logistic regressions (quality reference and final
    /// models).
    #[must_use]
    pub fn with_logistic(self, logistic: Logistic) -> RoundConfig {
        RoundConfig { logistic, ..self }
    }

    /// The providers' strategy grid and round limit: every mechanism is
    /// cleared where best-response dynamics from the truth stop.
    #[must_use]
    pub fn with_best_response(self, best_response: BestResponseConfig) -> RoundConfig {
        RoundConfig {
            best_response,
            ..self
        }
    }

    /// Providers the pool is split among.
    #[must_use]
    pub fn n_providers(&self) -> usize {
        self.n_providers
    }

    /// The largest label-noise rate.
    #[must_use]
    pub fn max_noise(&self) -> f64 {
        self.max_noise
    }

    /// The largest duplicate rate.
    #[must_use]
    pub fn max_duplicates(&self) -> f64 {
        self.max_duplicates
    }

    /// σ of the log-normal per-row cost.
    #[must_use]
    pub fn unit_cost_sigma(&self) -> f64 {
        self.unit_cost_sigma
    }

    /// B as a share of the total true cost.
    #[must_use]
    pub fn budget_fraction(&self) -> f64 {
        self.budget_fraction
    }

    /// λ, Mixed-MIA's cash share.
    #[must_use]
    pub fn liquidity(&self) -> f64 {
        self.liquidity
    }

    /// Π, the tokens MUT divides.
    #[must_use]
    pub fn token_pool(&self) -> f64 {
        self.token_pool
    }

    /// Neighbours of the KNN-Shapley valuation.
    #[must_use]
    pub fn knn(&self) -> Knn {
        self.knn
    }

    /// Penalty of the logistic regressions.
    #[must_use]
    pub fn logistic(&self) -> Logistic {
        self.logistic
    }

    /// The providers' strategy grid and round limit.
    #[must_use]
    pub fn best_response(&self) -> &BestResponseConfig {
        &self.best_response
    }
}

/// Why a round could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RoundError {
    /// A configuration number breaks its rule.
    #[error("{field}: {value} {rule}")]
    Config {
        /// The field of [`RoundConfig`].
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The test and trusted sets leave no rows for the providers.
    #[error(
        "cannot hold out {n_test} test and {n_trusted} trusted rows of {n_rows}: \
         each part needs a row and the providers need the rest"
    )]
    Holdout {
        /// Test rows asked for.
        n_test: usize,
        /// Trusted rows asked for.
        n_trusted: usize,
        /// Rows of the dataset.
        n_rows: usize,
    },
    /// The split, the quality scores or the valuation failed (for example,
    /// more providers than rows, or datasets that do not match).
    #[error(transparent)]
    Valuation(#[from] ValuationError),
    /// The market is not a valid instance (for example, costs so large that
    /// the budget times the total score overflows).
    #[error(transparent)]
    Instance(#[from] InstanceError),
    /// Best-response dynamics could not run (an invalid strategy grid).
    #[error("best_response: {0}")]
    Strategic(#[from] StrategicError),
    /// The providers' offers do not match their rows (a round makes one
    /// offer per provider, so this marks a broken invariant, not an input).
    #[error(transparent)]
    Offer(OfferError),
}

impl From<OfferError> for RoundError {
    fn from(error: OfferError) -> RoundError {
        match error {
            OfferError::Instance(error) => RoundError::Instance(error),
            other => RoundError::Offer(other),
        }
    }
}

/// What one mechanism bought, and how good a model it trains.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// The mechanism.
    pub mechanism: Auction,
    /// The reports the outcome was cleared on: where best-response
    /// dynamics from the true costs stopped (the true costs themselves for
    /// the DSIC mechanisms). Quality, utility and volume are the buyer's
    /// measurements, the same in every instance.
    pub reports: Instance,
    /// The outcome at those reports.
    pub outcome: Outcome,
    /// Cash paid, Σ cash.
    pub cash: f64,
    /// Tokens paid, in cash-equivalent units (a MUT share τ is worth R·τ/Π).
    pub tokens: f64,
    /// The winners' total true cost, Σ c_i: what the rows cost to supply.
    pub cost: f64,
    /// The rows of [`RoundReport::split`]'s data bought, increasing: the
    /// winners' rows, and the rows the final model was trained on.
    pub rows: Vec<usize>,
    /// Expected share of wrong labels among the bought rows,
    /// Σ v_i·ρ_i / Σ v_i over the winners (0 when nothing was bought).
    pub label_noise: f64,
    /// Test accuracy of the logistic regression trained on `rows`.
    pub accuracy: f64,
    /// Rounds of best-response dynamics played (one round in which nobody
    /// moves ends them: the DSIC mechanisms stop after one at the truth).
    pub rounds: usize,
    /// Whether the last round moved nobody: a pure Nash equilibrium on the
    /// strategy grid. False when the round limit stopped the dynamics.
    pub converged: bool,
}

impl Purchase {
    /// Providers bought.
    #[must_use]
    pub fn n_providers(&self) -> usize {
        self.outcome.awards().len()
    }
    /// Rows bought, duplicates included.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }
    /// Quality-weighted utility bought, Σ q_i·μ_i over the winners (§A.2).
    #[must_use]
    pub fn value(&self) -> f64 {
        self.outcome.value()
    }
    /// Cash plus cash-equivalent tokens.
    #[must_use]
    pub fn spend(&self) -> f64 {
        self.cash + self.tokens
    }

    /// Whether every provider reported its true cost and claimed its
    /// `truth` claim (the DSIC mechanisms, or dynamics that never moved).
    /// `truth` is the market at true costs, [`RoundReport::truth`].
    #[must_use]
    pub fn truthful(&self, truth: &Instance) -> bool {
        self.reports == *truth
            || self
                .reports
                .providers()
                .iter()
                .zip(truth.providers())
                .all(|(reported, truth)| {
                    reported.bid() == truth.bid()
                        && reported.claimed_quality() == truth.claimed_quality()
                })
    }

    /// Providers that bid below their true cost in `truth`
    /// ([`RoundReport::truth`]): under MUT, losers underbid to be admitted,
    /// since a share does not depend on the bid.
    #[must_use]
    pub fn underbids(&self, truth: &Instance) -> usize {
        self.reports
            .providers()
            .iter()
            .zip(truth.providers())
            .filter(|(reported, truth)| reported.bid() < truth.bid())
            .count()
    }

    /// How far the winners bid above their true cost: Σ reported bids /
    /// Σ true costs − 1 over the winners (0 when they cost nothing).
    #[must_use]
    pub fn markup(&self) -> f64 {
        let providers = self.reports.providers();
        let bids = self.outcome.winners().fold(0.0, |sum, winner| {
            sum + providers.get(winner).map_or(0.0, |provider| provider.bid())
        });
        if self.cost > 0.0 {
            bids / self.cost - 1.0
        } else {
            0.0
        }
    }

    /// The winners' mean claimed quality against their mean verified
    /// quality (the buyer's measurement, the same in every report); `None`
    /// when nothing was bought. The trust baseline's winners inflate their
    /// claims as far as it pays.
    #[must_use]
    pub fn claim_inflation(&self) -> Option<ClaimInflation> {
        let providers = self.reports.providers();
        let winners: Vec<_> = self
            .outcome
            .winners()
            .filter_map(|winner| providers.get(winner))
            .collect();
        if winners.is_empty() {
            return None;
        }
        let mean = |claim: &dyn Fn(&Provider) -> f64| {
            winners.iter().map(|&winner| claim(winner)).sum::<f64>() / winners.len() as f64
        };
        Some(ClaimInflation {
            claimed: mean(&|winner| winner.claimed_quality()),
            verified: mean(&|winner| winner.quality()),
        })
    }
}

/// The winners' mean claimed and verified quality: see
/// [`Purchase::claim_inflation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimInflation {
    /// Mean claimed quality over the winners.
    pub claimed: f64,
    /// Mean verified quality over the winners.
    pub verified: f64,
}

/// A reference point without an auction: every provider's rows, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reference {
    /// Total true cost of the rows, Σ c_i.
    pub cost: f64,
    /// Providers whose rows are included.
    pub n_providers: usize,
    /// Rows, duplicates included.
    pub n_rows: usize,
    /// Σ q_i·μ_i over the included providers.
    pub value: f64,
    /// Expected share of wrong labels among the rows.
    pub label_noise: f64,
    /// Test accuracy of the logistic regression trained on the rows (the
    /// test set's majority-class rate without rows).
    pub accuracy: f64,
}

/// Everything a round produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundReport {
    /// The seed of the round.
    pub seed: u64,
    /// The providers' rows and the truth behind them (noise, duplicates).
    pub split: ProviderSplit,
    /// The market at true costs: bid = cost, the measured quality and
    /// utility, volume = rows, claimed quality = quality, cash budget B.
    pub truth: Instance,
    /// Cash-equivalent budget B of every mechanism.
    pub budget: f64,
    /// One purchase per mechanism, in [`Auction::ALL`] order.
    pub purchases: Vec<Purchase>,
    /// Every provider's rows, at their true cost.
    pub all_data: Reference,
    /// No rows at all.
    pub no_purchase: Reference,
}

impl RoundReport {
    /// The purchase of `mechanism`.
    #[must_use]
    pub fn purchase(&self, mechanism: Auction) -> Option<&Purchase> {
        self.purchases
            .iter()
            .find(|purchase| purchase.mechanism == mechanism)
    }
}

/// Stages reported to the progress callback: the valuation, then one per
/// mechanism.
pub const STAGES: usize = 1 + Auction::ALL.len();

/// Runs one procurement round (see the module documentation) and reports
/// what each mechanism bought. `progress` is told after the valuation and
/// after each mechanism, out of [`STAGES`].
///
/// ```
/// use procura_lab::round::{run, RoundConfig, RoundData};
/// use procura_valuation::{no_progress, Dataset};
///
/// // 120 rows of two classes on a line, 40 test and 20 trusted.
/// let x: Vec<f64> = (0..120).map(|i| f64::from(i % 60) - 30.0).collect();
/// let y: Vec<usize> = (0..120).map(|i| usize::from(i % 60 >= 30)).collect();
/// let data = Dataset::new(x, 1, y, 2)?;
/// let parts = RoundData::split(&data, 40, 20, 1)?;
/// let config = RoundConfig::demo().with_n_providers(6)?;
/// let report = run(&parts, &config, 1, &no_progress)?;
/// assert_eq!(report.purchases.len(), 5);
/// for purchase in &report.purchases {
///     assert!(purchase.spend() <= report.budget * (1.0 + 1e-12));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(
    data: &RoundData,
    config: &RoundConfig,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RoundReport, RoundError> {
    let split_config = SplitConfig {
        n_providers: config.n_providers,
        max_noise: config.max_noise,
        max_duplicates: config.max_duplicates,
    };
    let split_seed = rng(seed, stream::SPLIT).random::<u64>();
    let split = split_among_providers(&data.pool, &split_config, split_seed)?;
    let players = &split.players;
    let n_providers = players.n_players();

    let costs = draw_costs(&split, config.unit_cost_sigma, seed);
    let logistic = Model::Logistic(config.logistic);
    let quality = quality_scores(&data.trusted, &split.data, players, &logistic)?;
    let values = knn_shapley(&split.data, &data.trusted, config.knn, players, &|_| {})?;
    progress(Progress {
        done: 1,
        total: STAGES,
    });

    let total_cost: f64 = costs.iter().sum();
    let budget = config.budget_fraction * total_cost;
    let width = (n_providers - 1).to_string().len();
    let ids: Vec<String> = (0..n_providers)
        .map(|provider| format!("p{provider:0width$}"))
        .collect();
    // Each provider offers all its rows at its true cost; its utility is
    // max(0, its KNN-Shapley value) (offer::instance_from_valuations).
    let offers: Vec<Offer> = ids
        .iter()
        .zip(&costs)
        .map(|(id, &cost)| Offer::new(id.clone(), cost))
        .collect();
    let cash_market = InstanceSpec {
        budget,
        ..InstanceSpec::default()
    };
    let truth = instance_from_valuations(cash_market, &ids, players, &quality, &values, &offers)?;

    let train = |rows: &[usize]| accuracy(&logistic, &split.data, rows, &data.test);
    let mut purchases = Vec::with_capacity(Auction::ALL.len());
    for (stage, mechanism) in Auction::ALL.into_iter().enumerate() {
        let market = market(&truth, mechanism, budget, config)?;
        let Equilibrium {
            reports,
            outcome,
            rounds,
            converged,
            ..
        } = procure(&market, mechanism, config)?;
        let mut rows: Vec<usize> = outcome
            .winners()
            .flat_map(|winner| players.rows_of(winner).iter().copied())
            .collect();
        rows.sort_unstable();
        let tokens = match mechanism {
            Auction::Mut => token_value(&market, outcome.total_tokens()),
            _ => outcome.total_tokens(),
        };
        let cost = outcome
            .winners()
            .fold(0.0, |sum, winner| sum + costs[winner]);
        purchases.push(Purchase {
            mechanism,
            cash: outcome.total_cash(),
            tokens,
            cost,
            label_noise: label_noise(&split, outcome.winners()),
            accuracy: train(&rows)?,
            rows,
            reports,
            outcome,
            rounds,
            converged,
        });
        progress(Progress {
            done: stage + 2,
            total: STAGES,
        });
    }

    let all_rows: Vec<usize> = (0..split.data.n_rows()).collect();
    let all_data = Reference {
        cost: total_cost,
        n_providers,
        n_rows: all_rows.len(),
        value: truth
            .providers()
            .iter()
            .fold(0.0, |sum, provider| sum + provider.score()),
        label_noise: label_noise(&split, 0..n_providers),
        accuracy: train(&all_rows)?,
    };
    let no_purchase = Reference {
        cost: 0.0,
        n_providers: 0,
        n_rows: 0,
        value: 0.0,
        label_noise: 0.0,
        accuracy: train(&[])?,
    };
    Ok(RoundReport {
        seed,
        split,
        truth,
        budget,
        purchases,
        all_data,
        no_purchase,
    })
}

/// The market `mechanism` clears: the true market with that mechanism's
/// share of the budget B (see the module documentation).
fn market(
    truth: &Instance,
    mechanism: Auction,
    budget: f64,
    config: &RoundConfig,
) -> Result<Instance, RoundError> {
    let spec = truth.to_spec();
    let spec = match mechanism {
        Auction::Qmia | Auction::Volume | Auction::Trust => spec,
        Auction::Mut => InstanceSpec {
            token_budget: Some(budget),
            token_pool: Some(config.token_pool),
            ..spec
        },
        Auction::Mixed => InstanceSpec {
            budget: config.liquidity * budget,
            token_budget: Some((1.0 - config.liquidity) * budget),
            liquidity: Some(config.liquidity),
            ..spec
        },
    };
    Ok(Instance::new(spec)?)
}

/// The reports `mechanism` is cleared on, given the true market, and its
/// outcome there: where best-response dynamics from the truthful profile
/// stop. The only place that decides how providers bid.
fn procure(
    truth: &Instance,
    mechanism: Auction,
    config: &RoundConfig,
) -> Result<Equilibrium, RoundError> {
    Ok(best_response_dynamics(
        truth,
        mechanism,
        &config.best_response,
    )?)
}

/// Each provider's true cost: its rows times a log-normal per-row cost.
fn draw_costs(split: &ProviderSplit, sigma: f64, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed, stream::COSTS);
    // σ was checked finite and ≥ 0, so the distribution exists.
    let unit_cost = LogNormal::new(0.0, sigma).ok();
    (0..split.players.n_players())
        .map(|provider| {
            let rows = split.players.rows_of(provider).len() as f64;
            rows * unit_cost.map_or(1.0, |d| d.sample(&mut rng))
        })
        .collect()
}

/// Σ v_i·ρ_i / Σ v_i over `providers`: the expected share of wrong labels
/// among their rows (0 for no rows).
fn label_noise(split: &ProviderSplit, providers: impl Iterator<Item = usize>) -> f64 {
    let (wrong, rows) = providers.fold((0.0, 0usize), |(wrong, rows), provider| {
        let volume = split.players.rows_of(provider).len();
        (
            wrong + volume as f64 * split.noise_rates[provider],
            rows + volume,
        )
    });
    if rows == 0 {
        0.0
    } else {
        wrong / rows as f64
    }
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
