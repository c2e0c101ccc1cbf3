//! Why each provider won or lost: the clearing of §A.3–§A.6 replayed with
//! its intermediate numbers kept, for `procura clear --explain`.
//!
//! [`explain`] restates no rule. It ranks, sums, tests shares and fills
//! pay-as-bid through the same functions (`ranking.rs`, the mechanisms'
//! rankings in `game.rs`) that [`super::clear`] runs, and it reads every
//! payment off the outcome that [`super::clear`] returns, so an
//! explanation cannot disagree with the outcome it explains.

use super::game::{admission_of, ranking_of, ranking_weight};
use super::instance::{Instance, Provider};
use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::ranking::{fits, proportional_share, within_share, Ranked};
use super::{clear, Auction, ClearError};

/// How a mechanism admits providers down its ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Proportional share (§A.3; Q-MIA, MUT, Mixed-MIA): provider j passes
    /// while b_(j) ≤ (B·w_(j)) / W_j, at the allocation budget.
    ProportionalShare,
    /// Pay-as-bid (§A.6; the baselines): provider j passes while the bids
    /// of those ahead of it plus its own fit in B.
    PayAsBid,
}

/// Why a provider lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// Its ranking weight is 0 (w_i = q_i·μ_i for the ratio-ranked
    /// mechanisms, volume or claimed quality × volume for the baselines),
    /// so it is not ranked and can never win.
    ZeroWeight,
    /// It was the first to fail the proportional-share test (§A.3):
    /// b > (B·w)/W, where W is the score of everyone ranked up to and
    /// including it.
    ShareTest {
        /// Its proportional share (B·w)/W, which its bid exceeds.
        share: f64,
        /// W, the running score through it.
        running_score: f64,
    },
    /// It was the first whose bid no longer fits (§A.6): spent + b > B.
    Budget {
        /// What the providers ahead of it were paid.
        spent: f64,
    },
    /// It is ranked after the first provider that failed: the winners are
    /// a prefix of the ranking, so the allocation stopped before it.
    AfterCutoff {
        /// The rank (1-based) of the first provider that failed.
        cutoff_rank: usize,
    },
}

/// Whether a provider won, with its award, or why it lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// It won.
    Won {
        /// Its award, as in the outcome.
        award: Award,
        /// What the award is worth in cash-equivalent units
        /// ([`Auction::award_value`]): cash plus tokens at face value, or
        /// R·τ/Π for a MUT share.
        reward: f64,
    },
    /// It lost, and is paid nothing.
    Lost(Loss),
}

/// One provider's line of an [`Explanation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderExplanation {
    /// Index of the provider in [`Instance::providers`].
    pub provider: usize,
    /// Its bid b_i.
    pub bid: f64,
    /// Its score w_i = q_i·μ_i (§A.1), what `value` sums over winners.
    pub score: f64,
    /// What the mechanism divides its bid by to rank it: w_i for the
    /// ratio-ranked mechanisms, volume or claimed quality × volume for the
    /// baselines.
    pub weight: f64,
    /// Its ranking key, b_i / weight: the ratio r_i for the ratio-ranked
    /// mechanisms. `None` when its weight is 0.
    pub key: Option<f64>,
    /// Its place in the ranking, from 1. `None` when its weight is 0.
    pub rank: Option<usize>,
    /// Won, with its award, or lost, and why.
    pub verdict: Verdict,
}

impl ProviderExplanation {
    /// Reward minus bid for a winner: what it is paid above its bid (0
    /// under pay-as-bid; the premium that critical values pay, §A.3).
    /// `None` for a loser.
    #[must_use]
    pub fn premium(&self) -> Option<f64> {
        match self.verdict {
            Verdict::Won { reward, .. } => Some(reward - self.bid),
            Verdict::Lost(_) => None,
        }
    }
}

/// Why each provider of an instance won or lost under one mechanism, with
/// the outcome it explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    mechanism: Auction,
    admission: Admission,
    allocation_budget: f64,
    providers: Vec<ProviderExplanation>,
    outcome: Outcome,
}

impl Explanation {
    /// The mechanism explained.
    #[must_use]
    pub fn mechanism(&self) -> Auction {
        self.mechanism
    }
    /// How it admits providers down its ranking.
    #[must_use]
    pub fn admission(&self) -> Admission {
        self.admission
    }
    /// The budget its allocation runs with ([`Auction::allocation_budget`]):
    /// B for Q-MIA and the baselines, R for MUT, B_eff for Mixed-MIA.
    #[must_use]
    pub fn allocation_budget(&self) -> f64 {
        self.allocation_budget
    }
    /// Every provider: the ranked ones in ranking order, then those of
    /// weight 0 in input order.
    #[must_use]
    pub fn providers(&self) -> &[ProviderExplanation] {
        &self.providers
    }
    /// The outcome explained, exactly as [`super::clear`] returns it.
    #[must_use]
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    /// Σ reward over the winners, in cash-equivalent units, a left fold in
    /// allocation order.
    #[must_use]
    pub fn total_reward(&self) -> f64 {
        self.winners().fold(0.0, |sum, (_, reward)| sum + reward)
    }
    /// Σ bid over the winners, a left fold in allocation order.
    #[must_use]
    pub fn total_winning_bids(&self) -> f64 {
        self.winners().fold(0.0, |sum, (line, _)| sum + line.bid)
    }

