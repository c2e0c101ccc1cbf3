//! Strategic providers: iterated best response on a grid of misreports.
//!
//! The baselines of §A.6 (and MUT, §A.4) are not DSIC, so clearing them on
//! truthful bids flatters them. [`best_response_dynamics`] lets every
//! provider misreport on a grid, iterates best responses until nobody wants
//! to move, and returns the profile reached, its outcome and the providers'
//! true utilities. For the DSIC mechanisms (Q-MIA, Mixed-MIA) the truth is
//! already a best response, so play stops after one round at the truth.
//!
//! # Semantics (reconstruction)
//!
//! The spec does not say how the non-truthful mechanisms are played; these
//! are our choices.
//!
//! - **Types.** The bids in `truth` are the true costs c_i. Verified quality
//!   q_i, utility μ_i and volume are the buyer's measurements, not reports.
//!   Play starts at the truthful profile: b_i = c_i and claimed_quality_i =
//!   q_i, for every mechanism (only `trust` reads claims).
//! - **Candidates.** Provider i may bid c_i·m for every m in
//!   [`BestResponseConfig::markups`] (sorted ascending, duplicates dropped).
//!   Under `trust` it also picks a claim from
//!
//!   ```text
//!   claim_k = q_i + (1 − q_i) · k / (s − 1),   k = 0, …, s − 1   (s = claim_steps)
//!   ```
//!
//!   with the last point exactly 1, each point capped at 1, and s = 1
//!   meaning the truthful claim q_i only. Other mechanisms keep the claim.
//! - **Utility.** A winner gets its reward minus its true cost (cash plus
//!   tokens at face value, R·τ/Π for a MUT share: [`Auction::reward`]); a
//!   loser gets 0.
//! - **Rounds.** In a round every provider, in index order, best-responds
//!   once to the others' current reports, moves earlier in the round
//!   included. It values every candidate, takes the first maximizer in
//!   (bid, claim) ascending order, and switches to it only when the gain
//!   over its current report is real by [`crate::is_profitable`],
//!   measured against max(B, R), so rounding noise never moves anyone.
//! - **Stopping.** After a round in which nobody switched, the profile is a
//!   pure Nash equilibrium on the grid (up to that tolerance):
//!   [`Equilibrium::converged`]. Otherwise play stops after
//!   [`BestResponseConfig::max_rounds`] rounds and returns the profile
//!   reached; pay-as-bid auctions can cycle.
//!
//! # Limitations
//!
//! - Markups are multiplicative, so a provider with zero cost can only bid
//!   0: its whole bid grid is zero.
//! - Candidate bids that overflow (c_i·m = ∞) are left out of the grid.
//! - The equilibrium is one on the grid: a bid between grid points may still
//!   pay.
//! - With markups ≥ 1 (the default grid), every candidate bid is at least
//!   the true cost, and every mechanism of Part A is IR in the reported
//!   bids, so every utility along the way is ≥ 0 up to rounding, not only
//!   the mover's at the moment it moves. Markups below 1 (underbidding) are
//!   allowed: MUT's manipulation is a loser bidding below its cost to be
//!   admitted, since its share does not depend on its bid. Then a utility
//!   can turn negative when others move, until the provider's next move;
//!   at a converged profile it is ≥ 0 whenever 1.0 is in the grid.
//!
//! # Speed
//!
//! For `volume` and `trust` (pay-as-bid), each best-response step ranks the
//! others once, in O(n log n); each candidate is then valued in O(log n): a
//! binary search for its place in the ranking, the running sum of the bids
//! ahead of it, one comparison with the budget. No instance is copied, and
//! the result is bit-identical to clearing each deviation. The other
//! mechanisms clear a copy of the instance per candidate.

use procura_mechanisms::procurement::{
    clear, Auction, ClearError, Instance, InstanceError, Number, Outcome, UnilateralView,
};

use crate::is_profitable;

/// The most markups a config may list.
pub const MAX_MARKUPS: usize = 10_000;
/// The most claimed-quality grid points.
pub const MAX_CLAIM_STEPS: usize = 10_000;
/// The most rounds of best responses.
pub const MAX_ROUNDS: usize = 100_000;

fn too_large(field: &'static str, value: usize, max: usize) -> Result<(), StrategicError> {
    if value > max {
        Err(StrategicError::TooLarge { field, value, max })
    } else {
        Ok(())
    }
}