    fn winners(&self) -> impl Iterator<Item = (&ProviderExplanation, f64)> {
        self.providers.iter().filter_map(|line| match line.verdict {
            Verdict::Won { reward, .. } => Some((line, reward)),
            Verdict::Lost(_) => None,
        })
    }
}

/// Clears `instance` with `mechanism` and explains the outcome: for every
/// provider its score, ranking weight and key, rank, and whether it won
/// (with its award and reward) or why it lost. Fails exactly when
/// [`super::clear`] fails.
///
/// ```
/// use procura_mechanisms::procurement::explain::{explain, Loss, Verdict};
/// use procura_mechanisms::procurement::{Auction, Instance, InstanceSpec, ProviderSpec};
///
/// let instance = Instance::new(InstanceSpec {
///     budget: 4.0,
///     providers: vec![ProviderSpec::new("a", 1.0, 1.0, 1.0), ProviderSpec::new("b", 3.0, 1.0, 1.0)],
///     ..InstanceSpec::default()
/// })?;
/// let explanation = explain(&instance, Auction::Qmia)?;
/// let [a, b] = explanation.providers() else { unreachable!() };
/// // `a` passes 1 ≤ 4·1/1 and is paid its critical value θ = 1·min(3, 4/1):
/// // up to b's ratio 3 it stays ahead of b.
/// assert!(matches!(a.verdict, Verdict::Won { reward, .. } if reward == 3.0));
/// assert_eq!(a.premium(), Some(2.0));
/// // `b` fails its share: 3 > 4·1/2.
/// assert_eq!(b.verdict, Verdict::Lost(Loss::ShareTest { share: 2.0, running_score: 2.0 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn explain(instance: &Instance, mechanism: Auction) -> Result<Explanation, ClearError> {
    let outcome = clear(instance, mechanism)?;
    Ok(if FastRange::instance(instance) {
        explain_in::<f64>(instance, mechanism, outcome)
    } else {
        explain_in::<Wide>(instance, mechanism, outcome)
    })
}

/// [`explain`] in the arithmetic `N`, the one [`super::clear`] used.
fn explain_in<N: Arith>(instance: &Instance, mechanism: Auction, outcome: Outcome) -> Explanation {
    let providers = instance.providers();
    let budget = mechanism.allocation_budget(instance);
    let ranking: Vec<Ranked<N>> = ranking_of(mechanism, instance);
    let admission = if mechanism.pays_as_bid() {
        Admission::PayAsBid
    } else {
        Admission::ProportionalShare
    };
    let (running, n_winners) = admission_of(mechanism, instance, &ranking, budget);
    debug_assert!(outcome
        .winners()
        .eq(ranking[..n_winners].iter().map(|ranked| ranked.index)));
    // The first provider past the winners failed the admission test; its
    // numbers are the ones that test compared.
    let first_failure = |provider: &Provider| match admission {
        Admission::PayAsBid => {
            let spent = running[n_winners];
            debug_assert!(!fits(spent, provider.bid(), budget));
            Loss::Budget { spent }
        }
        Admission::ProportionalShare => {
            let running_score = running[n_winners + 1];
            debug_assert!(!within_share::<N>(
                provider.bid(),
                provider.score(),
                budget,
                running_score
            ));
            Loss::ShareTest {
                share: proportional_share::<N>(budget, provider.score(), running_score).to_f64(),
                running_score,
            }
        }
    };

    let line = |index: usize, rank: Option<usize>, key: Option<f64>, verdict: Verdict| {
        let provider = &providers[index];
        ProviderExplanation {
            provider: index,
            bid: provider.bid(),
            score: provider.score(),
            weight: ranking_weight(mechanism, provider, provider.claimed_quality()),
            key,
            rank,
            verdict,
        }
    };
    let mut lines: Vec<ProviderExplanation> = ranking
        .iter()
        .enumerate()
        .map(|(position, ranked)| {
            // Awards are in allocation order: the winner at `position` has
            // the award at `position`.
            let award = outcome
                .awards()
                .get(position)
                .filter(|award| award.provider == ranked.index);
            let verdict = match award {
                Some(award) => Verdict::Won {
                    award: *award,
                    reward: mechanism.award_value(instance, award),
                },
                None if position == n_winners => {
                    Verdict::Lost(first_failure(&providers[ranked.index]))
                }
                None => Verdict::Lost(Loss::AfterCutoff {
                    cutoff_rank: n_winners + 1,
                }),
            };
            line(
                ranked.index,
                Some(position + 1),
                Some(ranked.key.to_f64()),
                verdict,
            )
        })
        .collect();
    let mut ranked = vec![false; providers.len()];
    for entry in &ranking {
        ranked[entry.index] = true;
    }
    lines.extend(
        (0..providers.len())
            .filter(|&index| !ranked[index])
            .map(|index| line(index, None, None, Verdict::Lost(Loss::ZeroWeight))),
    );
    Explanation {
        mechanism,
        admission,
        allocation_budget: budget,
        providers: lines,
        outcome,
    }
}