/// The strategy grid and round limit of [`best_response_dynamics`]: a
/// preset ([`BestResponseConfig::default_grid`]) or
/// [`BestResponseConfig::new`], which checks every field.
#[derive(Debug, Clone, PartialEq)]
pub struct BestResponseConfig {
    /// Bid multipliers tried for each provider: candidate bids are true
    /// cost × markup. Non-empty, finite, each > 0 (so the truthful bid is in
    /// the grid iff 1.0 is listed).
    markups: Vec<f64>,
    /// Claimed-quality grid points for `trust`: `claim_steps` points evenly
    /// spaced from the verified quality up to 1 inclusive (1 = truthful
    /// claims only). ≥ 1. Other mechanisms ignore it.
    claim_steps: usize,
    /// Round limit, ≥ 1.
    max_rounds: usize,
}

impl BestResponseConfig {
    /// Markups 1.0, 1.1, …, 3.0 (21 points, each computed as 1 + k/10 so
    /// that no rounding drift accumulates), 5 claim steps, 25 rounds.
    #[must_use]
    pub fn default_grid() -> BestResponseConfig {
        BestResponseConfig {
            markups: (0..=20u32).map(|k| 1.0 + f64::from(k) / 10.0).collect(),
            claim_steps: 5,
            max_rounds: 25,
        }
    }

    /// A config from its fields, checked: `markups` non-empty (at most
    /// [`MAX_MARKUPS`]), finite and > 0; `claim_steps` in 1 ..=
    /// [`MAX_CLAIM_STEPS`]; `max_rounds` in 1 ..= [`MAX_ROUNDS`]. The error
    /// names the first field that breaks its rule.
    pub fn new(
        markups: Vec<f64>,
        claim_steps: usize,
        max_rounds: usize,
    ) -> Result<BestResponseConfig, StrategicError> {
        let config = BestResponseConfig {
            markups,
            claim_steps,
            max_rounds,
        };
        config.check()?;
        Ok(config)
    }

    /// The same config with these bid multipliers, checked as by
    /// [`BestResponseConfig::new`].
    pub fn with_markups(self, markups: Vec<f64>) -> Result<BestResponseConfig, StrategicError> {
        BestResponseConfig::new(markups, self.claim_steps, self.max_rounds)
    }

    /// The same config with `claim_steps` claimed-quality points, checked.
    pub fn with_claim_steps(
        self,
        claim_steps: usize,
    ) -> Result<BestResponseConfig, StrategicError> {
        BestResponseConfig::new(self.markups, claim_steps, self.max_rounds)
    }

    /// The same config with a round limit of `max_rounds`, checked.
    pub fn with_max_rounds(self, max_rounds: usize) -> Result<BestResponseConfig, StrategicError> {
        BestResponseConfig::new(self.markups, self.claim_steps, max_rounds)
    }

    /// The bid multipliers, as given.
    #[must_use]
    pub fn markups(&self) -> &[f64] {
        &self.markups
    }

    /// Claimed-quality grid points for `trust`.
    #[must_use]
    pub fn claim_steps(&self) -> usize {
        self.claim_steps
    }

    /// The round limit.
    #[must_use]
    pub fn max_rounds(&self) -> usize {
        self.max_rounds
    }

    /// Checks every field, naming the first that breaks its rule.
    fn check(&self) -> Result<(), StrategicError> {
        if self.markups.is_empty() {
            return Err(StrategicError::NoMarkups);
        }
        too_large("markups", self.markups.len(), MAX_MARKUPS)?;
        too_large("claim_steps", self.claim_steps, MAX_CLAIM_STEPS)?;
        too_large("max_rounds", self.max_rounds, MAX_ROUNDS)?;
        if let Some((index, &value)) = self
            .markups
            .iter()
            .enumerate()
            .find(|(_, markup)| !(markup.is_finite() && **markup > 0.0))
        {
            return Err(StrategicError::Markup { index, value });
        }
        if self.claim_steps == 0 {
            return Err(StrategicError::NoClaimSteps);
        }
        if self.max_rounds == 0 {
            return Err(StrategicError::NoRounds);
        }
        Ok(())
    }

    /// The candidate bids of a provider with true cost `cost`: cost ×
    /// markup, ascending, without duplicates or overflows.
    fn bids(&self, cost: f64) -> Vec<f64> {
        let mut bids: Vec<f64> = self
            .markups
            .iter()
            .map(|markup| cost * markup)
            .filter(|bid| bid.is_finite())
            .collect();
        bids.sort_by(f64::total_cmp);
        bids.dedup();
        bids
    }

    /// The candidate claims of a provider with verified quality `quality`:
    /// `claim_steps` points from `quality` to 1, ascending, without
    /// duplicates.
    fn claims(&self, quality: f64) -> Vec<f64> {
        let last = self.claim_steps - 1;
        let mut claims: Vec<f64> = (0..self.claim_steps)
            .map(|k| {
                if k == 0 {
                    quality
                } else if k == last {
                    1.0
                } else {
                    // Counts convert exactly below 2^53.
                    let step = k as f64 / last as f64;
                    (quality + (1.0 - quality) * step).min(1.0)
                }
            })
            .collect();
        claims.sort_by(f64::total_cmp);
        claims.dedup();
        claims
    }
}

/// Where best-response dynamics stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Equilibrium {
    /// The reported instance at the end (bids, claimed qualities).
    pub reports: Instance,
    /// The mechanism's outcome on `reports`.
    pub outcome: Outcome,
    /// Each provider's true utility at the end: reward − true cost for
    /// winners ([`Auction::reward`]), 0 for losers.
    pub utilities: Vec<f64>,
    /// Rounds played (a round = every provider, in index order,
    /// best-responds once).
    pub rounds: usize,
    /// True when the last round changed nobody's report: a pure Nash
    /// equilibrium on the grid.
    pub converged: bool,
}

/// Why best-response dynamics could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategicError {
    /// The config lists no markup.
    #[error("markups is empty: list at least one bid multiplier")]
    NoMarkups,
    /// A markup is NaN, infinite or not positive.
    #[error("markups[{index}] {} is not a finite number > 0", Number(*.value))]
    Markup {
        /// Its position in `markups`.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The claim grid has no point.
    #[error("claim_steps is 0: the claim grid needs at least 1 point")]
    NoClaimSteps,
    /// No round may be played.
    #[error("max_rounds is 0: at least 1 round must be played")]
    NoRounds,
    /// A count above its limit (the grids are allocated up front).
    #[error("{field}: {value} is more than {max}")]
    TooLarge {
        /// The config field.
        field: &'static str,
        /// The refused count.
        value: usize,
        /// The limit.
        max: usize,
    },
    /// The mechanism cannot clear the instance (MUT without a token budget).
    #[error(transparent)]
    Clear(#[from] ClearError),
    /// A candidate report failed validation. Grids are built from valid
    /// numbers, so this signals a bug rather than bad input.
    #[error("invalid candidate report: {0}")]
    Report(#[from] InstanceError),
}

/// Plays best-response dynamics from the truthful profile of `truth` under
/// `mechanism` on the grid of `config` (see the [module docs](self) for the
/// exact rules, a reconstruction).
///
/// Deterministic: the same input gives the same bits. Fails when
/// `mechanism` cannot clear `truth` (every config is valid by
/// construction).
///
/// Two providers under `volume` with budget 5: truthfully both win, but the
/// cheaper one, ranked first whatever it bids on the grid, triples its bid
/// and crowds the other out.
///
/// ```
/// use procura_audit::strategic::{best_response_dynamics, BestResponseConfig};
/// use procura_mechanisms::procurement::{clear, Instance, InstanceSpec, Auction, ProviderSpec};
///
/// let provider = |id: &str, cost| ProviderSpec {
///     volume: Some(1.0),
///     ..ProviderSpec::new(id, cost, 1.0, 1.0)
/// };
/// let truth = Instance::new(InstanceSpec {
///     budget: 5.0,
///     providers: vec![provider("a", 1.0), provider("b", 4.0)],
///     ..InstanceSpec::default()
/// })?;
/// let played = best_response_dynamics(&truth, Auction::Volume, &BestResponseConfig::default_grid())?;
/// assert!(played.converged);
/// assert_eq!(played.reports.providers()[0].bid(), 3.0);
/// assert_eq!(played.utilities, [2.0, 0.0]);
/// assert_eq!(played.outcome.value(), 1.0);
/// assert_eq!(clear(&truth, Auction::Volume)?.value(), 2.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn best_response_dynamics(
    truth: &Instance,
    mechanism: Auction,
    config: &BestResponseConfig,
) -> Result<Equilibrium, StrategicError> {
    let scoring = match mechanism {
        Auction::Volume | Auction::Trust => CandidateScoring::PayAsBid,
        Auction::Qmia | Auction::Mut | Auction::Mixed => CandidateScoring::Clear,
    };
    play(truth, mechanism, config, scoring)
}

/// How a best-response step values candidate reports. Both give the same
/// bits where both apply; `PayAsBid` only applies to `volume` and `trust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CandidateScoring {
    /// Clear a copy of the instance per candidate: any mechanism.
    Clear,
    /// Rank the others once per step and place each candidate by binary
    /// search (§A.6 only).
    PayAsBid,
}

/// A candidate report: a bid, and for `trust` a claimed quality.
type Report = (f64, Option<f64>);

/// One provider's strategy grid.
struct Grid {
    bids: Vec<f64>,
    /// `[None]` for mechanisms that ignore claims.
    claims: Vec<Option<f64>>,
}

fn play(
    truth: &Instance,
    mechanism: Auction,
    config: &BestResponseConfig,
    scoring: CandidateScoring,
) -> Result<Equilibrium, StrategicError> {
    let providers = truth.providers();
    let truthful: Vec<(usize, f64, Option<f64>)> = providers
        .iter()
        .enumerate()
        .map(|(index, provider)| (index, provider.bid(), Some(provider.quality())))
        .collect();
    let mut reports = truth.with_reports(&truthful)?;
    // Fails up front when the mechanism cannot clear this instance at all
    // (MUT without R); no report changes that.
    clear(&reports, mechanism)?;

    let grids: Vec<Grid> = providers
        .iter()
        .map(|provider| Grid {
            bids: config.bids(provider.bid()),
            claims: match mechanism {
                Auction::Trust => config
                    .claims(provider.quality())
                    .into_iter()
                    .map(Some)
                    .collect(),
                _ => vec![None],
            },
        })
        .collect();
    // Utilities are bounded by the budgets, so gains below 1e-9 of them are
    // rounding (Mixed-MIA's B_eff is at most 2·max(B, R)).
    let scale = truth.budget().max(truth.token_budget());

    let mut rounds = 0;
    let mut converged = false;
    while rounds < config.max_rounds {
        rounds += 1;
        let mut moved = false;
        for (index, grid) in grids.iter().enumerate() {
            let step = Step {
                mechanism,
                reports: &reports,
                index,
                cost: providers[index].bid(),
            };
            if let Some((bid, claim)) = step.best_response(scoring, grid, scale)? {
                reports = reports.with_reports(&[(index, bid, claim)])?;
                moved = true;
            }
        }
        if !moved {
            converged = true;
            break;
        }
    }

    let outcome = clear(&reports, mechanism)?;
    let mut utilities = vec![0.0; providers.len()];
    for award in outcome.awards() {
        let index = award.provider;
        utilities[index] = mechanism.reward(&reports, &outcome, index) - providers[index].bid();
    }
    Ok(Equilibrium {
        reports,
        outcome,
        utilities,
        rounds,
        converged,
    })
}

/// One provider's best-response step against the others' current reports.
struct Step<'a> {
    mechanism: Auction,
    reports: &'a Instance,
    index: usize,
    /// The provider's true cost.
    cost: f64,
}

impl Step<'_> {
    /// The report to switch to, or `None` when no candidate beats the
    /// current report by more than rounding.
    fn best_response(
        &self,
        scoring: CandidateScoring,
        grid: &Grid,
        scale: f64,
    ) -> Result<Option<Report>, StrategicError> {
        // The index comes from the instance's own providers, so the view
        // always exists; were it missing, clearing would name the error.
        let others = match scoring {
            CandidateScoring::PayAsBid => {
                UnilateralView::with_cost(self.mechanism, self.reports, self.index, self.cost).ok()
            }
            CandidateScoring::Clear => None,
        };
        let utility = |report: Report| match &others {
            Some(others) => self.pay_as_bid_utility(others, report),
            None => self.clear_utility(report),
        };

        let me = &self.reports.providers()[self.index];
        let claim = match self.mechanism {
            Auction::Trust => Some(me.claimed_quality()),
            _ => None,
        };
        let current = utility((me.bid(), claim))?;
        let mut best: Option<(f64, Report)> = None;
        for &bid in &grid.bids {
            for &claim in &grid.claims {
                let value = utility((bid, claim))?;
                // Strictly better only: the first maximizer in (bid, claim)
                // order wins ties.
                if best.is_none_or(|(top, _)| value > top) {
                    best = Some((value, (bid, claim)));
                }
            }
        }
        Ok(best
            .filter(|&(value, _)| is_profitable(value - current, scale))
            .map(|(_, report)| report))
    }

    /// The provider's true utility when it reports `report`, by clearing the
    /// deviated instance.
    fn clear_utility(&self, (bid, claim): Report) -> Result<f64, StrategicError> {
        let deviated = self.reports.with_reports(&[(self.index, bid, claim)])?;
        let outcome = clear(&deviated, self.mechanism)?;
        Ok(match outcome.award_of(self.index) {
            Some(_) => self.mechanism.reward(&deviated, &outcome, self.index) - self.cost,
            None => 0.0,
        })
    }

    /// The same utility, from the others ranked once (`volume`, `trust`).
    fn pay_as_bid_utility(
        &self,
        others: &UnilateralView<'_>,
        report: Report,
    ) -> Result<f64, StrategicError> {
        let (bid, claim) = report;
        let utility = match claim {
            Some(claim) => others.utility(&[bid, claim]),
            None => others.utility(&[bid]),
        };
        match utility {
            Some(utility) => Ok(utility),
            // A report outside the fields' domains: clearing reports why.
            None => self.clear_utility(report),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procura_mechanisms::test_support::{mostly_continuous, procurement_instance};
    use proptest::prelude::*;

    fn config(markups: &[f64], claim_steps: usize, max_rounds: usize) -> BestResponseConfig {
        BestResponseConfig {
            markups: markups.to_vec(),
            claim_steps,
            max_rounds,
        }
    }

    #[test]
    fn default_grid_is_exact() {
        let grid = BestResponseConfig::default_grid();
        assert_eq!(grid.markups.len(), 21);
        assert_eq!(grid.markups[0], 1.0);
        assert_eq!(grid.markups[5], 1.5);
        assert_eq!(grid.markups[20], 3.0);
        assert!(grid.check().is_ok());
    }

    #[test]
    fn grids_are_sorted_deduplicated_and_capped() {
        let grid = config(&[2.0, 1.0, 2.0], 5, 1);
        assert_eq!(grid.bids(1.5), [1.5, 3.0]);
        assert_eq!(grid.bids(0.0), [0.0]);
        assert_eq!(grid.bids(f64::MAX), [f64::MAX]);
        assert_eq!(grid.claims(0.5), [0.5, 0.625, 0.75, 0.875, 1.0]);
        assert_eq!(grid.claims(1.0), [1.0]);
        assert_eq!(config(&[1.0], 1, 1).claims(0.3), [0.3]);
        assert_eq!(config(&[1.0], 2, 1).claims(0.3), [0.3, 1.0]);
        for quality in [0.0, 0.1, 0.3, 0.7, 0.9999999999] {
            let claims = config(&[1.0], 7, 1).claims(quality);
            assert_eq!(claims.first(), Some(&quality));
            assert_eq!(claims.last(), Some(&1.0));
            assert!(claims.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }

    fn grid() -> impl Strategy<Value = BestResponseConfig> {
        (
            proptest::collection::vec(mostly_continuous(1.0, 3.0, &[1.0, 1.5, 2.0, 3.0]), 1..8),
            1usize..5,
            1usize..8,
        )
            .prop_map(|(markups, claim_steps, max_rounds)| {
                config(&markups, claim_steps, max_rounds)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The fast path is the generic one, bit for bit: same reports, same
        /// outcome, same utilities, same rounds.
        #[test]
        fn pay_as_bid_fast_path_is_bit_identical(truth in procurement_instance(8), config in grid()) {
            for mechanism in [Auction::Volume, Auction::Trust] {
                let fast = play(&truth, mechanism, &config, CandidateScoring::PayAsBid).expect("plays");
                let slow = play(&truth, mechanism, &config, CandidateScoring::Clear).expect("plays");
                let bits = |played: &Equilibrium| -> Vec<u64> {
                    played.reports.providers().iter()
                        .flat_map(|p| [p.bid().to_bits(), p.claimed_quality().to_bits()])
                        .chain(played.utilities.iter().map(|u| u.to_bits()))
                        .collect()
                };
                prop_assert_eq!(bits(&fast), bits(&slow));
                prop_assert_eq!(&fast, &slow);
            }
        }
    }
}
